//! What keeps one client from exhausting the server: each API request is answered within
//! [`REQUEST_TIMEOUT`], at most [`MAX_CONCURRENT_REQUESTS`] are worked on at once (the rest
//! are turned away at once with 503 rather than queued), and each client address may make a
//! set number of requests per second. Every refusal is the API's JSON error.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::BoxError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::infra::rate_limit::RateLimit;

/// The longest an API request may take to be answered (a stream's events may follow longer).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// API requests worked on at once.
pub const MAX_CONCURRENT_REQUESTS: usize = 512;

/// The answer to a request the timeout or the concurrency limit stopped.
pub async fn overloaded(error: BoxError) -> Response {
    let (code, message) = if error.is::<tower::timeout::error::Elapsed>() {
        (
            "timeout",
            format!(
                "the request took longer than {} s",
                REQUEST_TIMEOUT.as_secs()
            ),
        )
    } else if error.is::<tower::load_shed::error::Overloaded>() {
        ("busy", "the server is at its limit of requests".to_owned())
    } else {
        return ApiError::internal(error).into_response();
    };
    ApiError {
        retry_after: Some(1),
        ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }
    .into_response()
}

/// Refuses a request whose address has used up its requests with 429 and `Retry-After`.
pub async fn rate_limited(
    State(limit): State<RateLimit>,
    request: Request,
    next: Next,
) -> Response {
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(a)| a.ip());
    if !limit.allow(address) {
        return ApiError {
            retry_after: Some(1),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests from this address: slow down",
            )
        }
        .into_response();
    }
    next.run(request).await
}
