//! Accounts as the admin page manages them: list, add (the password shown once), change
//! role, disable and enable.
//!
//! Accounts belong to the server; it provides them to these functions as an
//! [`AccountKeeper`] in the request's context.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use crate::hydrated::hydrated_mark;
use crate::types::Role;

/// An account as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRow {
    pub name: String,
    pub role: Role,
    /// The user id of the listens, for a listener.
    pub listener_id: Option<String>,
    pub disabled: bool,
}

/// Why the server refused an account operation: the HTTP status its server function answers
/// with (400 invalid input, 404 no such account, 409 a conflict such as a name taken or the
/// last enabled admin, 500 a password that could not be hashed, 503 the database not
/// answering) and what to tell the admin.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub message: String,
}

/// What an [`AccountKeeper`] answers with: a result later, or a refusal.
#[cfg(feature = "ssr")]
pub type Answer<T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, Refusal>> + Send>>;

/// The server's accounts, as far as the admin page goes.
#[cfg(feature = "ssr")]
pub trait AccountKeeper: Send + Sync {
    fn list(&self) -> Answer<Vec<AccountRow>>;
    /// Creates an account with a generated password, which it answers with.
    fn add(&self, name: String, role: Role, listener_id: Option<String>) -> Answer<String>;
    /// A listener names the user id of their listens; other roles drop theirs.
    fn set_role(&self, name: String, role: Role, listener_id: Option<String>) -> Answer<()>;
    fn set_disabled(&self, name: String, disabled: bool) -> Answer<()>;
}

/// What the server provides in the context of every request.
#[cfg(feature = "ssr")]
pub type Accounts = std::sync::Arc<dyn AccountKeeper>;

#[cfg(feature = "ssr")]
fn keeper() -> Result<Accounts, ServerFnError> {
    crate::server_fns::require(&[Role::Admin])?;
    Ok(expect_context::<Accounts>())
}

/// A refusal as the server function's answer: its status and message.
#[cfg(feature = "ssr")]
fn refused<T>(refusal: Refusal) -> Result<T, ServerFnError> {
    let status = http::StatusCode::from_u16(refusal.status)
        .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    crate::server_fns::refuse(status, &refusal.message)
}

/// A role named by the form, else 400.
#[cfg(feature = "ssr")]
fn role_named(name: &str) -> Result<Role, ServerFnError> {
    match Role::parse(name) {
        Some(role) => Ok(role),
        None => crate::server_fns::refuse(http::StatusCode::BAD_REQUEST, "no such role"),
    }
}

/// Every account, by name. Admins only.
#[server(input = GetUrl, endpoint = "accounts")]
pub async fn list_accounts() -> Result<Vec<AccountRow>, ServerFnError> {
    keeper()?.list().await.or_else(refused)
}

/// A new account (`role` is `listener`, `business` or `admin`; a listener names the user id
/// of their listens): its generated password, shown this once. Admins only.
#[server(endpoint = "add_account")]
pub async fn add_account(
    name: String,
    role: String,
    listener_id: String,
) -> Result<String, ServerFnError> {
    let keeper = keeper()?;
    let role = role_named(&role)?;
    let listener_id = Some(listener_id.trim().to_owned()).filter(|l| !l.is_empty());
    keeper
        .add(name.trim().to_owned(), role, listener_id)
        .await
        .or_else(refused)
}

/// Changes an account's role (`listener` with the user id of its listens): its sessions end
/// and its account tokens are revoked; the last enabled admin keeps their role. Admins only.
#[server(endpoint = "set_account_role")]
pub async fn set_account_role(
    name: String,
    role: String,
    listener_id: String,
) -> Result<(), ServerFnError> {
    let keeper = keeper()?;
    let role = role_named(&role)?;
    let listener_id = Some(listener_id.trim().to_owned()).filter(|l| !l.is_empty());
    keeper
        .set_role(name.trim().to_owned(), role, listener_id)
        .await
        .or_else(refused)
}

/// Disables (`disabled` true: its sessions and tokens stop working) or enables an account.
/// Admins only.
#[server(endpoint = "set_account_disabled")]
pub async fn set_account_disabled(name: String, disabled: bool) -> Result<(), ServerFnError> {
    keeper()?
        .set_disabled(name, disabled)
        .await
        .or_else(refused)
}

/// The accounts section of `/admin`.
/// An island: `data-hydrated` is `true` once it is hydrated.
#[island]
pub fn AccountsAdmin() -> impl IntoView {
    let add = ServerAction::<AddAccount>::new();
    let toggle = ServerAction::<SetAccountDisabled>::new();
    let change = ServerAction::<SetAccountRole>::new();
    let listed = Resource::new(
        move || {
            (
                add.version().get(),
                toggle.version().get(),
                change.version().get(),
            )
        },
        |_| list_accounts(),
    );
    let added = move || {
        add.value().get().map(|answer| match answer {
            Ok(password) => view! {
                <p class="new-token" role="status">
                    "Created. Its password, shown this once: " <code id="new-password">{password}</code>
                </p>
            }
            .into_any(),
            Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
        })
    };
    let changed = move || {
        change.value().get().and_then(|answer| {
            answer
                .err()
                .map(|error| view! { <p class="error" role="alert">{error.to_string()}</p> })
        })
    };
    let rows = move || {
        listed.get().map(|answer| match answer {
            Ok(rows) => {
                let rows = rows
                    .into_iter()
                    .map(|a| {
                        let name_for_role = a.name.clone();
                        let listener_id = a.listener_id.clone().unwrap_or_default();
                        let role_label = format!("Role of {}", a.name);
                        let listener_label = format!("Listener id of {}", a.name);
                        let (label, next) = if a.disabled {
                            ("Enable", "false")
                        } else {
                            ("Disable", "true")
                        };
                        view! {
                            <tr class:disabled=a.disabled>
                                <td>{a.name.clone()}</td>
                                <td>
                                    <ActionForm action=change attr:class="role-change">
                                        <input type="hidden" name="name" value=name_for_role />
                                        <select name="role" aria-label=role_label>
                                            {role_options(a.role)}
                                        </select>
                                        <input
                                            type="text"
                                            name="listener_id"
                                            maxlength="128"
                                            value=listener_id
                                            placeholder="listener id"
                                            aria-label=listener_label
                                        />
                                        <button type="submit">"Change"</button>
                                    </ActionForm>
                                </td>
                                <td>{if a.disabled { "disabled" } else { "active" }}</td>
                                <td>
                                    <ActionForm action=toggle>
                                        <input type="hidden" name="name" value=a.name />
                                        <input type="hidden" name="disabled" value=next />
                                        <button type="submit">{label}</button>
                                    </ActionForm>
                                </td>
                            </tr>
                        }
                    })
                    .collect_view();
                view! {
                    <table class="accounts">
                        <thead>
                            <tr><th>"Name"</th><th>"Role and listener"</th><th>"State"</th><th></th></tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                }
                .into_any()
            }
            Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
        })
    };
    let roles = Role::ALL
        .into_iter()
        .map(|r| view! { <option value=r.as_str()>{r.as_str()}</option> })
        .collect_view();
    let hydrated = hydrated_mark();
    view! {
        <section id="accounts" class="admin-accounts" data-hydrated=hydrated>
            <h2>"Accounts"</h2>
            <ActionForm action=add attr:class="search">
                <input type="text" name="name" required maxlength="64" placeholder="name" aria-label="Account name" />
                <select name="role" aria-label="Role">{roles}</select>
                <input type="text" name="listener_id" maxlength="128" placeholder="listener id (listeners)" aria-label="Listener id" />
                <button type="submit">"Add account"</button>
            </ActionForm>
            {added}
            {changed}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>{rows}</Transition>
        </section>
    }
}

/// The role choices of an account's row, its own selected.
fn role_options(current: Role) -> impl IntoView {
    Role::ALL
        .into_iter()
        .map(|r| view! { <option value=r.as_str() selected=r == current>{r.as_str()}</option> })
        .collect_view()
}
