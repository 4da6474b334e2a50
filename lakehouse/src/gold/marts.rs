//! The gold marts built from `silver/listens`: computed with DataFusion SQL (`gold/sql/*.sql`)
//! and published to PostgreSQL together, in one transaction. Readers keep seeing the previous
//! marts until it commits (the old rows are deleted, not truncated, so reads never wait).
//! Each mart goes to the transaction as soon as it is computed: PostgreSQL loads one while
//! DataFusion computes the next.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::ScalarValue;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use sqlx::{AssertSqlSafe, PgPool, Postgres, Transaction};
use tokio::sync::mpsc;

use super::copy_text::CopyTextWriter;
use super::lake_loads;
use crate::error::{LakehouseError, Result};
use crate::lake::{Lake, count_rows_of};
use crate::query::{Params, collect_sql, collect_sql_with, materialize_with};
use crate::silver;

/// The target name recorded in `lake_loads`.
pub const TARGET: &str = "marts";

/// Each mart: its gold table and the query over `silver_listens` that fills it. The query's
/// column names are the table's. The largest, `user_tops`, comes first, so that the others
/// are computed while it loads.
pub const MARTS: [(&str, &str); 14] = [
    ("user_tops", include_str!("sql/user_tops.sql")),
    ("track_daily", include_str!("sql/track_daily.sql")),
    ("users", include_str!("sql/users.sql")),
    ("daily_activity", include_str!("sql/daily_activity.sql")),
    ("genre_daily", include_str!("sql/genre_daily.sql")),
    (
        "hour_weekday_activity",
        include_str!("sql/hour_weekday_activity.sql"),
    ),
    ("track_popularity", include_str!("sql/track_popularity.sql")),
    ("hourly_activity", include_str!("sql/hourly_activity.sql")),
    (
        "genre_hourly_activity",
        include_str!("sql/genre_hourly_activity.sql"),
    ),
    ("artist_daily", include_str!("sql/artist_daily.sql")),
    (
        "track_day_leaders",
        include_str!("sql/track_day_leaders.sql"),
    ),
    (
        "artist_day_leaders",
        include_str!("sql/artist_day_leaders.sql"),
    ),
    ("cohort_retention", include_str!("sql/cohort_retention.sql")),
    (
        "user_recent_listens",
        include_str!("sql/user_recent_listens.sql"),
    ),
];

/// The query giving the end of the marts' periods, the parameter `$as_of` of the others.
const AS_OF_SQL: &str = include_str!("sql/as_of.sql");

/// Intermediate results several marts' queries read (or one reads several times): each is
/// computed once per refresh, before the marts, and held in memory under its name.
pub const STAGING: [(&str, &str); 4] = [
    (
        "user_track_listens",
        include_str!("sql/user_track_listens.sql"),
    ),
    ("user_item_plays", include_str!("sql/user_item_plays.sql")),
    ("user_genre_weeks", include_str!("sql/user_genre_weeks.sql")),
    (
        "daily_track_plays",
        include_str!("sql/daily_track_plays.sql"),
    ),
];

/// One computed mart, ready to publish.
#[derive(Debug, Clone)]
pub struct MartRows {
    pub table: &'static str,
    pub batches: Vec<RecordBatch>,
}

impl MartRows {
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// What a refresh did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MartsReport {
    /// The `silver/listens` version gold now holds (`None`: no silver listens yet).
    pub silver_version: Option<i64>,
    /// `false` when gold already held this silver version.
    pub published: bool,
    /// Silver rows the marts were computed from.
    pub rows_in: usize,
    /// Rows published, per mart.
    pub rows_out: Vec<(&'static str, usize)>,
}

/// Where a refresh fails on purpose: a drill for "a failed stage leaves gold as it was".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MartsFailure {
    #[default]
    None,
    /// Fail inside the publishing transaction, after half of the marts were written.
    MidPublish,
    /// Fail computing the second mart, while the first loads into the publishing transaction.
    MidCompute,
}

/// Recomputes every mart from silver and publishes them, unless gold already holds the current
/// silver version (or `force` is set).
pub async fn refresh(
    lake: &Lake,
    pool: &PgPool,
    force: bool,
    failure: MartsFailure,
) -> Result<MartsReport> {
    let Some(silver) = lake.existing_table(silver::listens::TABLE).await? else {
        return Ok(MartsReport::default());
    };
    let version = silver.version().map_or(0, |v| v as i64);
    let loaded = lake_loads::loaded_version(pool, TARGET).await?;
    if !force && loaded == Some(version) {
        return Ok(MartsReport {
            silver_version: Some(version),
            ..Default::default()
        });
    }
    let ctx = lake.session()?;
    crate::query::functions::register(&ctx);
    lake.register(&ctx, silver::listens::TABLE, &silver).await?;
    let rows_in = count_rows_of(lake, silver::listens::TABLE, &silver).await? as usize;
    let started = std::time::Instant::now();
    let params = [("as_of", as_of(&ctx).await?)];
    for (name, sql) in STAGING {
        let rows = materialize_with(&ctx, name, sql, &params).await?;
        tracing::debug!(elapsed = ?started.elapsed(), name, rows, "computed staging");
    }
    let (computed, to_publish) = mpsc::channel(MARTS.len());
    let (rows_out, published) = tokio::join!(
        compute(&ctx, &params, computed, started, failure),
        publish(pool, to_publish, version, failure)
    );
    // A failed computation closes the channel early, which makes the publisher roll back: the
    // computation's error is the one to report.
    let rows_out = rows_out?;
    published?;
    tracing::debug!(elapsed = ?started.elapsed(), "published marts");
    tidy_ranked_marts(pool).await;
    Ok(MartsReport {
        silver_version: Some(version),
        published: true,
        rows_in,
        rows_out,
    })
}

/// The marts the dashboards' top lists read (`stats/top_*_from_leaders.sql`).
const RANKED_MARTS: [&str; 4] = [
    "track_daily",
    "artist_daily",
    "track_day_leaders",
    "artist_day_leaders",
];

/// Vacuums and analyses [`RANKED_MARTS`]. The top lists read them by index only, which needs
/// the visibility map a vacuum sets, and the planner needs their new statistics. Autovacuum
/// does both within minutes; done here, the lists are quick from the first read after a
/// refresh. Gold is already published: a failure is only logged.
async fn tidy_ranked_marts(pool: &PgPool) {
    for table in RANKED_MARTS {
        let vacuum = format!("VACUUM (ANALYZE) {table}");
        if let Err(e) = sqlx::query(AssertSqlSafe(vacuum)).execute(pool).await {
            tracing::warn!("vacuuming {table} after the marts' refresh: {e}");
        }
    }
}

/// The end of the marts' periods (`$as_of`): the newest listen in silver.
async fn as_of(ctx: &SessionContext) -> Result<ScalarValue> {
    let batches = collect_sql(ctx, "as_of", AS_OF_SQL).await?;
    let column = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .map(|b| b.column(0))
        .ok_or_else(|| {
            let aggregate_without_row = DataFusionError::Execution("max() gave no row".into());
            LakehouseError::query("as_of", aggregate_without_row)
        })?;
    ScalarValue::try_from_array(column, 0).map_err(|e| LakehouseError::query("as_of", e))
}

/// Computes each mart in turn and sends it to the publisher. Returns the rows of each; stops
/// early, without an error of its own, when the publisher has stopped.
async fn compute(
    ctx: &SessionContext,
    params: Params<'_>,
    publisher: mpsc::Sender<MartRows>,
    started: std::time::Instant,
    failure: MartsFailure,
) -> Result<Vec<(&'static str, usize)>> {
    let mut rows_out = Vec::with_capacity(MARTS.len());
    for (table, sql) in MARTS {
        if failure == MartsFailure::MidCompute && rows_out.len() == 1 {
            return Err(LakehouseError::InjectedFailure(format!(
                "gold marts ({table})"
            )));
        }
        let mart = MartRows {
            table,
            batches: collect_sql_with(ctx, table, sql, params).await?,
        };
        tracing::debug!(elapsed = ?started.elapsed(), table, "computed mart");
        rows_out.push((table, mart.rows()));
        if publisher.send(mart).await.is_err() {
            break;
        }
    }
    Ok(rows_out)
}

/// Replaces every mart's rows, as they arrive, in one transaction, and records the silver
/// version they reflect. Commits only once all of [`MARTS`] have arrived; rolls back if the
/// channel closes before.
async fn publish(
    pool: &PgPool,
    mut marts: mpsc::Receiver<MartRows>,
    silver_version: i64,
    failure: MartsFailure,
) -> Result<()> {
    // Begun when the first mart arrives, so no transaction waits idle while it is computed.
    let interrupted = || LakehouseError::Interrupted("publishing the gold marts".into());
    let mut mart = marts.recv().await.ok_or_else(interrupted)?;
    let mut tx = pool.begin().await?;
    let (mut published, mut rows) = (0, 0);
    loop {
        if failure == MartsFailure::MidPublish && published == MARTS.len() / 2 {
            // Dropping the transaction rolls back what was written so far.
            return Err(LakehouseError::InjectedFailure("gold marts".into()));
        }
        replace_rows(&mut tx, &mart).await?;
        published += 1;
        rows += mart.rows();
        match marts.recv().await {
            Some(next) => mart = next,
            // Fewer than every mart: the computation failed, nothing is committed.
            None if published < MARTS.len() => return Err(interrupted()),
            None => break,
        }
    }
    lake_loads::record_load(
        &mut tx,
        TARGET,
        &silver::listens::TABLE.qualified(),
        silver_version,
        rows as i64,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes a mart's rows and copies in the new ones, inside `tx`.
async fn replace_rows(tx: &mut Transaction<'_, Postgres>, mart: &MartRows) -> Result<()> {
    sqlx::query(AssertSqlSafe(format!("DELETE FROM {}", mart.table)))
        .execute(&mut **tx)
        .await?;
    let Some(first) = mart.batches.first() else {
        return Ok(());
    };
    let columns: Vec<&str> = first
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    let statement = format!("COPY {} ({}) FROM STDIN", mart.table, columns.join(", "));
    let mut copy = tx.copy_in_raw(&statement).await?;
    let mut writer = CopyTextWriter::with_capacity(1 << 20);
    for batch in &mart.batches {
        encode(batch, &mut writer)?;
        if writer.len() > (1 << 20) {
            copy.send(writer.take()).await?;
        }
    }
    copy.send(writer.take()).await?;
    copy.finish().await?;
    Ok(())
}

/// Encodes every column with Arrow's display form, which PostgreSQL's input functions read
/// for the types the marts use (text, integers, floats, dates, RFC 3339 timestamps).
fn encode(batch: &RecordBatch, w: &mut CopyTextWriter) -> Result<()> {
    let options = FormatOptions::default();
    let formatters = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let mut field = String::new();
    for row in 0..batch.num_rows() {
        for (column, formatter) in batch.columns().iter().zip(&formatters) {
            if column.is_null(row) {
                w.text(None);
            } else {
                use std::fmt::Write;
                field.clear();
                let _ = write!(field, "{}", formatter.value(row));
                w.text(Some(&field));
            }
        }
        w.end_row();
    }
    Ok(())
}
