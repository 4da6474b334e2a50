//! `soundlake-bench pipeline`: simulate N listens into bronze, run the pipeline, and print
//! each stage's time, rows/s and peak memory.

use std::sync::Mutex;
use std::time::Instant;

use anyhow::Result;
use app::types::format_count;
use lakehouse::Lake;
use lakehouse::catalog::{demo_catalog_file, import_catalog};
use lakehouse::demo::DemoCatalog;
use lakehouse::ingest::IngestWriter;
use lakehouse::ml::steps::{StepFigures, peak_rss, reset_peak_rss};
use lakehouse::pipeline::{self, Progress, RunOptions, Stage};
use lakehouse::query::cluster::Engine;
use lakehouse::simulate::Simulation;

use super::BenchServer;
use server::infra::config::Config;

/// Another engine doing the same bronze → gold work over the same files, timed beside
/// soundlake's run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Peer {
    /// DuckDB (PyPI), run by `SOUNDLAKE_PYTHON` (a Python with `duckdb`), else `python3`.
    Duckdb,
}

/// Listens one simulated user produces over 30 days at 20 a day (measured: 543 on average).
const LISTENS_PER_USER_MONTH: f64 = 543.0;

/// What one stage took.
struct StageFigures {
    stage: Stage,
    status: String,
    seconds: f64,
    rows_in: i64,
    rows_out: i64,
    peak_rss: Option<u64>,
    steps: Vec<StepFigures>,
}

/// `soundlake-bench pipeline`'s settings.
#[derive(Debug, clap::Args)]
pub struct PipelineBench {
    /// Listens to simulate (approximately).
    #[arg(long, default_value_t = 1_000_000)]
    listens: usize,
    /// Tracks in the demo catalogue they are played from.
    #[arg(long, default_value_t = 20_000)]
    tracks: usize,
    /// Stop after this stage (e.g. gold_marts: bronze → gold without the ML stage).
    #[arg(long, value_parser = server::cli::pipeline::parse_stage)]
    until: Option<Stage>,
    /// Then do the same bronze → gold work with another engine over the same files and
    /// print its figures beside soundlake's.
    #[arg(long, value_enum)]
    peer: Option<Peer>,
    /// The bronze rows the silver listens build reads at a time at most (default: the
    /// product's; a number above the listens builds silver in one part).
    #[arg(long)]
    silver_part_rows: Option<u64>,
    /// Where the silver and gold marts SQL runs: `local`, or `ballista://HOST:PORT` for a
    /// cluster started with `soundlake cluster`.
    #[arg(long, default_value = "local")]
    engine: Engine,
    /// The lake under this object store address (`s3://bucket/prefix`, with the object
    /// store's settings from the configuration) instead of a temporary folder; the run
    /// writes into a folder of its own there and leaves it.
    #[arg(long)]
    lake_url: Option<String>,
}

pub async fn pipeline(config: &Config, settings: PipelineBench) -> Result<()> {
    if settings.peer.is_some() && !Stage::up_to(settings.until).contains(&Stage::GoldMarts) {
        anyhow::bail!("--peer compares silver listens and the gold marts: run until gold_marts");
    }
    if settings.peer.is_some() && settings.lake_url.is_some() {
        anyhow::bail!("--peer reads the lake's files from a local folder: leave out --lake-url");
    }
    let server = BenchServer::open(config)?;
    let name = format!("soundlake_bench_pipeline_{}", std::process::id());
    let pool = server.fresh_database(&name).await?;
    let outcome = measure(config, &pool, settings).await;
    pool.close().await;
    server.drop_database(&name).await?;
    outcome
}

async fn measure(config: &Config, pool: &sqlx::PgPool, settings: PipelineBench) -> Result<()> {
    let PipelineBench {
        listens,
        tracks,
        until,
        peer,
        silver_part_rows,
        engine,
        lake_url,
    } = settings;
    let dir = tempfile::tempdir()?;
    let lake = match &lake_url {
        Some(url) => {
            let url = format!(
                "{}/bench-pipeline-{}",
                url.trim_end_matches('/'),
                std::process::id()
            );
            println!("the lake: {url}");
            let options = config.lake_options.clone().into_iter().collect();
            Lake::at(&url, options)?
        }
        None => Lake::new(dir.path().join("lake")),
    };
    let catalog = DemoCatalog {
        tracks,
        ..DemoCatalog::default()
    };
    let file = demo_catalog_file(&dir.path().join("demo"), &catalog)?;
    import_catalog(&lake, pool, &[file]).await?;

    let users = ((listens as f64 / LISTENS_PER_USER_MONTH).ceil() as usize).max(1);
    let sim = Simulation::ending_today(users, 30, 20.0, 7);
    let sim_tracks = lakehouse::gold::tracks::simulation_tracks(pool).await?;
    let writer = IngestWriter::start(lake.clone(), Default::default());
    println!(
        "simulating about {} listens ({} users, 30 days) over {} tracks into bronze…",
        format_count(listens as i64),
        format_count(users as i64),
        format_count(tracks as i64)
    );
    let backfill = lakehouse::simulate::backfill(&sim, &sim_tracks, &writer, |_, _| {}).await?;
    drop(writer);
    println!(
        "bronze/listens: {} listens (generated in {:.1} s, written in {:.1} s)",
        format_count(backfill.events as i64),
        backfill.generate.as_secs_f64(),
        backfill.write.as_secs_f64()
    );

    let figures: Mutex<Vec<StageFigures>> = Mutex::new(Vec::new());
    let started = Instant::now();
    let run = pipeline::begin(pool, "bench").await?;
    let options = RunOptions {
        until,
        silver_part_rows,
        engine,
        ..RunOptions::default()
    };
    let summary = run
        .execute(&lake, pool, &options, |p| match p {
            Progress::StageStarted { .. } => reset_peak_rss(),
            Progress::StageFinished {
                stage,
                status,
                seconds,
                outcome,
                ..
            } => {
                let o = outcome.clone().unwrap_or_default();
                figures
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(StageFigures {
                        stage: *stage,
                        status: status.clone(),
                        seconds: *seconds,
                        rows_in: o.rows_in,
                        rows_out: o.rows_out,
                        // A stage that measures its steps resets the peak at each.
                        peak_rss: o
                            .steps
                            .iter()
                            .filter_map(|s| s.peak_rss)
                            .chain(peak_rss())
                            .max(),
                        steps: o.steps,
                    });
            }
            Progress::RunFinished { .. } => {}
        })
        .await?;
    let total = started.elapsed().as_secs_f64();
    if let Some(error) = &summary.error {
        anyhow::bail!("the run failed: {error}");
    }

    println!();
    if !options.engine.is_local() {
        println!(
            "silver and gold marts SQL on {} (peak RSS: this process only, not the executors')",
            options.engine
        );
    }
    println!(
        "{:<18} {:>9} {:>9} {:>12} {:>12} {:>14} {:>10}",
        "stage", "status", "seconds", "rows in", "rows out", "rows in/s", "peak RSS"
    );
    let figures = figures.into_inner().unwrap_or_else(|e| e.into_inner());
    for f in &figures {
        let rate = if f.seconds > 0.0 && f.rows_in > 0 {
            format_count((f.rows_in as f64 / f.seconds) as i64)
        } else {
            "-".to_owned()
        };
        println!(
            "{:<18} {:>9} {:>9.2} {:>12} {:>12} {:>14} {:>10}",
            f.stage.name(),
            f.status,
            f.seconds,
            format_count(f.rows_in),
            format_count(f.rows_out),
            rate,
            megabytes(f.peak_rss)
        );
    }
    for f in figures.iter().filter(|f| !f.steps.is_empty()) {
        println!();
        println!(
            "{:<18} {:>9} {:>10}",
            format!("{} step", f.stage.name()),
            "seconds",
            "peak RSS"
        );
        for s in &f.steps {
            println!(
                "{:<18} {:>9.2} {:>10}",
                s.step,
                s.seconds,
                megabytes(s.peak_rss)
            );
        }
    }
    // What the ML stage published: the model chosen and its test figure.
    if let Some((_, Ok(outcome), _)) = summary.stages.iter().find(|(s, _, _)| *s == Stage::Ml) {
        println!("\nml: {}", outcome.detail);
    }
    let to_gold = Stage::up_to(Some(Stage::GoldMarts));
    let ran_to_gold: Vec<&StageFigures> = figures
        .iter()
        .filter(|f| to_gold.contains(&f.stage))
        .collect();
    let names: Vec<&str> = ran_to_gold.iter().map(|f| f.stage.name()).collect();
    let seconds: f64 = ran_to_gold.iter().map(|f| f.seconds).sum();
    println!();
    println!(
        "bronze → silver → gold ({}): {seconds:.2} s",
        names.join(", ")
    );
    println!(
        "bench pipeline: {} listens through every stage run in {:.2} s ({} listens/s)",
        format_count(backfill.events as i64),
        total,
        format_count((backfill.events as f64 / total) as i64)
    );
    if figures.iter().any(|f| f.stage == Stage::GoldMarts) {
        super::dashboards::time_queries(pool).await?;
    }
    if peer == Some(Peer::Duckdb) {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let peer = super::peer::duckdb(&lake, &dir.path().join("duckdb"), threads).await?;
        print_beside_peer(&figures, &peer);
    }
    Ok(())
}

/// soundlake's silver listens and gold marts stages beside the peer's.
fn print_beside_peer(figures: &[StageFigures], peer: &super::peer::PeerFigures) {
    let seconds_of = |stage: Stage| {
        figures
            .iter()
            .find(|f| f.stage == stage)
            .map_or(0.0, |f| f.seconds)
    };
    let (silver, marts) = (
        seconds_of(Stage::SilverListens),
        seconds_of(Stage::GoldMarts),
    );
    println!();
    println!(
        "peer: {} over the same {} bronze listens ({} silver, {} quarantined; \
         no Delta commit, no PostgreSQL load)",
        peer.engine,
        format_count(peer.bronze_rows),
        format_count(peer.silver_rows),
        format_count(peer.quarantined_rows)
    );
    println!(
        "{:<28} {:>10} {:>10} {:>8}",
        "", "soundlake", "peer", "ratio"
    );
    for (what, ours, theirs) in [
        ("silver listens", silver, peer.seconds.silver_listens),
        ("gold marts", marts, peer.seconds.gold_marts),
        (
            "silver listens + gold marts",
            silver + marts,
            peer.seconds.total,
        ),
    ] {
        println!(
            "{what:<28} {ours:>8.2} s {theirs:>8.2} s {:>7.2}×",
            ours / theirs.max(1e-9)
        );
    }
    let marts: Vec<String> = peer
        .marts
        .iter()
        .map(|(name, m)| format!("{name} {:.2} s ({} rows)", m.seconds, format_count(m.rows)))
        .collect();
    println!("the peer's marts: {}", marts.join(", "));
}

fn megabytes(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "-".to_owned(), |b| format!("{} MB", b / (1 << 20)))
}
