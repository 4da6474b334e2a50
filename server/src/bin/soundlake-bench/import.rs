//! `soundlake-bench import`: the catalogue import, layer by layer.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use app::types::format_count;
use lakehouse::Lake;
use lakehouse::catalog::import_catalog;
use sqlx::PgPool;

use super::BenchServer;
use server::infra::config::Config;

struct Run {
    bronze: Duration,
    silver: Duration,
    gold: Duration,
    total: Duration,
    bronze_rows: usize,
    tracks: u64,
}

/// Imports the catalogue at `path` `runs` times, each into a fresh lake and a fresh database,
/// and prints the median time and throughput of each layer.
pub async fn import(config: &Config, path: &Path, runs: usize) -> Result<()> {
    if !path.exists() {
        bail!(
            "{} does not exist: pass the catalogue to import (a CSV file or folder)",
            path.display()
        );
    }
    let server = BenchServer::open(config)?;
    let mut results = Vec::with_capacity(runs);
    for run in 0..runs.max(1) {
        let name = format!("soundlake_bench_{}_{run}", std::process::id());
        let pool = server.fresh_database(&name).await?;
        let outcome = measure_once(pool, path).await;
        server.drop_database(&name).await?;
        let outcome = outcome?;
        println!(
            "run {}: bronze {:.3} s, silver {:.3} s, gold {:.3} s, total {:.3} s",
            run + 1,
            outcome.bronze.as_secs_f64(),
            outcome.silver.as_secs_f64(),
            outcome.gold.as_secs_f64(),
            outcome.total.as_secs_f64()
        );
        results.push(outcome);
    }
    let rows = results[0].bronze_rows;
    let tracks = results[0].tracks;
    let median = |f: fn(&Run) -> Duration| {
        let mut values: Vec<Duration> = results.iter().map(f).collect();
        values.sort();
        values[values.len() / 2]
    };
    println!();
    println!(
        "bench import: {} ({} rows), median of {} runs, fresh lake and database each run",
        path.display(),
        format_count(rows as i64),
        results.len()
    );
    println!(
        "{:<8} {:>9} {:>10} {:>12}",
        "layer", "time", "rows", "rows/s"
    );
    let line = |layer: &str, time: Duration, rows: u64| {
        let rate = rows as f64 / time.as_secs_f64().max(1e-9);
        println!(
            "{layer:<8} {:>7.3} s {:>10} {:>12}",
            time.as_secs_f64(),
            format_count(rows as i64),
            format_count(rate as i64)
        );
    };
    line("bronze", median(|r| r.bronze), rows as u64);
    line("silver", median(|r| r.silver), rows as u64);
    line("gold", median(|r| r.gold), tracks);
    line("total", median(|r| r.total), rows as u64);
    Ok(())
}

async fn measure_once(pool: PgPool, path: &Path) -> Result<Run> {
    let lake_dir = tempfile::tempdir().context("creating a temporary lake")?;
    let lake = Lake::new(lake_dir.path());
    let started = Instant::now();
    let report = import_catalog(&lake, &pool, &[path.to_path_buf()]).await?;
    let total = started.elapsed();
    pool.close().await;
    Ok(Run {
        bronze: report.bronze_time,
        silver: report.layers.silver_time,
        gold: report.layers.gold_time,
        total,
        bronze_rows: report.bronze_rows,
        tracks: report.layers.gold_tracks.unwrap_or(0),
    })
}
