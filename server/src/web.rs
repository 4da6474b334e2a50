//! The HTTP server: REST API, server functions, server-rendered pages and static files.

use std::path::Path;

use axum::{Router, middleware};
use leptos::config::{Env, LeptosOptions};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, file_and_error_handler, generate_route_list};
use tower_http::CompressionLevel;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

use crate::accounts::account_keeper::DatabaseAccounts;
use crate::accounts::token_keeper::DatabaseTokens;
use crate::state::AppState;
use crate::{api, auth, listenbrainz};

/// The name of the built site's files: `pkg/soundlake.js`, `pkg/soundlake_bg.wasm`,
/// `pkg/soundlake.css`.
pub const SITE_NAME: &str = "soundlake";

/// Leptos settings for a site built into `site_root` and served at `addr`.
pub fn leptos_options(site_root: &Path, addr: std::net::SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name(SITE_NAME)
        .site_root(site_root.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .env(if cfg!(debug_assertions) {
            Env::DEV
        } else {
            Env::PROD
        })
        .build()
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let pool = state.pool.clone();
    let tokens: app::tokens::Tokens = std::sync::Arc::new(DatabaseTokens {
        pool: state.pool.clone(),
    });
    let accounts: app::accounts::Accounts = std::sync::Arc::new(DatabaseAccounts {
        pool: state.pool.clone(),
    });
    let lake = state.lake.clone();
    let context = move || {
        provide_context(pool.clone());
        provide_context(lake.clone());
        provide_context(tokens.clone());
        provide_context(accounts.clone());
    };
    let options = state.leptos_options.clone();
    let auth_state = state.auth.clone();
    let rate_limit = state.rate_limit.clone();
    Router::new()
        .nest("/api/v1", api::router(state.rate_limit.clone()))
        .merge(auth::routes())
        .leptos_routes_with_context(&state, routes, context, move || app::shell(options.clone()))
        .fallback(file_and_error_handler::<AppState, _>(app::shell))
        // Layers run from the last added: every request is identified, then pages are guarded.
        .layer(middleware::from_fn(auth::guard_pages))
        .layer(middleware::from_fn_with_state(auth_state, auth::identify))
        // Players send their token in ListenBrainz's way and expect its answers, errors
        // included: these routes find their caller themselves.
        .nest("/1", listenbrainz::router(rate_limit))
        // Answers (pages, JSON, the wasm and js) compressed for clients that accept brotli or
        // gzip, at a level quick enough to do per request; event streams are left alone.
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(4)))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
