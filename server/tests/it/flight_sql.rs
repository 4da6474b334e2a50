//! The lake's tables by name: `soundlake sql` on the command line, and the Flight SQL endpoint
//! queried by a real client (Apache Arrow's ADBC driver from PyPI), which get the same rows.

use std::process::Command;

use serde_json::Value;

use crate::deployment::{Deployment, free_port, soundlake};
use crate::listenbrainz::python;

const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/flight_sql_client.py");

/// Rows printed one JSON object per line.
fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
        .collect()
}

/// `soundlake sql --format json SQL`, its rows.
fn soundlake_sql(deployment: &Deployment, sql: &str) -> Vec<Value> {
    let output = soundlake(deployment, &["sql", "--format", "json", sql]);
    assert!(
        output.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    json_lines(&String::from_utf8(output.stdout).unwrap())
}

/// A token of a new account with `role`.
fn token_of(deployment: &Deployment, name: &str, role: &str) -> String {
    let mut add = vec!["users", "add", name, "--role", role];
    if role == "listener" {
        add.extend(["--listener", "user-00002"]);
    }
    let added = soundlake(deployment, &add);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let created = soundlake(deployment, &["tokens", "create", name]);
    assert!(created.status.success());
    String::from_utf8(created.stdout)
        .unwrap()
        .lines()
        .next()
        .expect("the token")
        .trim()
        .to_owned()
}

/// Runs the ADBC client against `uri`; its stdout, or its stderr when it was refused.
fn adbc(uri: &str, token: &str, args: &[&str]) -> Result<String, String> {
    let output = Command::new(python())
        .arg(CLIENT)
        .args([uri, token])
        .args(args)
        .output()
        .expect("running the ADBC client");
    match output.status.code() {
        Some(0) => Ok(String::from_utf8(output.stdout).unwrap()),
        Some(3) => Err(String::from_utf8_lossy(&output.stderr).into_owned()),
        _ => panic!(
            "the ADBC client failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

#[tokio::test]
async fn a_flight_sql_client_and_soundlake_sql_read_the_same_rows_of_the_lake_by_name() {
    let port = free_port();
    let deployment = Deployment::new()
        .await
        .with_env("SOUNDLAKE_FLIGHT_SQL_ADDR", &format!("127.0.0.1:{port}"));
    deployment.write_demo(500).await;
    let serving = deployment.serve().await;
    let uri = format!("grpc://127.0.0.1:{port}");

    let analyst = token_of(&deployment, "analyst", "business");
    let listener = token_of(&deployment, "someone", "listener");

    for sql in [
        "SELECT track_id, name, popularity, genres FROM silver.tracks ORDER BY track_id LIMIT 40",
        r#"SELECT count(*) AS listens, count(DISTINCT user_id) AS listeners FROM bronze."listens@v0""#,
        "SELECT t.name, count(*) AS plays FROM bronze.listens l
         JOIN silver.tracks t ON l.track_id = t.track_id
         GROUP BY t.name ORDER BY plays DESC, t.name LIMIT 10",
    ] {
        let expected = soundlake_sql(&deployment, sql);
        assert!(!expected.is_empty(), "{sql}");
        let got = json_lines(&adbc(&uri, &analyst, &["query", sql]).expect("answered"));
        assert_eq!(got, expected, "{sql}");
    }
    let tables = adbc(&uri, &analyst, &["tables"]).expect("the tables");
    for table in ["bronze.listens", "bronze.tracks", "silver.tracks"] {
        assert!(tables.lines().any(|t| t == table), "{table} in {tables}");
    }

    // Only admins and business users; nothing may change.
    let refused = adbc(&uri, &listener, &["query", "SELECT 1"]).unwrap_err();
    assert!(refused.contains("business"), "{refused}");
    let refused = adbc(&uri, "not-a-token", &["query", "SELECT 1"]).unwrap_err();
    assert!(
        refused.to_lowercase().contains("unauthenticated"),
        "{refused}"
    );
    let before = soundlake_sql(&deployment, "SELECT count(*) AS n FROM bronze.listens");
    let refused = adbc(
        &uri,
        &analyst,
        &[
            "query",
            "INSERT INTO bronze.listens SELECT * FROM bronze.listens",
        ],
    )
    .unwrap_err();
    assert!(refused.contains("DML"), "{refused}");
    assert_eq!(
        soundlake_sql(&deployment, "SELECT count(*) AS n FROM bronze.listens"),
        before
    );

    drop(serving);
    deployment.finish().await;
}
