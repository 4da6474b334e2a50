//! What every request handler can reach.

use axum::extract::FromRef;
use lakehouse::Lake;
use leptos::config::LeptosOptions;
use sqlx::PgPool;

use crate::ingest::Ingest;

/// The server's shared state.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    pub lake: Lake,
    pub ingest: Ingest,
}
