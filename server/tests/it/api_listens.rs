//! `POST /api/v1/listens`: validation, durable acknowledgement, group commit under concurrency.

use lakehouse::bronze::listens::{LISTENS, REJECTED};
use lakehouse::lake::{Lake, count_rows};
use serde_json::{Value, json};

use crate::support::TestApp;

fn listen(id: &str, track: &str) -> Value {
    json!({"event_id": id, "user_id": "u1", "track_id": track,
           "played_at": "2026-01-05T10:00:00Z", "ms_played": 20000, "end_reason": "trackdone"})
}

async fn some_track(app: &TestApp) -> String {
    let (_, page) = app.get_json("/api/v1/tracks?per_page=1").await;
    page["items"][0]["track_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_mixed_batch_stores_the_good_events_and_reports_each_bad_one() {
    let app = TestApp::start().await;
    let track = some_track(&app).await;
    let mut too_long = listen("e3", &track);
    too_long["ms_played"] = json!(23 * 60 * 60 * 1000);
    let batch = json!([
        listen("e1", &track),
        {"user_id": "u1", "track_id": track, "played_at": "not a time", "ms_played": 1},
        listen("e2", "unknown-track"),
        too_long,
        {"user_id": "u2", "track_id": track, "played_at": "2026-01-05T10:00:00Z", "ms_played": 5, "mood": "happy"},
    ]);
    let (status, body) = app.post_json("/api/v1/listens", &batch).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], 2);
    assert_eq!(body["event_ids"], json!(["e1", "e2"]));
    let rejected = body["rejected"].as_array().unwrap();
    let indexes: Vec<i64> = rejected
        .iter()
        .map(|r| r["index"].as_i64().unwrap())
        .collect();
    assert_eq!(indexes, [1, 3, 4]);
    assert!(
        rejected[0]["reason"]
            .as_str()
            .unwrap()
            .contains("played_at")
    );
    assert!(
        rejected[1]["reason"]
            .as_str()
            .unwrap()
            .contains("longer than the track")
    );
    assert!(rejected[2]["reason"].as_str().unwrap().contains("mood"));

    // Acknowledged means committed: a fresh reader of the lake sees them.
    let reader = Lake::new(app.lake.local_root().expect("a local lake"));
    assert_eq!(count_rows(&reader, LISTENS).await.unwrap(), 2);
    assert_eq!(count_rows(&reader, REJECTED).await.unwrap(), 3);
    app.finish().await;
}

#[tokio::test]
async fn a_request_with_only_bad_events_is_a_422_and_they_are_kept_as_rejected() {
    let app = TestApp::start().await;
    let (status, body) = app
        .post_json("/api/v1/listens", &json!({"user_id": "u1"}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["accepted"], 0);
    assert!(
        body["rejected"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("track_id is missing")
    );
    assert_eq!(count_rows(&app.lake, REJECTED).await.unwrap(), 1);
    app.finish().await;
}

#[tokio::test]
async fn oversized_requests_are_refused_with_413() {
    let app = TestApp::start().await;
    let many: Vec<Value> = (0..1_001).map(|i| listen(&format!("e{i}"), "t")).collect();
    let (status, body) = app.post_json("/api/v1/listens", &Value::Array(many)).await;
    assert_eq!(status, 413);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 1000")
    );

    let mut huge = listen("big", "t");
    huge["end_reason"] = json!("x".repeat(11 * 1024));
    let (status, _) = app.post_json("/api/v1/listens", &huge).await;
    assert_eq!(status, 413);
    assert_eq!(count_rows(&app.lake, LISTENS).await.unwrap(), 0);
    app.finish().await;
}

#[tokio::test]
async fn the_same_event_id_twice_is_stored_raw_twice() {
    let app = TestApp::start().await;
    let track = some_track(&app).await;
    for _ in 0..2 {
        let (status, _) = app
            .post_json("/api/v1/listens", &listen("same", &track))
            .await;
        assert_eq!(status, 200);
    }
    assert_eq!(count_rows(&app.lake, LISTENS).await.unwrap(), 2);
    app.finish().await;
}

#[tokio::test]
async fn ndjson_bulk_loads_take_more_than_a_thousand_events() {
    let app = TestApp::start().await;
    let track = some_track(&app).await;
    let body: String = (0..2_500)
        .map(|i| format!("{}\n", listen(&format!("n{i}"), &track)))
        .collect();
    let response = app
        .admin
        .post(format!("{}/api/v1/listens", app.base))
        .header("content-type", "application/x-ndjson")
        .body(body + "{broken json\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["accepted"], 2_500);
    assert_eq!(body["rejected"][0]["index"], 2_500);
    assert!(
        body["rejected"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    app.finish().await;
}

#[tokio::test]
async fn concurrent_clients_share_commits_and_every_acknowledged_event_is_in_bronze() {
    let app = TestApp::start().await;
    let track = some_track(&app).await;
    let clients = 8;
    let requests = 10;
    let per_request = 50;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, base, track) = (app.admin.clone(), app.base.clone(), track.clone());
        tasks.push(tokio::spawn(async move {
            let mut acknowledged = 0;
            for r in 0..requests {
                let batch: Vec<Value> = (0..per_request)
                    .map(|i| listen(&format!("c{c}-r{r}-{i}"), &track))
                    .collect();
                let response = client
                    .post(format!("{base}/api/v1/listens"))
                    .json(&batch)
                    .send()
                    .await
                    .unwrap();
                if response.status() == 200 {
                    let body: Value = response.json().await.unwrap();
                    acknowledged += body["accepted"].as_i64().unwrap();
                }
            }
            acknowledged
        }));
    }
    let mut acknowledged = 0;
    for task in tasks {
        acknowledged += task.await.unwrap();
    }
    assert_eq!(acknowledged, (clients * requests * per_request) as i64);
    assert_eq!(count_rows(&app.lake, LISTENS).await.unwrap(), acknowledged);
    let table = app.lake.existing_table(LISTENS).await.unwrap().unwrap();
    let commits = table.version().unwrap() + 1;
    assert!(
        commits < (clients * requests) as u64,
        "{commits} commits for {} requests",
        clients * requests
    );
    app.finish().await;
}

#[tokio::test]
async fn acknowledged_events_survive_a_restart_and_the_new_server_appends_after_them() {
    let mut app = TestApp::start().await;
    let track = some_track(&app).await;
    let first: Vec<Value> = (0..100).map(|i| listen(&format!("a{i}"), &track)).collect();
    assert_eq!(
        app.post_json("/api/v1/listens", &Value::Array(first))
            .await
            .0,
        200
    );
    let before = app
        .lake
        .existing_table(LISTENS)
        .await
        .unwrap()
        .unwrap()
        .version()
        .unwrap();

    app.restart().await;
    let second: Vec<Value> = (0..100).map(|i| listen(&format!("b{i}"), &track)).collect();
    assert_eq!(
        app.post_json("/api/v1/listens", &Value::Array(second))
            .await
            .0,
        200
    );

    let reader = Lake::new(app.lake.local_root().expect("a local lake"));
    assert_eq!(count_rows(&reader, LISTENS).await.unwrap(), 200);
    let after = reader
        .existing_table(LISTENS)
        .await
        .unwrap()
        .unwrap()
        .version()
        .unwrap();
    assert_eq!(
        after,
        before + 1,
        "the new server's commit follows the old one's"
    );
    app.finish().await;
}

#[tokio::test]
async fn the_simulator_streams_listens_into_a_running_server_at_its_rate() {
    let app = TestApp::start().await;
    let tracks = lakehouse::gold::tracks::simulation_tracks(&app.pool)
        .await
        .unwrap();
    let sim = lakehouse::simulate::Simulation::ending_today(20, 3, 10.0, 5);
    // The stream posts with an ingest-scoped service token.
    let admin = server::accounts::store::create(
        &app.pool,
        &server::accounts::store::NewAccount {
            name: "ops",
            role: server::accounts::Role::Admin,
            listener_id: None,
            password: "a long enough password",
        },
    )
    .await
    .unwrap();
    let (_, token) = server::accounts::tokens::create(
        &app.pool,
        &admin,
        "stream",
        server::accounts::tokens::Scope::Ingest,
    )
    .await
    .unwrap();
    let target = server::cli::simulate::stream::StreamTarget {
        url: app.base.clone(),
        token,
    };
    let started = std::time::Instant::now();
    let report = server::cli::simulate::stream::stream(&target, 400, sim, &tracks, Some(250))
        .await
        .unwrap();
    assert_eq!(
        report,
        server::cli::simulate::stream::StreamReport {
            sent: 250,
            accepted: 250,
            failed: 0
        }
    );
    // 40 listens per 100 ms tick: 250 take at least six ticks.
    assert!(started.elapsed() >= std::time::Duration::from_millis(500));
    let reader = Lake::new(app.lake.local_root().expect("a local lake"));
    assert_eq!(count_rows(&reader, LISTENS).await.unwrap(), 250);
    app.finish().await;
}
