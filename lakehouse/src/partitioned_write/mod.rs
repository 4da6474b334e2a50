//! Writing a query's result into a Delta table partitioned Hive-style by some of its columns,
//! in one commit.
//!
//! Each output partition of the query's plan is drained on its own task, and each batch goes
//! to the file of its partition values as slices of consecutive rows. Each partition has one
//! file (up to the table's target file size), whichever streams its rows come from. A query
//! whose partitions hold ordered ranges of the rows (listens by play time) so costs no copy
//! and no redistribution, and its streams mostly write different partitions at a time. delta-rs'
//! own write would re-plan the query in its session, redistribute every row by the partition
//! columns, then sort and copy each batch again by them.
//!
//! The plan is run in the caller's session, so that session's settings apply to it. In a
//! session on a Ballista cluster, the executors write the files ([`on_cluster`]).

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::physical_plan::{SendableRecordBatchStream, execute_stream_partitioned};
use datafusion::prelude::SessionContext;
use delta_kernel::table_properties::TableProperties;
use deltalake::datafile::writer::WriterConfig;
use deltalake::kernel::engine::arrow_conversion::{TryIntoArrow, TryIntoKernel};
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::{Action, Add, EagerSnapshot, StructType, Transaction};
use deltalake::logstore::ObjectStoreRef;
use deltalake::parquet::file::properties::WriterProperties;
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::table::config::TablePropertiesExt;
use deltalake::{DeltaTable, DeltaTableError};
use tokio::task::JoinSet;

use crate::error::{LakehouseError, Result};
use crate::lake::TableRef;
use crate::query::cluster::Scratch;

mod file_stats;
mod on_cluster;
mod partition_files;
mod stream_writer;
#[cfg(test)]
mod tests;

use file_stats::IndexedColumns;
use partition_files::PartitionFiles;
use stream_writer::StreamWriter;

/// Rows handed to the Parquet encoder at a time (a DataFusion batch; delta-rs' default is
/// 1,024, which repeats the encoder's per-call work for every column eight times as often).
const ROWS_PER_ENCODE: usize = 8192;

/// How to write: the table, its partition columns, and what the commit records.
#[derive(Debug, Clone)]
pub struct PartitionedWrite {
    pub table: TableRef,
    /// The columns the table is partitioned by, in path order (`year`, `month`, `day`).
    pub partition_columns: Vec<String>,
    /// `Append` adds the rows to the table's; `Overwrite` replaces its rows and its schema
    /// (the query's). A table that does not exist yet is created either way.
    pub mode: SaveMode,
    /// How the Parquet files are encoded.
    pub writer_properties: WriterProperties,
    /// Recorded in the commit's `commitInfo`, with the `operationMetrics` of the write.
    pub app_metadata: Vec<(String, serde_json::Value)>,
    /// Applications' transaction versions, recorded in the same commit as the rows.
    pub app_transactions: Vec<Transaction>,
}

/// What a write committed.
#[derive(Debug)]
pub struct Written {
    pub table: DeltaTable,
    pub rows: usize,
    pub files: usize,
}

impl PartitionedWrite {
    /// Runs `sql` in `ctx` and writes its rows into `table` in one commit. Nothing is
    /// committed when the query or a file fails (files already written stay unreferenced,
    /// for vacuum).
    pub async fn write(
        &self,
        ctx: &SessionContext,
        sql: &str,
        table: DeltaTable,
    ) -> Result<Written> {
        if self.partition_columns.is_empty() {
            return Err(self.schema_error("a partitioned write needs partition columns".into()));
        }
        let query_error = |e| LakehouseError::query(self.table.qualified(), e);
        let frame = ctx.sql(sql).await.map_err(query_error)?;
        let plan = frame
            .clone()
            .create_physical_plan()
            .await
            .map_err(query_error)?;
        let replace = self.mode == SaveMode::Overwrite || table.version().is_none();
        // The query's columns in Delta's types (a timestamp's zone spelled `UTC`, say): the
        // rows are written with those, and a new schema is checked before anything is written.
        let schema: StructType = plan.schema().as_ref().try_into_kernel().map_err(|e| {
            self.schema_error(format!("the query's columns have no Delta type: {e}"))
        })?;
        let in_delta_types: SchemaRef = Arc::new(
            (&schema)
                .try_into_arrow()
                .map_err(|e| self.schema_error(format!("no Arrow type for a column: {e}")))?,
        );
        let (target, new_schema) = if replace {
            (Arc::clone(&in_delta_types), Some(schema))
        } else {
            let snapshot = self.snapshot(&table)?;
            let partitioned_by = snapshot.metadata().partition_columns();
            if partitioned_by != self.partition_columns.as_slice() {
                return Err(self.schema_error(format!(
                    "the table is partitioned by {partitioned_by:?}, not {:?}",
                    self.partition_columns
                )));
            }
            (snapshot.arrow_schema(), None)
        };
        let columns = self.column_positions(&target, &in_delta_types)?;
        if Scratch::of(ctx).is_some() {
            let indexed = IndexedColumns::of(&self.properties(&table, replace)?);
            let (adds, rows) = self
                .write_on_cluster(frame, &table, &target, &indexed)
                .await?;
            let files = adds.len();
            let table = self.commit(table, new_schema, adds, rows).await?;
            return Ok(Written { table, rows, files });
        }
        let streams = execute_stream_partitioned(plan, ctx.task_ctx()).map_err(query_error)?;
        tracing::debug!(table = %self.table, streams = streams.len(), "writing");
        let config = self.writer_config(&table, replace, target.clone())?;
        let store = table.log_store().object_store(None);
        let (adds, rows) = self
            .write_streams(streams, store, config, target, columns)
            .await?;
        let files = adds.len();
        let table = self.commit(table, new_schema, adds, rows).await?;
        Ok(Written { table, rows, files })
    }

    fn snapshot<'t>(&self, table: &'t DeltaTable) -> Result<&'t EagerSnapshot> {
        Ok(table
            .snapshot()
            .map_err(|e| self.delta_error(e))?
            .snapshot())
    }

    fn delta_error(&self, e: DeltaTableError) -> LakehouseError {
        LakehouseError::delta(self.table.qualified(), e)
    }

    /// The table's properties the files are written by (a new or replaced table's are the
    /// defaults, as a replacement's metadata is new).
    fn properties(&self, table: &DeltaTable, replace: bool) -> Result<TableProperties> {
        Ok(if replace {
            TableProperties::default()
        } else {
            self.snapshot(table)?.table_properties().clone()
        })
    }

    /// The writers' settings: the table's file size and statistics settings.
    fn writer_config(
        &self,
        table: &DeltaTable,
        replace: bool,
        schema: SchemaRef,
    ) -> Result<WriterConfig> {
        let properties = self.properties(table, replace)?;
        let stats_columns = properties
            .data_skipping_stats_columns
            .as_ref()
            .map(|columns| columns.iter().map(ToString::to_string).collect());
        Ok(WriterConfig::new(
            schema,
            self.partition_columns.clone(),
            Some(self.writer_properties.clone()),
            Some(properties.target_file_size()),
            Some(ROWS_PER_ENCODE),
            properties.num_indexed_cols(),
            stats_columns,
        ))
    }

    /// Drains every stream, each on its own task, into the partitions' files. Returns the
    /// files written and the rows in them.
    async fn write_streams(
        &self,
        streams: Vec<SendableRecordBatchStream>,
        store: ObjectStoreRef,
        config: WriterConfig,
        schema: SchemaRef,
        columns: Vec<usize>,
    ) -> Result<(Vec<Add>, usize)> {
        let partition_columns: Vec<usize> = self
            .partition_columns
            .iter()
            .map(|name| schema.index_of(name))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| self.schema_error(format!("a partition column is missing: {e}")))?;
        let files = Arc::new(PartitionFiles::new(store, config));
        let mut tasks = JoinSet::new();
        for stream in streams {
            let stream_writer = StreamWriter {
                table: self.table,
                files: Arc::clone(&files),
                schema: schema.clone(),
                columns: columns.clone(),
                partition_columns: partition_columns.clone(),
                partition_names: self.partition_columns.clone(),
            };
            tasks.spawn(stream_writer.drain(stream));
        }
        let mut rows = 0;
        while let Some(joined) = tasks.join_next().await {
            let written = joined
                .map_err(|e| LakehouseError::Interrupted(format!("writing {}: {e}", self.table)))?;
            match written {
                Ok(stream_rows) => rows += stream_rows,
                Err(e) => {
                    // The files written so far stay unreferenced, for vacuum.
                    tasks.abort_all();
                    return Err(e);
                }
            }
        }
        let files = Arc::into_inner(files).ok_or_else(|| {
            LakehouseError::Interrupted(format!(
                "writing {}: a stream is still running",
                self.table
            ))
        })?;
        let adds = files.close().await.map_err(|e| self.delta_error(e))?;
        Ok((adds, rows))
    }

    /// Commits the files: a plain append, or, given the table's `new_schema`, the table's
    /// creation or replacement with them (which removes every file it had).
    async fn commit(
        &self,
        mut table: DeltaTable,
        new_schema: Option<StructType>,
        adds: Vec<Add>,
        rows: usize,
    ) -> Result<DeltaTable> {
        let metrics = serde_json::json!({
            "num_added_rows": rows,
            "num_added_files": adds.len(),
        });
        let metadata = self
            .app_metadata
            .iter()
            .cloned()
            .chain([("operationMetrics".to_owned(), metrics)]);
        let properties = CommitProperties::default()
            .with_metadata(metadata)
            .with_application_transactions(self.app_transactions.clone());
        let actions = adds.into_iter().map(Action::Add);
        if let Some(schema) = new_schema {
            // A replaced table keeps its properties; a new one fails if another writer has
            // created it meanwhile, rather than replace that writer's rows.
            let (mode, configuration) = match table.version() {
                Some(_) => (
                    SaveMode::Overwrite,
                    self.snapshot(&table)?.metadata().configuration().clone(),
                ),
                None => (SaveMode::ErrorIfExists, HashMap::new()),
            };
            return table
                .create()
                .with_save_mode(mode)
                .with_table_name(self.table.sql_name())
                .with_columns(schema.fields().cloned())
                .with_partition_columns(self.partition_columns.clone())
                .with_configuration(configuration.into_iter().map(|(k, v)| (k, Some(v))))
                .with_commit_properties(properties)
                .with_actions(actions)
                .await
                .map_err(|e| self.delta_error(e));
        }
        let operation = DeltaOperation::Write {
            mode: SaveMode::Append,
            partition_by: Some(self.partition_columns.clone()),
            predicate: None,
        };
        let committed = CommitBuilder::from(properties)
            .with_actions(actions.collect())
            .build(Some(self.snapshot(&table)?), table.log_store(), operation)
            .await
            .map_err(|e| self.delta_error(e))?;
        // The commit returns the table's new state: no need to read the log again.
        table.state = Some(committed.snapshot);
        Ok(table)
    }

    fn schema_error(&self, detail: String) -> LakehouseError {
        LakehouseError::Schema {
            table: self.table.qualified(),
            detail,
        }
    }
}

impl PartitionedWrite {
    /// For each column of the table (`target`), its position among the query's columns (in
    /// Delta's types): the query must have the table's columns, by name and with the same
    /// types, and no others.
    fn column_positions(&self, target: &SchemaRef, query: &SchemaRef) -> Result<Vec<usize>> {
        let changed =
            "the table's columns differ from the query's (rebuild the table to change them)";
        if let Some(extra) = query
            .fields()
            .iter()
            .find(|f| target.column_with_name(f.name()).is_none())
        {
            return Err(self.schema_error(format!(
                "{changed}: the table has no column `{}`",
                extra.name()
            )));
        }
        target
            .fields()
            .iter()
            .map(|field| {
                let (position, found) = query.column_with_name(field.name()).ok_or_else(|| {
                    self.schema_error(format!(
                        "{changed}: the query has no column `{}`",
                        field.name()
                    ))
                })?;
                if found.data_type() != field.data_type() {
                    return Err(self.schema_error(format!(
                        "{changed}: column `{}` is {} in the table but {} in the query",
                        field.name(),
                        field.data_type(),
                        found.data_type()
                    )));
                }
                Ok(position)
            })
            .collect()
    }
}
