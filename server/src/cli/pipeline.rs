//! `soundlake pipeline ...`: runs of bronze → silver → gold, with a line per stage as it goes,
//! and the newest runs.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use app::types::format_count;
use clap::{Args, Subcommand};
use lakehouse::Lake;
use lakehouse::pipeline::{self, Progress, RunOptions, Stage};
use lakehouse::query::cluster::Engine;

use crate::infra::config::Config;
use crate::infra::database::Database;

#[derive(Debug, Args)]
pub struct PipelineArgs {
    #[command(subcommand)]
    what: PipelineCommand,
}

#[derive(Debug, Subcommand)]
enum PipelineCommand {
    /// Run every stage now (refused while another run is going on).
    Run {
        /// Rebuild silver listens from all of bronze instead of only what is new.
        #[arg(long)]
        full: bool,
        /// Compact and vacuum the lake even if not yet worthwhile.
        #[arg(long)]
        maintenance: bool,
        /// Stop after this stage (silver_tracks, silver_listens, gold_tracks, gold_marts, ml).
        #[arg(long, value_parser = parse_stage)]
        until: Option<Stage>,
        /// Where the silver and gold marts SQL runs: `local`, or `ballista://HOST:PORT` for a
        /// cluster started with `soundlake cluster` (default: the configuration's `engine`).
        #[arg(long)]
        engine: Option<Engine>,
    },
    /// The newest runs.
    Runs {
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
}

pub async fn run(config: &Config, args: PipelineArgs) -> Result<()> {
    match args.what {
        PipelineCommand::Run {
            full,
            maintenance,
            until,
            engine,
        } => {
            let options = RunOptions {
                full,
                force_maintenance: maintenance,
                until,
                engine: engine.unwrap_or_else(|| config.engine.clone()),
                ..Default::default()
            };
            run_now(config, options).await
        }
        PipelineCommand::Runs { limit } => list_runs(config, limit).await,
    }
}

/// A stage named on the command line.
pub fn parse_stage(name: &str) -> Result<Stage, String> {
    Stage::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Stage::ALL.iter().map(|s| s.name()).collect();
        format!("no stage `{name}`; the stages are {}", names.join(", "))
    })
}

/// `soundlake pipeline run`: one run, with a line per stage as it starts and ends.
async fn run_now(config: &Config, options: RunOptions) -> Result<()> {
    let lake = config.writable_lake().await?;
    let database = Database::open(config).await?;
    let result = run_with_progress(&lake, &database.pool, &options, "cli").await;
    database.close().await;
    let summary = result?;
    if !summary.succeeded {
        anyhow::bail!(
            "run {} failed: {}",
            summary.run_id,
            summary.error.unwrap_or_default()
        );
    }
    Ok(())
}

/// Executes a run, printing its progress; shared with the pipeline benchmark.
pub async fn run_with_progress(
    lake: &Lake,
    pool: &sqlx::PgPool,
    options: &RunOptions,
    trigger: &str,
) -> Result<pipeline::RunSummary> {
    let run = pipeline::begin(pool, trigger).await?;
    println!("pipeline run {}", run.run_id);
    let stages = pipeline::Stage::up_to(options.until).len();
    // On a terminal, the running stage's line shows its time so far.
    let terminal = std::io::stdout().is_terminal();
    let line = RunningLine::default();
    let ticker = terminal.then(|| {
        let line = line.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tick.tick().await;
                line.draw();
            }
        })
    });
    let summary = run
        .execute(lake, pool, options, |p| {
            print_progress(p, stages, terminal.then_some(&line))
        })
        .await;
    if let Some(ticker) = ticker {
        ticker.abort();
    }
    Ok(summary?)
}

/// The stage running now and since when; its line is redrawn with the time so far.
#[derive(Debug, Clone, Default)]
struct RunningLine(Arc<Mutex<Option<(String, Instant)>>>);

impl RunningLine {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(String, Instant)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn start(&self, label: String) {
        *self.lock() = Some((label, Instant::now()));
        self.draw();
    }

    /// Rewrites the running stage's line (a terminal only).
    fn draw(&self) {
        if let Some((label, since)) = self.lock().as_ref() {
            let seconds = since.elapsed().as_secs_f64();
            print!("\r{label} running… {seconds:>7.1} s");
            let _ = std::io::stdout().flush();
        }
    }

    /// Ends the running line, if any: `print` writes the stage's result over it.
    fn finish(line: Option<&Self>, print: impl FnOnce()) {
        let _running = line.map(|line| {
            let mut running = line.lock();
            *running = None;
            running
        });
        print();
    }
}

/// Prints `progress` of a run of `stages` stages; `line`, on a terminal, shows the running
/// stage.
fn print_progress(progress: &Progress, stages: usize, line: Option<&RunningLine>) {
    match progress {
        Progress::StageStarted {
            stage, position, ..
        } => {
            if let Some(line) = line {
                line.start(format!("  [{}/{stages}] {stage:<17}", position + 1));
            }
        }
        Progress::StageFinished {
            stage,
            position,
            status,
            seconds,
            outcome,
            error,
            ..
        } => RunningLine::finish(line, || {
            print!(
                "\r  [{}/{stages}] {stage:<17} {status:<9} {seconds:>7.2} s ",
                position + 1,
            );
            if let Some(o) = outcome.as_ref().filter(|o| o.did_work) {
                print!(
                    "  in {} out {} rejected {}",
                    format_count(o.rows_in),
                    format_count(o.rows_out),
                    format_count(o.rows_rejected)
                );
            }
            println!();
            if let Some(o) = outcome
                && !o.detail.is_empty()
            {
                println!("        {}", o.detail);
            }
            if let Some(error) = error {
                println!("        error: {error}");
            }
        }),
        Progress::RunFinished {
            status, seconds, ..
        } => println!("  run {status} in {seconds:.2} s"),
    }
}

/// `soundlake pipeline runs`: the newest runs.
async fn list_runs(config: &Config, limit: i64) -> Result<()> {
    let database = Database::open(config).await?;
    let runs = pipeline::list_runs(&database.pool, limit).await;
    database.close().await;
    for run in runs? {
        let seconds = run
            .finished_at
            .map(|f| (f - run.started_at).num_milliseconds() as f64 / 1000.0);
        println!(
            "run {:>5}  {:<9}  {:<8}  started {}  {}",
            run.run_id,
            run.status,
            run.trigger,
            run.started_at.format("%Y-%m-%d %H:%M:%S"),
            seconds.map_or_else(|| "…".to_owned(), |s| format!("{s:.2} s"))
        );
        if let Some(error) = run.error {
            println!("            error: {error}");
        }
    }
    Ok(())
}
