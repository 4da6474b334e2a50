//! The admin credential: `Authorization: Bearer <token>` on the endpoints that change the
//! lake or start work. (The web login for admins comes later; this token is its stand-in.)

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;

use super::ApiError;

/// The configured admin token.
#[derive(Clone, Debug)]
pub struct AdminToken(pub Arc<str>);

/// Proof that a request carries the admin token; extracting it refuses other requests with
/// 401 (no credential) or 403 (a wrong one).
#[derive(Debug)]
pub struct Admin;

impl<S> FromRequestParts<S> for Admin
where
    S: Send + Sync,
    AdminToken: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let expected = AdminToken::from_ref(state);
        let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this endpoint needs the admin token: send Authorization: Bearer <token>",
            ));
        };
        let given = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .unwrap_or_default()
            .trim();
        if constant_time_eq(given.as_bytes(), expected.0.as_bytes()) {
            Ok(Admin)
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "the admin token is not valid",
            ))
        }
    }
}

/// Compares without stopping at the first difference, so timing does not reveal the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn tokens_match_only_when_equal() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
