//! Lake maintenance: compaction of small files (OPTIMIZE), checkpoints, and VACUUM of files no
//! version within the retention period refers to.
//!
//! Streaming ingest and micro-batch runs append many small files; compaction rewrites them into
//! few large ones (marked `dataChange: false`, so incremental readers skip them), which keeps
//! scans and the log fast. VACUUM then deletes the replaced files once they are older than the
//! retention period, so time travel within that period keeps working.

use std::num::NonZeroU64;

use deltalake::checkpoints::create_checkpoint;

use crate::bronze;
use crate::error::{LakehouseError, Result};
use crate::lake::{Lake, TableRef};
use crate::silver;

/// The tables maintenance looks after: the ones that grow by appends.
pub const APPENDED_TABLES: [TableRef; 4] = [
    bronze::listens::LISTENS,
    bronze::listens::REJECTED,
    silver::listens::TABLE,
    silver::listens::QUARANTINE,
];

/// When maintenance is worthwhile, and how far back time travel must keep working.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaintenancePolicy {
    /// A file under this size is small.
    pub small_file_bytes: u64,
    /// Compact a table once it has this many small files.
    pub min_small_files: usize,
    /// Size of the files compaction writes.
    pub target_file_bytes: u64,
    /// Replaced files younger than this are kept (time travel window).
    pub retention: chrono::Duration,
}

impl Default for MaintenancePolicy {
    fn default() -> Self {
        Self {
            small_file_bytes: 16 << 20,
            min_small_files: 32,
            target_file_bytes: 128 << 20,
            retention: chrono::Duration::days(7),
        }
    }
}

/// What maintenance did to one table.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct TableMaintenance {
    pub table: String,
    /// Small files before compaction.
    pub small_files: usize,
    /// Files compaction replaced and wrote (0, 0 when not compacted).
    pub files_removed: u64,
    pub files_added: u64,
    pub vacuumed_files: usize,
    /// The version after maintenance.
    pub version: Option<i64>,
}

impl TableMaintenance {
    /// Whether this changed anything.
    pub fn changed(&self) -> bool {
        self.files_removed > 0 || self.vacuumed_files > 0
    }
}

/// Whether any appended table has enough small files to be worth compacting.
pub async fn worthwhile(lake: &Lake, policy: &MaintenancePolicy) -> Result<bool> {
    for name in APPENDED_TABLES {
        if let Some(table) = lake.existing_table(name).await?
            && small_files(&table, name, policy)? >= policy.min_small_files
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Compacts every appended table with enough small files (every one with at least two when
/// `force` is set), checkpoints it, and vacuums files older than the retention period.
/// Does nothing (returns no reports) unless `force` is set or some table is worth compacting.
pub async fn maintain(
    lake: &Lake,
    policy: &MaintenancePolicy,
    force: bool,
) -> Result<Vec<TableMaintenance>> {
    let mut tables = Vec::new();
    for name in APPENDED_TABLES {
        if let Some(table) = lake.existing_table(name).await? {
            let small = small_files(&table, name, policy)?;
            tables.push((name, table, small));
        }
    }
    if !force
        && tables
            .iter()
            .all(|(_, _, small)| *small < policy.min_small_files)
    {
        return Ok(Vec::new());
    }
    let mut done = Vec::new();
    for (name, table, small) in tables {
        let delta_error = |e| LakehouseError::delta(name.qualified(), e);
        let mut report = TableMaintenance {
            table: name.qualified(),
            small_files: small,
            ..Default::default()
        };
        let threshold = if force { 2 } else { policy.min_small_files };
        let table = if report.small_files >= threshold {
            let target = NonZeroU64::new(policy.target_file_bytes).unwrap_or(NonZeroU64::MIN);
            let (table, metrics) = table
                .optimize()
                .with_target_size(target)
                .await
                .map_err(delta_error)?;
            report.files_removed = metrics.num_files_removed;
            report.files_added = metrics.num_files_added;
            create_checkpoint(&table, None).await.map_err(delta_error)?;
            table
        } else {
            table
        };
        let (table, metrics) = table
            .vacuum()
            .with_retention_period(policy.retention)
            .await
            .map_err(delta_error)?;
        report.vacuumed_files = metrics.files_deleted.len();
        report.version = table.version().map(|v| v as i64);
        done.push(report);
    }
    Ok(done)
}

fn small_files(
    table: &deltalake::DeltaTable,
    name: TableRef,
    policy: &MaintenancePolicy,
) -> Result<usize> {
    let snapshot = table
        .snapshot()
        .map_err(|e| LakehouseError::delta(name.qualified(), e))?;
    Ok(snapshot
        .log_data()
        .iter()
        .filter(|f| (f.size() as u64) < policy.small_file_bytes)
        .count())
}
