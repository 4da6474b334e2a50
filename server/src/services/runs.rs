//! The server's side of pipeline runs: starting them in the background, broadcasting their
//! progress to server-sent-event subscribers, and the micro-batch schedule.

use std::time::Duration;

use lakehouse::pipeline::{self, Progress, RunOptions, Stage};
use lakehouse::query::cluster::Engine;
use lakehouse::{Lake, LakehouseError};
use sqlx::PgPool;
use tokio::sync::broadcast;

use crate::services::ingest::Ingest;

/// Starts runs and tells subscribers how they go. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Pipelines {
    lake: Lake,
    pool: PgPool,
    ingest: Ingest,
    events: broadcast::Sender<Progress>,
    /// Where runs' silver and gold SQL runs.
    engine: Engine,
}

impl Pipelines {
    pub fn new(lake: Lake, pool: PgPool, ingest: Ingest) -> Self {
        let (events, _) = broadcast::channel(256);
        Self {
            lake,
            pool,
            ingest,
            events,
            engine: Engine::Local,
        }
    }

    /// Runs whose silver and gold SQL runs on `engine`.
    pub fn with_engine(self, engine: Engine) -> Self {
        Self { engine, ..self }
    }

    /// Progress of every run started from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Progress> {
        self.events.subscribe()
    }

    /// Takes the pipeline and runs it in the background, on the engine of
    /// [`Pipelines::with_engine`]. Returns the run id at once, or
    /// [`LakehouseError::RunInProgress`] when another run holds the pipeline.
    pub async fn start(&self, trigger: &str, options: RunOptions) -> Result<i64, LakehouseError> {
        let options = RunOptions {
            engine: self.engine.clone(),
            ..options
        };
        let run = pipeline::begin(&self.pool, trigger).await?;
        let run_id = run.run_id;
        let this = self.clone();
        tokio::spawn(async move {
            let events = this.events.clone();
            let result = run
                .execute(&this.lake, &this.pool, &options, |p| {
                    let _ = events.send(p.clone());
                })
                .await;
            let catalogue_changed = match &result {
                Ok(summary) => {
                    if summary.succeeded {
                        tracing::info!(run_id, "pipeline run succeeded");
                    } else {
                        tracing::warn!(
                            run_id,
                            error = summary.error.as_deref().unwrap_or_default(),
                            "pipeline run failed"
                        );
                    }
                    summary.stages.iter().any(|(stage, outcome, _)| {
                        *stage == Stage::GoldTracks && outcome.as_ref().is_ok_and(|o| o.did_work)
                    })
                }
                Err(e) => {
                    tracing::error!(run_id, "pipeline run could not be recorded: {e}");
                    true
                }
            };
            // New tracks reached gold: listens of them are valid from now on.
            if catalogue_changed && let Err(e) = this.ingest.reload_catalogue(&this.pool).await {
                tracing::warn!("reloading track lengths after run {run_id}: {e}");
            }
        });
        Ok(run_id)
    }

    /// Every `interval`, starts a run when bronze has something silver has not read (or
    /// maintenance is due) and no run is going on.
    pub fn spawn_schedule(&self, interval: Duration) {
        let this = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let options = RunOptions {
                    retrain: lakehouse::pipeline::cadence::Retrain::scheduled(),
                    ..RunOptions::default()
                };
                match pipeline::has_work(
                    &this.lake,
                    &this.pool,
                    &options.maintenance,
                    options.retrain,
                )
                .await
                {
                    Ok(true) => match this.start("schedule", options).await {
                        Ok(run_id) => tracing::info!(run_id, "scheduled pipeline run started"),
                        Err(LakehouseError::RunInProgress(_)) => {}
                        Err(e) => tracing::warn!("scheduled pipeline run: {e}"),
                    },
                    Ok(false) => {}
                    Err(e) => tracing::warn!("checking for pipeline work: {e}"),
                }
            }
        });
    }
}
