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
    #[error("that would leave no enabled admin account")]
    LastAdmin,
    #[error("an account holds at most {0} live tokens")]
    TooManyTokens(usize),
    #[error("hashing a password failed: {0}")]
    Hashing(String),
    #[error("accounts database: {0}")]
    Database(#[from] sqlx::Error),
}

impl AccountError {
    /// The HTTP status a request that failed this way is answered with.
    pub fn status(&self) -> u16 {
        match self {
            AccountError::Invalid(_) => 400,
            AccountError::NoSuchAccount(_) => 404,
            AccountError::NameTaken(_)
            | AccountError::ListenerTaken(_)
            | AccountError::LastAdmin
            | AccountError::TooManyTokens(_) => 409,
            AccountError::Hashing(_) => 500,
            AccountError::Database(_) => 503,
        }
    }

    /// The API's stable code for this failure (see `ApiError`).
    pub fn code(&self) -> &'static str {
        match self {
            AccountError::Invalid(_) => "bad_request",
            AccountError::NoSuchAccount(_) => "not_found",
            AccountError::NameTaken(_) | AccountError::ListenerTaken(_) => "conflict",
            AccountError::LastAdmin => "last_admin",
            AccountError::TooManyTokens(_) => "too_many_tokens",
            AccountError::Hashing(_) => "internal",
            AccountError::Database(_) => "unavailable",
        }
    }

    /// The refusal the admin page's server functions answer with.
    pub fn refusal(self) -> app::accounts::Refusal {
        app::accounts::Refusal {
            status: self.status(),
            message: self.for_people(),
        }
    }

    /// What to tell the person who asked: the error itself, except a database failure, which
    /// goes to the log and is told as the database not answering.
    pub fn for_people(self) -> String {
        match self {
            AccountError::Database(e) => {
                tracing::error!("accounts: {e}");
                "the accounts database did not answer; try again shortly".into()
            }
            other => other.to_string(),
        }
    }
}
