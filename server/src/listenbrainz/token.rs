//! The caller of a ListenBrainz route: the listener whose soundlake API token it sends as
//! `Authorization: Token <token>`.

use super::error::LbError;
use crate::accounts::Account;
use crate::auth::AuthState;
use axum::http::{HeaderMap, header};

/// A listener account, and the user id of its listens.
#[derive(Debug, Clone)]
pub struct Listener {
    pub account: Account,
    pub user_id: String,
}

/// What a request's `Authorization` header holds.
pub enum Presented<'a> {
    Missing,
    Unreadable,
    Token(&'a str),
}

/// The token of `headers`, read as ListenBrainz reads it (the word after the first space).
pub fn presented(headers: &HeaderMap) -> Presented<'_> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Presented::Missing;
    };
    match value.to_str().ok().and_then(|v| v.split_once(' ')) {
        Some((_, token)) if !token.trim().is_empty() => Presented::Token(token.trim()),
        _ => Presented::Unreadable,
    }
}

/// The listener owning `token`; `None` when the token is unknown, revoked, or belongs to an
/// account without listens (a business or admin account).
pub async fn listener_of(auth: &AuthState, token: &str) -> Result<Option<Listener>, LbError> {
    let found = auth.resolve_token(token).await.map_err(|e| {
        tracing::warn!("checking a ListenBrainz token: {e}");
        LbError::unavailable("Tokens cannot be checked right now; try again shortly.")
    })?;
    Ok(found.and_then(|(account, _)| {
        let user_id = account.listener_id.clone()?;
        Some(Listener { account, user_id })
    }))
}

/// The listener a request comes from, or ListenBrainz's 401.
pub async fn require_listener(auth: &AuthState, headers: &HeaderMap) -> Result<Listener, LbError> {
    match presented(headers) {
        Presented::Missing => Err(LbError::unauthorized(
            "You need to provide an Authorization header.",
        )),
        Presented::Unreadable => Err(LbError::unauthorized(
            "Provided Authorization header is invalid.",
        )),
        Presented::Token(token) => listener_of(auth, token)
            .await?
            .ok_or_else(|| LbError::unauthorized("Invalid authorization token.")),
    }
}
