//! Accounts in the database: create, find, list, change. The queries are checked against the
//! schema when the crate is built (`sqlx::query!`, with the `.sqlx` data at the workspace's
//! root; `./dev.sh queries` writes it again after a query or the schema changed).

use sqlx::PgPool;

use super::{AccountError, AccountName, Role, password};

/// An account, without its password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub account_id: i64,
    pub name: String,
    pub role: Role,
    /// The user id of the listens, for a listener.
    pub listener_id: Option<String>,
    pub disabled: bool,
}

/// A new account's fields.
#[derive(Debug, Clone)]
pub struct NewAccount<'a> {
    pub name: &'a str,
    pub role: Role,
    pub listener_id: Option<&'a str>,
    pub password: &'a str,
}

/// An account's row as the queries read it.
pub(super) struct AccountRow {
    pub account_id: i64,
    pub name: String,
    pub role: String,
    pub listener_id: Option<String>,
    pub disabled: bool,
}

impl From<AccountRow> for Account {
    fn from(row: AccountRow) -> Self {
        Account {
            account_id: row.account_id,
            name: row.name,
            // The database allows only the three roles.
            role: Role::parse(&row.role).unwrap_or(Role::Listener),
            listener_id: row.listener_id,
            disabled: row.disabled,
        }
    }
}

/// Creates an account; a listener must name the user id of their listens, other roles none.
pub async fn create(pool: &PgPool, new: &NewAccount<'_>) -> Result<Account, AccountError> {
    let name = AccountName::parse(new.name)?;
    match (new.role, new.listener_id) {
        (Role::Listener, None) => {
            return Err(AccountError::Invalid(
                "a listener account needs the user id of its listens (--listener)".into(),
            ));
        }
        (Role::Listener, Some(id)) => {
            if id.is_empty() || lakehouse::text::id_fault(id).is_some() {
                return Err(AccountError::Invalid(format!("{id:?} is no user id")));
            }
        }
        (_, Some(_)) => {
            return Err(AccountError::Invalid(
                "only a listener account is linked to a user id".into(),
            ));
        }
        (_, None) => {}
    }
    password::check_new(new.password)?;
    let hash = password::hash(new.password).await?;
    let row = sqlx::query_as!(
        AccountRow,
        "INSERT INTO accounts AS a (name, role, listener_id, password_hash)
         VALUES ($1, $2, $3, $4)
         RETURNING a.account_id, a.name, a.role, a.listener_id, a.disabled",
        name.as_str(),
        new.role.as_str(),
        new.listener_id,
        hash,
    )
    .fetch_one(pool)
    .await;
    match row {
        Ok(row) => Ok(row.into()),
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("accounts_name_key") => {
            Err(AccountError::NameTaken(new.name.to_owned()))
        }
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("accounts_listener") => Err(
            AccountError::ListenerTaken(new.listener_id.unwrap_or_default().to_owned()),
        ),
        Err(e) => Err(e.into()),
    }
}

/// Every account, by name.
pub async fn list(pool: &PgPool) -> Result<Vec<Account>, AccountError> {
    let rows = sqlx::query_as!(
        AccountRow,
        "SELECT account_id, name, role, listener_id, disabled FROM accounts ORDER BY name",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Account::from).collect())
}

/// Whether any account exists.
pub async fn any(pool: &PgPool) -> Result<bool, AccountError> {
    Ok(
        sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM accounts) AS "any!""#)
            .fetch_one(pool)
            .await?,
    )
}

/// The account called `name`.
pub async fn find(pool: &PgPool, name: &str) -> Result<Account, AccountError> {
    let row = sqlx::query_as!(
        AccountRow,
        "SELECT account_id, name, role, listener_id, disabled FROM accounts WHERE name = $1",
        name,
    )
    .fetch_optional(pool)
    .await?;
    row.map(Account::from)
        .ok_or_else(|| AccountError::NoSuchAccount(name.to_owned()))
}

/// Sets an account's password; its sessions end.
pub async fn set_password(pool: &PgPool, name: &str, new: &str) -> Result<(), AccountError> {
    password::check_new(new)?;
    let hash = password::hash(new).await?;
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!(
        "UPDATE accounts SET password_hash = $2, failed_logins = 0 WHERE name = $1
         RETURNING account_id",
        name,
        hash,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let id = id.ok_or_else(|| AccountError::NoSuchAccount(name.to_owned()))?;
    end_sessions(&mut tx, id).await?;
    tx.commit().await?;
    Ok(())
}

/// Changes an account's role (a listener keeps or gets `listener_id`; other roles drop it).
/// Refused when it would leave no enabled admin account. A changed role ends the account's
/// sessions and revokes its account tokens, which acted with the old role's reach.
pub async fn set_role(
    pool: &PgPool,
    name: &str,
    role: Role,
    listener_id: Option<&str>,
) -> Result<Account, AccountError> {
    let listener_id = match (role, listener_id) {
        (Role::Listener, Some(id)) if !id.is_empty() && lakehouse::text::id_fault(id).is_none() => {
            Some(id)
        }
        (Role::Listener, _) => {
            return Err(AccountError::Invalid(
                "a listener account needs a valid user id".into(),
            ));
        }
        (_, _) => None,
    };
    let mut tx = pool.begin().await?;
    let admins = lock_admins(&mut tx).await?;
    let previous =
        sqlx::query_scalar!("SELECT role FROM accounts WHERE name = $1 FOR UPDATE", name)
            .fetch_optional(&mut *tx)
            .await?;
    let row = sqlx::query_as!(
        AccountRow,
        "UPDATE accounts AS a SET role = $2, listener_id = $3 WHERE a.name = $1
         RETURNING a.account_id, a.name, a.role, a.listener_id, a.disabled",
        name,
        role.as_str(),
        listener_id,
    )
    .fetch_optional(&mut *tx)
    .await;
    let account: Account = match row {
        Ok(Some(row)) => row.into(),
        Ok(None) => return Err(AccountError::NoSuchAccount(name.to_owned())),
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("accounts_listener") => {
            return Err(AccountError::ListenerTaken(
                listener_id.unwrap_or_default().to_owned(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    an_admin_remains(&mut tx, admins).await?;
    if previous.as_deref() != Some(role.as_str()) {
        end_sessions(&mut tx, account.account_id).await?;
        sqlx::query!(
            "UPDATE api_tokens SET revoked_at = now()
             WHERE account_id = $1 AND scope = 'account' AND revoked_at IS NULL",
            account.account_id,
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(account)
}

/// Disables or enables an account; a disabled account's sessions end and its tokens stop
/// working. Disabling is refused when it would leave no enabled admin account.
pub async fn set_disabled(pool: &PgPool, name: &str, disabled: bool) -> Result<(), AccountError> {
    let mut tx = pool.begin().await?;
    let admins = lock_admins(&mut tx).await?;
    let id = sqlx::query_scalar!(
        "UPDATE accounts SET disabled = $2 WHERE name = $1 RETURNING account_id",
        name,
        disabled,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let id = id.ok_or_else(|| AccountError::NoSuchAccount(name.to_owned()))?;
    if disabled {
        an_admin_remains(&mut tx, admins).await?;
        end_sessions(&mut tx, id).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Ends every session of an account.
async fn end_sessions(tx: &mut sqlx::PgConnection, account_id: i64) -> Result<(), AccountError> {
    sqlx::query!("DELETE FROM sessions WHERE account_id = $1", account_id)
        .execute(tx)
        .await?;
    Ok(())
}

/// Locks the admin accounts' rows until the transaction ends, so that two changes cannot each
/// take away one of the last two admins; answers how many of them are enabled.
async fn lock_admins(tx: &mut sqlx::PgConnection) -> Result<usize, AccountError> {
    let enabled = sqlx::query_scalar!(
        r#"SELECT NOT disabled AS "enabled!" FROM accounts WHERE role = 'admin'
           ORDER BY account_id FOR UPDATE"#
    )
    .fetch_all(tx)
    .await?;
    Ok(enabled.into_iter().filter(|e| *e).count())
}

/// Refuses a change that took away the last enabled admin account. (A deployment with no
/// admin account, run with the admin token, is left as it is.)
async fn an_admin_remains(tx: &mut sqlx::PgConnection, before: usize) -> Result<(), AccountError> {
    let after = sqlx::query_scalar!(
        r#"SELECT count(*) AS "enabled!" FROM accounts WHERE role = 'admin' AND NOT disabled"#
    )
    .fetch_one(tx)
    .await?;
    if before > 0 && after == 0 {
        return Err(AccountError::LastAdmin);
    }
    Ok(())
}

/// How a login attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    Accepted(Account),
    /// Wrong name or password, or a disabled account (the answer does not say which).
    Refused,
    /// Too many failed attempts: try again after this many seconds.
    Wait(u64),
}

/// Failed attempts allowed before each further attempt must wait.
const FREE_FAILURES: i32 = 5;
/// The longest wait between attempts, in seconds.
const MAX_WAIT_SECS: u64 = 15 * 60;

/// How long an account with `failures` failed logins must wait after its last failure.
fn wait_after(failures: i32) -> u64 {
    if failures < FREE_FAILURES {
        return 0;
    }
    let doublings = (failures - FREE_FAILURES).min(16) as u32;
    (1u64 << doublings).min(MAX_WAIT_SECS)
}

/// Checks a name and password. After [`FREE_FAILURES`] failures in a row, each further
/// attempt on that account must wait twice as long as the last (up to 15 minutes), even with
/// the right password.
pub async fn login(pool: &PgPool, name: &str, given: &str) -> Result<Login, AccountError> {
    let row = sqlx::query!(
        r#"SELECT account_id, password_hash, disabled, failed_logins,
                  extract(epoch FROM now() - last_failed_at)::float8 AS "since_failure?"
           FROM accounts WHERE name = $1"#,
        name,
    )
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        // Spend the time a hash takes, so that unknown names answer as slowly as known ones.
        let dummy = DUMMY_HASH
            .get_or_try_init(|| password::hash("nobody's password, checked for timing"))
            .await?;
        let _ = password::verify(given, dummy).await;
        return Ok(Login::Refused);
    };
    let wait = wait_after(row.failed_logins);
    let waited = row.since_failure.unwrap_or(f64::MAX);
    if wait > 0 && waited < wait as f64 {
        return Ok(Login::Wait((wait as f64 - waited).ceil() as u64));
    }
    if !row.disabled && password::verify(given, &row.password_hash).await {
        sqlx::query!(
            "UPDATE accounts SET failed_logins = 0, last_failed_at = NULL WHERE account_id = $1",
            row.account_id,
        )
        .execute(pool)
        .await?;
        return Ok(Login::Accepted(find(pool, name).await?));
    }
    sqlx::query!(
        "UPDATE accounts SET failed_logins = failed_logins + 1, last_failed_at = now()
         WHERE account_id = $1",
        row.account_id,
    )
    .execute(pool)
    .await?;
    Ok(Login::Refused)
}

/// The hash of a password nobody has, checked against when the name is unknown.
static DUMMY_HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

#[cfg(test)]
mod tests {
    use super::wait_after;

    #[test]
    fn waits_double_after_the_free_failures_up_to_a_limit() {
        assert_eq!(wait_after(0), 0);
        assert_eq!(wait_after(4), 0);
        assert_eq!(wait_after(5), 1);
        assert_eq!(wait_after(6), 2);
        assert_eq!(wait_after(10), 32);
        assert_eq!(wait_after(40), 900);
    }
}
