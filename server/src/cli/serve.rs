//! `soundlake serve`: the web app, the REST API and the schedule, after bringing the
//! catalogue up to date (and loading the demo into an empty database).

use std::future::IntoFuture;
use std::time::Duration;

use anyhow::{Context, Result};
use app::types::format_count;
use clap::Args;
use lakehouse::Lake;
use lakehouse::bronze::listens::LISTENS;
use lakehouse::catalog;
use lakehouse::demo::DemoCatalog;
use lakehouse::lake::count_rows;
use lakehouse::simulate::Simulation;

use super::import::{print_import, print_layers};
use super::simulate::backfill;
use crate::infra::config::Config;
use crate::infra::database::Database;
use crate::services::ingest::Ingest;
use crate::state::AppState;
use crate::web;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Do not load the demo catalogue when the catalogue is empty.
    #[arg(long)]
    no_demo: bool,
}

pub async fn run(config: &Config, args: ServeArgs) -> Result<()> {
    serve(config, !args.no_demo).await
}

/// Serves the app until Ctrl-C or SIGTERM, after bringing the catalogue up to date (and
/// loading the demo catalogue into an empty one when `demo` is set).
async fn serve(config: &Config, demo: bool) -> Result<()> {
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
    let state = AppState::new(options, pool, lake, ingest, &admin_token)
        .with_rate_limit(config.rate_limit)
        .with_engine(config.engine.clone());
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
            tokio::time::sleep(crate::infra::shutdown::GRACE).await;
        } => tracing::warn!(
            "connections still open {:?} after the shutdown began; stopping without them",
            crate::infra::shutdown::GRACE
        ),
    }
    println!("soundlake stopped.");
    Ok(())
}

/// The demo's simulated listeners.
pub const DEMO_USERS: usize = 200;
/// The simulated listener the demo's listener account is linked to.
const DEMO_LISTENER: &str = app::types::DEFAULT_LISTENER;
const DEMO_DAYS: u32 = 28;
const DEMO_LISTENS_PER_DAY: f64 = 15.0;

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
