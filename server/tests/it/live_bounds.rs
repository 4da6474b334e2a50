//! The live re-ranking keeps bounded state: reading the lists of listeners the model does not
//! know keeps nothing and answers the popular list; the state of listeners who play is capped
//! by its bytes.

use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use server::services::live::LiveRecommendations;

use crate::support::{TestApp, track_ids};

#[tokio::test]
async fn reading_unknown_listeners_keeps_no_state_and_answers_the_popular_list() {
    let app = TestApp::start().await;
    crate::api_recommendations::with_model(&app).await;
    let (status, first) = app
        .get_json("/api/v1/users/nobody-0/recommendations?limit=50")
        .await;
    assert_eq!(status, 200, "{first}");
    let popular = track_ids(&first);
    assert!(!popular.is_empty());
    let kept_before = app.live.listeners_kept();

    let answers: Vec<(u16, Value)> = futures::stream::iter(1..3_000)
        .map(|i| {
            let app = &app;
            async move {
                app.get_json(&format!(
                    "/api/v1/users/nobody-{i:x}-{}/recommendations?limit=50",
                    i * 7919
                ))
                .await
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    for (status, list) in &answers {
        assert_eq!(*status, 200);
        assert_eq!(
            track_ids(list),
            popular,
            "an unknown listener gets the popular list"
        );
    }
    assert_eq!(
        app.live.listeners_kept(),
        kept_before,
        "plain reads of unknown listeners keep no state"
    );

    // A listener the model knows is kept, weighed with the lists read for them.
    let known: String = sqlx::query_scalar("SELECT user_id FROM recommendations LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let bytes_before = app.live.bytes_kept();
    let (status, list) = app
        .get_json(&format!("/api/v1/users/{known}/recommendations"))
        .await;
    assert_eq!(status, 200, "{list}");
    let items = list["items"].as_array().unwrap().len() as u64;
    assert!(items > 0, "{list}");
    let grown = app.live.bytes_kept() - bytes_before;
    assert!(
        grown >= items * 2 * 32,
        "{grown} bytes kept for a list of {items}"
    );
    app.finish().await;
}

#[tokio::test]
async fn the_state_of_listeners_who_play_is_capped() {
    let app = TestApp::start().await;
    let budget = 50_000;
    let live = LiveRecommendations::bounded(app.pool.clone(), budget, Duration::from_secs(3600));
    live.on_listens(
        (0..5_000)
            .map(|i| (format!("player-{i}"), "t".to_owned()))
            .collect(),
    );
    // Each listener weighs at least a kilobyte, whatever little they hold yet.
    let kept = live.listeners_kept();
    assert!(kept > 0 && kept <= budget / 1024, "{kept} listeners kept");
    app.finish().await;
}
