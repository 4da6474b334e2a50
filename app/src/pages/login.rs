//! `/login`: a plain form posted to the server, so it works before the WebAssembly loads.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The login page. The server answers the form with a redirect: to the page asked for (or the
/// account's own), or back here with `?error=refused` or `?error=wait&retry=N`.
#[component]
pub fn Login() -> impl IntoView {
    let query = use_query_map();
    let error = move || {
        query.with(|q| match q.get("error").as_deref() {
            Some("refused") => Some("Wrong name or password.".to_owned()),
            Some("wait") => Some(format!(
                "Too many failed attempts: try again in {} s.",
                q.get("retry")
                    .and_then(|s| s.parse::<u32>().ok())
                    .unwrap_or(1)
            )),
            _ => None,
        })
    };
    let next = move || query.with(|q| q.get("next").unwrap_or_default());
    view! {
        <Title text="Log in" />
        <section class="login">
            <h1>"Log in"</h1>
            {move || error().map(|e| view! { <p id="login-error" class="error" role="alert">{e}</p> })}
            <form class="login-form" method="post" action="/auth/login">
                <label for="login-name">"Name"</label>
                <input
                    id="login-name"
                    name="name"
                    type="text"
                    autocomplete="username"
                    autocapitalize="none"
                    maxlength="64"
                    required
                />
                <label for="login-password">"Password"</label>
                <input
                    id="login-password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    maxlength="512"
                    required
                />
                <input type="hidden" name="next" value=next />
                <button type="submit">"Log in"</button>
            </form>
            <p class="muted note">
                "The demo's accounts and passwords are in "
                <code>"<data dir>/demo-accounts"</code> "."
            </p>
        </section>
    }
}
