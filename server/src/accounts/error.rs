//! What can go wrong with accounts.

/// An account operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Invalid(String),
    #[error("no account called {0:?}")]
    NoSuchAccount(String),
    #[error("an account called {0:?} exists already")]
    NameTaken(String),
    #[error("listener {0:?} is linked to another account already")]
    ListenerTaken(String),
    #[error("hashing a password failed: {0}")]
    Hashing(String),
    #[error("accounts database: {0}")]
    Database(#[from] sqlx::Error),
}
