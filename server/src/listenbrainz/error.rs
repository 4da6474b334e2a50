//! Errors as ListenBrainz answers them: `{"code": 400, "error": "..."}`.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A ListenBrainz API error.
#[derive(Debug)]
pub struct LbError {
    pub status: StatusCode,
    pub message: String,
}

impl LbError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    /// Players retry a 503 (after `Retry-After`).
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: message.into(),
        }
    }

    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!("ListenBrainz request failed: {error}");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "The server failed to answer; the error is in its log.".into(),
        }
    }
}

impl IntoResponse for LbError {
    fn into_response(self) -> Response {
        let body = json!({"code": self.status.as_u16(), "error": self.message});
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
        }
        response
    }
}

impl From<lakehouse::LakehouseError> for LbError {
    fn from(error: lakehouse::LakehouseError) -> Self {
        Self::internal(error)
    }
}
