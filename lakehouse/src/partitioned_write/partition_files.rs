//! The files a write is filling, one Delta writer per partition, shared by the write's
//! streams: a partition whose rows come from several streams still gets one file (per target
//! file size) instead of one per stream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::RecordBatch;
use datafusion::common::ScalarValue;
use delta_kernel::expressions::Scalar;
use deltalake::datafile::writer::{DeltaWriter, WriterConfig};
use deltalake::kernel::Add;
use deltalake::logstore::ObjectStoreRef;
use deltalake::{DeltaResult, DeltaTableError};
use indexmap::IndexMap;

/// One partition's writer; a stream holds it while it writes a run of rows.
type PartitionWriter = Arc<tokio::sync::Mutex<DeltaWriter>>;

pub(super) struct PartitionFiles {
    store: ObjectStoreRef,
    config: WriterConfig,
    /// The writer of each partition, by its partition values.
    writers: Mutex<HashMap<Vec<ScalarValue>, PartitionWriter>>,
}

impl PartitionFiles {
    pub fn new(store: ObjectStoreRef, config: WriterConfig) -> Self {
        Self {
            store,
            config,
            writers: Mutex::new(HashMap::new()),
        }
    }

    /// Appends `rows`, all of the partition `key` (with Delta's `values` of it), to that
    /// partition's file. Waits while another stream writes to the same partition.
    pub async fn write(
        &self,
        key: Vec<ScalarValue>,
        values: &IndexMap<String, Scalar>,
        rows: RecordBatch,
    ) -> DeltaResult<()> {
        let writer = {
            let mut writers = self.writers.lock().unwrap_or_else(|e| e.into_inner());
            let writer = writers.entry(key).or_insert_with(|| {
                let writer = DeltaWriter::new(self.store.clone(), self.config.clone());
                Arc::new(tokio::sync::Mutex::new(writer))
            });
            Arc::clone(writer)
        };
        writer.lock().await.write_partition(rows, values).await
    }

    /// Finishes every file; returns them. Every stream must have stopped writing.
    pub async fn close(self) -> DeltaResult<Vec<Add>> {
        let writers = self.writers.into_inner().unwrap_or_else(|e| e.into_inner());
        let mut adds = Vec::new();
        for (_, writer) in writers {
            let writer = Arc::try_unwrap(writer).map_err(|_| {
                DeltaTableError::Generic("a partition's file is still being written".into())
            })?;
            adds.extend(writer.into_inner().close().await?);
        }
        Ok(adds)
    }
}
