//! When the model is retrained. A manual run retrains whenever silver listens changed; the
//! server's schedule runs the pipeline every minute while listens arrive, and retraining on
//! each of those runs would spend the machine on models that barely differ. Scheduled runs
//! retrain when silver has grown by a share of what the model knew, or when the model is
//! older than a day; in between, the live re-ranker moves each list with every listen.

use chrono::{DateTime, Duration, Utc};
use datafusion::scalar::ScalarValue;
use deltalake::DeltaTable;
use sqlx::PgPool;

use crate::error::Result;
use crate::lake::{Lake, count_rows_of, first_i64};
use crate::silver;

/// When the ML stage retrains the model.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Retrain {
    /// Whenever silver listens changed since the model's data.
    #[default]
    OnChange,
    /// When the listens silver took in since the model was trained are at least `growth`
    /// times those it knew, or the model is older than `max_age`.
    Cadence { growth: f64, max_age: Duration },
}

impl Retrain {
    /// The server schedule's cadence.
    pub fn scheduled() -> Self {
        Retrain::Cadence {
            growth: 0.10,
            max_age: Duration::days(1),
        }
    }
}

/// Listens silver took in after the model was trained. Files whose listens all arrived before
/// are skipped by their statistics, so the check reads what is new, not all of silver.
const SINCE_SQL: &str = "SELECT CAST(count(*) AS BIGINT) AS since
FROM silver_listens
WHERE ingested_at > $trained_at";

/// Why retraining waits, or `None` when the policy says retrain now.
pub async fn deferral(
    lake: &Lake,
    listens: &DeltaTable,
    pool: &PgPool,
    policy: Retrain,
) -> Result<Option<String>> {
    let Retrain::Cadence { growth, max_age } = policy else {
        return Ok(None);
    };
    let trained_at: Option<DateTime<Utc>> =
        sqlx::query_scalar!("SELECT trained_at FROM model_versions WHERE is_current")
            .fetch_optional(pool)
            .await?;
    let Some(trained_at) = trained_at else {
        return Ok(None);
    };
    if Utc::now() - trained_at >= max_age {
        return Ok(None);
    }
    let at =
        ScalarValue::TimestampMicrosecond(Some(trained_at.timestamp_micros()), Some("UTC".into()));
    let params = [("trained_at", at)];
    let batches = lake
        .query_table_with(silver::listens::TABLE, listens, SINCE_SQL, &params)
        .await?;
    let since = first_i64(&batches);
    // Answered from the log's row counts, without reading the files.
    let total = count_rows_of(lake, silver::listens::TABLE, listens).await?;
    let known = total - since;
    if known <= 0 || since as f64 >= growth * known as f64 {
        return Ok(None);
    }
    Ok(Some(format!(
        "retraining waits: {since} listens since the model of {} UTC, {:.1}% of the {known} it \
         knew (retrains at {:.0}% or after {} h)",
        trained_at.format("%Y-%m-%d %H:%M"),
        100.0 * since as f64 / known as f64,
        100.0 * growth,
        max_age.num_hours()
    )))
}
