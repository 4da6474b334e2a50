//! What keeps one client from exhausting the server: each API request is answered within
//! [`REQUEST_TIMEOUT`], at most [`MAX_CONCURRENT_REQUESTS`] are worked on at once (the rest
//! are turned away at once with 503 rather than queued), and each client address may make a
//! set number of requests per second. Every refusal is the API's JSON error.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::BoxError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

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

/// Addresses remembered at most; beyond, the buckets start over.
const MAX_ADDRESSES: usize = 100_000;

/// A token bucket per client address: `per_second` requests, bursts of twice as many.
#[derive(Clone)]
pub struct RateLimit {
    per_second: u32,
    buckets: Arc<Mutex<HashMap<IpAddr, (f64, Instant)>>>,
}

impl RateLimit {
    /// `per_second` requests per address (0: no limit).
    pub fn new(per_second: u32) -> Self {
        Self {
            per_second,
            buckets: Arc::default(),
        }
    }

    /// Takes a token for `address`; `false` when it has none left.
    pub fn allow(&self, address: IpAddr) -> bool {
        if self.per_second == 0 {
            return true;
        }
        let rate = f64::from(self.per_second);
        let burst = rate * 2.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_ADDRESSES && !buckets.contains_key(&address) {
            buckets.retain(|_, (tokens, at)| *tokens + at.elapsed().as_secs_f64() * rate < burst);
            if buckets.len() >= MAX_ADDRESSES {
                buckets.clear();
            }
        }
        let (tokens, at) = buckets.entry(address).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_burst_then_waits_and_others_are_not_held_back() {
        let limit = RateLimit::new(5);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let allowed = (0..30).filter(|_| limit.allow(a)).count();
        assert!((10..=11).contains(&allowed), "{allowed}");
        assert!(limit.allow(b));
        assert!((0..1000).all(|_| RateLimit::new(0).allow(a)));
    }
}
