//! `silver/listens` (typed, deduplicated, enriched listens, partitioned by the UTC
//! year / month / day they were played) and `silver/listens_quarantine` (listens that cannot be
//! used, with the reason), built incrementally from `bronze/listens`.
//!
//! Each build reads only the files bronze gained since the version the previous build read,
//! and records the version it read in the same Delta commit as its rows (a `txn` action):
//! a build that dies before its commit leaves silver as it was, and the next build reads the
//! same bronze files again. Re-running over the same bronze therefore changes nothing, unless
//! the catalogue has meanwhile gained the track of a quarantined listen (see
//! [`super::recheck`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Datelike;
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Date32Type, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use deltalake::DeltaTable;
use deltalake::kernel::Transaction;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::operations::write::SchemaMode;
use deltalake::parquet::basic::Compression;
use deltalake::parquet::file::properties::{EnabledStatistics, WriterProperties};
use deltalake::parquet::schema::types::ColumnPath;
use deltalake::protocol::SaveMode;

use crate::bronze;
use crate::error::{LakehouseError, Result};
use crate::lake::{
    DELTA_WRITERS_PER_CORE, Lake, TableRef, collect_or_empty, collect_sql, materialize,
    materialize_sorted_shares, recorded_version, target_partitions,
};
use crate::partitioned_write::PartitionedWrite;
use crate::silver;

/// Clean listens, one row per `event_id`.
pub const TABLE: TableRef = TableRef::new("silver", "listens");
/// Listens set aside, with the reason.
pub const QUARANTINE: TableRef = TableRef::new("silver", "listens_quarantine");
/// `silver/listens` is partitioned Hive-style by these columns (`year=2026/month=11/day=3`).
pub const PARTITIONS: [&str; 3] = ["year", "month", "day"];

/// The application id under which both tables record the `bronze/listens` version they hold.
const READ_BRONZE: &str = "soundlake.silver.listens.bronze_version";
/// The application id under which both tables record the generation of checks their rows
/// passed ([`silver::CHECKS`]); see [`super::listens_checks`].
pub(super) const CHECKED_WITH: &str = "soundlake.silver.listens.checks";

const NEW_BRONZE_SQL: &str = include_str!("sql/new_bronze_listens.sql");
const REPEATED_KEYS_SQL: &str = include_str!("sql/repeated_event_keys.sql");
const CHECKED_SQL: &str = include_str!("sql/checked_listens.sql");
pub(super) const LISTENS_SQL: &str = include_str!("sql/listens.sql");
const QUARANTINE_SQL: &str = include_str!("sql/listens_quarantine.sql");

/// DataFusion settings of a build's session: sorting the new bronze rows by play time sorts
/// each partition's rows at once (up to 2 GiB of them) instead of merging sorted batches, a
/// quarter of the work at 10 million listens. (Not for every session: for sorts by several
/// columns, such as the marts' rankings, the merge is the faster.)
pub(super) const SESSION_SETTINGS: [(&str, &str); 1] = [(
    "datafusion.execution.sort_in_place_threshold_bytes",
    "2147483648",
)];

/// What a build read and wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SilverListensReport {
    /// The bronze version silver held before this build.
    pub previous_bronze_version: Option<i64>,
    /// The bronze version silver holds now.
    pub bronze_version: Option<i64>,
    /// `silver/listens` version now current.
    pub listens_version: Option<i64>,
    /// `silver/listens_quarantine` version now current.
    pub quarantine_version: Option<i64>,
    /// `false` when there was nothing new in bronze and nothing to check again (or no bronze,
    /// or no catalogue).
    pub built: bool,
    /// Bronze rows read: the new ones, and those of the listens checked again.
    pub rows_read: usize,
    /// Rows appended to `silver/listens`.
    pub written: usize,
    /// Copies of an event already read in this build or already in silver.
    pub duplicates: usize,
    pub quarantined: usize,
    /// Quarantined rows by reason.
    pub reasons: BTreeMap<String, usize>,
    /// Day partitions the new bronze rows fell in.
    pub days: usize,
    /// Quarantined listens of unknown tracks checked again because the catalogue has their
    /// track now.
    pub rechecked: usize,
    /// Of those, the listens now written to `silver/listens`.
    pub released: usize,
}

/// Brings silver listens up to date with bronze. With `full`, rebuilds both tables from the
/// whole of bronze (after a catalogue change, say) instead of reading only what is new.
/// Without it, listens quarantined because their track was unknown are checked again once the
/// catalogue has their track (see [`super::recheck`]).
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
        super::listens_checks::stored_rows(lake, &mut stored).await?;
    }
    let mut report = read_new_bronze(lake, &bronze_table, &tracks, full).await?;
    report.quarantined += stored.quarantined;
    for (reason, n) in stored.reasons {
        *report.reasons.entry(reason).or_insert(0) += n;
    }
    if !full {
        super::recheck::unknown_tracks(lake, &bronze_table, &tracks, &mut report).await?;
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
    report.reasons = super::count_reasons(&checked.rejected)?;
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

/// The bronze listens of a build, checked (`checked_listens`, registered in the session with
/// `silver_event_ids`, ready for `listens.sql`) and the rejected ones.
pub(super) struct Checked {
    /// Bronze rows read.
    pub rows_read: usize,
    /// Day partitions the good listens fall in.
    pub days: usize,
    /// The rows for the quarantine (`listens_quarantine.sql`).
    pub rejected: Vec<RecordBatch>,
}

/// Checks the rows registered as `bronze_listens_read` in `ctx` (with `silver_tracks`):
/// one row per event, the first rule each breaks, and the event ids `existing` (silver
/// listens, `None` for a rebuild) already holds in the days they touch.
pub(super) async fn check(
    lake: &Lake,
    ctx: &SessionContext,
    existing: Option<&DeltaTable>,
) -> Result<Checked> {
    super::functions::register(ctx);
    // The new rows are held in as many ranges as silver's Delta writers (one per range), each
    // in play-time order, so that the writers of one core's share write different days at any
    // time (the two shares span the same days: a day's file is shared behind a lock).
    let streams = DELTA_WRITERS_PER_CORE * target_partitions(ctx);
    let rows_read =
        materialize_sorted_shares(ctx, "bronze_listens_new", NEW_BRONZE_SQL, streams).await?;
    materialize(ctx, "repeated_event_keys", REPEATED_KEYS_SQL).await?;
    materialize(ctx, "checked_listens", CHECKED_SQL).await?;
    let days = touched_days(ctx).await?;
    register_existing_ids(lake, ctx, existing, &days).await?;
    let rejected = collect_or_empty(ctx, "listens_quarantine", QUARANTINE_SQL).await?;
    Ok(Checked {
        rows_read,
        days: days.len(),
        rejected,
    })
}

/// The bronze version a silver listens table holds, if it was ever built.
pub async fn read_version(table: &DeltaTable, name: TableRef) -> Result<Option<i64>> {
    recorded_version(table, name, READ_BRONZE).await
}

fn query_error(e: datafusion::error::DataFusionError) -> LakehouseError {
    LakehouseError::query(TABLE.qualified(), e)
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

/// The (year, month, day) partitions the good listens of this build fall in.
async fn touched_days(ctx: &SessionContext) -> Result<Vec<(i32, i32, i32)>> {
    let sql = "SELECT DISTINCT CAST(played_at AS DATE) FROM checked_listens
        WHERE rejection IS NULL";
    let batches = collect_sql(ctx, "touched days", sql).await?;
    let mut days = Vec::new();
    for batch in &batches {
        let dates = batch.column(0).as_primitive::<Date32Type>();
        for date in dates.iter().flatten() {
            let date =
                Date32Type::to_naive_date_opt(date).ok_or_else(|| LakehouseError::Schema {
                    table: TABLE.qualified(),
                    detail: format!("a listen's day ({date} days after 1970) is out of range"),
                })?;
            days.push((date.year(), date.month() as i32, date.day() as i32));
        }
    }
    days.sort_unstable();
    Ok(days)
}

/// A predicate on the partition columns selecting the given days.
fn days_predicate(days: &[(i32, i32, i32)]) -> String {
    let mut by_month: BTreeMap<(i32, i32), Vec<String>> = BTreeMap::new();
    for (y, m, d) in days {
        by_month.entry((*y, *m)).or_default().push(d.to_string());
    }
    by_month
        .into_iter()
        .map(|((y, m), d)| format!("(year = {y} AND month = {m} AND day IN ({}))", d.join(", ")))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// Registers `silver_event_ids`: the event ids silver already holds in `days` (none when
/// `existing` is `None`), so a copy of an event that arrives in a later build is not kept twice.
async fn register_existing_ids(
    lake: &Lake,
    ctx: &SessionContext,
    existing: Option<&DeltaTable>,
    days: &[(i32, i32, i32)],
) -> Result<()> {
    match existing {
        Some(table) if !days.is_empty() => {
            lake.register(ctx, TABLE, table).await?;
            let sql = format!(
                "SELECT event_id FROM {} WHERE {}",
                TABLE.sql_name(),
                days_predicate(days)
            );
            let frame = ctx.sql(&sql).await.map_err(query_error)?;
            ctx.register_table("silver_event_ids", frame.into_view())
                .map_err(query_error)?;
        }
        _ => {
            let schema = Arc::new(Schema::new(vec![Field::new(
                "event_id",
                DataType::Utf8,
                false,
            )]));
            let empty = MemTable::try_new(schema, vec![vec![]]).map_err(query_error)?;
            ctx.register_table("silver_event_ids", Arc::new(empty))
                .map_err(query_error)?;
        }
    }
    Ok(())
}

/// What a commit of a build records besides its rows: the operation, for the table's history.
fn commit_metadata(operation: &str) -> Vec<(String, serde_json::Value)> {
    vec![(
        "soundlake.operation".to_owned(),
        serde_json::json!(operation),
    )]
}

/// What every commit of a build records beside its rows: the bronze version it read, and
/// the generation of checks its rows passed.
fn transactions(bronze_version: i64) -> Vec<Transaction> {
    vec![
        Transaction::new(READ_BRONZE, bronze_version),
        Transaction::new(CHECKED_WITH, silver::CHECKS),
    ]
}

pub(super) fn commit_properties(operation: &str, bronze_version: i64) -> CommitProperties {
    CommitProperties::default()
        .with_metadata(commit_metadata(operation))
        .with_application_transactions(transactions(bronze_version))
}

fn save_mode(full: bool) -> SaveMode {
    if full {
        SaveMode::Overwrite
    } else {
        SaveMode::Append
    }
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
    let mut builder = table
        .write(batches)
        .with_save_mode(save_mode(full))
        .with_table_name(QUARANTINE.sql_name())
        .with_commit_properties(commit_properties("quarantine listens", bronze_version));
    if full {
        builder = builder.with_schema_mode(SchemaMode::Overwrite);
    }
    builder
        .await
        .map_err(|e| LakehouseError::delta(QUARANTINE.qualified(), e))
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

/// Writes the result of `sql` (rows shaped by `listens.sql`) into `silver/listens` in one
/// commit, in as many streams as the query's plan has output partitions. Returns the table and
/// the rows written.
pub(super) async fn write_listens_of(
    ctx: &SessionContext,
    sql: &str,
    table: DeltaTable,
    full: bool,
    bronze_version: i64,
) -> Result<(DeltaTable, usize)> {
    let write = PartitionedWrite {
        table: TABLE,
        partition_columns: PARTITIONS.map(String::from).to_vec(),
        mode: save_mode(full),
        writer_properties: listens_file_properties(),
        app_metadata: commit_metadata("build silver listens"),
        app_transactions: transactions(bronze_version),
    };
    let written = write.write(ctx, sql, table).await?;
    Ok((written.table, written.rows))
}

/// How `silver/listens` files are encoded: Snappy, like delta-rs by default; statistics per
/// column chunk (what Delta's file statistics and readers' row-group pruning use); and no
/// dictionary for the columns nearly every listen has its own value in, where building one
/// costs time and is dropped once it outgrows its page.
fn listens_file_properties() -> WriterProperties {
    let unique = ["event_id", "played_at", "ingested_at", "ms_played"];
    unique
        .into_iter()
        .fold(WriterProperties::builder(), |builder, column| {
            builder.set_column_dictionary_enabled(ColumnPath::from(column), false)
        })
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .build()
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{AsArray, RecordBatch};
    use datafusion::arrow::datatypes::Int64Type;
    use datafusion::prelude::SessionContext;

    use super::{CHECKED_SQL, REPEATED_KEYS_SQL, days_predicate};
    use crate::lake::{collect_sql, materialize};

    /// Copies of one event (`id`, `ms_played`, `ingested_at` minute), all with the same
    /// `event_key`, as if every id hashed alike.
    async fn colliding_listens(ctx: &SessionContext, rows: &[(&str, i64, u32)]) {
        let values: Vec<String> = rows
            .iter()
            .map(|(id, ms, minute)| {
                format!(
                    "('{id}', 'u1', 't1', TIMESTAMP '2026-11-02 09:00:00', {ms}, 'trackdone', \
                     false, 'album', 'phone', TIMESTAMP '2026-11-02 10:{minute:02}:00', 7)"
                )
            })
            .collect();
        let sql = format!(
            "SELECT column1 AS event_id, column2 AS user_id, column3 AS track_id, \
                column4 AS played_at, column5 AS ms_played, column6 AS end_reason, \
                column7 AS skipped, column8 AS context_source, column9 AS context_device, \
                column10 AS ingested_at, column11 AS event_key \
             FROM (VALUES {})",
            values.join(", ")
        );
        materialize(ctx, "bronze_listens_new", &sql).await.unwrap();
        let tracks = "SELECT 't1' AS track_id, CAST(200000 AS BIGINT) AS duration_ms";
        materialize(ctx, "silver_tracks", tracks).await.unwrap();
    }

    /// Runs the check over `bronze_listens_new` and `silver_tracks`: `checked_listens`.
    async fn check_new_listens(ctx: &SessionContext) {
        crate::silver::functions::register(ctx);
        materialize(ctx, "repeated_event_keys", REPEATED_KEYS_SQL)
            .await
            .unwrap();
        materialize(ctx, "checked_listens", CHECKED_SQL)
            .await
            .unwrap();
    }

    fn ms_played_by_id(batches: &[RecordBatch]) -> Vec<(String, i64)> {
        let mut rows: Vec<(String, i64)> = batches
            .iter()
            .flat_map(|b| {
                let ids = b.column(0).as_string::<i32>().clone();
                let ms = b.column(1).as_primitive::<Int64Type>().clone();
                (0..b.num_rows()).map(move |i| (ids.value(i).to_owned(), ms.value(i)))
            })
            .collect();
        rows.sort();
        rows
    }

    #[tokio::test]
    async fn distinct_ids_whose_hashes_collide_are_all_kept_and_copies_are_dropped() {
        let ctx = SessionContext::new();
        colliding_listens(
            &ctx,
            &[
                ("e1", 2000, 5),
                ("e1", 1000, 0),
                ("e2", 3000, 1),
                ("e3", 4000, 2),
            ],
        )
        .await;
        check_new_listens(&ctx).await;
        let sql = "SELECT event_id, ms_played FROM checked_listens WHERE rejection IS NULL";
        let kept = collect_sql(&ctx, "kept", sql).await.unwrap();
        let expected = [("e1", 1000), ("e2", 3000), ("e3", 4000)]
            .map(|(id, ms)| (id.to_owned(), ms))
            .to_vec();
        assert_eq!(ms_played_by_id(&kept), expected);
    }

    #[tokio::test]
    async fn a_listen_played_before_2000_is_rejected_and_one_played_at_its_first_instant_is_kept() {
        let ctx = SessionContext::new();
        let sql = "SELECT column1 AS event_id, 'u1' AS user_id, 't1' AS track_id, \
                column2 AS played_at, CAST(1000 AS BIGINT) AS ms_played, \
                'trackdone' AS end_reason, false AS skipped, 'album' AS context_source, \
                'phone' AS context_device, TIMESTAMP '2026-11-02 10:00:00' AS ingested_at, \
                column3 AS event_key \
            FROM (VALUES ('late', TIMESTAMP '1999-12-31 23:59:59', 1), \
                ('first', TIMESTAMP '2000-01-01 00:00:00', 2))";
        materialize(&ctx, "bronze_listens_new", sql).await.unwrap();
        let tracks = "SELECT 't1' AS track_id, CAST(200000 AS BIGINT) AS duration_ms";
        materialize(&ctx, "silver_tracks", tracks).await.unwrap();
        check_new_listens(&ctx).await;
        let sql = "SELECT event_id, coalesce(rejection, 'kept') FROM checked_listens \
            ORDER BY event_id";
        let batches = collect_sql(&ctx, "checked", sql).await.unwrap();
        let rows: Vec<(String, String)> = batches
            .iter()
            .flat_map(|b| {
                let ids = b.column(0).as_string::<i32>().clone();
                let reasons = b.column(1).as_string::<i32>().clone();
                (0..b.num_rows())
                    .map(move |i| (ids.value(i).to_owned(), reasons.value(i).to_owned()))
            })
            .collect();
        let expected = [
            ("first", "kept"),
            ("late", "played_at is before the year 2000"),
        ]
        .map(|(id, reason)| (id.to_owned(), reason.to_owned()));
        assert_eq!(rows, expected);
    }

    #[test]
    fn days_are_grouped_by_month_in_the_partition_predicate() {
        assert_eq!(
            days_predicate(&[(2026, 10, 31), (2026, 11, 1), (2026, 11, 2)]),
            "(year = 2026 AND month = 10 AND day IN (31)) OR (year = 2026 AND month = 11 AND day IN (1, 2))"
        );
    }
}
