//! `soundlake-bench api`: `GET /api/v1/users/{id}/recommendations` under fixed request rates,
//! sent by a load generator in a process of its own (`oha`, from crates.io) to a `soundlake
//! serve` process holding the demo, with every demo listener's live state warm.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::served::{DemoSettings, ServedDemo};
use server::infra::config::Config;

/// What to measure.
#[derive(Debug, Clone, clap::Args)]
pub struct ApiBench {
    /// Request rates to hold, one run each, in requests per second.
    #[arg(long, value_delimiter = ',', default_value = "1000,2000,5000",
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rates: Vec<u32>,
    /// Seconds each rate is held.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=3_600))]
    pub seconds: u32,
    /// Connections the load generator keeps open.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub connections: u32,
    /// Tracks in the served demo catalogue.
    #[arg(long, default_value_t = 3_000, value_parser = clap::value_parser!(u64).range(100..=1_000_000))]
    pub tracks: u64,
    /// The load generator (`cargo install oha --version 1.16.0 --locked`).
    #[arg(long, env = "SOUNDLAKE_OHA", default_value = "oha")]
    pub oha: String,
}

/// One rate's figures, as oha measured them.
struct RateFigures {
    target: u32,
    achieved: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    requests: u64,
    not_ok: u64,
    /// Status codes and errors with their counts, as oha reported them.
    answers: String,
}

pub async fn api(config: &Config, bench: ApiBench) -> Result<()> {
    let version = Command::new(&bench.oha)
        .arg("--version")
        .output()
        .with_context(|| {
            format!(
                "running `{}`: the load generator is oha, from crates.io \
                 (cargo install oha --version 1.16.0 --locked)",
                bench.oha
            )
        })?;
    let settings = DemoSettings {
        tracks: bench.tracks as usize,
        // One run trains the model at start; none competes with the load after it.
        pipeline_interval: 24 * 3600,
        // The load comes from one address: the per-address limit would answer it 429.
        rate_limit: 0,
    };
    let served = ServedDemo::start(config, settings).await?;
    let outcome = measure(&served, &bench, String::from_utf8_lossy(&version.stdout)).await;
    let stopped = served.stop().await;
    outcome.and(stopped)
}

async fn measure(
    served: &ServedDemo,
    bench: &ApiBench,
    oha_version: std::borrow::Cow<'_, str>,
) -> Result<()> {
    // Every demo listener's list, read in turn.
    let lists: Vec<String> = (1..=server::cli::serve::DEMO_USERS)
        .map(|i| format!("{}/api/v1/users/user-{i:05}/recommendations", served.base))
        .collect();
    warm_live_state(served, &lists).await?;
    let urls = served.data_dir().join("recommendation-urls.txt");
    std::fs::write(&urls, lists.join("\n"))?;
    let users = lists.len();
    println!(
        "load generator: {}; {} listeners, each with a listen in their live state; \
         {} connections; {} s per rate",
        oha_version.trim(),
        users,
        bench.connections,
        bench.seconds
    );
    let mut figures = Vec::new();
    for &rate in &bench.rates {
        let output = Command::new(&bench.oha)
            .args([
                "--no-tui",
                "--output-format",
                "json",
                "--latency-correction",
            ])
            .args(["-z", &format!("{}s", bench.seconds)])
            .args(["-q", &rate.to_string()])
            .args(["-c", &bench.connections.to_string()])
            .args(["-H", &format!("Authorization: Bearer {}", served.token)])
            .arg("--urls-from-file")
            .arg(&urls)
            .output()
            .context("running oha")?;
        if !output.status.success() {
            bail!(
                "oha failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let report: Value =
            serde_json::from_slice(&output.stdout).context("reading oha's JSON report")?;
        let rate_figures = read_report(rate, &report)?;
        println!(
            "{:>6} req/s asked: {:>8.0} req/s served, p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms \
             ({} requests, {} not 200)",
            rate_figures.target,
            rate_figures.achieved,
            rate_figures.p50_ms,
            rate_figures.p99_ms,
            rate_figures.max_ms,
            rate_figures.requests,
            rate_figures.not_ok
        );
        figures.push(rate_figures);
        // Let the server's queues drain between rates.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let rss = served.rss().map_or(0, |b| b / (1 << 20));
    println!("the server's resident memory after the load: {rss} MB");
    if let Some(failed) = figures.iter().find(|f| f.not_ok > 0) {
        bail!(
            "{} requests at {} req/s were not answered 200: {}",
            failed.not_ok,
            failed.target,
            failed.answers
        );
    }
    Ok(())
}

/// Posts one listen for each demo listener, so that every list read is re-ranked by a recent
/// play, and reads each of their `lists` once.
async fn warm_live_state(served: &ServedDemo, lists: &[String]) -> Result<()> {
    let tracks = lakehouse::gold::tracks::simulation_tracks(&served.pool).await?;
    let Some(track) = tracks.first() else {
        bail!("the served demo has no tracks");
    };
    let now = chrono::Utc::now().to_rfc3339();
    let events: Vec<Value> = (1..=server::cli::serve::DEMO_USERS)
        .map(|i| {
            json!({"user_id": format!("user-{i:05}"), "track_id": track.track_id,
                   "played_at": now, "ms_played": 30_000})
        })
        .collect();
    let client = served.client()?;
    let response = client
        .post(format!("{}/api/v1/listens", served.base))
        .json(&events)
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("posting the warm-up listens: {}", response.status());
    }
    // Each list read once, so that the load measures the steady state, not first reads.
    for url in lists {
        let status = client.get(url).send().await?.status();
        if !status.is_success() {
            bail!("reading {url} before the load: {status}");
        }
    }
    Ok(())
}

fn read_report(target: u32, report: &Value) -> Result<RateFigures> {
    let seconds = |v: &Value| v.as_f64().map(|s| s * 1_000.0);
    let percentiles = &report["latencyPercentiles"];
    let statuses = report["statusCodeDistribution"]
        .as_object()
        .context("oha's report has no status codes")?;
    let count = |ok: bool| -> u64 {
        statuses
            .iter()
            .filter(|(code, _)| (code.as_str() == "200") == ok)
            .filter_map(|(_, n)| n.as_u64())
            .sum()
    };
    // Requests still in flight when the duration ends are cut off by oha itself, not failed.
    let errors: u64 = report["errorDistribution"].as_object().map_or(0, |e| {
        e.iter()
            .filter(|(error, _)| !error.contains("deadline"))
            .filter_map(|(_, n)| n.as_u64())
            .sum()
    });
    Ok(RateFigures {
        target,
        achieved: report["summary"]["requestsPerSec"].as_f64().unwrap_or(0.0),
        p50_ms: seconds(&percentiles["p50"]).context("oha's report has no p50")?,
        p99_ms: seconds(&percentiles["p99"]).context("oha's report has no p99")?,
        max_ms: seconds(&report["summary"]["slowest"]).unwrap_or(0.0),
        requests: count(true) + count(false) + errors,
        not_ok: count(false) + errors,
        answers: format!(
            "{} {}",
            report["statusCodeDistribution"], report["errorDistribution"]
        ),
    })
}
