//! The REST API under `/api/v1`: JSON in `snake_case`, errors as
//! `{"error": {"code": ..., "message": ...}}`.

pub mod admin;
mod clusters;
mod health;
mod lake;
mod limit;
mod listens;
mod models;
pub mod openapi;
mod pipeline;
pub mod protection;
mod recommendations;
mod sse;
mod stats;
mod tokens;
mod tracks;

use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::{Router, middleware};
use tower::ServiceBuilder;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::auth;
use crate::error::ApiError;
use crate::infra::rate_limit::RateLimit;
use crate::state::AppState;

/// The `/api/v1` routes, each within the limits of [`protection`], every error answered with
/// the error body; and their OpenAPI document, built from the same routes.
pub fn router(rate_limit: RateLimit) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (routes, mut document) = routes().split_for_parts();
    openapi::ErrorAnswers.modify(&mut document);
    let routes =
        protected(routes, rate_limit).layer(middleware::map_response(openapi::errors_as_json));
    (routes, document)
}

/// `routes` within the limits of [`protection`]: a timeout, a concurrency limit that sheds
/// load beyond it, and a rate per client address.
pub fn protected(routes: Router<AppState>, rate_limit: RateLimit) -> Router<AppState> {
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

/// Every route with its OpenAPI operation (`#[utoipa::path]` on the handler says who may call).
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(health::health))
        .routes(routes!(
            auth::login::current_session,
            auth::login::create_session,
            auth::login::end_session
        ))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke))
        .routes(routes!(tracks::search))
        .routes(routes!(tracks::get_one))
        .routes(routes!(recommendations::similar))
        .routes(routes!(tracks::genres))
        .routes(routes!(recommendations::for_user))
        .routes(routes!(recommendations::events))
        .routes(routes!(recommendations::feedback))
        .routes(routes!(clusters::clusters))
        .routes(routes!(clusters::cluster_map))
        .routes(routes!(clusters::segments))
        .routes(routes!(models::models))
        .routes(routes!(stats::daily))
        .routes(routes!(stats::top))
        .routes(routes!(stats::genre_mix))
        .routes(routes!(stats::heatmap))
        .routes(routes!(stats::weekly_listeners))
        .routes(routes!(stats::cohorts))
        .routes(routes!(listens::post).layer(DefaultBodyLimit::max(listens::MAX_BODY_BYTES)))
        .routes(routes!(pipeline::list, pipeline::start))
        .routes(routes!(pipeline::get_one))
        .routes(routes!(pipeline::events))
        .routes(routes!(lake::list))
        .routes(routes!(lake::get_one))
        .fallback(|| async { ApiError::not_found("no such API endpoint") })
}
