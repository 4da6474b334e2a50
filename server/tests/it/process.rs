//! The `soundlake serve` process itself, started from the built binary: what survives a
//! SIGKILL, and how it stops on SIGTERM.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use lakehouse::bronze::listens::LISTENS;

use crate::deployment::{Deployment, post_listens, read, soundlake, stored_events};
use crate::support::{ADMIN_TOKEN, client_with_token};

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
        let answered = post_listens(&http, &base, &events).await;
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

    let stored = stored_events(&deployment.lake()).await;
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
    let answer = post_listens(&client_with_token(ADMIN_TOKEN), base, &events)
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

/// Whether the home page shows (`shown`) or does not show the database notice within 10 s.
async fn page_notice_within(http: &reqwest::Client, base: &str, shown: bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(page) = http.get(format!("{base}/")).send().await
            && page
                .text()
                .await
                .unwrap_or_default()
                .contains("id=\"degraded\"")
                == shown
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    false
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
        tokio::task::spawn_blocking(move || {
            server::infra::embedded_postgres::EmbeddedPostgres::start(&root, None)
        })
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
    // Pages say so.
    assert!(
        page_notice_within(&http, &serving.base, true).await,
        "the pages show the outage; log:\n{}",
        read(&serving.log)
    );
    tokio::time::sleep(Duration::from_secs(1)).await;

    drop(cluster);
    let restarted = tokio::task::spawn_blocking(move || {
        server::infra::embedded_postgres::EmbeddedPostgres::start(&root, None)
            .expect("restarting PostgreSQL")
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
    assert!(
        page_notice_within(&http, &serving.base, false).await,
        "the notice is gone once the database answers"
    );

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
    deployment.write_demo(2000).await;

    let clean = soundlake(&deployment, &["pipeline", "run"]);
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );
    let pool = deployment.pool().await;
    let served = lakehouse::gold::fingerprint::tables(&pool).await.unwrap();
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
        let differing = changed_tables(
            &lakehouse::gold::fingerprint::tables(&pool).await.unwrap(),
            &served,
        );
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
        let differing = changed_tables(
            &lakehouse::gold::fingerprint::tables(&pool).await.unwrap(),
            &served,
        );
        assert!(
            differing.is_empty(),
            "after a kill in {stage}, these differ: {differing:?}"
        );
    }
    pool.close().await;
    deployment.finish().await;
}
