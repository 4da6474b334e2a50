//! The middleware that identifies every request before its handler runs, and refuses
//! state-changing requests that another site makes with a visitor's session.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;

use super::caller::{Caller, Credential};
use super::throttle::AddressThrottle;
use super::token_memory::TokenMemory;
use crate::accounts::sessions::{self, COOKIE};
use crate::accounts::tokens::{self, Scope};
use crate::accounts::{Account, AccountError};
use crate::error::ApiError;

/// What identifying a request needs.
#[derive(Clone)]
pub struct AuthState {
    pub pool: PgPool,
    /// The configured admin token, an admin credential for scripts.
    pub admin_token: Arc<str>,
    /// Failed logins per address.
    pub throttle: AddressThrottle,
    /// Tokens seen valid lately, trusted while the database does not answer.
    pub recent_tokens: TokenMemory,
}

impl AuthState {
    /// The account and scope of an API token: as the database says, or, when it does not
    /// answer, as it said within the last hour.
    pub async fn resolve_token(
        &self,
        secret: &str,
    ) -> Result<Option<(Account, Scope)>, AccountError> {
        match tokens::resolve(&self.pool, secret).await {
            Ok(found) => {
                self.recent_tokens.remember(secret, found.as_ref());
                Ok(found)
            }
            Err(error) => match self.recent_tokens.recall(secret) {
                Some(found) => {
                    tracing::warn!(
                        "accounts database unavailable ({error}); trusting a token seen valid lately"
                    );
                    Ok(Some(found))
                }
                None => Err(error),
            },
        }
    }
}

/// A credential as sent.
enum Sent<'a> {
    None,
    /// `Authorization: Bearer <secret>` (or ListenBrainz's `Token <secret>`).
    Token(&'a str),
    /// A session cookie.
    Session(&'a str),
    /// An `Authorization` header of another scheme.
    Unreadable,
}

fn sent_credential(headers: &HeaderMap) -> Sent<'_> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let Ok(value) = value.to_str() else {
            return Sent::Unreadable;
        };
        return match value.split_once(' ') {
            Some((scheme, secret))
                if scheme.eq_ignore_ascii_case("bearer")
                    || scheme.eq_ignore_ascii_case("token") =>
            {
                Sent::Token(secret.trim())
            }
            _ => Sent::Unreadable,
        };
    }
    match session_cookie(headers) {
        Some(secret) => Sent::Session(secret),
        None => Sent::None,
    }
}

/// The session secret among the request's cookies.
pub(super) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty() && value.len() <= 128)
}

/// Compares without stopping at the first difference, so timing does not reveal the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Finds the caller of `request` and hands it to the handler as a request extension.
pub async fn identify(State(auth): State<AuthState>, mut request: Request, next: Next) -> Response {
    // The site's own files (wasm, js, css) answer everyone alike: no account to look up.
    if request.uri().path().starts_with("/pkg/") {
        return next.run(request).await;
    }
    let caller = match identify_caller(&auth, request.headers()).await {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    if !is_safe(request.method()) && !comes_from_this_site(request.headers(), &caller) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_site_request",
            "a state-changing request with a session must come from soundlake's own pages",
        )
        .into_response();
    }
    if let Some(account) = caller.account() {
        // What the pages and their server functions (the `app` crate) know of the caller.
        request.extensions_mut().insert(app::types::SignedIn {
            name: account.name.clone(),
            role: account.role,
            listener_id: account.listener_id.clone(),
            by_session: caller.by_session(),
        });
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

pub(crate) async fn identify_caller(
    auth: &AuthState,
    headers: &HeaderMap,
) -> Result<Caller, ApiError> {
    let unavailable = |e: crate::accounts::AccountError| {
        tracing::warn!("identifying a request: {e}");
        ApiError::unavailable("accounts cannot be checked right now; try again shortly")
    };
    match sent_credential(headers) {
        Sent::None => Ok(Caller::Anonymous),
        Sent::Unreadable => Err(invalid_token()),
        Sent::Token(secret) => {
            if !auth.admin_token.is_empty()
                && constant_time_eq(secret.as_bytes(), auth.admin_token.as_bytes())
            {
                return Ok(Caller::admin_token());
            }
            match auth.resolve_token(secret).await.map_err(unavailable)? {
                Some((account, Scope::Account)) => Ok(Caller::Account {
                    account,
                    credential: Credential::Token,
                }),
                Some((account, Scope::Ingest)) => Ok(Caller::Ingest { account }),
                None => Err(invalid_token()),
            }
        }
        Sent::Session(secret) => Ok(
            match sessions::resolve(&auth.pool, secret)
                .await
                .map_err(unavailable)?
            {
                Some(account) => Caller::Account {
                    account,
                    credential: Credential::Session,
                },
                // An ended or expired session: the visitor is anonymous again.
                None => Caller::Anonymous,
            },
        ),
    }
}

fn invalid_token() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "the token is unknown, revoked, or not of the form Authorization: Bearer <token>",
    )
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether a state-changing request comes from this site's own pages: its `Origin` (else its
/// `Referer`) names the host it was sent to. A request without either is a script's, not a
/// browser's, and passes unless it carries a session cookie.
fn comes_from_this_site(headers: &HeaderMap, caller: &Caller) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return !caller.by_session();
    };
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    match source {
        Some(source) => source
            .split_once("://")
            .map(|(_, rest)| rest.split('/').next().unwrap_or(""))
            .is_some_and(|source_host| source_host.eq_ignore_ascii_case(host)),
        None => !caller.by_session() && headers.get(header::COOKIE).is_none(),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let h = headers(&[(header::COOKIE, "a=1; soundlake_session=abc; b=2")]);
        assert_eq!(session_cookie(&h), Some("abc"));
        assert_eq!(session_cookie(&headers(&[(header::COOKIE, "a=1")])), None);
    }

    #[test]
    fn only_this_sites_pages_may_change_state_with_a_cookie() {
        let anonymous = Caller::Anonymous;
        let host = (header::HOST, "127.0.0.1:3000");
        let same = (header::ORIGIN, "http://127.0.0.1:3000");
        let other = (header::ORIGIN, "https://evil.example");
        let cookie = (header::COOKIE, "soundlake_session=x");
        assert!(comes_from_this_site(
            &headers(&[host.clone(), same.clone()]),
            &anonymous
        ));
        assert!(!comes_from_this_site(
            &headers(&[host.clone(), other.clone()]),
            &anonymous
        ));
        assert!(comes_from_this_site(
            &headers(std::slice::from_ref(&host)),
            &anonymous
        ));
        assert!(!comes_from_this_site(
            &headers(&[host.clone(), cookie]),
            &anonymous
        ));
        let referer = (header::REFERER, "http://127.0.0.1:3000/for-you?x=1");
        assert!(comes_from_this_site(&headers(&[host, referer]), &anonymous));
    }
}
