//! The lake's tables by name, for SQL written by people and tools: `bronze.listens`,
//! `silver.tracks`, `silver.listens_quarantine` and so on, and for time travel the table at a
//! version or as it was at a time, in the `@` form Delta users know from other engines:
//!
//! ```sql
//! SELECT count(*) FROM silver."listens@v3";
//! SELECT count(*) FROM silver."listens@2026-12-01T00:00:00Z";
//! ```
//!
//! Queries are read-only: statements that would change anything are refused before they run.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::error::DataFusionError;
use datafusion::execution::SessionState;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{DataFrame, SQLOptions, SessionContext};

use crate::error::{LakehouseError, Result};
use crate::lake::{Lake, TableRef};
use crate::lake_info::TABLES;

/// The catalog the layers are schemas of (and the session's default).
pub const CATALOG: &str = "soundlake";
/// The layers whose tables SQL reaches, each a schema of [`CATALOG`].
pub const LAYERS: [&str; 2] = ["bronze", "silver"];
/// The memory one query may hold; sorts and joins beyond it spill to disk or fail.
pub const MEMORY_LIMIT_BYTES: usize = 2 << 30;

/// Which state of a table a name asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum At {
    Latest,
    Version(u64),
    Time(DateTime<Utc>),
}

/// Splits `name@v3` or `name@<RFC 3339 time>` into the table's name and the state asked for.
pub fn parse_name(name: &str) -> std::result::Result<(&str, At), String> {
    let Some((table, at)) = name.split_once('@') else {
        return Ok((name, At::Latest));
    };
    if let Some(version) = at.strip_prefix('v') {
        return version
            .parse()
            .map(|v| (table, At::Version(v)))
            .map_err(|_| format!("`{name}`: after `@v` comes a version number"));
    }
    DateTime::parse_from_rfc3339(at)
        .map(|t| (table, At::Time(t.with_timezone(&Utc))))
        .map_err(|_| {
            format!(
                "`{name}`: after `@` comes `v` and a version (`@v3`) or an RFC 3339 time \
                 (`@2026-12-01T00:00:00Z`)"
            )
        })
}

/// A DataFusion session in which every lake table is reachable as `layer.name`, with
/// `information_schema` (`SHOW TABLES`) on and at most [`MEMORY_LIMIT_BYTES`] per query.
pub fn session(lake: &Lake) -> SessionContext {
    let config = crate::query::session_config(&[("datafusion.catalog.information_schema", "true")])
        .with_default_catalog_and_schema(CATALOG, "public")
        .with_create_default_catalog_and_schema(true);
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_limit(MEMORY_LIMIT_BYTES, 1.0)
        .build_arc()
        .expect("a runtime with a memory limit");
    let ctx = SessionContext::new_with_config_rt(config, runtime);
    let state = Arc::new(ctx.state());
    let catalog = ctx.catalog(CATALOG).expect("the default catalog");
    for layer in LAYERS {
        catalog
            .register_schema(
                layer,
                Arc::new(LayerSchema {
                    lake: lake.clone(),
                    layer,
                    state: Arc::clone(&state),
                }),
            )
            .expect("the default catalog takes schemas");
    }
    ctx
}

/// Plans one read-only statement over the lake's tables; nothing runs until the frame is
/// collected or streamed.
pub async fn plan(lake: &Lake, sql: &str) -> Result<DataFrame> {
    let read_only = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    session(lake)
        .sql_with_options(sql, read_only)
        .await
        .map_err(|e| LakehouseError::query("sql", e))
}

/// Runs one read-only statement over the lake's tables and returns its schema and rows.
pub async fn query(lake: &Lake, sql: &str) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let frame = plan(lake, sql).await?;
    let schema = Arc::new(frame.schema().as_arrow().clone());
    let batches = frame
        .collect()
        .await
        .map_err(|e| LakehouseError::query("sql", e))?;
    Ok((schema, batches))
}

/// The schema of a lake table at its latest version, or `None` when it has never been written
/// (read once, through the same schemas queries use).
pub async fn schema_of(lake: &Lake, table: TableRef) -> Result<Option<SchemaRef>> {
    let Some(layer) = session(lake)
        .catalog(CATALOG)
        .and_then(|catalog| catalog.schema(table.layer))
    else {
        return Ok(None);
    };
    let provider = layer
        .table(table.name)
        .await
        .map_err(|e| LakehouseError::query(table.qualified(), e))?;
    Ok(provider.map(|p| p.schema()))
}

/// The tables of one layer, opened when a query names them.
#[derive(Debug)]
struct LayerSchema {
    lake: Lake,
    layer: &'static str,
    /// The settings scans are planned with.
    state: Arc<SessionState>,
}

impl LayerSchema {
    fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        TABLES
            .into_iter()
            .filter(|t| t.layer == self.layer)
            .map(|t| t.name)
    }
}

#[async_trait]
impl SchemaProvider for LayerSchema {
    fn table_names(&self) -> Vec<String> {
        self.names()
            .filter(|name| {
                // On an object store every table is listed; one never written answers no rows.
                let table = TableRef::new(self.layer, name);
                self.lake
                    .local_table_dir(table)
                    .is_none_or(|dir| dir.join("_delta_log").exists())
            })
            .map(str::to_owned)
            .collect()
    }

    async fn table(
        &self,
        name: &str,
    ) -> std::result::Result<Option<Arc<dyn TableProvider>>, DataFusionError> {
        let (base, at) = parse_name(name).map_err(DataFusionError::Plan)?;
        let Some(table) = TABLES
            .into_iter()
            .find(|t| t.layer == self.layer && t.name == base)
        else {
            return Ok(None);
        };
        let external = |e: LakehouseError| DataFusionError::External(Box::new(e));
        let Some(mut delta) = self.lake.existing_table(table).await.map_err(external)? else {
            return Ok(None);
        };
        let travelled = match at {
            At::Latest => Ok(()),
            At::Version(version) => delta.load_version(version).await,
            At::Time(time) => delta.load_with_datetime(time).await,
        };
        travelled.map_err(|e| {
            DataFusionError::Plan(format!(
                "{}.{name}: no such state of the table: {e}",
                self.layer
            ))
        })?;
        let provider = delta
            .table_provider()
            .with_session(Arc::clone(&self.state))
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        Ok(Some(provider))
    }

    fn table_exist(&self, name: &str) -> bool {
        parse_name(name).is_ok_and(|(base, _)| self.names().any(|n| n == base))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_the_table_and_which_of_its_states() {
        assert_eq!(parse_name("listens"), Ok(("listens", At::Latest)));
        assert_eq!(parse_name("listens@v12"), Ok(("listens", At::Version(12))));
        let (table, at) = parse_name("tracks@2026-12-01T10:00:00+01:00").unwrap();
        assert_eq!(table, "tracks");
        assert_eq!(
            at,
            At::Time("2026-12-01T09:00:00Z".parse::<DateTime<Utc>>().unwrap())
        );
        for bad in ["listens@", "listens@v", "listens@v-1", "listens@yesterday"] {
            assert!(parse_name(bad).is_err(), "{bad}");
        }
    }
}
