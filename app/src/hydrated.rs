//! The mark an island carries once it runs in the browser: `data-hydrated="true"`, which the
//! browser tests wait for before they act on the island.

use leptos::prelude::*;

/// The value of an island's `data-hydrated` attribute: `"false"` as rendered on the server,
/// `"true"` once hydrated (effects run only in the browser, after hydration). Call it in the
/// island's body.
pub fn hydrated_mark() -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    move || hydrated.get().to_string()
}
