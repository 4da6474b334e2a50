//! The accounts as the admin page's server functions reach them
//! ([`app::accounts::AccountKeeper`]).

use app::accounts::{AccountKeeper, AccountRow, Answer};
use app::types::Role;
use sqlx::PgPool;

use super::store::{self, NewAccount};
use super::{AccountError, secret};

/// Accounts kept in the database.
pub struct DatabaseAccounts {
    pub pool: PgPool,
}

impl AccountKeeper for DatabaseAccounts {
    fn list(&self) -> Answer<Vec<AccountRow>> {
        let pool = self.pool.clone();
        Box::pin(async move {
            Ok(store::list(&pool)
                .await
                .map_err(AccountError::refusal)?
                .into_iter()
                .map(|a| AccountRow {
                    name: a.name,
                    role: a.role,
                    listener_id: a.listener_id,
                    disabled: a.disabled,
                })
                .collect())
        })
    }

    fn add(&self, name: String, role: Role, listener_id: Option<String>) -> Answer<String> {
        let pool = self.pool.clone();
        Box::pin(async move {
            let password = secret::new_password();
            store::create(
                &pool,
                &NewAccount {
                    name: &name,
                    role,
                    listener_id: listener_id.as_deref(),
                    password: &password,
                },
            )
            .await
            .map_err(AccountError::refusal)?;
            Ok(password)
        })
    }

    fn set_role(&self, name: String, role: Role, listener_id: Option<String>) -> Answer<()> {
        let pool = self.pool.clone();
        Box::pin(async move {
            store::set_role(&pool, &name, role, listener_id.as_deref())
                .await
                .map(|_| ())
                .map_err(AccountError::refusal)
        })
    }

    fn set_disabled(&self, name: String, disabled: bool) -> Answer<()> {
        let pool = self.pool.clone();
        Box::pin(async move {
            store::set_disabled(&pool, &name, disabled)
                .await
                .map_err(AccountError::refusal)
        })
    }
}
