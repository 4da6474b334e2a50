//! A listener's own pages: their tops, latest listens and taste segment on `/for-you`, as gold
//! holds them, and a track's page.

use serde_json::Value;
use server::accounts::Role;
use server::accounts::store::{self, NewAccount};

use crate::support::{TestApp, browser, log_in};

#[tokio::test]
async fn a_listener_sees_their_own_tops_latest_listens_and_segment() {
    let app = TestApp::start().await;
    crate::api_recommendations::with_model(&app).await;
    store::create(
        &app.pool,
        &NewAccount {
            name: "ana",
            role: Role::Listener,
            listener_id: Some("user-00001"),
            password: "a long enough password",
        },
    )
    .await
    .unwrap();
    let cookie = log_in(&app, "ana", "a long enough password").await.unwrap();
    let ana = browser(&app, &cookie);
    let overview: Value = ana
        .get(format!("{}/api/listener_overview?user=", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(overview["user_id"], "user-00001");

    // The tops are gold's user_tops of that listener, every period and kind.
    let expected: Vec<(String, String, i16, String, i64)> = sqlx::query_as(
        "SELECT period, kind, rank, item, listens FROM user_tops
         WHERE user_id = 'user-00001' ORDER BY period, kind, rank",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(!expected.is_empty());
    let got: Vec<(String, String, i16, String, i64)> = overview["tops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["period"].as_str().unwrap().to_owned(),
                t["kind"].as_str().unwrap().to_owned(),
                t["rank"].as_i64().unwrap() as i16,
                t["item"].as_str().unwrap().to_owned(),
                t["listens"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, expected);

    // The latest listens are that listener's, newest first, at most 20.
    let recent = overview["recent"].as_array().unwrap();
    assert!(!recent.is_empty() && recent.len() <= 20, "{}", recent.len());
    let times: Vec<&str> = recent
        .iter()
        .map(|r| r["played_at"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted);
    let newest: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(
        "SELECT max(played_at) FROM user_recent_listens WHERE user_id = 'user-00001'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(times[0]).unwrap(),
        newest
    );

    // The segment, with the listener's taste beside its centre for every feature.
    let segment = &overview["segment"];
    assert!(segment["label"].is_string(), "{overview}");
    assert_eq!(segment["features"].as_array().unwrap().len(), 9);

    // Another listener's overview is refused.
    let other = ana
        .get(format!(
            "{}/api/listener_overview?user=user-00002",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 403);

    // The page renders the tops.
    let page = ana
        .get(format!("{}/for-you", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"my-tops\""), "the tops are rendered");
    assert!(
        page.contains("id=\"segment-label\""),
        "the segment is rendered"
    );
    app.finish().await;
}

#[tokio::test]
async fn a_track_page_shows_its_features_cluster_and_similar_tracks() {
    let app = TestApp::start().await;
    crate::api_recommendations::with_model(&app).await;
    let track: String =
        sqlx::query_scalar("SELECT track_id FROM similar_tracks ORDER BY track_id, rank LIMIT 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let data: Value = app
        .get(&format!("/api/track_page?track_id={track}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(data["track"]["track_id"], track.as_str());
    assert!(data["cluster"].is_string(), "{data}");
    assert!(!data["by_listeners"].as_array().unwrap().is_empty());
    assert!(!data["by_sound"].as_array().unwrap().is_empty());
    let html = app
        .get(&format!("/tracks/{track}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"similar-listeners\""));
    let missing = app.get("/tracks/no-such-track").await;
    assert_eq!(missing.status(), 404);
    app.finish().await;
}
