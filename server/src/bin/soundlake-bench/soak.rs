//! `soundlake-bench soak`: a `soundlake serve` process holding the demo, kept busy for
//! minutes as a deployment is: the simulator streaming listens over the ingest API, the
//! pipeline's schedule running, pages and API reads. It prints the server's resident memory
//! every 10 s, and fails on any error (a read not answered 200, a listen not accepted, a run
//! that failed).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use lakehouse::simulate::Simulation;
use tokio::sync::Mutex;

use super::quantile;
use super::served::{DemoSettings, ServedDemo};
use server::cli::simulate::stream::{StreamTarget, stream};
use server::infra::config::Config;

/// How long and how hard.
#[derive(Debug, Clone, clap::Args)]
pub struct SoakBench {
    /// Minutes to run.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1_440))]
    pub minutes: u64,
    /// Listens per second the simulator streams.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub rate: u32,
    /// Page and API reads per second.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub reads: u32,
    /// Seconds between scheduled pipeline runs.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub interval: u64,
    /// Tracks in the served demo catalogue.
    #[arg(long, default_value_t = 3_000, value_parser = clap::value_parser!(u64).range(100..=1_000_000))]
    pub tracks: u64,
}

/// How often the server's memory is sampled.
const SAMPLE: Duration = Duration::from_secs(10);

/// What readers ask for, in turn: the pages of each role and the API routes behind them.
const READS: &[&str] = &[
    "/api/v1/users/user-{user}/recommendations",
    "/dashboards",
    "/api/v1/stats/daily",
    "/api/v1/users/user-{user}/recommendations",
    "/insights",
    "/api/v1/stats/top?kind=track",
    "/api/v1/users/user-{user}/recommendations",
    "/catalog",
    "/api/v1/tracks?q=the",
    "/admin",
    "/api/v1/pipeline/runs",
    "/api/v1/stats/heatmap",
];

/// The readers' tally.
#[derive(Default)]
struct Reads {
    done: AtomicU64,
    failed: AtomicU64,
    latencies: Mutex<Vec<Duration>>,
    first_failures: Mutex<Vec<String>>,
}

pub async fn soak(config: &Config, bench: SoakBench) -> Result<()> {
    let settings = DemoSettings {
        tracks: bench.tracks as usize,
        pipeline_interval: bench.interval,
        rate_limit: config.rate_limit,
    };
    let served = ServedDemo::start(config, settings).await?;
    let outcome = run(&served, &bench).await;
    if outcome.is_err() {
        eprintln!("the server's log:\n{}", served.log());
    }
    let stopped = served.stop().await;
    outcome.and(stopped)
}

async fn run(served: &ServedDemo, bench: &SoakBench) -> Result<()> {
    let length = Duration::from_secs(bench.minutes * 60);
    let started_at = chrono::Utc::now();
    let tracks = lakehouse::gold::tracks::simulation_tracks(&served.pool).await?;
    let target = StreamTarget {
        url: served.base.clone(),
        token: served.token.clone(),
    };
    // The demo's listeners and as many new ones, each day of theirs repeated with a new seed
    // when it is used up.
    let sim = Simulation::ending_today(400, 1, 20.0, 2026);
    let limit = u64::from(bench.rate) * length.as_secs();
    let rate = bench.rate;
    let streaming =
        tokio::spawn(async move { stream(&target, rate, sim, &tracks, Some(limit)).await });

    let reads = Arc::new(Reads::default());
    let reading = tokio::spawn(read_steadily(
        served.client()?,
        served.base.clone(),
        bench.reads,
        length,
        reads.clone(),
    ));

    println!(
        "soak: {} min, {} listens/s streamed, {} reads/s, pipeline every {} s",
        bench.minutes, bench.rate, bench.reads, bench.interval
    );
    println!(
        "{:>6}  {:>8}  {:>8}  {:>12}",
        "time", "RSS", "reads", "read errors"
    );
    let start = Instant::now();
    let mut series = Vec::new();
    let mut ticks = tokio::time::interval(SAMPLE);
    ticks.tick().await;
    while start.elapsed() < length {
        ticks.tick().await;
        let rss_mb = served.rss().unwrap_or(0) as f64 / f64::from(1 << 20);
        let at = start.elapsed().as_secs_f64();
        series.push((at, rss_mb));
        println!(
            "{:>5.0}s  {:>5.0} MB  {:>8}  {:>12}",
            at,
            rss_mb,
            reads.done.load(Ordering::Relaxed),
            reads.failed.load(Ordering::Relaxed)
        );
    }
    let streamed = streaming.await??;
    reading.await?;

    let runs: Vec<(String, i64)> = sqlx::query!(
        r#"SELECT status, count(*) AS "runs!" FROM pipeline_runs
           WHERE started_at >= $1 GROUP BY status ORDER BY status"#,
        started_at,
    )
    .fetch_all(&served.pool)
    .await?
    .into_iter()
    .map(|row| (row.status, row.runs))
    .collect();
    let failed_runs = runs
        .iter()
        .find(|(status, _)| status == "failed")
        .map_or(0, |(_, n)| *n);
    let mut latencies = reads.latencies.lock().await.clone();
    latencies.sort();
    println!(
        "listens: {} sent, {} accepted, {} not accepted",
        streamed.sent, streamed.accepted, streamed.failed
    );
    println!(
        "reads: {} done, {} failed; p50 {:.1} ms, p99 {:.1} ms",
        reads.done.load(Ordering::Relaxed),
        reads.failed.load(Ordering::Relaxed),
        quantile(&latencies, 0.5).as_secs_f64() * 1e3,
        quantile(&latencies, 0.99).as_secs_f64() * 1e3
    );
    println!("pipeline runs during the soak: {runs:?}");
    print_memory_trend(&series);

    let failures = reads.first_failures.lock().await;
    for failure in failures.iter() {
        println!("  failed read: {failure}");
    }
    if streamed.failed > 0 || reads.failed.load(Ordering::Relaxed) > 0 || failed_runs > 0 {
        bail!(
            "errors during the soak: {} listens not accepted, {} reads failed, {failed_runs} runs failed",
            streamed.failed,
            reads.failed.load(Ordering::Relaxed)
        );
    }
    Ok(())
}

/// Reads `READS` in turn at `per_second` for `length`, tallying into `reads`.
async fn read_steadily(
    client: reqwest::Client,
    base: String,
    per_second: u32,
    length: Duration,
    reads: Arc<Reads>,
) {
    let mut ticks =
        tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(per_second.max(1))));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let start = Instant::now();
    let mut n = 0usize;
    while start.elapsed() < length {
        ticks.tick().await;
        let path = READS[n % READS.len()].replace("{user}", &format!("{:05}", 1 + n % 400));
        n += 1;
        let sent = Instant::now();
        let outcome = client.get(format!("{base}{path}")).send().await;
        let took = sent.elapsed();
        let failure = match outcome {
            Ok(response) if response.status().is_success() => {
                // The whole answer, as a client reads it.
                response.bytes().await.err().map(|e| format!("{path}: {e}"))
            }
            Ok(response) => Some(format!("{path}: {}", response.status())),
            Err(e) => Some(format!("{path}: {e}")),
        };
        reads.done.fetch_add(1, Ordering::Relaxed);
        reads.latencies.lock().await.push(took);
        if let Some(failure) = failure {
            reads.failed.fetch_add(1, Ordering::Relaxed);
            let mut first = reads.first_failures.lock().await;
            if first.len() < 10 {
                first.push(failure);
            }
        }
    }
}

/// The memory series after warm-up (its first fifth): lowest, highest, and the fitted
/// change per minute.
fn print_memory_trend(series: &[(f64, f64)]) {
    let settled = &series[series.len() / 5..];
    if settled.len() < 2 {
        return;
    }
    let n = settled.len() as f64;
    let (mean_t, mean_m) = (
        settled.iter().map(|(t, _)| t).sum::<f64>() / n,
        settled.iter().map(|(_, m)| m).sum::<f64>() / n,
    );
    let covariance: f64 = settled
        .iter()
        .map(|(t, m)| (t - mean_t) * (m - mean_m))
        .sum();
    let variance: f64 = settled.iter().map(|(t, _)| (t - mean_t).powi(2)).sum();
    let slope_per_minute = covariance / variance.max(1e-9) * 60.0;
    let low = settled
        .iter()
        .map(|(_, m)| *m)
        .fold(f64::INFINITY, f64::min);
    let high = settled.iter().map(|(_, m)| *m).fold(0.0, f64::max);
    println!(
        "memory after warm-up (from {:.0} s): {low:.0} to {high:.0} MB, fitted change {slope_per_minute:+.1} MB/min",
        settled[0].0
    );
}
