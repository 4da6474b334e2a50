//! `soundlake simulate --stream URL --rate N`: simulated listens posted to a running server's
//! ingest API at a steady rate, stamped with the time they are sent, until Ctrl-C (or until
//! `--limit` listens were sent).

use std::time::Duration;

use anyhow::{Context, Result};
use app::types::format_count;
use chrono::Utc;
use lakehouse::simulate::{SimTrack, Simulation, player_event, simulate};
use serde_json::Value;

/// How often a batch is sent.
const TICK: Duration = Duration::from_millis(100);

/// What a stream sent and how the server answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamReport {
    pub sent: u64,
    pub accepted: u64,
    pub failed: u64,
}

/// Where a stream posts, and the API token it posts with: an `ingest` token (or an admin's),
/// which may post listens of any listener.
#[derive(Debug, Clone)]
pub struct StreamTarget {
    /// The server's base URL.
    pub url: String,
    pub token: String,
}

/// Streams listens from `sim` (repeating it with the next seed when it runs out) to
/// `target` at `rate` events per second, until Ctrl-C or, with `limit`, until that many were
/// sent.
pub async fn stream(
    target: &StreamTarget,
    rate: u32,
    sim: Simulation,
    tracks: &[SimTrack],
    limit: Option<u64>,
) -> Result<StreamReport> {
    let endpoint = format!("{}/api/v1/listens", target.url.trim_end_matches('/'));
    let client = reqwest::Client::new();
    let per_tick = (f64::from(rate) * TICK.as_secs_f64()).ceil().max(1.0) as usize;
    let (mut sent, mut accepted, mut failed) = (0u64, 0u64, 0u64);
    let limit = limit.unwrap_or(u64::MAX);
    let mut ticker = tokio::time::interval(TICK);
    let mut report = tokio::time::Instant::now();
    let mut round = 0u64;
    println!(
        "streaming about {} listens/s to {endpoint}; Ctrl-C stops",
        format_count(i64::from(rate))
    );
    loop {
        let listens = simulate(
            &Simulation {
                seed: sim.seed + round,
                ..sim
            },
            tracks,
        );
        round += 1;
        if listens.is_empty() {
            anyhow::bail!("the simulation produced no listens (is the catalogue empty?)");
        }
        for chunk in listens.chunks(per_tick) {
            let stopped = sent >= limit
                || tokio::select! {
                    _ = ticker.tick() => false,
                    _ = tokio::signal::ctrl_c() => true,
                };
            if stopped {
                println!("stopped: {sent} sent, {accepted} accepted, {failed} not accepted");
                return Ok(StreamReport {
                    sent,
                    accepted,
                    failed,
                });
            }
            let chunk = &chunk[..chunk.len().min((limit - sent) as usize)];
            let now = Utc::now().to_rfc3339();
            for request in chunk.chunks(1_000) {
                let events: Vec<Value> = request.iter().map(|l| player_event(l, &now)).collect();
                sent += events.len() as u64;
                let request = client.post(&endpoint).bearer_auth(&target.token);
                match request.json(&events).send().await {
                    Ok(response) if response.status().is_success() => {
                        let body: Value =
                            response.json().await.context("reading the ingest answer")?;
                        let ok = body["accepted"].as_u64().unwrap_or(0);
                        accepted += ok;
                        failed += events.len() as u64 - ok;
                    }
                    Ok(_) | Err(_) => failed += events.len() as u64,
                }
            }
            if report.elapsed() >= Duration::from_secs(5) {
                println!("{sent} sent, {accepted} accepted, {failed} not accepted");
                report = tokio::time::Instant::now();
            }
        }
    }
}
