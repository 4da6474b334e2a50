//! `GET /metrics` (the figures of [`crate::infra::metrics`]) and the route layer that counts
//! and times API requests. Who: admins (a scraper sends an admin's API token as a bearer
//! token).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::accounts::Role;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::infra::metrics::Metrics;
use crate::state::AppState;

/// Counts and times each API request by the route it matched (a route layer: requests no
/// route matched are not counted).
pub async fn track_requests(
    State(metrics): State<Metrics>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.observe_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// `GET /metrics`.
pub async fn scrape(caller: Caller, State(state): State<AppState>) -> Result<Response, ApiError> {
    caller.require(&[Role::Admin])?;
    state
        .metrics
        .refresh(state.ingest.writer.waiting(), &state.pool)
        .await?;
    let text = state.metrics.encode().map_err(ApiError::internal)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
