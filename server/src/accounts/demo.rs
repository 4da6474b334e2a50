//! The demo's accounts: one per role, created on a first start with the demo data, their
//! passwords written once to `<data_dir>/demo-accounts` (readable by its owner only).

use std::path::Path;

use anyhow::Result;
use sqlx::PgPool;

use super::store::{self, NewAccount};
use super::{Role, secret};

/// The demo accounts' names and roles; the listener is linked to a simulated listener.
pub const DEMO_ACCOUNTS: [(&str, Role); 3] = [
    ("listener", Role::Listener),
    ("business", Role::Business),
    ("admin", Role::Admin),
];

/// Creates the demo accounts when there is no account yet, the listener linked to
/// `listener_id`; returns the text written to `<data_dir>/demo-accounts`, or `None` when
/// accounts existed already.
pub async fn create_if_none(
    pool: &PgPool,
    data_dir: &Path,
    listener_id: &str,
) -> Result<Option<String>> {
    if store::any(pool).await? {
        return Ok(None);
    }
    let mut text =
        String::from("# soundlake's demo accounts (name, role, password). Log in at /login.\n");
    for (name, role) in DEMO_ACCOUNTS {
        let password = secret::new_password();
        store::create(
            pool,
            &NewAccount {
                name,
                role,
                listener_id: (role == Role::Listener).then_some(listener_id),
                password: &password,
            },
        )
        .await?;
        text.push_str(&format!("{name}\t{role}\t{password}\n"));
    }
    let path = data_dir.join("demo-accounts");
    let _ = std::fs::remove_file(&path);
    crate::infra::private_file::create(&path, &text)?;
    Ok(Some(text))
}
