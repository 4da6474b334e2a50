//! The object stores a cluster's scheduler and executors read and write the lake through:
//! DataFusion's local files and, for a lake on an object store, a store per bucket, built the
//! way delta-rs builds the lake's own (from the process's `AWS_*` settings), the first time a
//! query names the bucket.

use std::sync::Arc;

use datafusion::error::{DataFusionError, Result};
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use deltalake::logstore::object_store::ObjectStore;
use url::Url;

/// DataFusion's registry of object stores, which also opens the S3 buckets it is asked for.
#[derive(Debug, Default)]
pub struct LakeStores {
    known: DefaultObjectStoreRegistry,
}

impl ObjectStoreRegistry for LakeStores {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.known.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        self.known.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        if let Ok(store) = self.known.get_store(url) {
            return Ok(store);
        }
        if !matches!(url.scheme(), "s3" | "s3a") {
            return self.known.get_store(url);
        }
        let bucket = Url::parse(&format!(
            "{}://{}/",
            url.scheme(),
            url.host_str().unwrap_or_default()
        ))
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let no_options: [(&str, &str); 0] = [];
        let store = deltalake::logstore::store_for(&bucket, no_options)
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        self.known.register_store(&bucket, Arc::clone(&store));
        Ok(store)
    }
}
