//! `silver/listens` (typed, deduplicated, enriched listens, partitioned by the UTC
//! year / month / day they were played) and `silver/listens_quarantine` (listens that cannot be
//! used, with the reason), built incrementally from `bronze/listens`.
//!
//! Each build reads only the files bronze gained since the version the previous build read,
//! and records the version it read in the same Delta commit as its rows (a `txn` action):
//! a build that dies before its commit leaves silver as it was, and the next build reads the
//! same bronze files again. Re-running over the same bronze therefore changes nothing, unless
//! the catalogue has meanwhile gained the track of a quarantined listen (see [`recheck`]).

mod check;
mod recheck;
mod stored;
mod table;

pub use table::{PARTITIONS, QUARANTINE, SilverListensReport, TABLE, read_version};

use datafusion::arrow::array::RecordBatch;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use deltalake::DeltaTable;

use crate::bronze;
use crate::error::{LakehouseError, Result};
use crate::lake::Lake;
use crate::silver;
use check::{SESSION_SETTINGS, check};
use table::{LISTENS_SQL, save_mode, write_listens_of, write_quarantine_rows};

/// Brings silver listens up to date with bronze. With `full`, rebuilds both tables from the
/// whole of bronze (after a catalogue change, say) instead of reading only what is new.
/// Without it, listens quarantined because their track was unknown are checked again once the
/// catalogue has their track (see [`recheck`]).
pub async fn build(lake: &Lake, full: bool) -> Result<SilverListensReport> {
    let Some(bronze_table) = lake.existing_table(bronze::listens::LISTENS).await? else {
        return Ok(SilverListensReport::default());
    };
    let Some(tracks) = lake.existing_table(silver::tracks::TABLE).await? else {
        return Ok(SilverListensReport::default());
    };
    let mut stored = SilverListensReport::default();
    if !full {
        // Before anything else is written: the next commit records the current checks.
        stored::stored_rows(lake, &mut stored).await?;
    }
    let mut report = read_new_bronze(lake, &bronze_table, &tracks, full).await?;
    report.quarantined += stored.quarantined;
    for (reason, n) in stored.reasons {
        *report.reasons.entry(reason).or_insert(0) += n;
    }
    if !full {
        recheck::unknown_tracks(lake, &bronze_table, &tracks, &mut report).await?;
    }
    Ok(report)
}

/// Checks and writes what bronze gained since the version silver holds (all of bronze with
/// `full`).
async fn read_new_bronze(
    lake: &Lake,
    bronze_table: &DeltaTable,
    tracks: &DeltaTable,
    full: bool,
) -> Result<SilverListensReport> {
    let bronze_version = bronze_table.version().map(|v| v as i64);
    let listens = lake.table(TABLE).await?;
    let quarantine = lake.table(QUARANTINE).await?;
    let previous = read_version(&listens, TABLE).await?;
    let mut report = SilverListensReport {
        previous_bronze_version: previous,
        bronze_version: previous,
        listens_version: listens.version().map(|v| v as i64),
        quarantine_version: quarantine.version().map(|v| v as i64),
        ..Default::default()
    };
    if !full && previous == bronze_version {
        return Ok(report);
    }
    let after = if full { None } else { previous };

    let started = std::time::Instant::now();
    let ctx = lake.session_with(&SESSION_SETTINGS);
    lake.register(&ctx, silver::tracks::TABLE, tracks).await?;
    if !register_new_bronze(lake, &ctx, bronze_table, after).await? {
        return Ok(report);
    }
    let existing = if full {
        None
    } else {
        listens.version().map(|_| &listens)
    };
    let checked = check(lake, &ctx, existing).await?;
    tracing::debug!(elapsed = ?started.elapsed(), rows = checked.rows_read, "checked new bronze");
    report.rows_read = checked.rows_read;
    report.days = checked.days;
    report.reasons = silver::count_reasons(&checked.rejected)?;
    report.quarantined = checked.rejected.iter().map(RecordBatch::num_rows).sum();

    let version = bronze_version.unwrap_or_default();
    let quarantine = write_quarantine(quarantine, checked.rejected, full, version).await?;
    tracing::debug!(elapsed = ?started.elapsed(), "wrote the quarantine");
    report.quarantine_version = quarantine.version().map(|v| v as i64);
    let (listens, written) = write_listens(&ctx, listens, full, version).await?;
    tracing::debug!(elapsed = ?started.elapsed(), "wrote silver/listens");
    report.listens_version = listens.version().map(|v| v as i64);
    report.written = written;
    // Every row read is written, quarantined or a copy of an event already kept.
    report.duplicates = report
        .rows_read
        .saturating_sub(report.quarantined + report.written);
    report.bronze_version = bronze_version;
    report.built = true;
    Ok(report)
}

/// Registers `bronze_listens_read`: all of bronze when `after` is `None`, else the files added
/// after that version. Returns `false` when there is nothing new to read.
async fn register_new_bronze(
    lake: &Lake,
    ctx: &SessionContext,
    bronze_table: &DeltaTable,
    after: Option<i64>,
) -> Result<bool> {
    let name = bronze::listens::LISTENS;
    let Some(after) = after else {
        lake.register_as(ctx, "bronze_listens_read", name, bronze_table)
            .await?;
        return Ok(true);
    };
    let files = bronze::changes::files_added_after(bronze_table, name, Some(after as u64)).await?;
    if files.is_empty() {
        return Ok(false);
    }
    let paths: Vec<String> = files
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let frame = ctx
        .read_parquet(paths, ParquetReadOptions::default())
        .await
        .map_err(|e| LakehouseError::query(name.qualified(), e))?;
    ctx.register_table("bronze_listens_read", frame.into_view())
        .map_err(|e| LakehouseError::query(name.qualified(), e))?;
    Ok(true)
}

async fn write_quarantine(
    table: DeltaTable,
    batches: Vec<RecordBatch>,
    full: bool,
    bronze_version: i64,
) -> Result<DeltaTable> {
    // Already written by an earlier attempt at this same bronze version.
    if !full && read_version(&table, QUARANTINE).await? == Some(bronze_version) {
        return Ok(table);
    }
    write_quarantine_rows(
        table,
        batches,
        save_mode(full),
        "quarantine listens",
        bronze_version,
    )
    .await
}

/// Writes the result of `listens.sql` into `silver/listens` in one commit. Returns the table
/// and the rows written.
async fn write_listens(
    ctx: &SessionContext,
    table: DeltaTable,
    full: bool,
    bronze_version: i64,
) -> Result<(DeltaTable, usize)> {
    write_listens_of(ctx, LISTENS_SQL, table, full, bronze_version).await
}
