//! Limits that keep one client from exhausting the server: requests per address, and a
//! statement time limit on the database connections requests use.

use server::state::AppState;

use crate::support::TestApp;

#[tokio::test]
async fn an_address_over_its_rate_gets_429_with_the_api_error_body() {
    let app = TestApp::start_with_rate_limit(5).await;
    let mut statuses = Vec::new();
    for _ in 0..30 {
        let response = app.get("/api/v1/genres").await;
        let status = response.status().as_u16();
        if status == 429 {
            assert!(response.headers().contains_key("retry-after"));
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "rate_limited");
        }
        statuses.push(status);
    }
    let allowed = statuses.iter().filter(|s| **s == 200).count();
    assert!((10..=12).contains(&allowed), "{statuses:?}");
    assert!(statuses.contains(&429));
    app.finish().await;
}

#[tokio::test]
async fn a_request_handlers_statement_is_cancelled_after_the_time_limit() {
    let app = TestApp::start().await;
    let state = AppState::new(
        server::web::leptos_options(
            std::path::Path::new("/nonexistent"),
            "127.0.0.1:0".parse().unwrap(),
        ),
        app.pool.clone(),
        app.lake.clone(),
        server::services::ingest::Ingest::start(app.lake.clone(), &app.pool)
            .await
            .unwrap(),
        crate::support::ADMIN_TOKEN,
    );
    let started = std::time::Instant::now();
    let error = sqlx::query("SELECT pg_sleep(30)")
        .execute(&state.pool)
        .await
        .expect_err("cancelled");
    assert!(error.to_string().contains("statement timeout"), "{error}");
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    // The pipeline's connections have no such limit.
    sqlx::query("SELECT pg_sleep(0.1)")
        .execute(&app.pool)
        .await
        .unwrap();
    app.finish().await;
}
