//! `silver/listens` (typed, deduplicated, enriched listens, partitioned by the UTC
//! year / month / day they were played) and `silver/listens_quarantine` (listens that cannot be
//! used, with the reason), built incrementally from `bronze/listens`.
//!
//! Each build reads only the files bronze gained since the version the previous build read,
//! and records the version it read in the same Delta commit as its rows (a `txn` action):
//! a build that dies before its commit leaves silver as it was, and the next build reads the
//! same bronze files again. Re-running over the same bronze therefore changes nothing, unless
//! the catalogue has meanwhile gained the track of a quarantined listen (see [`recheck`]).
//! A build with more rows to read than memory should hold at once reads them in parts (see
//! [`parts`]).

mod check;
mod parts;
mod recheck;
mod stored;
mod table;

pub use parts::PART_ROWS;
pub use table::{PARTITIONS, QUARANTINE, SilverListensReport, TABLE, parts_to_come, read_version};

use std::collections::BTreeSet;

use datafusion::arrow::array::RecordBatch;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use deltalake::DeltaTable;

use crate::bronze;
use crate::error::{LakehouseError, Result};
use crate::lake::{Lake, first_i64};
use crate::query::collect_sql;
use crate::silver;
use check::{SESSION_SETTINGS, check};
use parts::{Part, register_part};
use table::{LISTENS_SQL, Stamp, save_mode, write_listens_of, write_quarantine_rows};

/// How a build runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BuildOptions {
    /// Rebuild both tables from the whole of bronze.
    pub full: bool,
    /// The bronze rows read at a time at most: a build with more reads them in parts.
    pub part_rows: u64,
    /// A drill: fail after this many parts were committed.
    pub fail_after_parts: Option<u64>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            full: false,
            part_rows: PART_ROWS,
            fail_after_parts: None,
        }
    }
}

/// Brings silver listens up to date with bronze. With `full`, rebuilds both tables from the
/// whole of bronze (after a catalogue change, say) instead of reading only what is new.
/// Without it, listens quarantined because their track was unknown are checked again once the
/// catalogue has their track (see [`recheck`]).
pub async fn build(lake: &Lake, full: bool) -> Result<SilverListensReport> {
    build_with(
        lake,
        BuildOptions {
            full,
            ..BuildOptions::default()
        },
    )
    .await
}

/// [`build`] with every option. A build that an earlier one left part-way (see [`parts`]) is
/// a full one.
pub async fn build_with(lake: &Lake, options: BuildOptions) -> Result<SilverListensReport> {
    let Some(bronze_table) = lake.existing_table(bronze::listens::LISTENS).await? else {
        return Ok(SilverListensReport::default());
    };
    let Some(tracks) = lake.existing_table(silver::tracks::TABLE).await? else {
        return Ok(SilverListensReport::default());
    };
    let full = options.full || stopped_part_way(lake).await?;
    let options = BuildOptions { full, ..options };
    let mut stored = SilverListensReport::default();
    if !full {
        // Before anything else is written: the next commit records the current checks.
        stored::stored_rows(lake, &mut stored).await?;
    }
    let mut report = read_new_bronze(lake, &bronze_table, &tracks, options).await?;
    report.quarantined += stored.quarantined;
    for (reason, n) in stored.reasons {
        *report.reasons.entry(reason).or_insert(0) += n;
    }
    if !full {
        recheck::unknown_tracks(lake, &bronze_table, &tracks, &mut report).await?;
    }
    Ok(report)
}

/// Whether the last build stopped part-way: either table still waits for parts (a part's
/// quarantine is committed before its listens).
async fn stopped_part_way(lake: &Lake) -> Result<bool> {
    for name in [TABLE, QUARANTINE] {
        if let Some(table) = lake.existing_table(name).await?
            && parts_to_come(&table, name).await? > 0
        {
            tracing::warn!(
                table = %name.qualified(),
                "the last silver listens build stopped part-way: rebuilding from the whole of bronze"
            );
            return Ok(true);
        }
    }
    Ok(false)
}

/// Checks and writes what bronze gained since the version silver holds (all of bronze with
/// `full`), in as many parts as its size needs.
async fn read_new_bronze(
    lake: &Lake,
    bronze_table: &DeltaTable,
    tracks: &DeltaTable,
    options: BuildOptions,
) -> Result<SilverListensReport> {
    let full = options.full;
    let bronze_version = bronze_table.version().map(|v| v as i64);
    let mut listens = lake.table(TABLE).await?;
    let mut quarantine = lake.table(QUARANTINE).await?;
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
    let Some(source) = NewBronze::since(bronze_table, after).await? else {
        return Ok(report);
    };
    let rows = {
        let ctx = lake.session()?;
        source.register(lake, &ctx, bronze_table).await?;
        let sql = "SELECT count(*) FROM bronze_listens_all";
        first_i64(&collect_sql(&ctx, "new bronze rows", sql).await?).max(0) as u64
    };
    // Every part is checked against silver as it was before the build: the parts hold
    // different events, so no part needs another's rows.
    let existing = if full {
        None
    } else {
        listens.version().map(|_| listens.clone())
    };
    let version = bronze_version.unwrap_or_default();
    let mut days = BTreeSet::new();
    for part in Part::all(rows, options.part_rows) {
        let ctx = lake.session_with(&part.session_settings(&SESSION_SETTINGS))?;
        crate::query::functions::register(&ctx);
        lake.register(&ctx, silver::tracks::TABLE, tracks).await?;
        source.register(lake, &ctx, bronze_table).await?;
        register_part(&ctx, part).await?;
        let checked = check(lake, &ctx, existing.as_ref(), part).await?;
        tracing::debug!(elapsed = ?started.elapsed(), rows = checked.rows_read, ?part, "checked new bronze");
        report.rows_read += checked.rows_read;
        days.extend(checked.days.iter().copied());
        for (reason, n) in silver::count_reasons(&checked.rejected)? {
            *report.reasons.entry(reason).or_insert(0) += n;
        }
        report.quarantined += checked
            .rejected
            .iter()
            .map(RecordBatch::num_rows)
            .sum::<usize>();

        // A rebuild replaces the tables with its first part and appends the others.
        let replace = full && part.index == 0;
        let stamp = Stamp {
            bronze_version: version,
            parts_to_come: part.to_come(),
        };
        quarantine = if part == Part::WHOLE
            && !full
            && read_version(&quarantine, QUARANTINE).await? == Some(version)
        {
            // Already written by an earlier attempt at this same bronze version.
            quarantine
        } else {
            write_quarantine_rows(
                quarantine,
                checked.rejected,
                save_mode(replace),
                "quarantine listens",
                stamp,
            )
            .await?
        };
        tracing::debug!(elapsed = ?started.elapsed(), "wrote the quarantine");
        let written;
        (listens, written) = write_listens_of(&ctx, LISTENS_SQL, listens, replace, stamp).await?;
        tracing::debug!(elapsed = ?started.elapsed(), "wrote silver/listens");
        report.written += written;
        if options.fail_after_parts == Some(part.index + 1) {
            return Err(LakehouseError::InjectedFailure(format!(
                "silver listens: after part {} of {}",
                part.index + 1,
                part.of
            )));
        }
    }
    report.days = days.len();
    report.quarantine_version = quarantine.version().map(|v| v as i64);
    report.listens_version = listens.version().map(|v| v as i64);
    // Every row read is written, quarantined or a copy of an event already kept.
    report.duplicates = report
        .rows_read
        .saturating_sub(report.quarantined + report.written);
    report.bronze_version = bronze_version;
    report.built = true;
    Ok(report)
}

/// What a build reads from bronze: the whole table, or the files added after a version.
enum NewBronze {
    Table,
    Files(Vec<String>),
}

impl NewBronze {
    /// All of bronze when `after` is `None`, else the files added after that version; `None`
    /// when there is nothing new to read.
    async fn since(bronze_table: &DeltaTable, after: Option<i64>) -> Result<Option<Self>> {
        let Some(after) = after else {
            return Ok(Some(Self::Table));
        };
        let name = bronze::listens::LISTENS;
        let files =
            bronze::changes::files_added_after(bronze_table, name, Some(after as u64)).await?;
        Ok((!files.is_empty()).then(|| {
            Self::Files(
                files
                    .iter()
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect(),
            )
        }))
    }

    /// Registers the rows as `bronze_listens_all` in `ctx`.
    async fn register(
        &self,
        lake: &Lake,
        ctx: &SessionContext,
        bronze_table: &DeltaTable,
    ) -> Result<()> {
        let name = bronze::listens::LISTENS;
        match self {
            Self::Table => {
                lake.register_as(ctx, "bronze_listens_all", name, bronze_table)
                    .await
            }
            Self::Files(paths) => {
                let query_error = |e| LakehouseError::query(name.qualified(), e);
                let frame = ctx
                    .read_parquet(paths.clone(), ParquetReadOptions::default())
                    .await
                    .map_err(query_error)?;
                ctx.register_table("bronze_listens_all", frame.into_view())
                    .map_err(query_error)?;
                Ok(())
            }
        }
    }
}
