//! The records of runs and stages in `pipeline_runs` and `pipeline_stages`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use sqlx::types::Json;

use super::{Stage, StageOutcome};
use crate::error::{LakehouseError, Result};

/// A run as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunRecord {
    pub run_id: i64,
    pub trigger: String,
    /// `running`, `succeeded` or `failed`.
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub stages: Vec<StageRecord>,
}

/// A stage of a run as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageRecord {
    pub position: i16,
    pub stage: String,
    /// `running`, `succeeded`, `skipped` or `failed`.
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub rows_in: i64,
    pub rows_out: i64,
    pub rows_rejected: i64,
    pub versions_read: serde_json::Value,
    pub versions_written: serde_json::Value,
    pub detail: Option<String>,
    pub error: Option<String>,
}

pub(super) async fn insert_run(pool: &PgPool, trigger: &str) -> Result<i64> {
    let id = sqlx::query_scalar!(
        "INSERT INTO pipeline_runs (trigger, status) VALUES ($1, 'running') RETURNING run_id",
        trigger,
    )
    .fetch_one(pool)
    .await?;
    Ok(id)
}

/// The newest run still marked running, if any.
pub(super) async fn running_run(pool: &PgPool) -> Result<Option<i64>> {
    let id = sqlx::query_scalar!(
        "SELECT run_id FROM pipeline_runs WHERE status = 'running' ORDER BY run_id DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    Ok(id)
}

/// Marks runs (and their stages) left `running` by a process that stopped as failed.
pub(super) async fn fail_interrupted(pool: &PgPool) -> Result<()> {
    let message = "interrupted: the process running it stopped";
    sqlx::query!(
        "UPDATE pipeline_stages SET status = 'failed', finished_at = now(), error = $1
         WHERE status = 'running'",
        message,
    )
    .execute(pool)
    .await?;
    sqlx::query!(
        "UPDATE pipeline_runs SET status = 'failed', finished_at = now(), error = $1
         WHERE status = 'running'",
        message,
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn start_stage(
    pool: &PgPool,
    run_id: i64,
    position: usize,
    stage: Stage,
) -> Result<()> {
    sqlx::query!(
        "INSERT INTO pipeline_stages (run_id, position, stage, status) VALUES ($1, $2, $3, 'running')",
        run_id,
        position as i16,
        stage.name(),
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn finish_stage(
    pool: &PgPool,
    run_id: i64,
    position: usize,
    result: &Result<StageOutcome>,
) -> Result<()> {
    let empty = StageOutcome::default();
    let (status, outcome, error) = match result {
        Ok(o) if o.did_work => ("succeeded", o, None),
        Ok(o) => ("skipped", o, None),
        Err(e) => ("failed", &empty, Some(e.to_string())),
    };
    sqlx::query!(
        "UPDATE pipeline_stages
         SET status = $3, finished_at = now(), rows_in = $4, rows_out = $5, rows_rejected = $6,
             versions_read = $7, versions_written = $8, detail = $9, error = $10
         WHERE run_id = $1 AND position = $2",
        run_id,
        position as i16,
        status,
        outcome.rows_in,
        outcome.rows_out,
        outcome.rows_rejected,
        Json(&outcome.versions_read) as _,
        Json(&outcome.versions_written) as _,
        (!outcome.detail.is_empty()).then_some(outcome.detail.as_str()),
        error,
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn finish_run(pool: &PgPool, run_id: i64, error: Option<&str>) -> Result<()> {
    sqlx::query!(
        "UPDATE pipeline_runs
         SET status = CASE WHEN $2::text IS NULL THEN 'succeeded' ELSE 'failed' END,
             finished_at = now(), error = $2
         WHERE run_id = $1",
        run_id,
        error,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// A `pipeline_runs` row, before its stages are read.
struct RunRow {
    run_id: i64,
    trigger: String,
    status: String,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    error: Option<String>,
}

impl RunRow {
    fn with_stages(self, stages: Vec<StageRecord>) -> RunRecord {
        RunRecord {
            run_id: self.run_id,
            trigger: self.trigger,
            status: self.status,
            started_at: self.started_at,
            finished_at: self.finished_at,
            error: self.error,
            stages,
        }
    }
}

/// The newest `limit` runs, newest first, each with its stages.
pub async fn list_runs(pool: &PgPool, limit: i64) -> Result<Vec<RunRecord>> {
    let rows = sqlx::query_as!(
        RunRow,
        "SELECT run_id, trigger, status, started_at, finished_at, error
         FROM pipeline_runs ORDER BY run_id DESC LIMIT $1",
        limit,
    )
    .fetch_all(pool)
    .await?;
    let mut runs = Vec::with_capacity(rows.len());
    for row in rows {
        let stages = stages_of(pool, row.run_id).await?;
        runs.push(row.with_stages(stages));
    }
    Ok(runs)
}

/// One run with its stages.
pub async fn get_run(pool: &PgPool, run_id: i64) -> Result<RunRecord> {
    let row = sqlx::query_as!(
        RunRow,
        "SELECT run_id, trigger, status, started_at, finished_at, error
         FROM pipeline_runs WHERE run_id = $1",
        run_id,
    )
    .fetch_optional(pool)
    .await?;
    let row = row.ok_or_else(|| LakehouseError::NotFound(format!("no run {run_id}")))?;
    Ok(row.with_stages(stages_of(pool, run_id).await?))
}

async fn stages_of(pool: &PgPool, run_id: i64) -> Result<Vec<StageRecord>> {
    Ok(sqlx::query_as!(
        StageRecord,
        "SELECT position, stage, status, started_at, finished_at, rows_in, rows_out,
                rows_rejected, versions_read, versions_written, detail, error
         FROM pipeline_stages WHERE run_id = $1 ORDER BY position",
        run_id,
    )
    .fetch_all(pool)
    .await?)
}
