//! A `soundlake serve` process of its own over a fresh database and data folder, holding the
//! demo (catalogue, simulated history, a trained model), for benchmarks that load a server
//! from outside as its clients would.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use sqlx::PgPool;

use super::BenchServer;
use server::infra::config::Config;

/// How the served demo is set up.
#[derive(Debug, Clone, Copy)]
pub struct DemoSettings {
    /// Tracks in the demo catalogue.
    pub tracks: usize,
    /// Seconds between scheduled pipeline runs; the first starts with the server and trains
    /// the model the benchmark waits for.
    pub pipeline_interval: u64,
    /// API requests per second per client address (0: no limit).
    pub rate_limit: u32,
}

/// A running `soundlake serve` with the demo, stopped (SIGTERM, then its database dropped)
/// by [`ServedDemo::stop`].
pub struct ServedDemo {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The admin token the server was started with.
    pub token: String,
    /// A pool on the server's database, for what the benchmark reads beside the API.
    pub pool: PgPool,
    database: String,
    server: BenchServer,
    data: tempfile::TempDir,
}

impl ServedDemo {
    /// Starts the server and waits until it serves recommendations from a trained model.
    pub async fn start(config: &Config, settings: DemoSettings) -> Result<Self> {
        let server = BenchServer::open(config)?;
        let database = format!("soundlake_bench_served_{}", std::process::id());
        let pool = server.fresh_database(&database).await?;
        let spawned = spawn(&server, &database, settings);
        let (child, port, token, data) = match spawned {
            Ok(spawned) => spawned,
            Err(e) => {
                pool.close().await;
                server.drop_database(&database).await?;
                return Err(e);
            }
        };
        let mut served = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            token,
            pool,
            database,
            server,
            data,
        };
        println!(
            "serving the demo ({} tracks) on {}…",
            settings.tracks, served.base
        );
        if let Err(e) = served.wait_for_model(Duration::from_secs(600)).await {
            let log = served.log();
            served.stop().await?;
            bail!("{e}; the server's log:\n{log}");
        }
        Ok(served)
    }

    /// The server's resident memory now, in bytes (Linux).
    pub fn rss(&self) -> Option<u64> {
        resident_memory(self.child.id())
    }

    /// A client that sends the admin token.
    pub fn client(&self) -> Result<reqwest::Client> {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {}", self.token).parse()?,
        );
        Ok(reqwest::Client::builder()
            .default_headers(headers)
            .timeout(Duration::from_secs(30))
            .build()?)
    }

    /// What the server printed.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data.path().join("serve.log")).unwrap_or_default()
    }

    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    async fn wait_for_model(&mut self, limit: Duration) -> Result<()> {
        let client = self.client()?;
        let url = format!(
            "{}/api/v1/users/{}/recommendations",
            self.base,
            app::types::DEFAULT_LISTENER
        );
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!("soundlake serve exited ({status})");
            }
            if let Ok(response) = client.get(&url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        bail!("the server had no model after {limit:?}")
    }

    /// SIGTERM, a wait of at most 30 s, then the database is dropped.
    pub async fn stop(mut self) -> Result<()> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.pool.close().await;
        self.server.drop_database(&self.database).await
    }
}

impl Drop for ServedDemo {
    fn drop(&mut self) {
        // Stopped already, or stopping on an error: never leave the process behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `soundlake serve` over database `database` of `server`, in a new data folder, on a
/// free port, with a new admin token.
fn spawn(
    server: &BenchServer,
    database: &str,
    settings: DemoSettings,
) -> Result<(Child, u16, String, tempfile::TempDir)> {
    let data = tempfile::tempdir().context("creating a data folder")?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let token = uuid::Uuid::new_v4().simple().to_string();
    let log = std::fs::File::create(data.path().join("serve.log"))?;
    let child = Command::new(soundlake_binary()?)
        .arg("serve")
        .env("DATABASE_URL", server.database_url(database))
        .env("SOUNDLAKE_DATA_DIR", data.path())
        .env("SOUNDLAKE_ADDR", format!("127.0.0.1:{port}"))
        .env("SOUNDLAKE_ADMIN_TOKEN", &token)
        .env("SOUNDLAKE_DEMO_TRACKS", settings.tracks.to_string())
        .env(
            "SOUNDLAKE_PIPELINE_INTERVAL",
            settings.pipeline_interval.max(1).to_string(),
        )
        .env("SOUNDLAKE_RATE_LIMIT", settings.rate_limit.to_string())
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .spawn()
        .context("starting soundlake serve")?;
    Ok((child, port, token, data))
}

/// The `soundlake` binary to serve: `SOUNDLAKE_BIN`, else the one built beside this one.
fn soundlake_binary() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("SOUNDLAKE_BIN") {
        return Ok(path.into());
    }
    let exe = std::env::current_exe()?;
    let path = exe.with_file_name("soundlake");
    if !path.exists() {
        bail!(
            "no soundlake binary beside {}: build both with `cargo build --release -p server`, \
             or set SOUNDLAKE_BIN",
            exe.display()
        );
    }
    Ok(path)
}

/// A process's resident memory, from `/proc/PID/status` (Linux).
pub fn resident_memory(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
