//! `serve` and `import`: the commands people run.

use std::future::IntoFuture;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use app::types::format_count;
use lakehouse::Lake;
use lakehouse::catalog::{self, CatalogImportReport, CatalogRefreshReport};
use lakehouse::demo::DemoCatalog;

use crate::config::Config;
use lakehouse::bronze::listens::LISTENS;
use lakehouse::ingest::IngestWriter;
use lakehouse::lake::count_rows;
use lakehouse::simulate::Simulation;
use sqlx::PgPool;

use crate::database::Database;
use crate::ingest::Ingest;
use crate::state::AppState;
use crate::web;

/// Serves the app until Ctrl-C or SIGTERM, after bringing the catalogue up to date (and
/// loading the demo catalogue into an empty one when `demo` is set).
pub async fn serve(config: &Config, demo: bool) -> Result<()> {
    let lake = config.writable_lake().await?;
    let database = Database::open(config).await?;
    tracing::info!(database = %database.description, "gold database ready");
    let result = prepare_and_serve(config, &database, lake, demo).await;
    database.close().await;
    result
}

async fn prepare_and_serve(
    config: &Config,
    database: &Database,
    lake: Lake,
    demo: bool,
) -> Result<()> {
    let pool = database.pool.clone();
    let refreshed = catalog::refresh_catalog(&lake, &pool)
        .await
        .context("bringing the catalogue up to date")?;
    if refreshed.gold_tracks.is_some() {
        print_layers(&refreshed);
    }
    if demo && lakehouse::gold::tracks::count_tracks(&pool).await? == 0 {
        let settings = DemoCatalog {
            tracks: config.demo_tracks,
            ..DemoCatalog::default()
        };
        println!(
            "The catalogue is empty: loading the demo catalogue ({} tracks).",
            format_count(settings.tracks as i64)
        );
        let file = catalog::demo_catalog_file(&config.data_dir.join("demo"), &settings)?;
        let report = catalog::import_catalog(&lake, &pool, &[file]).await?;
        print_import(&report);
    }

    let ingest = Ingest::start(lake.clone(), &pool)
        .await
        .context("starting ingestion")?;
    if demo && count_rows(&lake, LISTENS).await? == 0 {
        let sim = Simulation::ending_today(DEMO_USERS, DEMO_DAYS, DEMO_LISTENS_PER_DAY, 42);
        println!("No listens yet: simulating {DEMO_USERS} listeners over {DEMO_DAYS} days.");
        backfill(&pool, &ingest.writer, &sim).await?;
    }

    let options = web::leptos_options(&config.site_root, config.addr);
    if !config
        .site_root
        .join("pkg")
        .join(format!("{}.js", web::SITE_NAME))
        .exists()
    {
        tracing::warn!(
            site_root = %config.site_root.display(),
            "the built site (wasm) is missing: pages render but do not hydrate. Build it with ./dev.sh run"
        );
    }
    if demo
        && let Some(accounts) =
            crate::accounts::demo::create_if_none(&pool, &config.data_dir, DEMO_LISTENER).await?
    {
        println!(
            "Demo accounts created (kept in {}, shown once here):\n{accounts}",
            config.data_dir.join("demo-accounts").display()
        );
    }
    let admin_token = config.admin_token()?;
    if config.admin_token.is_none() {
        println!(
            "Admin token for scripts (Authorization: Bearer <token>): in {}",
            config.data_dir.join("admin-token").display()
        );
    }
    let state =
        AppState::new(options, pool, lake, ingest, &admin_token).with_rate_limit(config.rate_limit);
    if config.pipeline_interval > 0 {
        state
            .pipelines
            .spawn_schedule(Duration::from_secs(config.pipeline_interval));
        println!(
            "Pipeline runs every {} s when bronze has new data (SOUNDLAKE_PIPELINE_INTERVAL).",
            config.pipeline_interval
        );
    }
    if let Some(addr) = config.flight_sql_addr {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("listening for Flight SQL on {addr}"))?;
        println!(
            "Arrow Flight SQL over the lake (read-only; admin and business tokens) on grpc://{}",
            listener.local_addr()?
        );
        let (lake, auth, shutdown) = (
            state.lake.clone(),
            state.auth.clone(),
            state.shutdown.clone(),
        );
        tokio::spawn(async move {
            if let Err(e) = crate::flight_sql::serve(listener, lake, auth, shutdown).await {
                tracing::error!("the Flight SQL endpoint stopped: {e}");
            }
        });
    }
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("listening on {}", config.addr))?;
    println!("soundlake is serving on http://{}", listener.local_addr()?);
    let shutdown = state.shutdown.clone();
    let serving = axum::serve(
        listener,
        web::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown({
        let shutdown = shutdown.clone();
        async move {
            shutdown_signal().await;
            println!("soundlake is stopping: finishing the requests in flight.");
            shutdown.begin();
        }
    });
    tokio::select! {
        served = serving.into_future() => served.context("serving HTTP")?,
        () = async {
            shutdown.signalled().await;
            tokio::time::sleep(crate::shutdown::GRACE).await;
        } => tracing::warn!(
            "connections still open {:?} after the shutdown began; stopping without them",
            crate::shutdown::GRACE
        ),
    }
    println!("soundlake stopped.");
    Ok(())
}

pub(crate) const DEMO_USERS: usize = 200;
/// The simulated listener the demo's listener account is linked to.
const DEMO_LISTENER: &str = app::types::DEFAULT_LISTENER;
const DEMO_DAYS: u32 = 28;
const DEMO_LISTENS_PER_DAY: f64 = 15.0;

/// `soundlake simulate`: a listening history over the catalogue, written to bronze, or with
/// `stream = Some((target, rate, limit))` posted to a running server at `rate` listens per
/// second.
pub async fn simulate(
    config: &Config,
    sim: &Simulation,
    stream: Option<(crate::stream::StreamTarget, u32, Option<u64>)>,
) -> Result<()> {
    let lake = config.lake()?;
    let database = Database::open(config).await?;
    let result = match stream {
        Some((target, rate, limit)) => {
            match lakehouse::gold::tracks::simulation_tracks(&database.pool).await {
                Ok(tracks) => crate::stream::stream(&target, rate, *sim, &tracks, limit)
                    .await
                    .map(|_| ()),
                Err(e) => Err(e.into()),
            }
        }
        // Only a simulation into the lake writes to it (a stream posts to a server).
        None => match lake.check_conditional_writes().await {
            Ok(()) => {
                let writer = IngestWriter::start(lake, Default::default());
                backfill(&database.pool, &writer, sim).await
            }
            Err(e) => Err(e.into()),
        },
    };
    database.close().await;
    result
}

async fn backfill(pool: &PgPool, writer: &IngestWriter, sim: &Simulation) -> Result<()> {
    let tracks = lakehouse::gold::tracks::simulation_tracks(pool).await?;
    if tracks.is_empty() {
        anyhow::bail!(
            "the catalogue is empty: import one (soundlake import catalog PATH) or run soundlake serve once"
        );
    }
    let report = lakehouse::simulate::backfill(sim, &tracks, writer, |done, total| {
        eprint!(
            "\r  written {} of {} events",
            format_count(done as i64),
            format_count(total as i64)
        );
    })
    .await?;
    eprintln!();
    let rate = report.events as f64 / report.write.as_secs_f64().max(1e-9);
    println!(
        "simulated {} listens ({} users, {} days) in {}, written to bronze/listens in {} ({} events/s)",
        format_count(report.events as i64),
        sim.users,
        sim.days,
        seconds(report.generate),
        seconds(report.write),
        format_count(rate as i64)
    );
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// `soundlake import catalog PATH...`
pub async fn import_catalog(config: &Config, paths: &[PathBuf]) -> Result<()> {
    let lake = config.writable_lake().await?;
    let database = Database::open(config).await?;
    let result = catalog::import_catalog(&lake, &database.pool, paths).await;
    database.close().await;
    print_import(&result?);
    Ok(())
}

/// `soundlake import listens --user NAME FILE...`
pub async fn import_listens(config: &Config, user: &str, files: &[PathBuf]) -> Result<()> {
    let lake = config.writable_lake().await?;
    let database = Database::open(config).await?;
    let writer = IngestWriter::start(lake, Default::default());
    let result = lakehouse::ingest::import_listens(&database.pool, &writer, user, files).await;
    database.close().await;
    for r in result? {
        println!(
            "{} ({}): {} matched by Spotify id, {} by artist and title, {} unmatched (kept in bronze), {} rejected",
            r.path.display(),
            r.format,
            format_count(r.by_spotify_id as i64),
            format_count(r.by_name as i64),
            format_count(r.unmatched as i64),
            format_count(r.rejected as i64)
        );
    }
    Ok(())
}

fn seconds(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// Prints what an import did, layer by layer.
pub fn print_import(report: &CatalogImportReport) {
    let new = report.files.iter().filter(|f| f.new).count();
    println!(
        "files:  {} read, {} new, {} already imported (same content)",
        report.files.len(),
        new,
        report.files.len() - new
    );
    match report.bronze_version {
        Some(version) => println!(
            "bronze: {} rows appended to bronze/tracks (version {version}) in {}",
            format_count(report.bronze_rows as i64),
            seconds(report.bronze_time)
        ),
        None => println!("bronze: unchanged"),
    }
    print_layers(&report.layers);
}

fn print_layers(layers: &CatalogRefreshReport) {
    match &layers.silver {
        None => println!("silver: no bronze catalogue yet"),
        Some(silver) if !silver.rebuilt => println!(
            "silver: unchanged (built from bronze version {})",
            silver.bronze_version
        ),
        Some(silver) => {
            println!(
                "silver: {} tracks, {} rows quarantined, from bronze version {} in {}",
                format_count(silver.tracks as i64),
                format_count(silver.quarantined as i64),
                silver.bronze_version,
                seconds(layers.silver_time)
            );
            for (reason, count) in &silver.reasons {
                println!(
                    "        quarantined {}: {reason}",
                    format_count(*count as i64)
                );
            }
        }
    }
    match layers.gold_tracks {
        Some(tracks) => println!(
            "gold:   {} tracks loaded in {}",
            format_count(tracks as i64),
            seconds(layers.gold_time)
        ),
        None => println!("gold:   unchanged"),
    }
}
