//! Browser sessions: a random secret in an HttpOnly cookie, its SHA-256 in the database. A
//! session ends at logout, after [`IDLE_LIMIT_SECS`] without a request, or
//! [`LIFETIME_SECS`] after login.

use sqlx::PgPool;

use super::secret::{new_secret, stored_form};
use super::store::AccountRow;
use super::{Account, AccountError};

/// The session cookie's name.
pub const COOKIE: &str = "soundlake_session";
/// A session unused for this long ends.
pub const IDLE_LIMIT_SECS: i64 = 8 * 60 * 60;
/// No session lasts longer than this.
pub const LIFETIME_SECS: i64 = 30 * 24 * 60 * 60;
/// `last_seen_at` is written at most this often per session.
const TOUCH_EVERY_SECS: i64 = 60;

/// Starts a session for `account`; returns the secret for the cookie.
pub async fn start(pool: &PgPool, account: &Account) -> Result<String, AccountError> {
    let secret = new_secret("");
    sqlx::query!(
        "INSERT INTO sessions (secret_hash, account_id) VALUES ($1, $2)",
        stored_form(&secret),
        account.account_id,
    )
    .execute(pool)
    .await?;
    Ok(secret)
}

/// The account of a live session, or `None` (unknown, ended, expired or disabled). Marks the
/// session as seen, at most once a [`TOUCH_EVERY_SECS`].
pub async fn resolve(pool: &PgPool, secret: &str) -> Result<Option<Account>, AccountError> {
    let row = sqlx::query_as!(
        AccountRow,
        r#"WITH live AS (
             SELECT a.account_id, a.name, a.role, a.listener_id, a.disabled, s.last_seen_at
             FROM sessions AS s JOIN accounts AS a USING (account_id)
             WHERE s.secret_hash = $1
               AND NOT a.disabled
               AND s.last_seen_at > now() - make_interval(secs => $3)
               AND s.created_at > now() - make_interval(secs => $4)
         ),
         touched AS (
             UPDATE sessions SET last_seen_at = now()
             WHERE secret_hash = $1
               AND EXISTS (
                   SELECT 1 FROM live WHERE last_seen_at < now() - make_interval(secs => $2)
               )
         )
         SELECT account_id AS "account_id!", name AS "name!", role AS "role!",
                listener_id AS "listener_id?", disabled AS "disabled!"
         FROM live"#,
        stored_form(secret),
        TOUCH_EVERY_SECS as f64,
        IDLE_LIMIT_SECS as f64,
        LIFETIME_SECS as f64,
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(Account::from))
}

/// Ends the session whose cookie holds `secret` (nothing when there is none).
pub async fn end(pool: &PgPool, secret: &str) -> Result<(), AccountError> {
    sqlx::query!(
        "DELETE FROM sessions WHERE secret_hash = $1",
        stored_form(secret),
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Deletes sessions that can no longer be used.
pub async fn sweep(pool: &PgPool) -> Result<u64, AccountError> {
    let done = sqlx::query!(
        "DELETE FROM sessions
         WHERE last_seen_at < now() - make_interval(secs => $1)
            OR created_at < now() - make_interval(secs => $2)",
        IDLE_LIMIT_SECS as f64,
        LIFETIME_SECS as f64,
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
