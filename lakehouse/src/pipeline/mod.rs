//! Pipeline runs: the stages that bring silver and gold up to date with bronze, executed in
//! order, one run at a time, each run and stage recorded in PostgreSQL.
//!
//! ```text
//! silver_tracks → silver_listens → gold_tracks → gold_marts → lake_maintenance
//! ```
//!
//! Each stage reads what changed since the versions the previous good run left behind, so a
//! failed run changes nothing that the next run would not redo. Start a run with [`begin`]
//! (which takes the pipeline or says who holds it) and carry it out with [`PipelineRun::execute`].

pub mod cadence;
pub mod ml_inputs;
pub mod ml_stage;
mod runs;
mod stages;

use std::time::Instant;

use serde::Serialize;
use sqlx::{Connection, PgConnection, PgPool};

pub use runs::{RunRecord, StageRecord, get_run, list_runs};
pub use stages::Stage;

use crate::error::{LakehouseError, Result};
use crate::lake::Lake;
use crate::maintenance::MaintenancePolicy;
use crate::query::cluster::Engine;

/// The advisory lock key that makes runs exclusive, across processes sharing the database.
const RUN_LOCK: i64 = 0x736f_756e_646c_616b; // "soundlak"

/// How a run behaves.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunOptions {
    /// Rebuild silver listens from all of bronze and republish gold, instead of reading only
    /// what is new.
    pub full: bool,
    /// Compact and vacuum even when maintenance is not yet worthwhile.
    pub force_maintenance: bool,
    pub maintenance: MaintenancePolicy,
    /// Make this stage fail on purpose (a drill; tests use it). In `gold_marts` the failure
    /// happens mid-publish, after half of the marts were written; in `ml`, after the first
    /// chunk of lists was written.
    pub fail_stage: Option<Stage>,
    /// End the run after this stage (`None`: run every stage). A run that stops early
    /// succeeds; the stages after it catch up in the next full run.
    pub until: Option<Stage>,
    /// When the ML stage retrains the model (`--full` always does).
    pub retrain: cadence::Retrain,
    /// The bronze rows `silver_listens` reads at a time at most (`None`:
    /// [`crate::silver::listens::PART_ROWS`]).
    pub silver_part_rows: Option<u64>,
    /// Where the silver and gold marts SQL runs: here, or on a Ballista cluster.
    pub engine: Engine,
}

/// A stage's figures, as recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StageOutcome {
    /// `false` when the stage found nothing to do.
    pub did_work: bool,
    pub rows_in: i64,
    pub rows_out: i64,
    pub rows_rejected: i64,
    /// Lake table versions read, e.g. `{"bronze/listens": 12}`.
    pub versions_read: serde_json::Map<String, serde_json::Value>,
    pub versions_written: serde_json::Map<String, serde_json::Value>,
    /// One line for people: what the stage did.
    pub detail: String,
    /// The stage's steps with their time and peak memory, where it records them (the ML
    /// stage).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<crate::ml::steps::StepFigures>,
}

/// What happens during a run, for progress bars and server-sent events.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Progress {
    StageStarted {
        run_id: i64,
        stage: Stage,
        position: usize,
        stages: usize,
    },
    StageFinished {
        run_id: i64,
        stage: Stage,
        position: usize,
        /// `succeeded`, `skipped` or `failed`.
        status: String,
        seconds: f64,
        outcome: Option<StageOutcome>,
        error: Option<String>,
    },
    RunFinished {
        run_id: i64,
        /// `succeeded` or `failed`.
        status: String,
        seconds: f64,
        error: Option<String>,
    },
}

impl Progress {
    pub fn run_id(&self) -> i64 {
        match self {
            Progress::StageStarted { run_id, .. }
            | Progress::StageFinished { run_id, .. }
            | Progress::RunFinished { run_id, .. } => *run_id,
        }
    }
}

/// A run that holds the pipeline and is recorded as `running`.
#[derive(Debug)]
pub struct PipelineRun {
    pub run_id: i64,
    /// A connection of its own (not pooled) holding the run lock: the lock goes when the
    /// connection closes, whether the run ends, fails or its process dies.
    lock: PgConnection,
}

/// Takes the pipeline for a new run started by `trigger` (`cli`, `api`, `schedule`, ...), or
/// fails with [`LakehouseError::RunInProgress`] when another run holds it.
pub async fn begin(pool: &PgPool, trigger: &str) -> Result<PipelineRun> {
    let mut lock = PgConnection::connect_with(&pool.connect_options()).await?;
    let taken = sqlx::query_scalar!(r#"SELECT pg_try_advisory_lock($1) AS "taken!""#, RUN_LOCK)
        .fetch_one(&mut lock)
        .await?;
    if !taken {
        let running = runs::running_run(pool).await?.unwrap_or(0);
        return Err(LakehouseError::RunInProgress(running));
    }
    // Holding the lock, any run still marked running died with its process.
    runs::fail_interrupted(pool).await?;
    let run_id = runs::insert_run(pool, trigger).await?;
    Ok(PipelineRun { run_id, lock })
}

/// What a finished run did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub run_id: i64,
    pub succeeded: bool,
    pub error: Option<String>,
    pub stages: Vec<(Stage, Result<StageOutcome, String>, f64)>,
}

impl PipelineRun {
    /// Executes every stage in order, recording each, calling `progress` as it goes, and
    /// stopping at the first failure. Releases the pipeline when done.
    pub async fn execute(
        self,
        lake: &Lake,
        pool: &PgPool,
        options: &RunOptions,
        progress: impl Fn(&Progress),
    ) -> Result<RunSummary> {
        let run_id = self.run_id;
        let started = Instant::now();
        let mut summary = RunSummary {
            run_id,
            succeeded: true,
            error: None,
            stages: Vec::new(),
        };
        let stages = Stage::up_to(options.until);
        for (position, &stage) in stages.iter().enumerate() {
            progress(&Progress::StageStarted {
                run_id,
                stage,
                position,
                stages: stages.len(),
            });
            runs::start_stage(pool, run_id, position, stage).await?;
            let stage_started = Instant::now();
            let result = stages::run_stage(stage, lake, pool, options, run_id).await;
            let seconds = stage_started.elapsed().as_secs_f64();
            runs::finish_stage(pool, run_id, position, &result).await?;
            let (status, outcome, error) = match &result {
                Ok(o) if o.did_work => ("succeeded", Some(o.clone()), None),
                Ok(o) => ("skipped", Some(o.clone()), None),
                Err(e) => ("failed", None, Some(e.to_string())),
            };
            progress(&Progress::StageFinished {
                run_id,
                stage,
                position,
                status: status.to_owned(),
                seconds,
                outcome,
                error: error.clone(),
            });
            summary
                .stages
                .push((stage, result.map_err(|e| e.to_string()), seconds));
            if let Some(error) = error {
                summary.succeeded = false;
                summary.error = Some(format!("{stage}: {error}"));
                break;
            }
        }
        runs::finish_run(pool, run_id, summary.error.as_deref()).await?;
        progress(&Progress::RunFinished {
            run_id,
            status: if summary.succeeded {
                "succeeded"
            } else {
                "failed"
            }
            .to_owned(),
            seconds: started.elapsed().as_secs_f64(),
            error: summary.error.clone(),
        });
        // Released here rather than by the connection's end, which the server notices a little
        // later: a run that starts right after this one must find the lock free.
        let mut lock = self.lock;
        sqlx::query_scalar!("SELECT pg_advisory_unlock($1)", RUN_LOCK)
            .fetch_one(&mut lock)
            .await?;
        lock.close().await?;
        Ok(summary)
    }
}

/// Whether a scheduled run has anything to do: bronze has listens or a catalogue silver has
/// not read, or maintenance is worthwhile.
pub async fn has_work(
    lake: &Lake,
    pool: &PgPool,
    policy: &MaintenancePolicy,
    retrain: cadence::Retrain,
) -> Result<bool> {
    stages::has_work(lake, pool, policy, retrain).await
}
