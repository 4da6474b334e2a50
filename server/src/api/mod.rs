//! The REST API under `/api/v1`: JSON in `snake_case`, errors as
//! `{"error": {"code": ..., "message": ...}}`.

pub mod admin;
mod error;
pub mod extract;
mod health;
mod lake;
mod listens;
mod pipeline;
pub mod protection;
mod recommendations;
mod sse;
mod stats;
mod tokens;
mod tracks;

use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{Router, middleware};
use tower::ServiceBuilder;

pub use error::ApiError;

use crate::auth;
use crate::state::AppState;

/// The `/api/v1` routes, each within the limits of [`protection`].
pub fn router(rate_limit: protection::RateLimit) -> Router<AppState> {
    protected(routes(), rate_limit)
}

/// `routes` within the limits of [`protection`]: a timeout, a concurrency limit that sheds
/// load beyond it, and a rate per client address.
pub fn protected(routes: Router<AppState>, rate_limit: protection::RateLimit) -> Router<AppState> {
    routes
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(protection::overloaded))
                .load_shed()
                .concurrency_limit(protection::MAX_CONCURRENT_REQUESTS)
                .timeout(protection::REQUEST_TIMEOUT),
        )
        .layer(middleware::from_fn_with_state(
            rate_limit,
            protection::rate_limited,
        ))
}

fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health::health))
        .route(
            "/session",
            get(auth::current_session)
                .post(auth::create_session)
                .delete(auth::end_session),
        )
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{token_id}", axum::routing::delete(tokens::revoke))
        .route("/tracks", get(tracks::search))
        .route("/tracks/{track_id}", get(tracks::get_one))
        .route("/tracks/{track_id}/similar", get(recommendations::similar))
        .route("/genres", get(tracks::genres))
        .route(
            "/users/{user_id}/recommendations",
            get(recommendations::for_user),
        )
        .route(
            "/users/{user_id}/recommendations/events",
            get(recommendations::events),
        )
        .route("/users/{user_id}/feedback", post(recommendations::feedback))
        .route("/clusters", get(recommendations::clusters))
        .route("/clusters/map", get(recommendations::cluster_map))
        .route("/segments", get(recommendations::segments))
        .route("/models", get(recommendations::models))
        .route("/stats/daily", get(stats::daily))
        .route("/stats/top", get(stats::top))
        .route("/stats/genre-mix", get(stats::genre_mix))
        .route("/stats/heatmap", get(stats::heatmap))
        .route("/stats/weekly-listeners", get(stats::weekly_listeners))
        .route("/stats/cohorts", get(stats::cohorts))
        .route(
            "/listens",
            post(listens::post).layer(DefaultBodyLimit::max(listens::MAX_BODY_BYTES)),
        )
        .route("/pipeline/runs", get(pipeline::list).post(pipeline::start))
        .route("/pipeline/runs/{run_id}", get(pipeline::get_one))
        .route("/pipeline/runs/{run_id}/events", get(pipeline::events))
        .route("/lake/tables", get(lake::list))
        .route("/lake/tables/{layer}/{name}", get(lake::get_one))
        .fallback(|| async { ApiError::not_found("no such API endpoint") })
}
