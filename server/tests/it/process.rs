//! The `soundlake serve` process itself, started from the built binary: what survives a
//! SIGKILL, and how it stops on SIGTERM.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lakehouse::Lake;
use lakehouse::bronze::listens::LISTENS;
use lakehouse::gold::admin::{create_database_if_missing, drop_database};
use serde_json::json;

use crate::support::{ADMIN_TOKEN, client_with_token, server};

/// A database and a data folder that successive `soundlake serve` processes share.
struct Deployment {
    database: String,
    /// `None`: the embedded PostgreSQL under the data folder.
    url: Option<String>,
    data: tempfile::TempDir,
    /// Settings of every `serve`.
    env: Vec<(&'static str, String)>,
}

impl Deployment {
    /// Over the embedded PostgreSQL, in a folder its `postgres` user can reach.
    fn embedded(env: &[(&'static str, &str)]) -> Self {
        Self {
            database: String::new(),
            url: None,
            data: tempfile::Builder::new()
                .prefix("soundlake-pg-")
                .tempdir_in("/tmp")
                .expect("a data folder"),
            env: env.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        }
    }

    async fn new() -> Self {
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
        }
    }

    fn lake(&self) -> Lake {
        Lake::new(self.data.path().join("lake"))
    }

    /// Starts `soundlake serve --no-demo` and waits until it answers.
    async fn serve(&self) -> Serving {
        let port = free_port();
        let log = self.data.path().join(format!("serve-{port}.log"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_soundlake"));
        match &self.url {
            Some(url) => command.env("DATABASE_URL", url),
            None => command.env_remove("DATABASE_URL"),
        };
        command.envs(self.env.iter().map(|(k, v)| (*k, v.as_str())));
        let child = command
            .args(["serve", "--no-demo"])
            .env("SOUNDLAKE_DATA_DIR", self.data.path())
            .env("SOUNDLAKE_ADDR", format!("127.0.0.1:{port}"))
            .env("SOUNDLAKE_SITE_ROOT", self.data.path().join("site"))
            .env("SOUNDLAKE_ADMIN_TOKEN", ADMIN_TOKEN)
            .env(
                "SOUNDLAKE_PIPELINE_INTERVAL",
                self.setting("SOUNDLAKE_PIPELINE_INTERVAL").unwrap_or("0"),
            )
            .env("SOUNDLAKE_RATE_LIMIT", "0")
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

    fn setting(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    async fn finish(self) {
        if self.url.is_some() {
            drop_database(&server(), &self.database)
                .await
                .expect("dropping the test database");
        }
    }
}

struct Serving {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Serving {
    async fn wait_healthy(&self) {
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
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success());
    }

    /// Waits for the process to exit, at most `limit`.
    async fn exited_within(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
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

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// One event as a client writes it.
fn event(client: usize, trial: usize, n: usize) -> String {
    json!({
        "event_id": format!("crash-{trial}-{client}-{n}"),
        "user_id": format!("crash-listener-{client}"),
        "track_id": format!("crash-track-{}", n % 97),
        "played_at": (chrono::Utc::now() - chrono::Duration::minutes((n % 600) as i64))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "ms_played": 30_000 + n % 1000,
    })
    .to_string()
}

/// Posts batches of 200 events as fast as the server takes them until it stops answering;
/// returns the events it acknowledged, by id.
async fn ingest_until_gone(base: String, client: usize, trial: usize) -> HashMap<String, String> {
    let http = client_with_token(ADMIN_TOKEN);
    let mut acknowledged = HashMap::new();
    for batch in 0.. {
        let events: Vec<(String, String)> = (0..200)
            .map(|i| {
                let n = batch * 200 + i;
                (
                    format!("crash-{trial}-{client}-{n}"),
                    event(client, trial, n),
                )
            })
            .collect();
        let body = format!(
            "[{}]",
            events
                .iter()
                .map(|(_, e)| e.as_str())
                .collect::<Vec<_>>()
                .join(",")
        );
        let answered = http
            .post(format!("{base}/api/v1/listens"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        match answered {
            Ok(r) if r.status().is_success() => acknowledged.extend(events),
            Ok(r) if r.status().is_server_error() || r.status().as_u16() == 429 => {}
            Ok(r) => panic!("unexpected answer {}", r.status()),
            Err(_) => break,
        }
    }
    acknowledged
}

#[tokio::test]
async fn every_acknowledged_listen_survives_sigkill_of_the_server_exactly_once() {
    let deployment = Deployment::new().await;
    let mut acknowledged = HashMap::new();
    for trial in 0..10 {
        let serving = deployment.serve().await;
        let clients: Vec<_> = (0..4)
            .map(|client| tokio::spawn(ingest_until_gone(serving.base.clone(), client, trial)))
            .collect();
        // A different moment of the commit cycle in each trial.
        tokio::time::sleep(Duration::from_millis(150 + 97 * trial as u64)).await;
        drop(serving); // SIGKILL
        for client in clients {
            acknowledged.extend(client.await.expect("a client task"));
        }
    }
    assert!(
        acknowledged.len() >= 10_000,
        "{} acknowledged",
        acknowledged.len()
    );

    // A last start proves the lake the kills left behind still takes commits.
    let serving = deployment.serve().await;
    let last = ingest_once(&serving.base).await;
    acknowledged.extend(last);
    drop(serving);

    let lake = deployment.lake();
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
    for (id, sent) in &acknowledged {
        let (raw, copies) = stored
            .get(id)
            .unwrap_or_else(|| panic!("acknowledged event {id} is not in bronze"));
        assert_eq!(raw, sent, "{id} is stored as sent");
        assert_eq!(*copies, 1, "{id} is stored once");
    }
    deployment.finish().await;
}

async fn ingest_once(base: &str) -> HashMap<String, String> {
    let events: Vec<(String, String)> = (0..10)
        .map(|n| (format!("crash-last-0-{n}"), event(0, 99, n)))
        .map(|(_, e)| {
            let id = serde_json::from_str::<serde_json::Value>(&e).unwrap()["event_id"]
                .as_str()
                .unwrap()
                .to_owned();
            (id, e)
        })
        .collect();
    let body = format!(
        "[{}]",
        events
            .iter()
            .map(|(_, e)| e.as_str())
            .collect::<Vec<_>>()
            .join(",")
    );
    let answer = client_with_token(ADMIN_TOKEN)
        .post(format!("{base}/api/v1/listens"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("answered");
    assert!(answer.status().is_success(), "{}", answer.status());
    events.into_iter().collect()
}

#[tokio::test]
async fn sigterm_stops_the_server_within_seconds_while_event_streams_are_open() {
    let deployment = Deployment::new().await;
    let mut serving = deployment.serve().await;
    let http = client_with_token(ADMIN_TOKEN);
    let mut streams = Vec::new();
    for n in 0..3 {
        let response = http
            .get(format!(
                "{}/api/v1/users/stream-listener-{n}/recommendations/events",
                serving.base
            ))
            .send()
            .await
            .expect("a stream");
        assert_eq!(response.status(), 200);
        let mut response = response;
        let first = tokio::time::timeout(Duration::from_secs(10), response.chunk())
            .await
            .expect("a first event");
        assert!(matches!(first, Ok(Some(_))), "{first:?}");
        streams.push(response);
    }
    let asked = Instant::now();
    serving.signal("-TERM");
    let status = serving
        .exited_within(Duration::from_secs(4))
        .await
        .unwrap_or_else(|| {
            panic!(
                "still running 4 s after SIGTERM; log:\n{}",
                read(&serving.log)
            )
        });
    assert!(status.success(), "{status}; log:\n{}", read(&serving.log));
    for mut stream in streams {
        let rest = tokio::time::timeout(Duration::from_secs(1), async {
            while let Ok(Some(_)) = stream.chunk().await {}
        })
        .await;
        assert!(rest.is_ok(), "the stream ended");
    }
    println!("stopped {:?} after SIGTERM", asked.elapsed());
    deployment.finish().await;
}

/// Posts one listen as the admin (the configured token, which needs no database).
async fn post_one(base: &str, n: usize) -> reqwest::StatusCode {
    client_with_token(ADMIN_TOKEN)
        .post(format!("{base}/api/v1/listens"))
        .header("content-type", "application/json")
        .body(event(9, 9, n))
        .send()
        .await
        .expect("answered")
        .status()
}

#[tokio::test]
async fn with_postgres_stopped_ingest_goes_on_health_says_degraded_and_everything_recovers() {
    let deployment = Deployment::embedded(&[("SOUNDLAKE_PIPELINE_INTERVAL", "1")]);
    let serving = deployment.serve().await;
    let http = reqwest::Client::new();
    assert_eq!(post_one(&serving.base, 0).await, 200);

    let root = deployment.data.path().join("postgres");
    let cluster = {
        let root = root.clone();
        tokio::task::spawn_blocking(move || server::postgres::EmbeddedPostgres::start(&root, None))
            .await
            .unwrap()
            .expect("attaching to the server's cluster")
    };
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.shut_down().expect("stopping PostgreSQL");
        cluster
    })
    .await
    .unwrap();

    // The outage: health says so, listens keep landing in the lake, the schedule's runs fail
    // without stopping the server.
    let health = http
        .get(format!("{}/api/v1/health", serving.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 503);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["status"], "degraded", "{body}");
    for n in 1..=20 {
        assert_eq!(
            post_one(&serving.base, n).await,
            200,
            "listen {n} in the outage"
        );
    }
    let page = http.get(format!("{}/", serving.base)).send().await.unwrap();
    assert!(page.status().as_u16() < 600, "the page answered");
    tokio::time::sleep(Duration::from_secs(3)).await;

    drop(cluster);
    let restarted = tokio::task::spawn_blocking(move || {
        server::postgres::EmbeddedPostgres::start(&root, None).expect("restarting PostgreSQL")
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ok = http
            .get(format!("{}/api/v1/health", serving.base))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        if ok {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "health recovered; log:\n{}",
            read(&serving.log)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(post_one(&serving.base, 21).await, 200);

    // Every listen of the outage is in bronze, and the schedule runs again by itself.
    let bronze = lakehouse::lake::count_rows(&deployment.lake(), LISTENS)
        .await
        .unwrap();
    assert_eq!(bronze, 22);
    let recovered_at = chrono::Utc::now();
    let admin = client_with_token(ADMIN_TOKEN);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let runs: serde_json::Value = admin
            .get(format!("{}/api/v1/pipeline/runs?limit=5", serving.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ran = runs.as_array().into_iter().flatten().any(|r| {
            r["status"] == "succeeded"
                && r["trigger"] == "schedule"
                && r["started_at"]
                    .as_str()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .is_some_and(|t| t > recovered_at)
        });
        if ran {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no scheduled run succeeded after the outage"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    drop(serving);
    tokio::task::spawn_blocking(move || drop(restarted))
        .await
        .unwrap();
    deployment.finish().await;
}

/// Runs `soundlake ARGS` over the deployment to its end and returns its output.
fn soundlake(deployment: &Deployment, args: &[&str]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_soundlake"));
    if let Some(url) = &deployment.url {
        command.env("DATABASE_URL", url);
    }
    command
        .args(args)
        .env("SOUNDLAKE_DATA_DIR", deployment.data.path())
        .env("SOUNDLAKE_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .expect("running soundlake")
}

/// A fingerprint of everything gold serves from the lake: the catalogue and every mart, row
/// for row; who the current model has lists, similar tracks and segments for.
async fn gold_contents(pool: &sqlx::PgPool) -> Vec<(String, Option<String>)> {
    let mut contents = Vec::new();
    for (table, rows) in [
        ("tracks", "SELECT track_id, name FROM tracks"),
        ("genres", "SELECT * FROM genres"),
        ("users", "SELECT * FROM users"),
        ("daily_activity", "SELECT * FROM daily_activity"),
        ("genre_daily", "SELECT * FROM genre_daily"),
        (
            "hour_weekday_activity",
            "SELECT * FROM hour_weekday_activity",
        ),
        ("track_popularity", "SELECT * FROM track_popularity"),
        ("user_tops", "SELECT * FROM user_tops"),
        ("hourly_activity", "SELECT * FROM hourly_activity"),
        ("track_daily", "SELECT * FROM track_daily"),
        ("artist_daily", "SELECT * FROM artist_daily"),
        ("cohort_retention", "SELECT * FROM cohort_retention"),
        ("user_recent_listens", "SELECT * FROM user_recent_listens"),
        // A retrained model is not bit for bit the same (floating-point sums in parallel):
        // the same listeners and tracks get lists of the same lengths.
        (
            "recommendations",
            "SELECT r.user_id, count(*) FROM recommendations r
             JOIN model_versions v USING (model_version) WHERE v.is_current GROUP BY r.user_id",
        ),
        (
            "similar_tracks",
            "SELECT s.track_id, count(*) FROM similar_tracks s
             JOIN model_versions v USING (model_version) WHERE v.is_current GROUP BY s.track_id",
        ),
        (
            "user_segment_members",
            "SELECT user_id FROM user_segment_members",
        ),
    ] {
        let digest: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM ({rows}) AS t"
        )))
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("reading {table}: {e}"));
        contents.push((table.to_owned(), digest));
    }
    contents
}

/// The tables whose fingerprints differ between `now` and `before`.
fn changed_tables(
    now: &[(String, Option<String>)],
    before: &[(String, Option<String>)],
) -> Vec<String> {
    now.iter()
        .zip(before)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.0.clone())
        .collect()
}

#[tokio::test]
async fn a_pipeline_run_killed_in_any_stage_leaves_gold_serving_and_the_next_run_converges() {
    let deployment = Deployment::new().await;
    // A demo catalogue and history, written by a server that then stops.
    let mut serving = {
        let mut with_demo = Command::new(env!("CARGO_BIN_EXE_soundlake"));
        let port = free_port();
        with_demo
            .args(["serve"])
            .env("DATABASE_URL", deployment.url.as_ref().unwrap())
            .env("SOUNDLAKE_DATA_DIR", deployment.data.path())
            .env("SOUNDLAKE_ADDR", format!("127.0.0.1:{port}"))
            .env("SOUNDLAKE_SITE_ROOT", deployment.data.path().join("site"))
            .env("SOUNDLAKE_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("SOUNDLAKE_PIPELINE_INTERVAL", "0")
            .env("SOUNDLAKE_DEMO_TRACKS", "2000")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let serving = Serving {
            child: with_demo.spawn().expect("serve"),
            base: format!("http://127.0.0.1:{port}"),
            log: deployment.data.path().join("none.log"),
        };
        serving.wait_healthy().await;
        serving
    };
    serving.signal("-TERM");
    serving
        .exited_within(Duration::from_secs(10))
        .await
        .expect("stopped");

    let clean = soundlake(&deployment, &["pipeline", "run"]);
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );
    let pool = lakehouse::gold::connect(
        deployment
            .url
            .as_ref()
            .unwrap()
            .parse::<sqlx::postgres::PgConnectOptions>()
            .unwrap(),
    )
    .await
    .unwrap();
    let served = gold_contents(&pool).await;
    assert!(
        served.iter().all(|(_, digest)| digest.is_some()),
        "{served:?}"
    );

    // The stages a full run does work in (the catalogue is loaded only when it changed).
    for stage in ["silver_listens", "gold_marts", "ml"] {
        let mut run = Command::new(env!("CARGO_BIN_EXE_soundlake"))
            .args(["pipeline", "run", "--full"])
            .env("DATABASE_URL", deployment.url.as_ref().unwrap())
            .env("SOUNDLAKE_DATA_DIR", deployment.data.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("a pipeline run");
        let deadline = Instant::now() + Duration::from_secs(120);
        let killed_run: i64 = loop {
            let running: Option<i64> = sqlx::query_scalar(
                "SELECT run_id FROM pipeline_stages WHERE stage = $1 AND status = 'running'",
            )
            .bind(stage)
            .fetch_optional(&pool)
            .await
            .unwrap();
            if let Some(run_id) = running {
                run.kill().expect("SIGKILL");
                run.wait().unwrap();
                break run_id;
            }
            assert!(
                run.try_wait().unwrap().is_none(),
                "the run ended before {stage} was caught running"
            );
            assert!(Instant::now() < deadline, "{stage} never ran");
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        let differing = changed_tables(&gold_contents(&pool).await, &served);
        assert!(
            differing.is_empty(),
            "with {stage} dead, gold changed: {differing:?}"
        );

        let next = soundlake(&deployment, &["pipeline", "run"]);
        assert!(
            next.status.success(),
            "after a kill in {stage}: {}",
            String::from_utf8_lossy(&next.stderr)
        );
        let (status, error): (String, Option<String>) =
            sqlx::query_as("SELECT status, error FROM pipeline_runs WHERE run_id = $1")
                .bind(killed_run)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(status, "failed", "{error:?}");
        let differing = changed_tables(&gold_contents(&pool).await, &served);
        assert!(
            differing.is_empty(),
            "after a kill in {stage}, these differ: {differing:?}"
        );
    }
    pool.close().await;
    deployment.finish().await;
}
