//! The landing page and the page for unknown addresses.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// The landing page: what soundlake is and where to go.
#[component]
pub fn Home() -> impl IntoView {
    view! {
        <Title text="Home" />
        <section class="hero">
            <h1>"soundlake"</h1>
            <p>
                "A lakehouse music recommender: listens land in Delta Lake, DataFusion jobs clean "
                "them, and PostgreSQL serves what you hear next."
            </p>
            <p>
                <A href="/catalog" attr:class="button">"Browse the catalogue"</A>
            </p>
        </section>
    }
}

/// Shown for addresses that match no page.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Title text="Not found" />
        <section class="not-found">
            <h1>"Not found"</h1>
            <p>"There is no page at this address. " <A href="/">"Back home"</A></p>
        </section>
    }
}
