//! `soundlake-bench ingest`: `POST /api/v1/listens` over loopback, batched and single.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use app::types::format_count;
use lakehouse::Lake;
use lakehouse::bronze::listens::LISTENS;
use lakehouse::catalog::{demo_catalog_file, import_catalog};
use lakehouse::demo::DemoCatalog;
use lakehouse::lake::count_rows;
use serde_json::{Value, json};

use super::{BenchServer, quantile};
use server::infra::config::Config;
use server::services::ingest::Ingest;
use server::state::AppState;
use server::web;

/// What to send.
#[derive(Debug, Clone, Copy)]
pub struct IngestBench {
    /// Concurrent clients.
    pub clients: usize,
    /// Events to send in batches of 1,000.
    pub batched_events: usize,
    /// Single-event requests to send (for latency).
    pub single_requests: usize,
}

/// Serves a fresh lake and database on a local port, then measures batched throughput
/// (acknowledged = committed) and single-event latency.
pub async fn ingest(config: &Config, bench: IngestBench) -> Result<()> {
    let server = BenchServer::open(config)?;
    let name = format!("soundlake_bench_ingest_{}", std::process::id());
    let pool = server.fresh_database(&name).await?;
    let dir = tempfile::tempdir().context("creating a temporary lake")?;
    let lake = Lake::new(dir.path().join("lake"));
    let catalog = DemoCatalog {
        tracks: 2_000,
        ..DemoCatalog::default()
    };
    import_catalog(
        &lake,
        &pool,
        &[demo_catalog_file(&dir.path().join("demo"), &catalog)?],
    )
    .await?;
    let tracks: Arc<Vec<String>> = Arc::new(
        lakehouse::gold::tracks::track_lengths(&pool)
            .await?
            .into_keys()
            .collect(),
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // The clients post as the admin (the admin token), which may post any listener's listens.
    let token = format!("{}", uuid::Uuid::new_v4().simple());
    let state = AppState::new(
        web::leptos_options(&dir.path().join("site"), addr),
        pool.clone(),
        lake.clone(),
        Ingest::start(lake.clone(), &pool).await?,
        &token,
    );
    let serving = tokio::spawn(async move { axum::serve(listener, web::router(state)).await });
    let url = format!("http://{addr}/api/v1/listens");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse()?,
    );
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .build()?;

    // Batches of 1,000 from every client at once.
    let per_client = bench
        .batched_events
        .div_ceil(1_000)
        .div_ceil(bench.clients.max(1));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..bench.clients.max(1) {
        let (client, url, tracks) = (client.clone(), url.clone(), tracks.clone());
        tasks.push(tokio::spawn(async move {
            let mut acknowledged = 0u64;
            for r in 0..per_client {
                let batch: Vec<Value> = (0..1_000)
                    .map(|i| event(&tracks, c, r * 1_000 + i))
                    .collect();
                let response = client.post(&url).json(&batch).send().await?;
                if response.status().is_success() {
                    acknowledged += response.json::<Value>().await?["accepted"]
                        .as_u64()
                        .unwrap_or(0);
                }
            }
            anyhow::Ok(acknowledged)
        }));
    }
    let mut acknowledged = 0;
    for task in tasks {
        acknowledged += task.await??;
    }
    let batched_time = started.elapsed();
    let committed = count_rows(&lake, LISTENS).await?;
    if committed != acknowledged as i64 {
        bail!("{acknowledged} events acknowledged but {committed} in bronze");
    }
    let commits = lake
        .existing_table(LISTENS)
        .await?
        .and_then(|t| t.version())
        .map_or(0, |v| v + 1);

    // Single-event requests, every client at once.
    let per_client = bench.single_requests.div_ceil(bench.clients.max(1));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..bench.clients.max(1) {
        let (client, url, tracks) = (client.clone(), url.clone(), tracks.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_client);
            for r in 0..per_client {
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .json(&event(&tracks, 1_000 + c, r))
                    .send()
                    .await?;
                response.error_for_status()?;
                latencies.push(sent.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let single_time = started.elapsed();
    latencies.sort();
    serving.abort();
    pool.close().await;
    server.drop_database(&name).await?;

    let rate = |n: f64, t: Duration| format_count((n / t.as_secs_f64().max(1e-9)) as i64);
    println!(
        "bench ingest: {} concurrent clients over loopback, fresh lake and database",
        bench.clients
    );
    println!(
        "batched:  {} events in batches of 1,000 in {:.2} s = {} events/s acknowledged; bronze holds all {}, in {} commits",
        format_count(acknowledged as i64),
        batched_time.as_secs_f64(),
        rate(acknowledged as f64, batched_time),
        format_count(committed),
        commits
    );
    println!(
        "single:   {} requests of one event in {:.2} s = {} requests/s; latency p50 {:.1} ms, p99 {:.1} ms",
        format_count(latencies.len() as i64),
        single_time.as_secs_f64(),
        rate(latencies.len() as f64, single_time),
        quantile(&latencies, 0.50).as_secs_f64() * 1e3,
        quantile(&latencies, 0.99).as_secs_f64() * 1e3
    );
    Ok(())
}

fn event(tracks: &[String], client: usize, n: usize) -> Value {
    json!({
        "event_id": format!("bench-{client}-{n}"),
        "user_id": format!("user-{}", n % 500),
        "track_id": tracks[n % tracks.len()],
        "played_at": "2026-01-05T10:00:00Z",
        "ms_played": 25_000,
        "end_reason": "trackdone",
    })
}
