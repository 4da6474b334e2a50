//! What every request handler can reach.

use axum::extract::FromRef;
use lakehouse::Lake;
use leptos::config::LeptosOptions;
use sqlx::PgPool;

use crate::auth::{AddressThrottle, AuthState};
use crate::ingest::Ingest;
use crate::live::LiveRecommendations;
use crate::pipeline::Pipelines;

/// The server's shared state.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    pub lake: Lake,
    pub ingest: Ingest,
    pub pipelines: Pipelines,
    pub auth: AuthState,
    pub live: LiveRecommendations,
}

impl AppState {
    /// The state of a server over `pool` and `lake`, with ingestion already started.
    pub fn new(
        leptos_options: LeptosOptions,
        pool: PgPool,
        lake: Lake,
        ingest: Ingest,
        admin_token: &str,
    ) -> Self {
        let pipelines = Pipelines::new(lake.clone(), pool.clone(), ingest.clone());
        Self {
            live: LiveRecommendations::new(pool.clone()),
            auth: AuthState {
                pool: pool.clone(),
                admin_token: admin_token.into(),
                throttle: AddressThrottle::default(),
            },
            leptos_options,
            pool,
            lake,
            ingest,
            pipelines,
        }
    }
}
