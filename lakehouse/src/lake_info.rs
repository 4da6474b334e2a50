//! What the lake holds: each table's version, files, size, partitions, rows and recent history,
//! at its latest version or at an earlier one (time travel).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use deltalake::logstore::object_store::{Error as ObjectStoreError, ObjectStoreExt};
use deltalake::{DeltaTable, DeltaTableError};
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use crate::error::{LakehouseError, Result};
use crate::lake::{Lake, TableRef, count_rows_of};
use crate::{bronze, silver};

/// Every table of the lake, bronze first.
pub const TABLES: [TableRef; 7] = [
    bronze::tracks::TABLE,
    bronze::listens::LISTENS,
    bronze::listens::REJECTED,
    silver::tracks::TABLE,
    silver::tracks::QUARANTINE,
    silver::listens::TABLE,
    silver::listens::QUARANTINE,
];

/// The lake table named `layer/name`, if there is one.
pub fn find_table(qualified: &str) -> Option<TableRef> {
    TABLES.into_iter().find(|t| t.qualified() == qualified)
}

/// A table at one version.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TableInfo {
    /// `layer/name`.
    pub table: String,
    pub version: i64,
    /// The newest version (equal to `version` unless an earlier one was asked for).
    pub latest_version: i64,
    pub files: usize,
    pub size_bytes: i64,
    pub rows: i64,
    /// Hive-style partition columns, outermost first.
    pub partition_columns: Vec<String>,
    /// Distinct partitions (folders holding data files).
    pub partitions: usize,
    /// The newest commits first, up to the version described.
    pub history: Vec<Commit>,
}

/// One commit of a table.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Commit {
    pub version: i64,
    pub timestamp: Option<DateTime<Utc>>,
    pub operation: Option<String>,
    /// What soundlake recorded about the commit, e.g. `"build silver listens"`.
    pub soundlake_operation: Option<String>,
    pub metrics: Option<serde_json::Value>,
}

/// Describes `table` at `version` (latest when `None`) with its last `history` commits.
/// `None` when the table was never written.
pub async fn describe(
    lake: &Lake,
    name: TableRef,
    version: Option<i64>,
    history: usize,
) -> Result<Option<TableInfo>> {
    let Some(mut table) = lake.existing_table(name).await? else {
        return Ok(None);
    };
    let delta_error = |e| LakehouseError::delta(name.qualified(), e);
    let latest = table.version().map_or(0, |v| v as i64);
    if let Some(version) = version {
        if version < 0 || version > latest {
            return Err(LakehouseError::NotFound(format!(
                "{name} has versions 0 to {latest}; there is no version {version}"
            )));
        }
        let gone = || {
            LakehouseError::NotFound(format!(
                "version {version} of {name} is no longer kept: lake maintenance removed it \
                 (time travel reaches back over the retention period)"
            ))
        };
        match table.load_version(version as u64).await {
            Ok(()) => {}
            Err(DeltaTableError::InvalidVersion(_)) => return Err(gone()),
            Err(e) => return Err(delta_error(e)),
        }
        if version < latest && !files_present(&table).await.map_err(delta_error)? {
            return Err(gone());
        }
    }
    let current = table.version().map_or(0, |v| v as i64);
    let snapshot = table.snapshot().map_err(delta_error)?;
    let mut files = 0;
    let mut size_bytes = 0;
    let mut partitions = BTreeSet::new();
    let mut partition_columns = Vec::new();
    for file in snapshot.log_data().iter() {
        files += 1;
        size_bytes += file.size();
        let path = file.path();
        // The partition folders (`day=3`), not a folder a writer put its files in.
        let folders: Vec<&str> = path.split('/').collect();
        let folders: Vec<&str> = folders[..folders.len().saturating_sub(1)]
            .iter()
            .copied()
            .filter(|folder| folder.contains('='))
            .collect();
        if partition_columns.is_empty() {
            partition_columns = folders
                .iter()
                .filter_map(|f| f.split_once('=').map(|(k, _)| k.to_owned()))
                .collect();
        }
        partitions.insert(folders.join("/"));
    }
    let commits: Vec<_> = table
        .history(Some(history))
        .try_collect()
        .await
        .map_err(delta_error)?;
    let history = commits
        .into_iter()
        .enumerate()
        .map(|(i, info)| Commit {
            version: current - i as i64,
            timestamp: info.timestamp.and_then(DateTime::from_timestamp_millis),
            operation: info.operation,
            soundlake_operation: info
                .info
                .get("soundlake.operation")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            metrics: info.info.get("operationMetrics").cloned(),
        })
        .collect();
    let rows = count_rows_of(lake, name, &table).await?;
    Ok(Some(TableInfo {
        table: name.qualified(),
        version: current,
        latest_version: latest,
        files,
        size_bytes,
        rows,
        partition_columns,
        partitions: if files == 0 { 0 } else { partitions.len() },
        history,
    }))
}

/// Whether every data file of `table`'s loaded version is still in the store (vacuum deletes
/// the files that only earlier versions refer to).
async fn files_present(table: &DeltaTable) -> std::result::Result<bool, DeltaTableError> {
    let store = table.object_store();
    let paths: Vec<deltalake::Path> = table
        .snapshot()?
        .log_data()
        .iter()
        .map(|file| file.object_store_path())
        .collect();
    let missing = futures::stream::iter(paths)
        .map(|path| {
            let store = store.clone();
            async move { store.head(&path).await }
        })
        .buffer_unordered(16)
        .try_filter_map(|_| async { Ok(None::<()>) })
        .try_collect::<Vec<()>>()
        .await;
    match missing {
        Ok(_) => Ok(true),
        Err(ObjectStoreError::NotFound { .. }) => Ok(false),
        Err(e) => Err(DeltaTableError::ObjectStore { source: e }),
    }
}

/// Every table that exists, at its latest version.
pub async fn describe_all(lake: &Lake, history: usize) -> Result<Vec<TableInfo>> {
    let mut all = Vec::new();
    for name in TABLES {
        if let Some(info) = describe(lake, name, None, history).await? {
            all.push(info);
        }
    }
    Ok(all)
}
