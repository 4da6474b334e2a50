//! A Ballista cluster of `soundlake cluster` processes (a scheduler and two executors) runs a
//! pipeline's silver and gold marts SQL, and builds the same silver and gold as a run in the
//! soundlake process over the same bronze: on this host's loopback, on a lake in an object
//! store, and with each executor on a host of its own.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use datafusion::arrow::util::pretty::pretty_format_batches;
use lakehouse::Lake;
use lakehouse::gold::marts::MARTS;
use lakehouse::lake::TableRef;
use lakehouse::silver;

use crate::deployment::{Deployment, free_port, read, soundlake};
use crate::hosts::Hosts;
use crate::listenbrainz::python;
use crate::s3_server::S3Server;

/// A process of the cluster, stopped when dropped.
struct Member {
    child: Child,
    log: PathBuf,
}

impl Member {
    /// `soundlake ARGS` with the deployment's settings (its object store's among them), on
    /// this host or on `host` of `hosts`.
    fn start(
        deployment: &Deployment,
        on: Option<(&Hosts, usize)>,
        args: &[&str],
        log: PathBuf,
    ) -> Self {
        let out = std::fs::File::create(&log).expect("a log file");
        let program = env!("CARGO_BIN_EXE_soundlake");
        let mut command = match on {
            Some((hosts, host)) => hosts.command(host, program),
            None => Command::new(program),
        };
        let child = command
            .envs(deployment.env())
            .args(args)
            .env("RUST_LOG", "warn,server=info,ballista_executor=info")
            .stdout(Stdio::from(out.try_clone().expect("the log file")))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("starting soundlake cluster");
        Self { child, log }
    }

    /// Waits until the log shows `line`, at most a minute.
    fn wait_for(&mut self, line: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if read(&self.log).contains(line) {
                return;
            }
            if let Some(status) = self.child.try_wait().expect("waiting") {
                panic!("exited with {status}; its log:\n{}", read(&self.log));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no `{line}` within a minute; the log:\n{}", read(&self.log));
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scheduler and `executors` executors of one task each, logging into `dir`: all on this
/// host's loopback, or the scheduler on this host's address on `hosts`' network and executor
/// `i` on host `i`.
fn start_cluster(
    deployment: &Deployment,
    hosts: Option<&Hosts>,
    dir: &Path,
    executors: usize,
) -> (String, Vec<Member>) {
    let port = free_port();
    let bind = match hosts {
        Some(hosts) => format!("{}:{port}", hosts.gateway()),
        None => format!("127.0.0.1:{port}"),
    };
    let mut members = vec![Member::start(
        deployment,
        None,
        &["cluster", "scheduler", "--bind", &bind],
        dir.join("scheduler.log"),
    )];
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(&bind).is_err() {
        assert!(
            Instant::now() < deadline,
            "the scheduler is not listening; its log:\n{}",
            read(&members[0].log)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let engine = format!("ballista://{bind}");
    for i in 0..executors {
        let (flight, grpc) = (free_port().to_string(), free_port().to_string());
        let work = dir.join(format!("executor-{i}"));
        std::fs::create_dir_all(&work).expect("a work folder");
        let address = hosts.map(|hosts| hosts.address(i));
        let mut args = vec![
            "cluster",
            "executor",
            "--scheduler",
            &engine,
            "--port",
            &flight,
            "--grpc-port",
            &grpc,
            "--tasks",
            "1",
            "--work-dir",
            work.to_str().expect("a UTF-8 path"),
        ];
        if let Some(address) = &address {
            args.extend(["--host", address.as_str()]);
        }
        let mut executor = Member::start(
            deployment,
            hosts.map(|hosts| (hosts, i)),
            &args,
            dir.join(format!("executor-{i}.log")),
        );
        executor.wait_for("registration succeed");
        members.push(executor);
    }
    (engine, members)
}

/// A lake table's rows as lines of text, sorted.
async fn silver_rows(lake: &Lake, table: TableRef) -> Vec<String> {
    let delta = lake
        .existing_table(table)
        .await
        .unwrap()
        .expect("the table");
    let sql = format!("SELECT * FROM {}", table.sql_name());
    let batches = lake.query_table(table, &delta, &sql).await.unwrap();
    let text = pretty_format_batches(&batches).unwrap().to_string();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

/// Every row of a gold mart, each as JSON with its numbers to 9 significant digits (a sum
/// of doubles may differ in its last bits with the order rows were added in), sorted.
async fn mart_rows(pool: &sqlx::PgPool, mart: &str) -> Vec<String> {
    let sql = format!("SELECT row_to_json(t)::text FROM {mart} t");
    let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await
        .unwrap();
    let mut rows: Vec<String> = rows
        .iter()
        .map(|row| rounded(serde_json::from_str(row).unwrap()).to_string())
        .collect();
    rows.sort();
    rows
}

fn rounded(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => Value::String(format!("{:.8e}", n.as_f64().unwrap())),
        Value::Array(items) => Value::Array(items.into_iter().map(rounded).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(key, value)| (key, rounded(value)))
                .collect(),
        ),
        other => other,
    }
}

/// What a run left in silver and gold.
#[derive(Debug, PartialEq)]
struct Built {
    listens: Vec<String>,
    quarantine: Vec<String>,
    tracks: Vec<String>,
    marts: Vec<(&'static str, Vec<String>)>,
}

async fn built(deployment: &Deployment, pool: &sqlx::PgPool) -> Built {
    let lake = deployment.lake();
    let mut marts = Vec::new();
    for (mart, _) in MARTS {
        marts.push((mart, mart_rows(pool, mart).await));
    }
    Built {
        listens: silver_rows(&lake, silver::listens::TABLE).await,
        quarantine: silver_rows(&lake, silver::listens::QUARANTINE).await,
        tracks: silver_rows(&lake, silver::tracks::TABLE).await,
        marts,
    }
}

async fn silver_listens_version(deployment: &Deployment) -> Option<u64> {
    let table = deployment
        .lake()
        .existing_table(silver::listens::TABLE)
        .await;
    table.unwrap().and_then(|t| t.version())
}

/// How many of silver listens' files name their bounds of `played_at` in their statistics,
/// and how many files it has.
async fn files_with_play_time_bounds(deployment: &Deployment) -> (usize, usize) {
    let lake = deployment.lake();
    let table = lake.existing_table(silver::listens::TABLE).await.unwrap();
    let table = table.expect("silver listens exists");
    let snapshot = table.snapshot().unwrap();
    let (mut bounded, mut files) = (0, 0);
    for file in snapshot.log_data().iter() {
        files += 1;
        let stats: serde_json::Value = serde_json::from_str(&file.stats().unwrap()).unwrap();
        let (min, max) = (
            &stats["minValues"]["played_at"],
            &stats["maxValues"]["played_at"],
        );
        if min.is_string() && max.is_string() && min.as_str() <= max.as_str() {
            bounded += 1;
        }
    }
    (bounded, files)
}

fn run_pipeline(deployment: &Deployment, engine: &str) -> std::process::Output {
    soundlake(
        deployment,
        &[
            "pipeline",
            "run",
            "--full",
            "--until",
            "gold_marts",
            "--engine",
            engine,
        ],
    )
}

#[tokio::test]
async fn a_ballista_cluster_builds_the_same_silver_and_gold_as_a_local_run() {
    let deployment = Deployment::new().await;
    builds_the_same_on_a_cluster(deployment, None).await;
}

/// Each executor on a host of its own, with its own address and loopback: the members find
/// one another only at the addresses they advertise, and the executors need nothing of the
/// client's host but the lake (a folder every member reaches by the same path, as a network
/// file system would give).
#[tokio::test]
async fn a_cluster_on_hosts_of_their_own_builds_the_same() {
    let hosts = Hosts::create(2);
    let deployment = Deployment::new().await;
    builds_the_same_on_a_cluster(deployment, Some(&hosts)).await;
}

#[tokio::test]
async fn a_cluster_builds_the_same_on_a_lake_in_an_object_store() {
    let s3 = S3Server::start(&python());
    let deployment = Deployment::new().await.on_object_store(&s3, "cluster");
    builds_the_same_on_a_cluster(deployment, None).await;
    // The executors' intermediate results are gone with the stages that made them.
    let left = s3.keys("cluster/_scratch/");
    assert_eq!(left, Vec::<String>::new(), "scratch files left behind");
}

/// Runs the pipeline over a simulated history in the soundlake process, then on a cluster of
/// a scheduler and two executors (on `hosts`, when given), and compares what each built.
async fn builds_the_same_on_a_cluster(deployment: Deployment, hosts: Option<&Hosts>) {
    deployment.write_demo(1000).await;
    let pool = deployment.pool().await;
    let local = run_pipeline(&deployment, "local");
    assert!(
        local.status.success(),
        "{}",
        String::from_utf8_lossy(&local.stderr)
    );
    let expected = built(&deployment, &pool).await;
    assert!(expected.listens.len() > 1000, "a history to compare");
    let silver_version = silver_listens_version(&deployment).await;

    // No scheduler at the address: the run fails rather than running here.
    let nowhere = format!("ballista://127.0.0.1:{}", free_port());
    let refused = run_pipeline(&deployment, &nowhere);
    assert!(
        !refused.status.success(),
        "a run without its cluster succeeded"
    );

    let logs = tempfile::tempdir().unwrap();
    let (engine, members) = start_cluster(&deployment, hosts, logs.path(), 2);
    let on_cluster = run_pipeline(&deployment, &engine);
    assert!(
        on_cluster.status.success(),
        "{}\nthe scheduler's log:\n{}",
        String::from_utf8_lossy(&on_cluster.stderr),
        read(&members[0].log)
    );
    let rebuilt = silver_listens_version(&deployment).await;
    assert!(rebuilt > silver_version, "the cluster's run rewrote silver");
    let (bounded, files) = files_with_play_time_bounds(&deployment).await;
    assert!(files > 0);
    assert_eq!(
        bounded, files,
        "files whose statistics bound their play times"
    );
    for executor in &members[1..] {
        let log = read(&executor.log);
        assert!(
            log.contains("Execute task") || log.contains("Received task"),
            "an executor ran no task; its log:\n{log}"
        );
    }
    let on_cluster = built(&deployment, &pool).await;
    assert_eq!(on_cluster.listens, expected.listens, "silver listens");
    assert_eq!(on_cluster.quarantine, expected.quarantine, "the quarantine");
    assert_eq!(on_cluster.tracks, expected.tracks, "silver tracks");
    for ((mart, rows), (_, expected_rows)) in on_cluster.marts.iter().zip(&expected.marts) {
        assert_eq!(rows, expected_rows, "the mart {mart}");
    }
    drop(members);
    pool.close().await;
    deployment.finish().await;
}
