//! API tokens seen valid lately, for when the accounts database does not answer: players, the
//! simulator and scripts keep posting listens through a database outage (listens go to the
//! lake, which does not need the database). The memory is read only when the database fails,
//! so a revoked token stops working at once while the database answers; a token revoked just
//! before an outage works through it, for at most the hour it is trusted.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::accounts::tokens::Scope;
use crate::accounts::{Account, Role};

/// How long a token seen valid is trusted through an outage.
const TRUSTED_FOR: Duration = Duration::from_secs(3_600);

/// Tokens seen valid, by their SHA-256 (the secrets themselves are not kept).
#[derive(Clone)]
pub struct TokenMemory {
    seen: moka::sync::Cache<String, (Account, Scope)>,
}

impl Default for TokenMemory {
    fn default() -> Self {
        Self {
            seen: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(TRUSTED_FOR)
                .build(),
        }
    }
}

fn key(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

impl TokenMemory {
    /// Records what the database answered for `secret`: valid (kept) or not (forgotten).
    /// Only a listener's tokens and ingest tokens are kept: they post listens and reach one
    /// listener's data at most, while an admin's or a business user's must be checked.
    pub fn remember(&self, secret: &str, found: Option<&(Account, Scope)>) {
        match found {
            Some(found) if found.1 == Scope::Ingest || found.0.role == Role::Listener => {
                self.seen.insert(key(secret), found.clone())
            }
            _ => self.seen.invalidate(&key(secret)),
        }
    }

    /// What the database last answered for `secret`, if it was valid within the hour.
    pub fn recall(&self, secret: &str) -> Option<(Account, Scope)> {
        self.seen.get(&key(secret))
    }
}
