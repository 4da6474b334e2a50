//! API tokens for scripts and players: `Authorization: Bearer <token>`. A token is shown once
//! when created; the database keeps its SHA-256.

use sqlx::PgPool;

use super::secret::{new_secret, stored_form};
use super::store::AccountRow;
use super::{Account, AccountError};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything its account may do.
    Account,
    /// Only post listens, for any listener (players and the simulator's stream).
    Ingest,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Account => "account",
            Scope::Ingest => "ingest",
        }
    }

    pub fn parse(name: &str) -> Option<Scope> {
        [Scope::Account, Scope::Ingest]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// The most live tokens an account may hold.
pub const MAX_PER_ACCOUNT: usize = 50;

/// Every token starts with this, so that a leaked one is easy to recognise.
pub const PREFIX: &str = "sl_";

/// A token as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub token_id: i64,
    pub name: String,
    pub scope: Scope,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked: bool,
}

/// Creates a token for `account`; returns it as listed and its secret, which is not stored and
/// cannot be shown again. An `ingest` token needs an admin account; an account holds at most
/// [`MAX_PER_ACCOUNT`] live tokens.
pub async fn create(
    pool: &PgPool,
    account: &Account,
    name: &str,
    scope: Scope,
) -> Result<(TokenInfo, String), AccountError> {
    if !(1..=64).contains(&name.chars().count()) || name.chars().any(char::is_control) {
        return Err(AccountError::Invalid(
            "a token's name has 1 to 64 characters and no control character".into(),
        ));
    }
    if scope == Scope::Ingest && account.role != super::Role::Admin {
        return Err(AccountError::Invalid(
            "only an admin account can create an ingest token".into(),
        ));
    }
    let secret = new_secret(PREFIX);
    let inserted = sqlx::query!(
        "INSERT INTO api_tokens (account_id, name, scope, secret_hash)
         SELECT $1::bigint, $2::text, $3::text, $4::bytea
         WHERE (SELECT count(*) FROM api_tokens
                WHERE account_id = $1 AND revoked_at IS NULL) < $5::bigint
         RETURNING token_id, created_at",
        account.account_id,
        name,
        scope.as_str(),
        stored_form(&secret),
        MAX_PER_ACCOUNT as i64,
    )
    .fetch_optional(pool)
    .await?;
    let Some(inserted) = inserted else {
        return Err(AccountError::TooManyTokens(MAX_PER_ACCOUNT));
    };
    let info = TokenInfo {
        token_id: inserted.token_id,
        name: name.to_owned(),
        scope,
        created_at: inserted.created_at,
        last_used_at: None,
        revoked: false,
    };
    Ok((info, secret))
}

/// The account and scope of a live token (not revoked, account not disabled), or `None`.
pub async fn resolve(
    pool: &PgPool,
    secret: &str,
) -> Result<Option<(Account, Scope)>, AccountError> {
    if !secret.starts_with(PREFIX) || secret.len() > 128 {
        return Ok(None);
    }
    let row = sqlx::query!(
        r#"WITH found AS (
             SELECT a.account_id, a.name, a.role, a.listener_id, a.disabled,
                    t.token_id, t.scope, t.last_used_at
             FROM api_tokens AS t JOIN accounts AS a USING (account_id)
             WHERE t.secret_hash = $1 AND t.revoked_at IS NULL AND NOT a.disabled
         ),
         touched AS (
             UPDATE api_tokens SET last_used_at = now()
             WHERE token_id IN (
                 SELECT token_id FROM found
                 WHERE last_used_at IS NULL OR last_used_at < now() - interval '1 minute'
             )
         )
         SELECT account_id AS "account_id!", name AS "name!", role AS "role!",
                listener_id AS "listener_id?", disabled AS "disabled!", scope AS "scope!"
         FROM found"#,
        stored_form(secret),
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| {
        let account = AccountRow {
            account_id: row.account_id,
            name: row.name,
            role: row.role,
            listener_id: row.listener_id,
            disabled: row.disabled,
        };
        (
            account.into(),
            Scope::parse(&row.scope).unwrap_or(Scope::Account),
        )
    }))
}

/// An account's tokens, newest first.
pub async fn list(pool: &PgPool, account: &Account) -> Result<Vec<TokenInfo>, AccountError> {
    let rows = sqlx::query!(
        r#"SELECT token_id, name, scope, created_at, last_used_at,
                  revoked_at IS NOT NULL AS "revoked!"
           FROM api_tokens WHERE account_id = $1 ORDER BY created_at DESC, token_id DESC"#,
        account.account_id,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| TokenInfo {
            token_id: row.token_id,
            name: row.name,
            scope: Scope::parse(&row.scope).unwrap_or(Scope::Account),
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            revoked: row.revoked,
        })
        .collect())
}

/// Revokes one of `account`'s tokens; `false` when it has no such live token.
pub async fn revoke(pool: &PgPool, account: &Account, token_id: i64) -> Result<bool, AccountError> {
    let done = sqlx::query!(
        "UPDATE api_tokens SET revoked_at = now()
         WHERE token_id = $1 AND account_id = $2 AND revoked_at IS NULL",
        token_id,
        account.account_id,
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}
