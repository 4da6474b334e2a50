//! The admin check of the endpoints that change the lake or start work: a signed-in admin, an
//! admin's API token, or the configured admin token (`Authorization: Bearer <token>`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::accounts::Role;
use crate::auth::Caller;
use crate::error::ApiError;

/// Proof that the caller is an admin; extracting it refuses other requests with 401 (no
/// credential) or 403 (another role).
#[derive(Debug)]
pub struct Admin;

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Ok(caller) = Caller::from_request_parts(parts, state).await;
        caller.require(&[Role::Admin]).map(|_| Admin)
    }
}
