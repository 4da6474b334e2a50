//! A signed-in account's own API tokens, for its scripts and players: listed, created (the
//! secret shown once) and revoked from the listener's page.
//!
//! Tokens belong to the server's accounts; the server provides them to these functions as a
//! [`TokenKeeper`] in the request's context, so this crate keeps no account logic of its own.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use crate::hydrated::hydrated_mark;

/// A token as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRow {
    pub token_id: i64,
    pub name: String,
    pub scope: String,
    /// RFC 3339.
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

#[cfg(feature = "ssr")]
use crate::types::ServerAnswer as Answer;

/// The server's accounts, as far as an account's own tokens go.
#[cfg(feature = "ssr")]
pub trait TokenKeeper: Send + Sync {
    /// `account`'s tokens, newest first.
    fn list(&self, account: String) -> Answer<Vec<TokenRow>>;
    /// A new token of `account` (scope `account`) named `name`: its secret.
    fn create(&self, account: String, name: String) -> Answer<String>;
    /// Revokes one of `account`'s tokens; `false` when it has no such live token.
    fn revoke(&self, account: String, token_id: i64) -> Answer<bool>;
}

/// What the server provides in the context of every request.
#[cfg(feature = "ssr")]
pub type Tokens = std::sync::Arc<dyn TokenKeeper>;

/// The signed-in account's name, for any role.
#[cfg(feature = "ssr")]
fn own_account() -> Result<String, ServerFnError> {
    use crate::types::Role;
    crate::server_fns::require(&[Role::Listener, Role::Business, Role::Admin]).map(|a| a.name)
}

/// The account signed in with a session (not by a token), for making and revoking tokens;
/// else 403.
#[cfg(feature = "ssr")]
fn session_account() -> Result<String, ServerFnError> {
    use crate::types::Role;
    let account = crate::server_fns::require(&[Role::Listener, Role::Business, Role::Admin])?;
    if !account.by_session {
        return crate::server_fns::refuse(
            http::StatusCode::FORBIDDEN,
            "tokens are made and revoked by a signed-in account, not by a token",
        );
    }
    Ok(account.name)
}

/// The signed-in account's tokens, newest first.
#[server(input = GetUrl, endpoint = "my_tokens")]
pub async fn my_tokens() -> Result<Vec<TokenRow>, ServerFnError> {
    let account = own_account()?;
    expect_context::<Tokens>()
        .list(account)
        .await
        .map_err(ServerFnError::new)
}

/// A new token for the signed-in account, named `name` (1 to 64 characters): its secret,
/// shown this once.
#[server(endpoint = "create_my_token")]
pub async fn create_my_token(name: String) -> Result<String, ServerFnError> {
    let account = session_account()?;
    expect_context::<Tokens>()
        .create(account, name)
        .await
        .map_err(ServerFnError::new)
}

/// Revokes one of the signed-in account's tokens.
#[server(endpoint = "revoke_my_token")]
pub async fn revoke_my_token(token_id: i64) -> Result<bool, ServerFnError> {
    let account = session_account()?;
    expect_context::<Tokens>()
        .revoke(account, token_id)
        .await
        .map_err(ServerFnError::new)
}

/// "Connect a player": how to point a ListenBrainz-compatible player at soundlake, a form that
/// creates a token (shown once), and the account's tokens with a button to revoke each. An
/// island: `data-hydrated` is `true` once it is.
#[island]
pub fn PlayerTokens() -> impl IntoView {
    let create = ServerAction::<CreateMyToken>::new();
    let revoke = ServerAction::<RevokeMyToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| my_tokens(),
    );
    let created = move || {
        create.value().get().map(|answer| match answer {
            Ok(secret) => view! {
                <p class="new-token" role="status">
                    "Your new token, shown this once: "
                    <code id="new-token">{secret}</code>
                </p>
            }
            .into_any(),
            Err(error) => {
                view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any()
            }
        })
    };
    let rows = move || {
        tokens.get().map(|answer| match answer {
            Ok(rows) if rows.is_empty() => {
                view! { <p class="muted">"No tokens yet."</p> }.into_any()
            }
            Ok(rows) => {
                let rows = rows
                    .into_iter()
                    .map(|t| {
                        let used = t
                            .last_used_at
                            .as_deref()
                            .map(crate::types::clock_time)
                            .unwrap_or_else(|| "never".into());
                        let state = if t.revoked { "revoked" } else { "live" };
                        view! {
                            <tr>
                                <td>{t.name}</td>
                                <td>{state}</td>
                                <td>{used}</td>
                                <td>
                                    <Show when=move || !t.revoked>
                                        <ActionForm action=revoke>
                                            <input type="hidden" name="token_id" value=t.token_id />
                                            <button type="submit">"Revoke"</button>
                                        </ActionForm>
                                    </Show>
                                </td>
                            </tr>
                        }
                    })
                    .collect_view();
                view! {
                    <table class="tokens">
                        <thead>
                            <tr><th>"Name"</th><th>"State"</th><th>"Last used (UTC)"</th><th></th></tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                }
                .into_any()
            }
            Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
        })
    };
    let hydrated = hydrated_mark();
    view! {
        <section id="connect-player" class="my-listening" data-hydrated=hydrated>
            <h2>"Connect a player"</h2>
            <p>
                "Players and scrobblers that speak the ListenBrainz API (Navidrome, Jellyfin, "
                "Funkwhale, browser extensions, phone scrobblers) can send what you play here: "
                "set their ListenBrainz server URL to this site's address and give them a token."
            </p>
            <ActionForm action=create attr:class="search">
                <input
                    type="text"
                    name="name"
                    required
                    maxlength="64"
                    placeholder="e.g. Navidrome"
                    aria-label="Token name"
                />
                <button type="submit">"Create a token"</button>
            </ActionForm>
            {created}
            <Transition fallback=|| ()>{rows}</Transition>
        </section>
    }
}
