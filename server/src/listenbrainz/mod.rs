//! The ListenBrainz API (v1) under `/1`, the part players use to report what they play:
//! scrobblers, music servers and browser extensions that let their user set a server URL
//! and a token send their listens to soundlake as they would to ListenBrainz.
//!
//! The token is a listener's soundlake API token (`soundlake tokens create`, or the account
//! page); every listen is stored for that token's listener. Requests, limits and error
//! bodies (`{"code": 400, "error": "..."}`) follow ListenBrainz's, so that clients behave as
//! they were written to.

mod error;
mod read;
mod submission;
mod submit;
mod token;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

pub use error::LbError;
pub use submit::SOURCE;

use crate::infra::rate_limit::RateLimit;
use crate::state::AppState;

/// The routes, to be served under `/1`.
pub fn router(rate_limit: RateLimit) -> Router<AppState> {
    let routes = Router::new()
        .route("/validate-token", get(read::validate_token))
        .route(
            "/submit-listens",
            // One byte over ListenBrainz's limit reaches the handler, which answers with
            // ListenBrainz's message; more is cut off here.
            post(submit::submit_listens)
                .layer(DefaultBodyLimit::max(submission::MAX_PAYLOAD_SIZE + 1)),
        )
        .route("/user/{user}/listens", get(read::listens))
        .route("/user/{user}/playing-now", get(read::playing_now))
        .fallback(|| async { LbError::not_found("Page not found") });
    crate::api::protected(routes, rate_limit)
}
