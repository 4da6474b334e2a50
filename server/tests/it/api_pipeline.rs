//! Pipeline runs through the API: the admin credential, starting and following a run, and the
//! lake's tables after it.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{ADMIN_TOKEN, TestApp};

async fn post_run(app: &TestApp, token: Option<&str>) -> (u16, Value) {
    let mut request = app
        .client
        .post(format!("{}/api/v1/pipeline/runs", app.base))
        .json(&json!({}));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("answered");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

/// Posts listens of the catalogue's first tracks by two users, on two days.
async fn post_listens(app: &TestApp) -> usize {
    let (_, page) = app.get_json("/api/v1/tracks?per_page=5").await;
    let tracks: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["track_id"].as_str().unwrap())
        .collect();
    let mut events = Vec::new();
    for (i, track) in tracks.iter().enumerate() {
        for (user, day) in [("ana", "2026-11-02"), ("ben", "2026-11-03")] {
            events.push(json!({"event_id": format!("{user}-{i}"), "user_id": user,
                "track_id": track, "played_at": format!("{day}T1{i}:00:00Z"), "ms_played": 45000}));
        }
    }
    let (status, body) = app.post_json("/api/v1/listens", &json!(events)).await;
    assert_eq!(status, 200, "{body}");
    events.len()
}

#[tokio::test]
async fn starting_a_run_needs_the_admin_token() {
    let app = TestApp::start().await;
    let (status, body) = post_run(&app, None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized");
    let (status, body) = post_run(&app, Some("not-the-token")).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "invalid_token");
    let (_, runs) = app.get_json("/api/v1/pipeline/runs").await;
    assert_eq!(runs, json!([]), "no run was started");
    app.finish().await;
}

#[tokio::test]
async fn an_admin_starts_a_run_follows_it_and_sees_the_lake_it_built() {
    let app = TestApp::start().await;
    let posted = post_listens(&app).await;
    let (status, body) = post_run(&app, Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 202, "{body}");
    let run_id = body["run_id"].as_i64().unwrap();

    // The event stream ends when the run does; its last event says how it ended.
    let events = tokio::time::timeout(
        Duration::from_secs(120),
        app.get(&format!("/api/v1/pipeline/runs/{run_id}/events"))
            .await
            .text(),
    )
    .await
    .expect("the run finishes within two minutes")
    .unwrap();
    assert!(events.starts_with("event: run\n"), "{events}");
    let last = events
        .trim_end()
        .lines()
        .rfind(|l| l.starts_with("data: "))
        .unwrap();
    assert!(last.contains("\"status\":\"succeeded\""), "{events}");

    let (status, run) = app
        .get_json(&format!("/api/v1/pipeline/runs/{run_id}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["trigger"], "api");
    let stages: Vec<&str> = run["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        [
            "silver_tracks",
            "silver_listens",
            "gold_tracks",
            "gold_marts",
            "ml",
            "lake_maintenance"
        ]
    );
    let silver = &run["stages"][1];
    assert_eq!(silver["rows_out"], posted);
    assert!(
        silver["versions_read"]["bronze/listens"].is_i64(),
        "{silver}"
    );

    let (_, tables) = app.get_json("/api/v1/lake/tables").await;
    let listens = tables
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "silver/listens")
        .expect("silver/listens is listed");
    assert_eq!(listens["rows"], posted);
    assert_eq!(listens["partitions"], 2, "two days played");
    assert_eq!(
        listens["partition_columns"],
        json!(["year", "month", "day"])
    );

    let (status, first) = app
        .get_json("/api/v1/lake/tables/silver/listens?version=0")
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["version"], 0);
    let (status, _) = app
        .get_json("/api/v1/lake/tables/silver/listens?version=999")
        .await;
    assert_eq!(status, 404);
    let (status, _) = app.get_json("/api/v1/lake/tables/silver/nothing").await;
    assert_eq!(status, 404);

    let (status, missing) = app.get_json("/api/v1/pipeline/runs/987654").await;
    assert_eq!(status, 404, "{missing}");
    app.finish().await;
}
