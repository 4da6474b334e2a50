//! soundlake's web app: the pages, their server functions, and the types the server and the
//! browser share. The pages render on the server; only their interactive parts, the islands
//! (`#[island]`), are compiled for the browser and hydrated there, so the browser's module
//! holds no router and no page that needs none.

pub mod accounts;
pub mod browser;
pub mod charts;
pub mod dashboard;
pub mod hydrated;
pub mod lake;
pub mod listening;
pub mod pages;
pub mod pipeline;
pub mod server_fns;
pub mod simulator;
pub mod tokens;
pub mod types;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::types::Role;

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The links of the signed-in account's role, its name and a logout button; or a login link.
#[component]
fn AccountNav() -> impl IntoView {
    let me = Resource::new(|| (), |_| server_fns::whoami());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match me.await.ok().flatten() {
                    Some(account) => {
                        let links: &[(&str, &str)] = match account.role {
                            Role::Listener => &[("/for-you", "For you")],
                            Role::Business => {
                                &[("/dashboards", "Dashboards"), ("/insights", "Insights")]
                            }
                            Role::Admin => &[
                                ("/for-you", "For you"),
                                ("/dashboards", "Dashboards"),
                                ("/insights", "Insights"),
                                ("/admin", "Pipeline"),
                            ],
                        };
                        view! {
                            {links
                                .iter()
                                .map(|(href, label)| view! { <A href=*href>{*label}</A> })
                                .collect_view()}
                            <form class="logout" method="post" action="/auth/logout">
                                <span class="account" title=account.role.as_str()>
                                    {account.name.clone()}
                                </span>
                                <button type="submit" class="link">"Log out"</button>
                            </form>
                        }
                            .into_any()
                    }
                    None => view! { <a href="/login" rel="external">"Log in"</a> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// A notice on every page while the database is not answering.
#[component]
fn DegradedNotice() -> impl IntoView {
    let degraded = Resource::new(|| (), |_| server_fns::degraded());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                degraded
                    .await
                    .unwrap_or(false)
                    .then(|| {
                        view! {
                            <p id="degraded" class="degraded" role="alert">
                                "The database is not answering: recommendations, dashboards and \
                                 accounts may be missing or out of date. Listens are still \
                                 accepted and kept; this clears by itself once it answers again."
                            </p>
                        }
                    })
            })}
        </Transition>
    }
}

/// Hydrates the islands of the page in the browser (called by `frontend` before the page's
/// script hydrates each island).
#[cfg(feature = "hydrate")]
pub fn hydrate_islands() {
    leptos::mount::hydrate_islands();
}

/// The app: navigation and routes, rendered on the server.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="soundlake" href="/pkg/soundlake.css" />
        <Title formatter=|page: String| format!("{page} · soundlake") />
        <Router>
            <header class="topbar">
                <A href="/" attr:class="brand">"soundlake"</A>
                <nav>
                    <A href="/catalog">"Catalogue"</A>
                    <AccountNav />
                </nav>
            </header>
            <DegradedNotice />
            <main>
                <Routes fallback=pages::NotFound>
                    <Route path=path!("/") view=pages::Home />
                    <Route path=path!("/catalog") view=pages::Catalog />
                    <Route path=path!("/for-you") view=pages::ForYou />
                    <Route path=path!("/insights") view=pages::Insights />
                    <Route path=path!("/admin") view=pages::Admin />
                    <Route path=path!("/login") view=pages::Login />
                    <Route path=path!("/dashboards") view=pages::Dashboards />
                    // Rendered whole before it is sent, so that an unknown track is a 404.
                    <Route path=path!("/tracks/:id") view=pages::TrackPage ssr=SsrMode::Async />
                </Routes>
            </main>
        </Router>
    }
}
