//! Two `soundlake serve` processes on one lake and one database: both ingest and lose nothing,
//! one pipeline run at a time across them, and a listen taken by one moves a list followed on
//! the other.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::api_recommendations::next_list;
use crate::deployment::{Deployment, post_listens, soundlake, stored_events};
use crate::support::{ADMIN_TOKEN, client_with_token, track_ids};

/// Posts `batches` batches of 100 listens of `client`'s own to `base`; returns them by id.
async fn ingest(base: String, client: usize, batches: usize) -> Vec<(String, String)> {
    let http = client_with_token(ADMIN_TOKEN);
    let mut acknowledged = Vec::new();
    for batch in 0..batches {
        let events: Vec<(String, String)> = (0..100)
            .map(|i| {
                let id = format!("two-{client}-{batch}-{i}");
                let event = json!({
                    "event_id": id,
                    "user_id": format!("two-listener-{}", i % 7),
                    "track_id": format!("two-track-{}", i % 31),
                    "played_at": (chrono::Utc::now() - chrono::Duration::minutes(i as i64))
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "ms_played": 40_000,
                });
                (id, event.to_string())
            })
            .collect();
        let answer = post_listens(&http, &base, &events)
            .await
            .expect("an answer");
        assert!(answer.status().is_success(), "{}", answer.status());
        acknowledged.extend(events);
    }
    acknowledged
}

async fn start_run(base: &str) -> (u16, Value) {
    let answer = client_with_token(ADMIN_TOKEN)
        .post(format!("{base}/api/v1/pipeline/runs"))
        .send()
        .await
        .expect("an answer");
    (answer.status().as_u16(), answer.json().await.expect("JSON"))
}

#[tokio::test]
async fn two_instances_ingest_together_run_one_pipeline_at_a_time_and_share_live_lists() {
    let deployment = Deployment::new().await;
    deployment.write_demo(2000).await;
    let first_run = soundlake(&deployment, &["pipeline", "run"]);
    assert!(
        first_run.status.success(),
        "{}",
        String::from_utf8_lossy(&first_run.stderr)
    );
    let (one, two) = (deployment.serve().await, deployment.serve().await);

    // A listener the model knows follows their list on the second instance, and plays on the
    // first.
    let pool = deployment.pool().await;
    // (One without feedback: feedback already moves a list at its first read.)
    let listener: String = sqlx::query_scalar(
        "SELECT r.user_id FROM recommendations r JOIN model_versions v USING (model_version)
         WHERE v.is_current
           AND NOT EXISTS (SELECT 1 FROM feedback f WHERE f.user_id = r.user_id)
         ORDER BY r.user_id LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let admin = client_with_token(ADMIN_TOKEN);
    let mut stream = admin
        .get(format!(
            "{}/api/v1/users/{listener}/recommendations/events",
            two.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let mut buffer = String::new();
    let followed = next_list(&mut stream, &mut buffer, |_| true).await;
    assert_eq!(followed["reranked"], false, "{followed}");
    let played = track_ids(&followed)[0].clone();
    let listen = json!([{
        "event_id": "across-instances-1",
        "user_id": listener,
        "track_id": played,
        "played_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "ms_played": 120_000,
    }]);
    let answer = admin
        .post(format!("{}/api/v1/listens", one.base))
        .json(&listen)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let acknowledged_at = Instant::now();
    let moved = tokio::time::timeout(
        Duration::from_secs(1),
        next_list(&mut stream, &mut buffer, |l| l["reranked"] == true),
    )
    .await
    .expect("the list followed on the other instance moves within a second of the listen");
    assert!(acknowledged_at.elapsed() < Duration::from_secs(1));
    assert!(!track_ids(&moved).contains(&played), "{moved}");
    drop(stream);

    // Four clients, two on each instance, ingest at once: every listen acknowledged is in
    // bronze exactly once.
    let clients: Vec<_> = (0..4)
        .map(|client| {
            let base = [&one.base, &two.base][client % 2].clone();
            tokio::spawn(ingest(base, client, 15))
        })
        .collect();
    let mut acknowledged = Vec::new();
    for client in clients {
        acknowledged.extend(client.await.expect("a client"));
    }
    assert_eq!(acknowledged.len(), 4 * 15 * 100);
    let stored = stored_events(&deployment.lake()).await;
    for (id, sent) in &acknowledged {
        let (raw, copies) = stored
            .get(id)
            .unwrap_or_else(|| panic!("acknowledged event {id} is not in bronze"));
        assert_eq!(raw, sent);
        assert_eq!(*copies, 1, "{id} is stored once");
    }

    // One run at a time across the instances.
    let (status, started) = start_run(&one.base).await;
    assert_eq!(status, 202, "{started}");
    let (status, refused) = start_run(&two.base).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "run_in_progress");
    let run = started["run"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let record = loop {
        let record: Value = admin
            .get(format!("{}{run}", two.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if record["status"] != "running" {
            break record;
        }
        assert!(Instant::now() < deadline, "the run did not end: {record}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(record["status"], "succeeded", "{record}");
    let (status, next) = start_run(&two.base).await;
    assert_eq!(
        status, 202,
        "once it ended, the other instance starts a run: {next}"
    );

    pool.close().await;
    drop((one, two));
    deployment.finish().await;
}
