//! `/tokens`: the caller's own API tokens, for their scripts and players (a ListenBrainz
//! scrobbler takes one): list them, create one (its secret is shown in this answer only),
//! revoke one. Who: any account; listing also by one of its account tokens, making and
//! revoking only signed in. Not the configured admin token nor an ingest token.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::accounts::Account;
use crate::accounts::tokens::{self, Scope, TokenInfo};
use crate::auth::{Caller, Credential};
use crate::error::ApiError;
use crate::extract::{Json, Path};

/// A token as listed: never its secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenView {
    pub token_id: i64,
    pub name: String,
    pub scope: &'static str,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked: bool,
}

impl From<TokenInfo> for TokenView {
    fn from(t: TokenInfo) -> Self {
        Self {
            token_id: t.token_id,
            name: t.name,
            scope: t.scope.as_str(),
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            revoked: t.revoked,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What the token is for, e.g. "Navidrome" (1 to 64 characters).
    name: String,
    /// `account` (the default) or `ingest` (admins only).
    scope: Option<String>,
}

/// A new token and its secret, shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: TokenView,
    pub secret: String,
}

/// The caller's account, signed in: a token may not make or revoke tokens, so a leaked one
/// cannot outlive its revocation through a token it made.
fn signed_in_account(caller: &Caller) -> Result<&Account, ApiError> {
    match caller {
        Caller::Account {
            account,
            credential: Credential::Session,
        } => Ok(account),
        Caller::Anonymous => Err(crate::auth::unauthenticated()),
        _ => Err(crate::auth::forbidden(
            "tokens are made and revoked by a signed-in account, not by a token",
        )),
    }
}

fn own_account(caller: &Caller) -> Result<&Account, ApiError> {
    match caller {
        Caller::Account {
            account,
            credential: Credential::Session | Credential::Token,
        } => Ok(account),
        Caller::Anonymous => Err(crate::auth::unauthenticated()),
        _ => Err(crate::auth::forbidden(
            "only an account (signed in, or by one of its tokens) has tokens of its own",
        )),
    }
}

/// `GET /tokens`: the caller's tokens, newest first.
#[utoipa::path(
    get,
    path = "/tokens",
    tag = "accounts",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "The caller's tokens.", body = Vec<TokenView>)),
)]
pub async fn list(
    caller: Caller,
    State(pool): State<PgPool>,
) -> Result<axum::Json<Vec<TokenView>>, ApiError> {
    let account = own_account(&caller)?;
    let listed = tokens::list(&pool, account).await?;
    Ok(axum::Json(
        listed.into_iter().map(TokenView::from).collect(),
    ))
}

/// `POST /tokens` `{"name": "...", "scope": "account"}`: a new token (201).
#[utoipa::path(
    post,
    path = "/tokens",
    tag = "accounts",
    security(("session" = [])),
    request_body = NewToken,
    responses(
        (status = 201, description = "The new token, with its secret shown this once.", body = CreatedToken),
        (status = 409, description = "The account holds as many live tokens as it may.", body = crate::error::ErrorBody),
    ),
)]
pub async fn create(
    caller: Caller,
    State(pool): State<PgPool>,
    Json(new): Json<NewToken>,
) -> Result<(StatusCode, axum::Json<CreatedToken>), ApiError> {
    let account = signed_in_account(&caller)?;
    let scope = match new.scope.as_deref() {
        None => Scope::Account,
        Some(name) => {
            Scope::parse(name).ok_or_else(|| ApiError::bad_request("scope is account or ingest"))?
        }
    };
    let (created, secret) = tokens::create(&pool, account, &new.name, scope).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedToken {
            token: created.into(),
            secret,
        }),
    ))
}

/// `DELETE /tokens/{token_id}`: revokes one of the caller's tokens (204; 404 when they have
/// no such live token).
#[utoipa::path(
    delete,
    path = "/tokens/{token_id}",
    tag = "accounts",
    security(("session" = [])),
    params(("token_id" = i64, Path, description = "The token, as listed.")),
    responses((status = 204, description = "Revoked.")),
)]
pub async fn revoke(
    caller: Caller,
    State(pool): State<PgPool>,
    Path(token_id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let account = signed_in_account(&caller)?;
    if tokens::revoke(&pool, account, token_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "you have no live token {token_id}"
        )))
    }
}
