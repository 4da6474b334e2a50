//! The checks a bronze listen passes on its way into silver: one row per event, the first rule
//! each breaks, and the events silver already holds.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Datelike;
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Date32Type, Field, Schema};
use datafusion::prelude::SessionContext;
use deltalake::DeltaTable;

use super::parts::Part;
use super::table::TABLE;
use crate::error::{LakehouseError, Result};
use crate::lake::Lake;
use crate::query::{
    DELTA_WRITERS_PER_CORE, collect_or_empty, collect_sql, materialize, materialize_sorted_shares,
    register_batches, target_partitions,
};

const NEW_BRONZE_SQL: &str = include_str!("../sql/new_bronze_listens.sql");
const REPEATED_KEYS_SQL: &str = include_str!("../sql/repeated_event_keys.sql");
const CHECKED_SQL: &str = include_str!("../sql/checked_listens.sql");
const QUARANTINE_SQL: &str = include_str!("../sql/listens_quarantine.sql");

/// DataFusion settings of a build's session: sorting the new bronze rows by play time sorts
/// each partition's rows at once (up to 2 GiB of them) instead of merging sorted batches, a
/// quarter of the work at 10 million listens. (Not for every session: for sorts by several
/// columns, such as the marts' rankings, the merge is the faster.)
pub(super) const SESSION_SETTINGS: [(&str, &str); 1] = [(
    "datafusion.execution.sort_in_place_threshold_bytes",
    "2147483648",
)];

/// The bronze listens of a build, checked (`checked_listens`, registered in the session with
/// `silver_event_ids`, ready for `listens.sql`) and the rejected ones.
pub(super) struct Checked {
    /// Bronze rows read.
    pub rows_read: usize,
    /// The (year, month, day) partitions the good listens fall in.
    pub days: Vec<(i32, i32, i32)>,
    /// The rows for the quarantine (`listens_quarantine.sql`).
    pub rejected: Vec<RecordBatch>,
}

/// Checks the rows registered as `bronze_listens_read` in `ctx` (with `silver_tracks`), the
/// events of `part`: one row per event, the first rule each breaks, and the event ids of `part`
/// that `existing` (silver listens, `None` for a rebuild) already holds in the days they touch.
pub(super) async fn check(
    lake: &Lake,
    ctx: &SessionContext,
    existing: Option<&DeltaTable>,
    part: Part,
) -> Result<Checked> {
    crate::query::functions::register(ctx);
    // The new rows are held in as many ranges as silver's Delta writers (one per range), each
    // in play-time order, so that the writers of one core's share write different days at any
    // time (the two shares span the same days: a day's file is shared behind a lock).
    let streams = DELTA_WRITERS_PER_CORE * target_partitions(ctx);
    let rows_read =
        materialize_sorted_shares(ctx, "bronze_listens_new", NEW_BRONZE_SQL, streams).await?;
    materialize(ctx, "repeated_event_keys", REPEATED_KEYS_SQL).await?;
    materialize(ctx, "checked_listens", CHECKED_SQL).await?;
    let days = touched_days(ctx).await?;
    register_existing_ids(lake, ctx, existing, &days, part).await?;
    let rejected = collect_or_empty(ctx, "listens_quarantine", QUARANTINE_SQL).await?;
    Ok(Checked {
        rows_read,
        days,
        rejected,
    })
}

fn query_error(e: datafusion::error::DataFusionError) -> LakehouseError {
    LakehouseError::query(TABLE.qualified(), e)
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

/// Registers `silver_event_ids`: the event ids of `part` silver already holds in `days` (none
/// when `existing` is `None`), so a copy of an event that arrives in a later build is not kept
/// twice.
async fn register_existing_ids(
    lake: &Lake,
    ctx: &SessionContext,
    existing: Option<&DeltaTable>,
    days: &[(i32, i32, i32)],
    part: Part,
) -> Result<()> {
    match existing {
        Some(table) if !days.is_empty() => {
            lake.register(ctx, TABLE, table).await?;
            let in_part = part
                .condition()
                .map_or_else(String::new, |c| format!(" AND {c}"));
            let sql = format!(
                "SELECT event_id FROM {} WHERE ({}){in_part}",
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
            register_batches(
                ctx,
                "silver_event_ids",
                vec![RecordBatch::new_empty(schema)],
            )
            .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{AsArray, RecordBatch};
    use datafusion::arrow::datatypes::Int64Type;
    use datafusion::prelude::SessionContext;

    use super::{CHECKED_SQL, REPEATED_KEYS_SQL, days_predicate};
    use crate::query::{collect_sql, materialize};

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
        crate::query::functions::register(ctx);
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
