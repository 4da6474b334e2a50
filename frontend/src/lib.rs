//! The browser entry point: the interactive parts (islands) of `app`'s server-rendered pages.
#![recursion_limit = "256"]

use wasm_bindgen::prelude::wasm_bindgen;

/// Called by the page's hydration script once the wasm module has loaded, before the script
/// hydrates each island on the page (the islands are the module's other exports, from `app`).
#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    app::hydrate_islands();
}
