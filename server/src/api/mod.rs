//! The REST API under `/api/v1`: JSON in `snake_case`, errors as
//! `{"error": {"code": ..., "message": ...}}`.

mod error;
mod health;
mod listens;
mod tracks;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

pub use error::ApiError;

use crate::state::AppState;

/// The `/api/v1` routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health::health))
        .route("/tracks", get(tracks::search))
        .route("/tracks/{track_id}", get(tracks::get_one))
        .route("/genres", get(tracks::genres))
        .route(
            "/listens",
            post(listens::post).layer(DefaultBodyLimit::max(listens::MAX_BODY_BYTES)),
        )
        .fallback(|| async { ApiError::not_found("no such API endpoint") })
}
