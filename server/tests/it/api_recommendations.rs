//! Recommendations through the API: nothing before the first model, lists after a pipeline
//! run, a listen that moves the served list within a second (read and followed as server-sent
//! events), feedback, similar tracks, clusters and the model registry.

use std::time::{Duration, Instant};

use chrono::Utc;
use lakehouse::simulate::{Simulation, simulate};
use serde_json::{Value, json};

use crate::support::{TestApp, post_history, track_ids};

/// Posts a simulated history through the ingest API and runs the pipeline to the end.
pub(crate) async fn with_model(app: &TestApp) {
    let tracks = lakehouse::gold::tracks::simulation_tracks(&app.pool)
        .await
        .unwrap();
    let listens = simulate(&Simulation::ending_today(40, 14, 10.0, 3), &tracks);
    post_history(app, &listens).await;
    crate::support::run_pipeline(app).await;
}

/// Posts a play of `track` by `user`, now, and checks it was accepted.
async fn play(app: &TestApp, user: &str, track: &str, ms_played: u32) {
    let (status, body) = app
        .post_json(
            "/api/v1/listens",
            &json!({"user_id": user, "track_id": track,
                "played_at": Utc::now().to_rfc3339(), "ms_played": ms_played}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

fn reasons(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["reason"].as_str().unwrap())
        .collect()
}

/// Reads server-sent events from `response` until one of type `recommendations` satisfies
/// `done`, and returns it.
pub(crate) async fn next_list(
    response: &mut reqwest::Response,
    buffer: &mut String,
    done: impl Fn(&Value) -> bool,
) -> Value {
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                let list: Value = serde_json::from_str(data).unwrap();
                if done(&list) {
                    return list;
                }
            }
        }
        let chunk = response
            .chunk()
            .await
            .unwrap()
            .expect("the stream stays open");
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

#[tokio::test]
async fn a_listen_moves_the_served_list_within_a_second() {
    let app = TestApp::start().await;
    let (status, body) = app.get_json("/api/v1/users/someone/recommendations").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "not_found");

    with_model(&app).await;
    let (status, list) = app
        .get_json("/api/v1/users/user-00001/recommendations")
        .await;
    assert_eq!(status, 200, "{list}");
    let before = track_ids(&list);
    assert_eq!(before.len(), 20);
    assert_eq!(list["reranked"], false);
    assert!(list["items"][0]["reason"].as_str().unwrap().len() > 5);

    // Follow the list, then play its first track.
    let mut stream = app
        .get("/api/v1/users/user-00001/recommendations/events")
        .await;
    let mut buffer = String::new();
    let first = next_list(&mut stream, &mut buffer, |_| true).await;
    assert_eq!(track_ids(&first)[..20], before[..]);
    let played = before[0].clone();
    let sent = Instant::now();
    play(&app, "user-00001", &played, 120_000).await;
    let moved = tokio::time::timeout(
        Duration::from_secs(1),
        next_list(&mut stream, &mut buffer, |l| {
            !track_ids(l).contains(&played)
        }),
    )
    .await
    .expect("the followed list changes within a second of the listen");
    assert!(sent.elapsed() < Duration::from_secs(1));
    assert_eq!(moved["reranked"], true);
    assert!(
        reasons(&moved)
            .iter()
            .any(|r| r.starts_with("because you just played ")),
        "the session pulls similar tracks up: {:?}",
        reasons(&moved)
    );

    // A track the model has no similar tracks for (nobody played it before the run): what
    // sounds like it comes up.
    let (lonely, name): (String, String) = sqlx::query_as(
        "SELECT t.track_id, t.name FROM tracks t JOIN track_map m USING (track_id)
         WHERE NOT EXISTS (SELECT 1 FROM similar_tracks s WHERE s.track_id = t.track_id)
         ORDER BY t.track_id LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    play(&app, "user-00001", &lonely, 60_000).await;
    let expected = format!("because you just played {name}");
    let moved = tokio::time::timeout(
        Duration::from_secs(1),
        next_list(&mut stream, &mut buffer, |l| {
            reasons(l).contains(&expected.as_str())
        }),
    )
    .await
    .expect("tracks that sound like the lonely track come up within a second");
    assert!(!track_ids(&moved).contains(&lonely));

    // A plain read sees the same list.
    let (_, read) = app
        .get_json("/api/v1/users/user-00001/recommendations")
        .await;
    assert!(!track_ids(&read).contains(&played));
    app.finish().await;
}

#[tokio::test]
async fn feedback_applies_at_once_and_bad_feedback_is_refused() {
    let app = TestApp::start().await;
    with_model(&app).await;
    let (_, list) = app
        .get_json("/api/v1/users/user-00002/recommendations")
        .await;
    let top = track_ids(&list)[0].clone();
    let artist = list["items"][1]["artists"][0].as_str().unwrap().to_owned();

    let path = "/api/v1/users/user-00002/feedback";
    let (status, after) = app
        .post_json(path, &json!({"kind": "dislike", "track_id": top}))
        .await;
    assert_eq!(status, 200, "{after}");
    assert!(!track_ids(&after).contains(&top));
    let (status, after) = app
        .post_json(path, &json!({"kind": "do_not_recommend", "artist": artist}))
        .await;
    assert_eq!(status, 200, "{after}");
    assert!(
        after["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["artists"][0] != artist.as_str()),
        "{after}"
    );
    let (_, read) = app
        .get_json("/api/v1/users/user-00002/recommendations")
        .await;
    assert!(!track_ids(&read).contains(&top));
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM feedback WHERE user_id = 'user-00002'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, 2);

    for (body, status) in [
        (json!({"kind": "love", "track_id": top}), 422),
        (json!({"kind": "like"}), 422),
        (
            json!({"kind": "like", "track_id": top, "artist": artist}),
            422,
        ),
        (json!({"kind": "like", "track_id": "no-such-track"}), 404),
        (json!({"kind": "like", "track": top}), 400),
    ] {
        let (got, answer) = app.post_json(path, &body).await;
        assert_eq!(got, status, "{body} → {answer}");
        assert!(answer["error"]["message"].as_str().is_some(), "{answer}");
    }
    app.finish().await;
}

#[tokio::test]
async fn similar_tracks_clusters_and_models_are_served() {
    let app = TestApp::start().await;
    with_model(&app).await;
    let (_, list) = app
        .get_json("/api/v1/users/user-00003/recommendations")
        .await;
    let track = track_ids(&list)[0].clone();
    let (status, similar) = app
        .get_json(&format!("/api/v1/tracks/{track}/similar?limit=10"))
        .await;
    assert_eq!(status, 200, "{similar}");
    let items = similar["items"].as_array().unwrap();
    assert_eq!(items.len(), 10, "{similar}");
    assert!(items.iter().all(|i| i["track_id"] != track.as_str()));
    let (status, _) = app.get_json("/api/v1/tracks/nope/similar").await;
    assert_eq!(status, 404);

    let (_, clusters) = app.get_json("/api/v1/clusters").await;
    let sizes: i64 = clusters["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["size"].as_i64().unwrap())
        .sum();
    assert_eq!(sizes, 600, "every track is in a cluster: {clusters}");
    assert!(
        clusters["k_scores"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["chosen"] == true)
    );
    assert!(clusters["clusters"][0]["label"].as_str().unwrap().len() > 3);

    let (_, map) = app.get_json("/api/v1/clusters/map?limit=100").await;
    let points = map["points"].as_array().unwrap();
    assert_eq!(points.len(), 100, "{map}");
    assert!(
        points
            .iter()
            .all(|p| p["x"].is_number() && p["cluster_id"].is_number())
    );
    let (again, _) = app.get_json("/api/v1/clusters/map?limit=100").await;
    assert_eq!(again, 200);
    let (_, segments) = app.get_json("/api/v1/segments").await;
    let members: i64 = segments["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["size"].as_i64().unwrap())
        .sum();
    let listeners: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    // Listeners with at least one track they did not mostly skip.
    assert!(
        members > listeners / 2 && members <= listeners,
        "{members} of {listeners} listeners in segments: {segments}"
    );

    let (_, models) = app.get_json("/api/v1/models").await;
    let current = &models["items"][0];
    assert_eq!(current["is_current"], true, "{models}");
    let families: Vec<&str> = current["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["model"].as_str().unwrap())
        .collect();
    for family in [
        "popularity",
        "item_knn",
        "rp3beta",
        "user_knn",
        "als",
        "ease",
        "content",
        "hybrid",
    ] {
        assert!(families.contains(&family), "{family} in {families:?}");
    }
    let chosen = current["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["chosen"] == true)
        .expect("one model is chosen");
    assert_eq!(chosen["model"], current["model"]);
    // The published lists' diversity, measured over every list.
    let diversity = &current["diversity"];
    let figure = |name: &str| diversity[name].as_f64().unwrap_or(-1.0);
    assert!(diversity["lists"].as_u64().unwrap_or(0) > 0, "{diversity}");
    assert!(figure("sound") > 0.0, "{diversity}");
    assert!((0.0..=1.0).contains(&figure("artists")) && figure("artists") > 0.0);
    assert!(figure("mean_popularity_rank") >= 1.0, "{diversity}");
    assert!((0.0..=1.0).contains(&figure("popularity_rank_share")));
    app.finish().await;
}

#[tokio::test]
async fn an_event_stream_and_its_subscription_end_when_the_client_goes_away() {
    let app = TestApp::start().await;
    let user = "leaving-listener";
    let mut response = app
        .get(&format!("/api/v1/users/{user}/recommendations/events"))
        .await;
    assert_eq!(response.status(), 200);
    let first = response.chunk().await.expect("a first event");
    assert!(first.is_some());
    assert_eq!(app.live.followers(user), 1);

    drop(response);
    // Well within the stream's keep-alive interval (15 s): ending at the next write to the
    // closed connection would be too late.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while app.live.followers(user) > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.live.followers(user),
        0,
        "the stream's task let go of the list with no new event sent"
    );
    app.finish().await;
}
