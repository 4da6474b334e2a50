//! The API's edge: every parameter within its limits or a 4xx with the API's JSON error body,
//! request bodies of the type they claim, and refused input kept only in part.

use datafusion::arrow::array::AsArray;
use serde_json::{Value, json};

use crate::support::TestApp;

/// Asserts that `response` is a 4xx with the API's error body and returns its code.
async fn api_error(response: reqwest::Response, expected_status: u16) -> String {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(status, expected_status, "{text}");
    let body: Value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("the error is not JSON: {text:?}"));
    assert!(body["error"]["message"].is_string(), "{body}");
    body["error"]["code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn parameters_out_of_their_limits_get_the_api_error_body() {
    let app = TestApp::start().await;
    let long = "x".repeat(129);
    let cases: Vec<(String, u16)> = vec![
        ("/api/v1/tracks?page=0".into(), 400),
        ("/api/v1/tracks?page=99999999999999999999".into(), 400),
        ("/api/v1/tracks?per_page=101".into(), 400),
        ("/api/v1/tracks?per_page=-1".into(), 400),
        ("/api/v1/tracks?q=a%00b".into(), 400),
        (format!("/api/v1/tracks?q={}", "y".repeat(201)), 400),
        ("/api/v1/tracks?genre=%1b".into(), 400),
        ("/api/v1/tracks?colour=blue".into(), 400),
        ("/api/v1/tracks/a%00b".into(), 400),
        (format!("/api/v1/tracks/{long}"), 400),
        ("/api/v1/tracks/a%00b/similar".into(), 400),
        ("/api/v1/tracks/x/similar?limit=0".into(), 400),
        ("/api/v1/users/u%00/recommendations".into(), 400),
        (format!("/api/v1/users/{long}/recommendations"), 400),
        ("/api/v1/users/u1/recommendations?limit=51".into(), 400),
        (
            "/api/v1/users/u1/recommendations?limit=99999999999999999999999".into(),
            400,
        ),
        ("/api/v1/clusters/map?limit=20001".into(), 400),
        ("/api/v1/models?limit=abc".into(), 400),
        ("/api/v1/pipeline/runs?limit=0".into(), 400),
        (
            "/api/v1/pipeline/runs?limit=9223372036854775808".into(),
            400,
        ),
        ("/api/v1/pipeline/runs/abc".into(), 400),
        ("/api/v1/pipeline/runs/99999999999999999999".into(), 400),
        ("/api/v1/pipeline/runs/123456".into(), 404),
        ("/api/v1/lake/tables/silver/listens?version=-1".into(), 400),
        ("/api/v1/lake/tables/silver/listens?history=101".into(), 400),
        ("/api/v1/lake/tables/silver/listens?version=x".into(), 400),
        ("/api/v1/lake/tables/no/such".into(), 404),
        ("/api/v1/no-such-route".into(), 404),
    ];
    for (path, status) in cases {
        let response = app.get(&path).await;
        let code = api_error(response, status).await;
        assert!(!code.is_empty(), "{path}");
    }

    let feedback = |body: Value| {
        let app = &app;
        async move {
            app.admin
                .post(format!("{}/api/v1/users/u1/feedback", app.base))
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    api_error(
        feedback(json!({"kind": "like", "track_id": "a\u{0}"})).await,
        400,
    )
    .await;
    api_error(
        feedback(json!({"kind": "like", "artist": "z".repeat(3000)})).await,
        400,
    )
    .await;
    let not_json = app
        .admin
        .post(format!("{}/api/v1/users/u1/feedback", app.base))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(api_error(not_json, 415).await, "unsupported_media_type");

    // A login name no account could have is refused as a wrong one, whatever its text.
    for name in ["ana\u{0}", "\u{1b}[2J", &"n".repeat(513)] {
        let login = reqwest::Client::new()
            .post(format!("{}/api/v1/session", app.base))
            .json(&json!({"name": name, "password": "whatever"}))
            .send()
            .await
            .unwrap();
        assert_eq!(api_error(login, 401).await, "login_refused", "{name:?}");
    }
    app.finish().await;
}

#[tokio::test]
async fn ingest_bodies_must_be_of_the_type_they_claim_and_ndjson_is_capped() {
    let app = TestApp::start().await;
    let post = |content_type: Option<&'static str>, body: String| {
        let app = &app;
        async move {
            let mut request = app.admin.post(format!("{}/api/v1/listens", app.base));
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            request.body(body).send().await.unwrap()
        }
    };
    let event = json!({"user_id": "u1", "track_id": "t", "played_at": "2026-01-01T00:00:00Z",
                       "ms_played": 1000})
    .to_string();
    for content_type in [None, Some("text/plain"), Some("application/xml")] {
        let code = api_error(post(content_type, event.clone()).await, 415).await;
        assert_eq!(code, "unsupported_media_type");
    }
    let lines = format!("{event}\n").repeat(100_001);
    let code = api_error(post(Some("application/x-ndjson"), lines).await, 413).await;
    assert_eq!(code, "payload_too_large");
    app.finish().await;
}

#[tokio::test]
async fn text_gold_cannot_store_is_refused_at_ingest_with_a_reason() {
    let app = TestApp::start().await;
    let event = |user: &str| {
        json!({"user_id": user, "track_id": "t", "played_at": "2026-01-01T00:00:00Z",
               "ms_played": 1000})
    };
    let (status, body) = app
        .post_json(
            "/api/v1/listens",
            &json!([
                event("nul\u{0}"),
                event("esc\u{1b}"),
                event(&"u".repeat(129))
            ]),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let reasons: Vec<&str> = body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "user_id holds a NUL character (U+0000)",
            "user_id holds a control character (U+001B)",
            "user_id is longer than 128 bytes",
        ]
    );
    app.finish().await;
}

#[tokio::test]
async fn a_refused_event_is_kept_cut_to_a_bounded_size_with_its_length() {
    let app = TestApp::start().await;
    let padding = "p".repeat(9_000);
    let (status, _) = app
        .post_json(
            "/api/v1/listens",
            &json!([{"user_id": "u1", "track_id": "t", "padding": padding}]),
        )
        .await;
    assert_eq!(status, 422);
    let rejected = app
        .lake
        .existing_table(lakehouse::bronze::listens::REJECTED)
        .await
        .unwrap()
        .expect("the refused event is kept");
    let batches = app
        .lake
        .query_table(
            lakehouse::bronze::listens::REJECTED,
            &rejected,
            "SELECT CAST(raw AS VARCHAR) FROM bronze_rejected_listens",
        )
        .await
        .unwrap();
    let raw = batches[0].column(0).as_string::<i32>().value(0).to_owned();
    assert!(raw.len() < 2_100, "{} bytes kept", raw.len());
    assert!(raw.ends_with("bytes in all]"), "{}", &raw[raw.len() - 40..]);
    assert!(raw.starts_with("{\"padding\":\"ppp"), "{}", &raw[..40]);
    app.finish().await;
}
