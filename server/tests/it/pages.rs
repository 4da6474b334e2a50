//! Server-rendered pages.

use crate::support::TestApp;

#[tokio::test]
async fn the_catalog_page_is_rendered_on_the_server_with_results_and_hydration_scripts() {
    let app = TestApp::start().await;
    let response = app.get("/catalog").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"catalog-search\""), "{html}");
    assert!(
        html.contains("600 tracks"),
        "the count is in the first render"
    );
    assert_eq!(html.matches("class=\"track-row\"").count(), 20);
    assert!(
        html.contains("/pkg/soundlake.js"),
        "the page loads the wasm app"
    );
    assert!(
        html.contains("<leptos-island") && html.contains("CatalogSearch"),
        "the search and its results are an island"
    );
    app.finish().await;
}

#[tokio::test]
async fn a_search_in_the_address_is_rendered_on_the_server() {
    let app = TestApp::start().await;
    let html = app
        .get("/catalog?q=zzzz-nothing-matches")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("0 tracks"), "{html}");
    assert_eq!(html.matches("class=\"track-row\"").count(), 0);
    app.finish().await;
}

#[tokio::test]
async fn an_unknown_page_is_a_404() {
    let app = TestApp::start().await;
    let response = app.get("/no-such-page").await;
    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("Not found"));
    app.finish().await;
}
