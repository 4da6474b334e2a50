//! `/api/v1/health`, `/api/v1/tracks`, `/api/v1/tracks/{id}`, `/api/v1/genres`.

use crate::support::TestApp;

#[tokio::test]
async fn health_reports_the_database_and_the_lake() {
    let app = TestApp::start().await;
    let (status, body) = app.get_json("/api/v1/health").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"]["tracks"], 600);
    let tables = body["lake"]["tables"].as_array().unwrap();
    let bronze = tables
        .iter()
        .find(|t| t["table"] == "bronze/tracks")
        .unwrap();
    assert_eq!(bronze["version"], 0);
    assert!(body["version"].as_str().unwrap().starts_with("0."));
    app.finish().await;
}

#[tokio::test]
async fn search_pages_through_matches_and_counts_them_all() {
    let app = TestApp::start().await;
    let (status, all) = app.get_json("/api/v1/tracks?per_page=5").await;
    assert_eq!(status, 200);
    assert_eq!(all["total"], 600);
    assert_eq!(all["items"].as_array().unwrap().len(), 5);
    let popularity: Vec<i64> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["popularity"].as_i64().unwrap())
        .collect();
    assert!(
        popularity.windows(2).all(|w| w[0] >= w[1]),
        "most popular first: {popularity:?}"
    );

    // Search for the first track's first artist: every result mentions it.
    let artist = all["items"][0]["artists"][0].as_str().unwrap().to_owned();
    let query = artist.to_lowercase().replace(' ', "%20");
    let (_, found) = app
        .get_json(&format!("/api/v1/tracks?q={query}&per_page=100"))
        .await;
    let total = found["total"].as_i64().unwrap();
    assert!((1..600).contains(&total), "{total}");
    for track in found["items"].as_array().unwrap() {
        let text = format!(
            "{} {} {}",
            track["name"], track["artists"], track["album_name"]
        )
        .to_lowercase();
        assert!(
            text.contains(&artist.to_lowercase()),
            "{text} should mention {artist}"
        );
    }

    let (_, page2) = app.get_json("/api/v1/tracks?per_page=5&page=2").await;
    assert_eq!(page2["page"], 2);
    assert_ne!(page2["items"][0]["track_id"], all["items"][0]["track_id"]);
    app.finish().await;
}

#[tokio::test]
async fn the_genre_filter_returns_only_that_genre() {
    let app = TestApp::start().await;
    let (_, genres) = app.get_json("/api/v1/genres").await;
    let genres = genres.as_array().unwrap();
    assert_eq!(genres.len(), 114);
    let jazz = genres.iter().find(|g| g["genre"] == "jazz").unwrap();
    let (_, found) = app.get_json("/api/v1/tracks?genre=jazz&per_page=100").await;
    assert_eq!(found["total"], jazz["track_count"]);
    for track in found["items"].as_array().unwrap() {
        assert!(
            track["genres"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g == "jazz")
        );
    }
    app.finish().await;
}

#[tokio::test]
async fn one_track_has_its_features_and_an_unknown_id_is_a_json_404() {
    let app = TestApp::start().await;
    let (_, list) = app.get_json("/api/v1/tracks?per_page=1").await;
    let id = list["items"][0]["track_id"].as_str().unwrap();
    let (status, track) = app.get_json(&format!("/api/v1/tracks/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(track["track_id"], id);
    let energy = track["energy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&energy));

    let (status, error) = app.get_json("/api/v1/tracks/no-such-track").await;
    assert_eq!(status, 404);
    assert_eq!(error["error"]["code"], "not_found");
    app.finish().await;
}

#[tokio::test]
async fn bad_parameters_get_a_400_that_says_what_is_wrong() {
    let app = TestApp::start().await;
    for (path, words) in [
        ("/api/v1/tracks?per_page=0", "per_page"),
        ("/api/v1/tracks?per_page=101", "per_page"),
        ("/api/v1/tracks?page=0", "page"),
        ("/api/v1/tracks?page=abc", "page"),
        ("/api/v1/tracks?colour=blue", "colour"),
    ] {
        let (status, error) = app.get_json(path).await;
        assert_eq!(status, 400, "{path}");
        assert_eq!(error["error"]["code"], "bad_request", "{path}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(words), "{path}: {message}");
    }
    let (status, error) = app.get_json("/api/v1/nothing-here").await;
    assert_eq!(status, 404);
    assert_eq!(error["error"]["code"], "not_found");
    app.finish().await;
}

#[tokio::test]
async fn answers_are_compressed_for_clients_that_accept_it_and_event_streams_are_not() {
    let app = TestApp::start().await;
    let url = format!("{}/api/v1/tracks?per_page=100", app.base);
    let plain = app.client.get(&url).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.bytes().await.unwrap();
    for encoding in ["br", "gzip"] {
        let packed = app
            .client
            .get(&url)
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(packed.headers()["content-encoding"], encoding);
        let packed = packed.bytes().await.unwrap();
        assert!(
            packed.len() * 3 < plain.len(),
            "{encoding}: {} of {} bytes",
            packed.len(),
            plain.len()
        );
    }
    let mut events = app
        .admin
        .get(format!(
            "{}/api/v1/users/user-00001/recommendations/events",
            app.base
        ))
        .header("accept-encoding", "br, gzip")
        .send()
        .await
        .unwrap();
    assert!(events.headers().get("content-encoding").is_none());
    assert!(
        events.chunk().await.unwrap().is_some(),
        "the stream streams"
    );
    app.finish().await;
}
