//! What every request handler can reach.

use axum::extract::FromRef;
use lakehouse::Lake;
use leptos::config::LeptosOptions;
use sqlx::PgPool;

use crate::api::admin::AdminToken;
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
    pub admin_token: AdminToken,
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
            leptos_options,
            pool,
            lake,
            ingest,
            pipelines,
            admin_token: AdminToken(admin_token.into()),
        }
    }
}
