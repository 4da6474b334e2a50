//! The REST API against its own OpenAPI document: the document is served and lists every
//! route, and schemathesis (from PyPI) generates requests for every operation from it, valid
//! and invalid, and finds no server error and no answer whose status, content type or body
//! the document does not describe.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::deployment::{Deployment, read};
use crate::listenbrainz::python;
use crate::support::ADMIN_TOKEN;

/// schemathesis's settings: a fixed seed, a bounded number of examples per operation, the
/// checks of the contract, and no cache left between runs. Requests carry the admin token
/// and no generated credential (a made-up session cookie only ever meets the cross-site
/// check). Event streams are left out (they stay open by design; their first answer is
/// checked by their own tests), and so are stateful sequences (the API declares no links).
const SETTINGS: &str = r#"
seed = 20261205
request-timeout = 10
color = false
[cache]
enabled = false
[generation]
max-examples = 25
database = "none"
with-security-parameters = false
[phases.stateful]
enabled = false
[checks]
enabled = false
not_a_server_error.enabled = true
status_code_conformance.enabled = true
content_type_conformance.enabled = true
response_schema_conformance.enabled = true
[[operations]]
include-path-regex = "/events$"
enabled = false
"#;

fn schemathesis() -> String {
    let python = python();
    let bin = Path::new(&python).with_file_name("schemathesis");
    assert!(
        bin.exists(),
        "{} is missing: ./dev.sh test installs it",
        bin.display()
    );
    bin.display().to_string()
}

#[tokio::test]
async fn every_operation_answers_as_the_openapi_document_says() {
    let deployment = Deployment::new().await;
    deployment.write_demo(300).await;
    let serving = deployment.serve().await;
    let client = reqwest::Client::new();

    let document: Value = client
        .get(format!("{}/api/v1/openapi.json", serving.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().unwrap();
    for path in [
        "/health",
        "/listens",
        "/users/{user_id}/recommendations",
        "/stats/daily",
        "/pipeline/runs",
        "/lake/tables/{layer}/{name}",
    ] {
        assert!(paths.contains_key(path), "{path} in {:?}", paths.keys());
    }
    let page = client
        .get(format!("{}/api/v1/docs/", serving.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("swagger-ui"));

    // A method a route does not have is refused with the error body too.
    let refused = client
        .put(format!("{}/api/v1/tracks", serving.base))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 405);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "method_not_allowed");

    let work = tempfile::tempdir().unwrap();
    let settings = work.path().join("schemathesis.toml");
    std::fs::write(&settings, SETTINGS).unwrap();
    let output = Command::new(schemathesis())
        .current_dir(work.path())
        .env(
            "HYPOTHESIS_STORAGE_DIRECTORY",
            work.path().join("hypothesis"),
        )
        .env("NO_COLOR", "1")
        .args(["--config-file", &settings.display().to_string(), "run"])
        .arg(format!("{}/api/v1/openapi.json", serving.base))
        .args(["--url", &format!("{}/api/v1", serving.base)])
        .args(["-H", &format!("Authorization: Bearer {ADMIN_TOKEN}")])
        .output()
        .expect("running schemathesis");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found answers the document does not describe:\n{report}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        read(&serving.log)
    );
    // Its summary, for `--nocapture` runs.
    println!("{report}");
    drop(serving);
    deployment.finish().await;
}

#[tokio::test]
async fn metrics_are_scraped_by_admins_only() {
    let deployment = Deployment::new().await;
    let serving = deployment.serve().await;
    let client = reqwest::Client::new();
    let anonymous = client
        .get(format!("{}/metrics", serving.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let listen = serde_json::json!({
        "user_id": "user-00001", "track_id": "t1",
        "played_at": "2026-01-01T00:00:00Z", "ms_played": 1000
    });
    let posted = client
        .post(format!("{}/api/v1/listens", serving.base))
        .bearer_auth(ADMIN_TOKEN)
        .json(&listen)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    let scraped = client
        .get(format!("{}/metrics", serving.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
    let text = scraped.text().await.unwrap();
    assert!(
        text.contains("soundlake_ingest_events_total{outcome=\"accepted\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("route=\"/api/v1/listens\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(text.contains("soundlake_model_version 0"), "{text}");
    assert!(text.contains("soundlake_ingest_queue_depth 0"), "{text}");
    drop(serving);
    deployment.finish().await;
}
