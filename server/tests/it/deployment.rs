//! `soundlake` processes started from the built binary over a database and a data folder of
//! their own, and what they left in the lake.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lakehouse::Lake;
use lakehouse::bronze::listens::LISTENS;
use lakehouse::gold::admin::{create_database_if_missing, drop_database};

use crate::s3_server::{BUCKET, S3Server};
use crate::support::{ADMIN_TOKEN, server};

/// A database and a data folder that successive `soundlake serve` processes share.
pub struct Deployment {
    database: String,
    /// `None`: the embedded PostgreSQL under the data folder.
    pub url: Option<String>,
    pub data: tempfile::TempDir,
    /// Settings of every process.
    env: Vec<(&'static str, String)>,
    /// The lake, when not in the data folder.
    lake: Option<Lake>,
}

impl Deployment {
    /// Over the embedded PostgreSQL, in a folder its `postgres` user can reach.
    pub fn embedded(env: &[(&'static str, &str)]) -> Self {
        Self {
            database: String::new(),
            url: None,
            data: tempfile::Builder::new()
                .prefix("soundlake-pg-")
                .tempdir_in("/tmp")
                .expect("a data folder"),
            env: env.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
            lake: None,
        }
    }

    pub async fn new() -> Self {
        let database = format!("soundlake_test_{}", uuid::Uuid::new_v4().simple());
        create_database_if_missing(&server(), &database)
            .await
            .expect("creating a test database");
        let base = std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let url = format!("{}/{database}", base.rsplit_once('/').expect("a URL").0);
        Self {
            database,
            url: Some(url),
            data: tempfile::tempdir().expect("a data folder"),
            env: Vec::new(),
            lake: None,
        }
    }

    /// The same deployment with `key=value` in the environment of every `serve`.
    pub fn with_env(mut self, key: &'static str, value: &str) -> Self {
        self.env.push((key, value.to_owned()));
        self
    }

    /// The same deployment with its lake under `prefix` on the object store `s3`, for every
    /// process started over it.
    pub fn on_object_store(mut self, s3: &S3Server, prefix: &str) -> Self {
        for (key, value) in s3.settings() {
            self.env.push((key, value));
        }
        self.lake = Some(s3.lake(prefix));
        let url = format!("s3://{BUCKET}/{prefix}");
        self.with_env("SOUNDLAKE_LAKE_URL", &url)
    }

    pub fn lake(&self) -> Lake {
        self.lake
            .clone()
            .unwrap_or_else(|| Lake::new(self.data.path().join("lake")))
    }

    /// What every process started over the deployment has in its environment.
    pub fn env(&self) -> impl Iterator<Item = (&str, &str)> {
        self.env.iter().map(|(k, v)| (*k, v.as_str()))
    }

    /// Starts `soundlake serve --no-demo` and waits until it answers.
    pub async fn serve(&self) -> Serving {
        self.start(&["serve", "--no-demo"], &[]).await
    }

    /// Writes a demo catalogue of `tracks` tracks and its simulated history through a
    /// `soundlake serve` that then stops.
    pub async fn write_demo(&self, tracks: usize) {
        let mut serving = self
            .start(&["serve"], &[("SOUNDLAKE_DEMO_TRACKS", tracks.to_string())])
            .await;
        serving.signal("-TERM");
        serving
            .exited_within(Duration::from_secs(10))
            .await
            .expect("stopped");
    }

    /// Starts `soundlake ARGS` (a `serve`) with the deployment's settings and `env`, logging to
    /// a file of its own, and waits until it answers.
    async fn start(&self, args: &[&str], env: &[(&str, String)]) -> Serving {
        let port = free_port();
        let log = self.data.path().join(format!("serve-{port}.log"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_soundlake"));
        match &self.url {
            Some(url) => command.env("DATABASE_URL", url),
            None => command.env_remove("DATABASE_URL"),
        };
        command.envs(self.env.iter().map(|(k, v)| (*k, v.as_str())));
        let child = command
            .args(args)
            .env("SOUNDLAKE_DATA_DIR", self.data.path())
            .env("SOUNDLAKE_ADDR", format!("127.0.0.1:{port}"))
            .env("SOUNDLAKE_SITE_ROOT", self.data.path().join("site"))
            .env("SOUNDLAKE_ADMIN_TOKEN", ADMIN_TOKEN)
            .env(
                "SOUNDLAKE_PIPELINE_INTERVAL",
                self.setting("SOUNDLAKE_PIPELINE_INTERVAL").unwrap_or("0"),
            )
            .env("SOUNDLAKE_RATE_LIMIT", "0")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::from(
                std::fs::File::create(&log).expect("a log file"),
            ))
            .stderr(Stdio::from(
                std::fs::OpenOptions::new()
                    .append(true)
                    .open(&log)
                    .expect("the log file"),
            ))
            .spawn()
            .expect("starting soundlake serve");
        let serving = Serving {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        serving.wait_healthy().await;
        serving
    }

    /// A pool on the deployment's database (an external one).
    pub async fn pool(&self) -> sqlx::PgPool {
        let url = self.url.as_ref().expect("an external database");
        lakehouse::gold::connect(url.parse::<sqlx::postgres::PgConnectOptions>().unwrap())
            .await
            .expect("connecting to the deployment's database")
    }

    fn setting(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    pub async fn finish(self) {
        if self.url.is_some() {
            drop_database(&server(), &self.database)
                .await
                .expect("dropping the test database");
        }
    }
}

pub struct Serving {
    pub child: Child,
    pub base: String,
    pub log: PathBuf,
}

impl Serving {
    pub async fn wait_healthy(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(r) = client
                .get(format!("{}/api/v1/health", self.base))
                .send()
                .await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "soundlake serve did not answer; its log:\n{}",
            read(&self.log)
        );
    }

    /// Sends `signal` (e.g. `-TERM`) to the process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success());
    }

    /// Waits for the process to exit, at most `limit`.
    pub async fn exited_within(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("waiting") {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Runs `soundlake ARGS` over the deployment to its end and returns its output.
pub fn soundlake(deployment: &Deployment, args: &[&str]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_soundlake"));
    if let Some(url) = &deployment.url {
        command.env("DATABASE_URL", url);
    }
    command
        .envs(deployment.env())
        .args(args)
        .env("SOUNDLAKE_DATA_DIR", deployment.data.path())
        .env("SOUNDLAKE_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .expect("running soundlake")
}

/// Every listen event in bronze by id: its raw text and how many copies bronze holds.
pub async fn stored_events(lake: &Lake) -> HashMap<String, (String, i64)> {
    let table = lake.existing_table(LISTENS).await.unwrap().expect("bronze");
    let batches = lake
        .query_table(
            LISTENS,
            &table,
            "SELECT event_id, raw, count(*) OVER (PARTITION BY event_id) AS copies FROM bronze_listens",
        )
        .await
        .unwrap();
    let mut stored = HashMap::new();
    for batch in &batches {
        let ids = batch
            .column(0)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::StringArray>();
        let raws = batch
            .column(1)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::StringArray>();
        let copies = batch
            .column(2)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::Int64Array>();
        let (ids, raws, copies) = (ids.unwrap(), raws.unwrap(), copies.unwrap());
        for i in 0..batch.num_rows() {
            stored.insert(
                ids.value(i).to_owned(),
                (raws.value(i).to_owned(), copies.value(i)),
            );
        }
    }
    stored
}

/// Posts `events` (each a listen event's JSON text) in one batch to `base`'s ingest API.
pub async fn post_listens(
    http: &reqwest::Client,
    base: &str,
    events: &[(String, String)],
) -> reqwest::Result<reqwest::Response> {
    let body = format!(
        "[{}]",
        events
            .iter()
            .map(|(_, e)| e.as_str())
            .collect::<Vec<_>>()
            .join(",")
    );
    http.post(format!("{base}/api/v1/listens"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
}
