//! Errors as JSON responses.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An API error: an HTTP status, a stable machine-readable code and a message for people.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds after which a retry may succeed (sent as `Retry-After`).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 503 with `Retry-After`: a dependency (the database) does not answer for now.
    pub fn unavailable(message: impl Into<String>) -> Self {
        ApiError {
            retry_after: Some(5),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
        }
    }

    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!("request failed: {error}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to answer; the error is in its log",
        )
    }
}

/// The body of every error the API answers: `{"error": {"code": ..., "message": ...}}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable and machine-readable, e.g. `bad_request`, `forbidden`, `busy`.
    pub code: String,
    /// For people; its wording may change.
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<lakehouse::LakehouseError> for ApiError {
    fn from(error: lakehouse::LakehouseError) -> Self {
        Self::internal(error)
    }
}

/// An account operation's failure, answered with the status it names
/// ([`crate::accounts::AccountError::status`]); a database failure as 503 with `Retry-After`,
/// its details logged.
impl From<crate::accounts::AccountError> for ApiError {
    fn from(error: crate::accounts::AccountError) -> Self {
        use crate::accounts::AccountError;
        match error {
            AccountError::Hashing(_) => Self::internal(error),
            AccountError::Database(_) => Self::unavailable(error.for_people()),
            other => {
                let status = StatusCode::from_u16(other.status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                Self::new(status, other.code(), other.for_people())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::ApiError;
    use crate::accounts::AccountError;

    #[test]
    fn account_errors_answer_the_status_they_name() {
        let answered = |e: AccountError| {
            let e = ApiError::from(e);
            (e.status, e.code, e.retry_after)
        };
        assert_eq!(
            answered(AccountError::Invalid("name is empty".into())),
            (StatusCode::BAD_REQUEST, "bad_request", None)
        );
        assert_eq!(
            answered(AccountError::NoSuchAccount("ana".into())),
            (StatusCode::NOT_FOUND, "not_found", None)
        );
        assert_eq!(
            answered(AccountError::TooManyTokens(20)),
            (StatusCode::CONFLICT, "too_many_tokens", None)
        );
        assert_eq!(
            answered(AccountError::Database(sqlx::Error::PoolTimedOut)),
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable", Some(5))
        );
    }

    #[test]
    fn a_database_failure_is_told_without_its_details() {
        let e = ApiError::from(AccountError::Database(sqlx::Error::Protocol(
            "secret detail".into(),
        )));
        assert!(!e.message.contains("secret detail"), "{}", e.message);
    }
}
