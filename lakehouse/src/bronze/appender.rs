//! Low-latency appends to a bronze table: one Delta commit per call, of one Parquet file (or,
//! for large batches, several encoded in parallel on every core).
//!
//! The Delta table API rebuilds the table's file list after every commit, which costs time in
//! proportion to the files the table holds: fine for a job, not for acknowledging listens one
//! request at a time. A blind append needs none of it. The appender writes the Parquet file,
//! then the commit's log entry (`commitInfo` and one `add`) at the next version with
//! put-if-absent, which is what makes a Delta commit atomic; when another writer (lake
//! maintenance compacting the table) took that version first, it moves on to the next one,
//! as appends do not conflict with other commits.
//!
//! On a local folder each append is flushed to disk before it returns ([`durable`]): the data
//! files first, then the log entry that refers to them. An object store has them durable when
//! its put returns.
//!
//! The first append creates the table through the write builder (schema, partitioning).
//! Checkpoints are written every 100 commits (Delta's default `checkpointInterval`) by a
//! background task, so readers stay fast without stalling the commit that reaches one.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::Utc;
use datafusion::arrow::array::{Array, RecordBatch, StringArray};
use deltalake::kernel::transaction::{CommitData, TransactionError};
use deltalake::kernel::{Action, Add};
use deltalake::logstore::object_store::ObjectStoreExt;
use deltalake::logstore::{CommitOrBytes, LogStoreRef};
use deltalake::parquet::arrow::ArrowWriter;
use deltalake::parquet::basic::Compression;
use deltalake::parquet::file::properties::WriterProperties;
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::{DeltaTableError, Path};

use super::durable;
use super::listens::{PARTITION, append};
use crate::error::{LakehouseError, Result};
use crate::lake::{Lake, TableRef};

/// Commits between checkpoints, Delta's default `checkpointInterval`.
const CHECKPOINT_EVERY: u64 = 100;
/// Batches up to this many rows go into one file; larger ones are split into files of about
/// this size, encoded in parallel.
const ROWS_PER_FILE: usize = 50_000;

/// An open bronze table (partitioned by [`PARTITION`]) that appends batches, each in one
/// commit.
pub struct Appender {
    lake: Lake,
    name: TableRef,
    /// The table's log, once it exists.
    log: Option<LogStoreRef>,
    /// The version the next commit tries.
    next_version: u64,
    /// A checkpoint is being written.
    checkpointing: Arc<AtomicBool>,
    /// A drill: the commits left before flushing a log entry fails ([`Self::fail_flush_after`]).
    commits_before_flush_fails: Option<u64>,
}

impl Appender {
    /// Opens `name` in `lake` (it is created by the first append when it does not exist).
    pub async fn open(lake: &Lake, name: TableRef) -> Result<Self> {
        let mut appender = Self {
            lake: lake.clone(),
            name,
            log: None,
            next_version: 0,
            checkpointing: Arc::default(),
            commits_before_flush_fails: None,
        };
        appender.reload().await?;
        Ok(appender)
    }

    /// A drill for what a failed fsync does to the writer: after `commits` commits to the
    /// existing table (the commit that creates it is not counted), the next commit's log entry
    /// is written but flushing it to disk fails.
    pub fn fail_flush_after(&mut self, commits: u64) {
        self.commits_before_flush_fails = Some(commits);
    }

    async fn reload(&mut self) -> Result<()> {
        let table = self.lake.table(self.name).await?;
        if let Some(version) = table.version() {
            self.log = Some(table.log_store());
            self.next_version = version + 1;
        }
        Ok(())
    }

    /// Appends `batch` (all of one partition) in one commit and returns the new version.
    pub async fn append(&mut self, batch: RecordBatch) -> Result<i64> {
        if self.log.is_none() {
            // Another writer may have created the table since it was opened.
            self.reload().await?;
        }
        let Some(log) = self.log.clone() else {
            let table = append(self.lake.table(self.name).await?, self.name, batch).await?;
            if let Some(dir) = self.lake.local_table_dir(self.name) {
                durable::sync_tree(dir)
                    .await
                    .map_err(|e| self.sync_error(e))?;
            }
            let version = table.version().unwrap_or_default();
            self.log = Some(table.log_store());
            self.next_version = version + 1;
            return Ok(version as i64);
        };
        let delta_error = |e: DeltaTableError| LakehouseError::delta(self.name.qualified(), e);
        let adds = self.write_files(&log, &batch).await.map_err(delta_error)?;
        // The data files are on disk before the entry that refers to them.
        let files = adds.iter().map(|add| add.path.clone()).collect();
        if let Some(dir) = self.lake.local_table_dir(self.name) {
            durable::sync(dir, files)
                .await
                .map_err(|e| self.sync_error(e))?;
        }
        let entry = CommitData::new(
            adds.into_iter().map(Action::Add).collect(),
            DeltaOperation::Write {
                mode: SaveMode::Append,
                partition_by: Some(vec![PARTITION.to_owned()]),
                predicate: None,
            },
            HashMap::new(),
            Vec::new(),
        )
        .get_bytes()
        .map_err(|e| delta_error(e.into()))?;
        loop {
            let version = self.next_version;
            let written = log
                .write_commit_entry(
                    version,
                    CommitOrBytes::LogBytes(entry.clone()),
                    uuid::Uuid::new_v4(),
                )
                .await;
            match written {
                Ok(()) => {
                    self.next_version = version + 1;
                    self.flush_drill()?;
                    if let Some(dir) = self.lake.local_table_dir(self.name) {
                        let entry = format!("_delta_log/{version:020}.json");
                        durable::sync(dir, vec![entry])
                            .await
                            .map_err(|e| self.sync_error(e))?;
                    }
                    self.checkpoint_if_due(version);
                    return Ok(version as i64);
                }
                Err(TransactionError::VersionAlreadyExists(_)) => {
                    self.next_version =
                        log.get_latest_version(version).await.map_err(delta_error)? + 1;
                }
                Err(error) => return Err(delta_error(error.into())),
            }
        }
    }

    fn sync_error(&self, source: std::io::Error) -> LakehouseError {
        LakehouseError::NotDurable {
            table: self.name.qualified(),
            source,
        }
    }

    /// Fails as a failed flush would, when the drill says this commit's flush fails.
    fn flush_drill(&mut self) -> Result<()> {
        match self.commits_before_flush_fails {
            Some(0) => Err(self.sync_error(std::io::Error::other("flush failure drill"))),
            Some(left) => {
                self.commits_before_flush_fails = Some(left - 1);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Writes `batch` without its partition column as Parquet files in its partition's
    /// folder (one per [`ROWS_PER_FILE`] rows, encoded in parallel off the async threads),
    /// and describes them as `add` actions.
    async fn write_files(
        &self,
        log: &LogStoreRef,
        batch: &RecordBatch,
    ) -> std::result::Result<Vec<Add>, DeltaTableError> {
        let schema = batch.schema();
        let column = schema.index_of(PARTITION)?;
        let partition = single_value(batch.column(column).as_ref()).ok_or_else(|| {
            DeltaTableError::Generic(format!("a batch must hold one value of {PARTITION}"))
        })?;
        let indices: Vec<usize> = (0..schema.fields().len())
            .filter(|&i| i != column)
            .collect();
        let data = batch.project(&indices)?;
        let files = data.num_rows().div_ceil(ROWS_PER_FILE).max(1);
        let per_file = data.num_rows().div_ceil(files);
        let encodings = (0..files).map(|i| {
            let start = i * per_file;
            let part = data.slice(start, per_file.min(data.num_rows() - start));
            tokio::task::spawn_blocking(move || encode(&part).map(|bytes| (part.num_rows(), bytes)))
        });
        let store = log.object_store(None);
        let writes = futures::future::try_join_all(encodings)
            .await
            .map_err(|e| DeltaTableError::Generic(format!("encoding a Parquet file: {e}")))?
            .into_iter()
            .map(|encoded| {
                let (store, partition) = (store.clone(), partition.clone());
                async move {
                    let (rows, bytes) = encoded?;
                    let path = format!(
                        "{PARTITION}={partition}/part-00000-{}-c000.snappy.parquet",
                        uuid::Uuid::new_v4()
                    );
                    let size = bytes.len() as i64;
                    store.put(&Path::from(path.as_str()), bytes.into()).await?;
                    Ok::<_, DeltaTableError>(Add {
                        path,
                        partition_values: HashMap::from([(PARTITION.to_owned(), Some(partition))]),
                        size,
                        modification_time: Utc::now().timestamp_millis(),
                        data_change: true,
                        stats: Some(format!(r#"{{"numRecords":{rows}}}"#)),
                        ..Default::default()
                    })
                }
            });
        futures::future::try_join_all(writes).await
    }

    /// Every [`CHECKPOINT_EVERY`] versions, writes a checkpoint in the background; one at a
    /// time (while one is still being written, the next is left to the next interval).
    fn checkpoint_if_due(&self, version: u64) {
        if !(version + 1).is_multiple_of(CHECKPOINT_EVERY)
            || self.checkpointing.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let (lake, name, busy) = (self.lake.clone(), self.name, self.checkpointing.clone());
        tokio::spawn(async move {
            let written = match lake.table(name).await {
                Ok(table) => deltalake::checkpoints::create_checkpoint(&table, None)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if let Err(error) = written {
                tracing::warn!(table = %name, version, "checkpoint failed: {error}");
            }
            busy.store(false, Ordering::Release);
        });
    }
}

/// `data` as a snappy-compressed Parquet file.
fn encode(data: &RecordBatch) -> std::result::Result<Vec<u8>, DeltaTableError> {
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut buffer = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buffer, data.schema(), Some(properties))?;
    writer.write(data)?;
    writer.close()?;
    Ok(buffer)
}

/// The one value a string column holds in every row, if it does.
fn single_value(column: &dyn Array) -> Option<String> {
    let values = column.as_any().downcast_ref::<StringArray>()?;
    if values.is_empty() || values.null_count() > 0 {
        return None;
    }
    let first = values.value(0);
    values
        .iter()
        .all(|v| v == Some(first))
        .then(|| first.to_owned())
}
