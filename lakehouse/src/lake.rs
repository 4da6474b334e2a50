//! The lake on disk: where each Delta table lives, opening tables, and DataFusion sessions.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};
use deltalake::{DeltaTable, DeltaTableBuilder, DeltaTableError};

use crate::error::{LakehouseError, Result};

/// A lake table: its layer and name, e.g. `silver/tracks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TableRef {
    pub layer: &'static str,
    pub name: &'static str,
}

impl TableRef {
    pub const fn new(layer: &'static str, name: &'static str) -> Self {
        Self { layer, name }
    }

    /// `layer/name`, as tables are named in logs, reports and commit metadata.
    pub fn qualified(&self) -> String {
        format!("{}/{}", self.layer, self.name)
    }

    /// `layer_name`, the name the table is registered under for SQL.
    pub fn sql_name(&self) -> String {
        format!("{}_{}", self.layer, self.name)
    }
}

impl std::fmt::Display for TableRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.layer, self.name)
    }
}

/// The lake's root folder: tables live at `<root>/<layer>/<table>/`.
#[derive(Debug, Clone)]
pub struct Lake {
    root: PathBuf,
}

impl Lake {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of a table.
    pub fn table_dir(&self, table: TableRef) -> PathBuf {
        self.root.join(table.layer).join(table.name)
    }

    /// A handle on a table, loaded at its latest version when it exists; an unloaded handle
    /// (`version() == None`) otherwise, through which the first write creates the table.
    pub async fn table(&self, table: TableRef) -> Result<DeltaTable> {
        let dir = self.table_dir(table);
        let location = dir.to_str().ok_or_else(|| LakehouseError::Schema {
            table: table.qualified(),
            detail: format!("path {} is not valid UTF-8", dir.display()),
        })?;
        let delta_error = |e| LakehouseError::delta(table.qualified(), e);
        let url = deltalake::ensure_table_uri(location).map_err(delta_error)?;
        if dir.join("_delta_log").exists() {
            DeltaTable::try_from_url(url).await.map_err(delta_error)
        } else {
            DeltaTableBuilder::from_url(url)
                .and_then(|b| b.build())
                .map_err(delta_error)
        }
    }

    /// The table at its latest version, or `None` when it has never been written.
    pub async fn existing_table(&self, table: TableRef) -> Result<Option<DeltaTable>> {
        if !self.table_dir(table).join("_delta_log").exists() {
            return Ok(None);
        }
        match self.table(table).await {
            Ok(t) if t.version().is_some() => Ok(Some(t)),
            Ok(_)
            | Err(LakehouseError::Delta {
                source: DeltaTableError::NotATable(_),
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A DataFusion session whose strings are plain `Utf8` (not views), so query results can
    /// be written back to Delta and read by other engines without surprises.
    pub fn session(&self) -> SessionContext {
        let config = SessionConfig::new()
            .set_bool(
                "datafusion.execution.parquet.schema_force_view_types",
                false,
            )
            .set_bool("datafusion.sql_parser.map_string_types_to_utf8view", false);
        SessionContext::new_with_config(config)
    }

    /// Runs `sql` over `delta` alone, registered under the table's SQL name (`layer_name`).
    pub async fn query_table(
        &self,
        table: TableRef,
        delta: &DeltaTable,
        sql: &str,
    ) -> Result<Vec<RecordBatch>> {
        let ctx = self.session();
        self.register(&ctx, table, delta).await?;
        collect_sql(&ctx, &table.qualified(), sql).await
    }

    /// Registers `delta` in `ctx` under the table's SQL name (`layer_name`).
    pub async fn register(
        &self,
        ctx: &SessionContext,
        table: TableRef,
        delta: &DeltaTable,
    ) -> Result<()> {
        self.register_as(ctx, &table.sql_name(), table, delta).await
    }

    /// Registers `delta` in `ctx` under `sql_name`.
    pub async fn register_as(
        &self,
        ctx: &SessionContext,
        sql_name: &str,
        table: TableRef,
        delta: &DeltaTable,
    ) -> Result<()> {
        let provider = delta
            .table_provider()
            .with_session(Arc::new(ctx.state()))
            .await
            .map_err(|e| LakehouseError::query(table.qualified(), e))?;
        ctx.deregister_table(sql_name)
            .map_err(|e| LakehouseError::query(table.qualified(), e))?;
        ctx.register_table(sql_name, provider)
            .map_err(|e| LakehouseError::query(table.qualified(), e))?;
        Ok(())
    }
}

/// The version application `app_id` recorded in `delta` with a Delta `txn` action (jobs
/// record there which version of their input they read), if the table exists and it did.
pub async fn recorded_version(
    delta: &DeltaTable,
    table: TableRef,
    app_id: &str,
) -> Result<Option<i64>> {
    if delta.version().is_none() {
        return Ok(None);
    }
    let delta_error = |e| LakehouseError::delta(table.qualified(), e);
    let snapshot = delta.snapshot().map_err(delta_error)?;
    snapshot
        .transaction_version(&delta.log_store(), app_id)
        .await
        .map_err(delta_error)
}

/// Runs `sql` in `ctx` and collects its result; `context` names the query in errors.
pub async fn collect_sql(
    ctx: &SessionContext,
    context: &str,
    sql: &str,
) -> Result<Vec<RecordBatch>> {
    let (_, batches) = collect_with_schema(ctx, context, sql).await?;
    Ok(batches)
}

async fn collect_with_schema(
    ctx: &SessionContext,
    context: &str,
    sql: &str,
) -> Result<(Arc<datafusion::arrow::datatypes::Schema>, Vec<RecordBatch>)> {
    let query_error = |e| LakehouseError::query(context, e);
    let frame = ctx.sql(sql).await.map_err(query_error)?;
    let schema = Arc::new(frame.schema().as_arrow().clone());
    let batches = frame.collect().await.map_err(query_error)?;
    Ok((schema, batches))
}

/// Like [`collect_sql`], but always at least one batch: an empty one with the query's schema
/// when it has no rows, so that writes (and overwrites) still know the schema.
pub async fn collect_or_empty(
    ctx: &SessionContext,
    context: &str,
    sql: &str,
) -> Result<Vec<RecordBatch>> {
    let (schema, mut batches) = collect_with_schema(ctx, context, sql).await?;
    batches.retain(|b| b.num_rows() > 0);
    if batches.is_empty() {
        batches.push(RecordBatch::new_empty(schema));
    }
    Ok(batches)
}

/// Runs `sql` in `ctx` and registers its result there as the in-memory table `name`, spread
/// over as many partitions as the session runs in parallel (so the queries that read it use
/// every core). A result read by several queries, or several times by one, is computed once.
/// Returns the number of rows.
pub async fn materialize(ctx: &SessionContext, name: &str, sql: &str) -> Result<usize> {
    let batches = collect_or_empty(ctx, name, sql).await?;
    register_batches(ctx, name, batches)
}

/// Registers `batches` (at least one, for the schema) in `ctx` as the in-memory table `name`,
/// spread over as many partitions as the session runs in parallel. Returns the number of rows.
pub fn register_batches(
    ctx: &SessionContext,
    name: &str,
    batches: Vec<RecordBatch>,
) -> Result<usize> {
    let rows = batches.iter().map(RecordBatch::num_rows).sum();
    let schema = batches[0].schema();
    let parallel = ctx.state().config().target_partitions().max(1);
    let mut partitions = vec![Vec::new(); parallel];
    for (i, batch) in batches.into_iter().enumerate() {
        partitions[i % parallel].push(batch);
    }
    let query_error = |e| LakehouseError::query(name, e);
    let table = MemTable::try_new(schema, partitions).map_err(query_error)?;
    ctx.register_table(name, Arc::new(table))
        .map_err(query_error)?;
    Ok(rows)
}

/// The number of rows in a table at its latest version (0 when it was never written).
pub async fn count_rows(lake: &Lake, table: TableRef) -> Result<i64> {
    match lake.existing_table(table).await? {
        Some(delta) => count_rows_of(lake, table, &delta).await,
        None => Ok(0),
    }
}

/// The number of rows in `delta` at the version it is loaded at.
pub async fn count_rows_of(lake: &Lake, table: TableRef, delta: &DeltaTable) -> Result<i64> {
    let sql = format!("SELECT count(*) FROM {}", table.sql_name());
    let batches = lake.query_table(table, delta, &sql).await?;
    let count = batches
        .first()
        .and_then(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<datafusion::arrow::array::Int64Array>()
        })
        .map_or(0, |a| a.value(0));
    Ok(count)
}
