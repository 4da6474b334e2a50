//! Accounts (one role each), their browser sessions and their API tokens, in the gold
//! database. Passwords are kept as argon2 hashes; session and token secrets as SHA-256.

pub mod account_keeper;
pub mod demo;
mod error;
pub mod name;
pub mod password;
pub mod secret;
pub mod sessions;
pub mod store;
pub mod token_keeper;
pub mod tokens;

pub use app::types::Role;
pub use error::AccountError;
pub use name::AccountName;
pub use store::Account;
