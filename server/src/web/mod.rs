//! The HTTP server: REST API, server functions, server-rendered pages and static files.

pub mod metrics;

use std::path::Path;

use axum::response::IntoResponse;
use axum::routing::get;
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

/// The span each request is logged in: its method and path, never its query, which may carry
/// a credential (`/1/validate-token?token=`, as ListenBrainz has it).
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
    )
}

/// The largest body a server function takes (they are forms and small JSON).
const SERVER_FN_MAX_BODY: usize = 64 * 1024;

/// Server functions (`/api/{name}`; the REST API is `/api/v1`, with limits of its own) read
/// their whole body: it is read here first, at most [`SERVER_FN_MAX_BODY`] bytes, else 413.
async fn limit_server_fn_bodies(
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let path = request.uri().path();
    if !path.starts_with("/api/") || path.starts_with("/api/v1/") {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, SERVER_FN_MAX_BODY).await {
        Ok(bytes) => {
            next.run(axum::extract::Request::from_parts(parts, bytes.into()))
                .await
        }
        Err(_) => (
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            format!("a server function's body is at most {SERVER_FN_MAX_BODY} bytes"),
        )
            .into_response(),
    }
}

/// The site's files (`/pkg/…`) keep their names from one build to the next: browsers check
/// them again before each use, and caches keep the brotli and gzip copies apart.
async fn site_file_headers(
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let is_site_file = request.uri().path().starts_with("/pkg/");
    let mut response = next.run(request).await;
    if is_site_file {
        let headers = response.headers_mut();
        headers.insert(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-cache"),
        );
        headers.append(
            axum::http::header::VARY,
            axum::http::HeaderValue::from_static("accept-encoding"),
        );
    }
    response
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
    let simulator: app::simulator::Simulator = std::sync::Arc::new(state.simulator.clone());
    let database_down = state.database_down.clone();
    let lake = state.lake.clone();
    let context = move || {
        provide_context(database_down.clone());
        provide_context(pool.clone());
        provide_context(lake.clone());
        provide_context(tokens.clone());
        provide_context(accounts.clone());
        provide_context(simulator.clone());
    };
    let options = state.leptos_options.clone();
    let auth_state = state.auth.clone();
    let rate_limit = state.rate_limit.clone();
    let (api_routes, document) = api::router(state.rate_limit.clone());
    Router::new()
        .merge(api::openapi::routes(document))
        .nest(
            "/api/v1",
            api_routes.route_layer(middleware::from_fn_with_state(
                state.metrics.clone(),
                metrics::track_requests,
            )),
        )
        .route("/metrics", get(metrics::scrape))
        .merge(auth::routes())
        .leptos_routes_with_context(&state, routes, context, move || app::shell(options.clone()))
        .fallback(file_and_error_handler::<AppState, _>(app::shell))
        .layer(middleware::from_fn(site_file_headers))
        .layer(middleware::from_fn(limit_server_fn_bodies))
        // Layers run from the last added: every request is identified, then pages are guarded.
        .layer(middleware::from_fn(auth::guard_pages))
        .layer(middleware::from_fn_with_state(auth_state, auth::identify))
        // Players send their token in ListenBrainz's way and expect its answers, errors
        // included: these routes find their caller themselves.
        .nest("/1", listenbrainz::router(rate_limit))
        // Answers (pages, JSON) compressed for clients that accept brotli or gzip, at a level
        // quick enough to do per request; the site's files are sent as stored, compressed at
        // build time; event streams are left alone.
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(4)))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_request_log_names_the_path_but_not_the_query() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let request = axum::http::Request::get("/1/validate-token?token=s3cret-token")
            .body(axum::body::Body::empty())
            .unwrap();
        tracing::subscriber::with_default(subscriber, || {
            let span = request_span(&request);
            let _entered = span.enter();
            tracing::debug!("answered");
        });
        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(log.contains("/1/validate-token"), "{log}");
        assert!(!log.contains("s3cret"), "{log}");
    }
}
