//! PostgreSQL stopped for a minute under a running server: ingest goes on, health and pages
//! say so, and everything recovers by itself.

use std::time::{Duration, Instant};

use lakehouse::bronze::listens::LISTENS;

use super::event;
use crate::deployment::{Deployment, read};
use crate::support::{ADMIN_TOKEN, client_with_token};

/// How long PostgreSQL stays away.
const OUTAGE: Duration = Duration::from_secs(60);

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

    // The outage, a minute long: health says so throughout, listens keep landing in the lake,
    // the pages show it, and the schedule's runs fail without stopping the server.
    let stopped = Instant::now();
    let mut sent = 0;
    while stopped.elapsed() < OUTAGE {
        sent += 1;
        assert_eq!(
            post_one(&serving.base, sent).await,
            200,
            "listen {sent}, {:?} into the outage",
            stopped.elapsed()
        );
        if sent % 10 == 1 {
            let health = http
                .get(format!("{}/api/v1/health", serving.base))
                .send()
                .await
                .unwrap();
            assert_eq!(health.status(), 503);
            let body: serde_json::Value = health.json().await.unwrap();
            assert_eq!(body["status"], "degraded", "{body}");
            assert!(
                page_notice_within(&http, &serving.base, true).await,
                "the pages show the outage; log:\n{}",
                read(&serving.log)
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        read(&serving.log).contains("scheduled pipeline run: "),
        "the schedule tried and failed in the outage; log:\n{}",
        read(&serving.log)
    );

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
    assert_eq!(post_one(&serving.base, sent + 1).await, 200);
    assert!(
        page_notice_within(&http, &serving.base, false).await,
        "the notice is gone once the database answers"
    );

    // Every listen of the outage is in bronze, and the schedule runs again by itself.
    let bronze = lakehouse::lake::count_rows(&deployment.lake(), LISTENS)
        .await
        .unwrap();
    assert_eq!(bronze, sent as i64 + 2);
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
