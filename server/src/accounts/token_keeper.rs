//! The accounts' tokens as the pages' server functions reach them ([`app::tokens::TokenKeeper`]).

use app::tokens::{TokenKeeper, TokenRow};
use app::types::ServerAnswer as Answer;
use sqlx::PgPool;

use super::tokens::{self, Scope};
use super::{AccountError, store};

/// Tokens kept in the accounts database.
pub struct DatabaseTokens {
    pub pool: PgPool,
}

impl TokenKeeper for DatabaseTokens {
    fn list(&self, account: String) -> Answer<Vec<TokenRow>> {
        let pool = self.pool.clone();
        Box::pin(async move {
            let account = store::find(&pool, &account)
                .await
                .map_err(AccountError::for_people)?;
            let listed = tokens::list(&pool, &account)
                .await
                .map_err(AccountError::for_people)?;
            Ok(listed
                .into_iter()
                .map(|t| TokenRow {
                    token_id: t.token_id,
                    name: t.name,
                    scope: t.scope.as_str().into(),
                    created_at: t.created_at.to_rfc3339(),
                    last_used_at: t.last_used_at.map(|at| at.to_rfc3339()),
                    revoked: t.revoked,
                })
                .collect())
        })
    }

    fn create(&self, account: String, name: String) -> Answer<String> {
        let pool = self.pool.clone();
        Box::pin(async move {
            let account = store::find(&pool, &account)
                .await
                .map_err(AccountError::for_people)?;
            tokens::create(&pool, &account, &name, Scope::Account)
                .await
                .map(|(_, secret)| secret)
                .map_err(AccountError::for_people)
        })
    }

    fn revoke(&self, account: String, token_id: i64) -> Answer<bool> {
        let pool = self.pool.clone();
        Box::pin(async move {
            let account = store::find(&pool, &account)
                .await
                .map_err(AccountError::for_people)?;
            tokens::revoke(&pool, &account, token_id)
                .await
                .map_err(AccountError::for_people)
        })
    }
}
