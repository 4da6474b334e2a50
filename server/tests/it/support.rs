//! A server on a random local port, over a fresh database and lake with a small catalogue.

use std::net::SocketAddr;

use lakehouse::Lake;
use lakehouse::catalog::{demo_catalog_file, import_catalog};
use lakehouse::demo::DemoCatalog;
use lakehouse::gold::admin::{create_database_if_missing, drop_database, parse_url};
use server::services::ingest::Ingest;
use server::state::AppState;
use server::web;
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;

pub fn server() -> PgConnectOptions {
    let url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    parse_url(&url).expect("TEST_DATABASE_URL is a postgres:// URL")
}

/// A new database on the test server, migrated to the current schema: its name and a pool.
pub async fn migrated_database() -> (String, PgPool) {
    let database = format!("soundlake_test_{}", uuid::Uuid::new_v4().simple());
    create_database_if_missing(&server(), &database)
        .await
        .expect("creating a test database");
    let pool = lakehouse::gold::connect(server().database(&database))
        .await
        .expect("connecting");
    lakehouse::gold::migrate(&pool).await.expect("migrating");
    (database, pool)
}

/// The admin token of test servers.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

/// A client that sends `Authorization: Bearer <token>` with every request.
pub fn client_with_token(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("a header value"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("a client")
}

/// A running server and what it serves.
pub struct TestApp {
    pub base: String,
    /// A client without credentials.
    pub client: reqwest::Client,
    /// A client with the admin token (what `get`, `get_json` and `post_json` use).
    pub admin: reqwest::Client,
    pub pool: PgPool,
    pub lake: Lake,
    /// The server's live recommendations, to look at the state they keep.
    pub live: server::services::live::LiveRecommendations,
    database: String,
    dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
}

impl TestApp {
    /// Serves a 600-track demo catalogue.
    pub async fn start() -> Self {
        Self::start_with_rate_limit(0).await
    }

    /// Serves a 600-track demo catalogue, allowing `per_second` API requests per second per
    /// client address (0: no limit).
    pub async fn start_with_rate_limit(per_second: u32) -> Self {
        let (database, pool) = migrated_database().await;
        let dir = tempfile::tempdir().expect("a temporary folder");
        let lake = Lake::new(dir.path().join("lake"));
        let catalog = DemoCatalog {
            tracks: 600,
            ..DemoCatalog::default()
        };
        let file =
            demo_catalog_file(&dir.path().join("demo"), &catalog).expect("the demo catalogue");
        import_catalog(&lake, &pool, &[file])
            .await
            .expect("importing the demo catalogue");

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let addr: SocketAddr = listener.local_addr().expect("the bound address");
        let ingest = Ingest::start(lake.clone(), &pool)
            .await
            .expect("starting ingestion");
        let state = AppState::new(
            web::leptos_options(&dir.path().join("site"), addr),
            pool.clone(),
            lake.clone(),
            ingest,
            ADMIN_TOKEN,
        )
        .with_rate_limit(per_second);
        let live = state.live.clone();
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                web::router(state).into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .expect("serving");
        });
        Self {
            live,
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            admin: client_with_token(ADMIN_TOKEN),
            pool,
            lake,
            database,
            dir,
            server,
        }
    }

    /// `GET path` as the admin.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.admin
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("the request is answered")
    }

    /// `POST path` with a JSON body, as the admin.
    pub async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let response = self
            .admin
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .expect("answered");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        let body = response.json().await.expect("a JSON body");
        (status, body)
    }

    /// Stops the server (its ingest writer with it) and starts a new one on the same lake and
    /// database, as a restart of the process would.
    pub async fn restart(&mut self) {
        self.server.abort();
        let _ = (&mut self.server).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let addr: SocketAddr = listener.local_addr().expect("the bound address");
        let ingest = Ingest::start(self.lake.clone(), &self.pool)
            .await
            .expect("starting ingestion");
        let state = AppState::new(
            web::leptos_options(&self.dir.path().join("site"), addr),
            self.pool.clone(),
            Lake::new(self.lake.local_root().expect("a local lake")),
            ingest,
            ADMIN_TOKEN,
        );
        self.live = state.live.clone();
        self.server = tokio::spawn(async move {
            axum::serve(
                listener,
                web::router(state).into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .expect("serving");
        });
        self.base = format!("http://{addr}");
    }

    /// Stops the server and drops the database.
    pub async fn finish(self) {
        self.server.abort();
        self.pool.close().await;
        drop_database(&server(), &self.database)
            .await
            .expect("dropping the test database");
    }
}

/// Starts a pipeline run through the API, as the admin, and waits until it succeeds.
pub async fn run_pipeline(app: &TestApp) {
    let (status, run) = app
        .post_json("/api/v1/pipeline/runs", &serde_json::json!({}))
        .await;
    assert_eq!(status, 202, "{run}");
    let run_id = run["run_id"].as_i64().expect("a run started");
    let events = tokio::time::timeout(
        std::time::Duration::from_secs(180),
        app.get(&format!("/api/v1/pipeline/runs/{run_id}/events"))
            .await
            .text(),
    )
    .await
    .expect("the run finishes")
    .expect("the run's events");
    assert!(events.contains("\"status\":\"succeeded\""), "{events}");
}

/// Posts `listens` through the ingest API as the admin, in requests of 1,000.
pub async fn post_history(app: &TestApp, listens: &[lakehouse::ingest::Listen]) {
    for chunk in listens.chunks(1_000) {
        let events: Vec<serde_json::Value> = chunk
            .iter()
            .map(|l| {
                serde_json::json!({"event_id": l.event_id, "user_id": l.user_id,
                    "track_id": l.track_id, "played_at": l.played_at.to_rfc3339(),
                    "ms_played": l.ms_played, "end_reason": l.end_reason, "skipped": l.skipped})
            })
            .collect();
        let (status, body) = app
            .post_json("/api/v1/listens", &serde_json::json!(events))
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

/// The track ids of a recommendation list as the API answers it.
pub fn track_ids(list: &serde_json::Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("a list of items")
        .iter()
        .map(|i| i["track_id"].as_str().expect("a track id").to_owned())
        .collect()
}

/// Signs `name` in through the API with `password`: the session cookie (`name=value`), or the
/// status and body of the refusal.
pub async fn log_in(
    app: &TestApp,
    name: &str,
    password: &str,
) -> Result<String, (u16, serde_json::Value)> {
    let response = app
        .client
        .post(format!("{}/api/v1/session", app.base))
        .json(&serde_json::json!({"name": name, "password": password}))
        .send()
        .await
        .expect("answered");
    let status = response.status().as_u16();
    let cookie = response
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned());
    let body: serde_json::Value = response.json().await.expect("a JSON body");
    match (status, cookie) {
        (200, Some(cookie)) => {
            assert_eq!(body["name"], name);
            Ok(cookie)
        }
        _ => Err((status, body)),
    }
}

/// A browser with a session: its cookie on every request, and this site as the origin of
/// state-changing ones, as a page's own requests would have; it follows no redirect.
pub fn browser(app: &TestApp, cookie: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::COOKIE, cookie.parse().expect("a cookie"));
    headers.insert(
        reqwest::header::ORIGIN,
        app.base.parse().expect("an origin"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}
