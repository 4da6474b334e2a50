//! What every request handler can reach.

use axum::extract::FromRef;
use lakehouse::Lake;
use leptos::config::LeptosOptions;
use sqlx::PgPool;

use crate::auth::{AddressThrottle, AuthState};
use crate::infra::metrics::Metrics;
use crate::infra::rate_limit::RateLimit;
use crate::infra::shutdown::Shutdown;
use crate::services::ingest::Ingest;
use crate::services::live::LiveRecommendations;
use crate::services::runs::Pipelines;
use crate::services::simulator::SimulatorStream;

/// The server's shared state.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    pub lake: Lake,
    pub ingest: Ingest,
    pub pipelines: Pipelines,
    pub auth: AuthState,
    /// API requests per second per client address.
    pub rate_limit: RateLimit,
    pub live: LiveRecommendations,
    /// Begun when the server stops; event streams end on it.
    pub shutdown: Shutdown,
    pub metrics: Metrics,
    /// The simulator's stream `/admin` starts and stops.
    pub simulator: SimulatorStream,
    /// Set while the database does not answer.
    pub database_down: app::server_fns::DatabaseDown,
}

impl AppState {
    /// The same state with `per_second` API requests per second per client address (0: no
    /// limit, the default).
    pub fn with_rate_limit(self, per_second: u32) -> Self {
        Self {
            rate_limit: RateLimit::new(per_second),
            ..self
        }
    }

    /// The same state with pipeline runs' silver and gold SQL run on `engine`.
    pub fn with_engine(self, engine: lakehouse::query::cluster::Engine) -> Self {
        Self {
            pipelines: self.pipelines.with_engine(engine),
            ..self
        }
    }

    /// The state of a server over `pool` and `lake`, with ingestion already started.
    pub fn new(
        leptos_options: LeptosOptions,
        pool: PgPool,
        lake: Lake,
        ingest: Ingest,
        admin_token: &str,
    ) -> Self {
        let metrics = Metrics::new();
        let ingest = ingest.reporting_to(metrics.clone());
        let pipelines = Pipelines::new(lake.clone(), pool.clone(), ingest.clone());
        ingest.follow_catalogue(pool.clone());
        let pool = serving_pool(&pool);
        let live = LiveRecommendations::shared(pool.clone());
        let shutdown = Shutdown::default();
        Self {
            database_down: crate::infra::database::watch_availability(
                pool.clone(),
                shutdown.clone(),
            ),
            simulator: SimulatorStream::new(pool.clone(), ingest.clone(), live.clone()),
            live,
            auth: AuthState {
                pool: pool.clone(),
                admin_token: admin_token.into(),
                throttle: AddressThrottle::default(),
                recent_tokens: Default::default(),
            },
            rate_limit: RateLimit::new(0),
            leptos_options,
            pool,
            lake,
            ingest,
            pipelines,
            shutdown,
            metrics,
        }
    }
}

/// The longest a request handler's statement may run before PostgreSQL cancels it.
pub const STATEMENT_TIMEOUT: &str = "5s";

/// The connections request handlers use: to `pool`'s database, with every statement cancelled
/// after [`STATEMENT_TIMEOUT`], so that no request holds a connection for long. (The pipeline
/// keeps `pool`, whose loads may take longer.)
fn serving_pool(pool: &PgPool) -> PgPool {
    let options = (*pool.connect_options())
        .clone()
        .options([("statement_timeout", STATEMENT_TIMEOUT)]);
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect_lazy_with(options)
}
