//! `soundlake pipeline ...` and `soundlake lake ...`: runs and the lake's tables from the
//! command line.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use app::types::format_count;
use lakehouse::Lake;
use lakehouse::lake_info;
use lakehouse::pipeline::{self, Progress, RunOptions};

use crate::config::Config;
use crate::database::Database;

/// `soundlake pipeline run`: one run, with a line per stage as it starts and ends.
pub async fn run(config: &Config, options: RunOptions) -> Result<()> {
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

/// Executes a run, printing its progress; shared with `bench pipeline`.
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
pub async fn list_runs(config: &Config, limit: i64) -> Result<()> {
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

/// `soundlake lake tables`: every table with its version, files, size and partitions.
pub async fn lake_tables(config: &Config) -> Result<()> {
    let lake = config.lake()?;
    let tables = lake_info::describe_all(&lake, 1).await?;
    if tables.is_empty() {
        println!("the lake at {lake} is empty");
    }
    for t in tables {
        println!(
            "{:<27} version {:>5}  {:>12} rows  {:>6} files  {:>10}  {} partitions{}",
            t.table,
            t.version,
            format_count(t.rows),
            t.files,
            bytes(t.size_bytes),
            t.partitions,
            if t.partition_columns.is_empty() {
                String::new()
            } else {
                format!(" by {}", t.partition_columns.join("/"))
            }
        );
    }
    Ok(())
}

/// `soundlake lake show TABLE [--version N]`: one table, at its latest or an earlier version,
/// with its history.
pub async fn lake_show(config: &Config, table: &str, version: Option<i64>) -> Result<()> {
    let lake = config.lake()?;
    let name = lake_info::find_table(table).with_context(|| {
        let names: Vec<String> = lake_info::TABLES.iter().map(|t| t.qualified()).collect();
        format!(
            "no table {table}; the lake's tables are {}",
            names.join(", ")
        )
    })?;
    let info = lake_info::describe(&lake, name, version, 20)
        .await?
        .with_context(|| format!("{table} has not been written yet"))?;
    println!(
        "{} at version {} (latest {}): {} rows in {} files, {}, {} partitions",
        info.table,
        info.version,
        info.latest_version,
        format_count(info.rows),
        info.files,
        bytes(info.size_bytes),
        info.partitions
    );
    for commit in info.history {
        println!(
            "  v{:<5} {}  {:<18} {}",
            commit.version,
            commit
                .timestamp
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default(),
            commit.operation.unwrap_or_default(),
            commit.soundlake_operation.unwrap_or_default()
        );
    }
    Ok(())
}

fn bytes(n: i64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.2} GB", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1} MB", n / 1e6)
    } else {
        format!("{:.0} kB", n / 1e3)
    }
}
