//! `soundlake-bench rerank`: the latency of re-ranking a listener's list after a listen,
//! server-side (the gold queries and the re-ranking), over a simulated history with a
//! published model.

use std::time::{Duration, Instant};

use anyhow::Result;
use lakehouse::Lake;
use lakehouse::catalog::{demo_catalog_file, import_catalog};
use lakehouse::demo::DemoCatalog;
use lakehouse::ingest::IngestWriter;
use lakehouse::pipeline::{self, RunOptions};
use lakehouse::simulate::Simulation;
use rand::{Rng, SeedableRng};

use super::{BenchServer, quantile};
use server::infra::config::Config;
use server::services::live::LiveRecommendations;

/// The benchmark's shape.
#[derive(Debug, Clone, Copy)]
pub struct RerankBench {
    pub tracks: usize,
    pub users: usize,
    pub reranks: usize,
}

pub async fn rerank(config: &Config, settings: RerankBench) -> Result<()> {
    let server = BenchServer::open(config)?;
    let name = format!("soundlake_bench_rerank_{}", std::process::id());
    let pool = server.fresh_database(&name).await?;
    let outcome = measure(&pool, settings).await;
    pool.close().await;
    server.drop_database(&name).await?;
    outcome
}

async fn measure(pool: &sqlx::PgPool, settings: RerankBench) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let lake = Lake::new(dir.path().join("lake"));
    let catalog = DemoCatalog {
        tracks: settings.tracks,
        ..DemoCatalog::default()
    };
    let file = demo_catalog_file(&dir.path().join("demo"), &catalog)?;
    import_catalog(&lake, pool, &[file]).await?;
    let sim = Simulation::ending_today(settings.users, 30, 20.0, 7);
    let tracks = lakehouse::gold::tracks::simulation_tracks(pool).await?;
    let writer = IngestWriter::start(lake.clone(), Default::default());
    let backfill = lakehouse::simulate::backfill(&sim, &tracks, &writer, |_, _| {}).await?;
    drop(writer);
    let started = Instant::now();
    let summary = pipeline::begin(pool, "bench")
        .await?
        .execute(&lake, pool, &RunOptions::default(), |_| {})
        .await?;
    if let Some(error) = &summary.error {
        anyhow::bail!("the run failed: {error}");
    }
    println!(
        "{} listens by {} listeners over {} tracks; pipeline with the ML stage: {:.1} s",
        backfill.events,
        settings.users,
        settings.tracks,
        started.elapsed().as_secs_f64()
    );

    let live = LiveRecommendations::new(pool.clone());
    let users: Vec<String> = sqlx::query_scalar!("SELECT DISTINCT user_id FROM recommendations")
        .fetch_all(pool)
        .await?;
    anyhow::ensure!(!users.is_empty(), "the model published no lists");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut times = Vec::with_capacity(settings.reranks);
    let mut lengths = 0usize;
    for _ in 0..settings.reranks {
        let user = &users[rng.gen_range(0..users.len())];
        let track = &tracks[rng.gen_range(0..tracks.len())].track_id;
        live.on_listens(vec![(user.clone(), track.clone())]);
        let t = Instant::now();
        let list = live.refresh(user).await?;
        times.push(t.elapsed());
        lengths += list.items.len();
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "re-ranks: {}   p50 {:.2} ms   p99 {:.2} ms   max {:.2} ms   mean list length {:.1}",
        times.len(),
        ms(quantile(&times, 0.5)),
        ms(quantile(&times, 0.99)),
        ms(times.last().copied().unwrap_or_default()),
        lengths as f64 / times.len().max(1) as f64
    );
    Ok(())
}
