//! Where a session on a cluster keeps the results its later queries read: Parquet files in a
//! folder of its own under the lake's scratch folder (a local folder or a prefix of the lake's
//! object store), which the executors write and read, in place of the in-memory tables a local
//! session keeps (the executors could not read those).

use std::sync::Arc;

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Schema, UInt64Type};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::error::DataFusionError;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::{DataFrame, ParquetReadOptions, SessionContext};
use deltalake::logstore::ObjectStoreRef;
use deltalake::logstore::object_store::ObjectStoreExt;
use deltalake::logstore::object_store::path::Path as ObjectPath;
use url::Url;

use crate::error::{LakehouseError, Result};

/// A session's scratch folder, kept in its settings.
#[derive(Debug, Clone)]
pub struct Scratch {
    /// The folder, ending in `/`, as the executors reach it.
    url: Url,
    /// The folder's object store, rooted at the folder.
    store: ObjectStoreRef,
}

impl Scratch {
    /// Scratch space in the folder at `url` (ending in `/`), which the executors reach by the
    /// same URL, and which `store` (rooted there) writes to.
    pub fn new(url: Url, store: ObjectStoreRef) -> Self {
        Self { url, store }
    }

    /// The scratch space of `ctx`'s session, when it is a session on a cluster.
    pub fn of(ctx: &SessionContext) -> Option<Arc<Self>> {
        ctx.state_ref().read().config().get_extension::<Self>()
    }

    /// Runs `frame` on the cluster, whose executors write its result here as Parquet, and
    /// registers those files in `ctx` as the table `name`. Returns the number of rows.
    pub async fn materialize(
        &self,
        ctx: &SessionContext,
        name: &str,
        frame: DataFrame,
    ) -> Result<usize> {
        let query_error = |e| LakehouseError::query(name, e);
        let folder = self.new_folder(name);
        let schema = frame.schema().as_arrow().clone();
        let counts = frame
            .write_parquet(
                &self.folder_url(&folder),
                DataFrameWriteOptions::new(),
                None,
            )
            .await
            .map_err(query_error)?;
        let rows = counts
            .iter()
            .filter_map(|b| b.column(0).as_primitive_opt::<UInt64Type>())
            .flat_map(|counts| counts.iter().flatten())
            .sum::<u64>() as usize;
        self.register(ctx, name, &folder, &schema).await?;
        Ok(rows)
    }

    /// Writes `batches` (at least one, for the schema) here as a Parquet file and registers it
    /// in `ctx` as the table `name`. Returns the number of rows.
    pub async fn register_batches(
        &self,
        ctx: &SessionContext,
        name: &str,
        batches: Vec<RecordBatch>,
    ) -> Result<usize> {
        let parquet_error = |e| LakehouseError::query(name, DataFusionError::External(Box::new(e)));
        let schema = batches[0].schema();
        let mut file = Vec::new();
        let mut writer =
            ArrowWriter::try_new(&mut file, Arc::clone(&schema), None).map_err(parquet_error)?;
        for batch in &batches {
            writer.write(batch).map_err(parquet_error)?;
        }
        writer.close().map_err(parquet_error)?;
        let folder = self.new_folder(name);
        let path = ObjectPath::from(format!("{folder}/part-0.parquet"));
        self.store
            .put(&path, file.into())
            .await
            .map_err(|e| LakehouseError::query(name, DataFusionError::ObjectStore(Box::new(e))))?;
        self.register(ctx, name, &folder, &schema).await?;
        Ok(batches.iter().map(RecordBatch::num_rows).sum())
    }

    /// The name of a new folder for the table `name`.
    fn new_folder(&self, name: &str) -> String {
        format!("{name}-{}", uuid::Uuid::new_v4().simple())
    }

    /// A folder here as DataFusion names a folder of files (with its trailing slash).
    fn folder_url(&self, folder: &str) -> String {
        format!("{}{folder}/", self.url)
    }

    /// Registers the Parquet files in `folder` as the table `name`, whose columns are
    /// `schema`'s.
    async fn register(
        &self,
        ctx: &SessionContext,
        name: &str,
        folder: &str,
        schema: &Schema,
    ) -> Result<()> {
        let query_error = |e| LakehouseError::query(name, e);
        ctx.deregister_table(name).map_err(query_error)?;
        ctx.register_parquet(
            name,
            self.folder_url(folder),
            ParquetReadOptions::default().schema(schema),
        )
        .await
        .map_err(query_error)
    }
}
