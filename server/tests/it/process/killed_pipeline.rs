//! A pipeline run killed in each stage in turn: gold keeps serving what it served (the same
//! model and the very same lists), the run is marked failed, and the next run converges to what
//! a clean run gives.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::deployment::{Deployment, soundlake};

/// The tables whose fingerprints differ between `now` and `before`.
fn changed_tables(
    now: &[(String, Option<String>)],
    before: &[(String, Option<String>)],
) -> Vec<String> {
    now.iter()
        .zip(before)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.0.clone())
        .collect()
}

/// The version of the model gold serves: nothing but an `ml` stage that committed may change
/// it (its lists, row for row with their scores, are in gold's fingerprint).
async fn current_model(pool: &sqlx::PgPool) -> Option<i64> {
    sqlx::query_scalar("SELECT model_version FROM model_versions WHERE is_current")
        .fetch_optional(pool)
        .await
        .expect("the current model")
}

/// Appends to bronze, as an import does before it brings silver up to date, a catalogue batch
/// of one row that silver quarantines (it has no track id).
async fn append_unreadable_track(lake: &lakehouse::lake::Lake, name: &str) {
    use lakehouse::sources::catalog_csv::{SPOTIFY_TRACKS_HEADER, parse_catalog};
    let row = format!(
        ",An Artist,An Album,{name},50,200000,False{}",
        ",0.5".repeat(13)
    );
    let csv = format!("{}\n{row}\n", SPOTIFY_TRACKS_HEADER.join(","));
    let file = parse_catalog(std::path::Path::new(&format!("{name}.csv")), csv.as_bytes())
        .expect("a catalogue file");
    assert_eq!(file.rows.len(), 1);
    lakehouse::bronze::tracks::append(lake, &[file], chrono::Utc::now())
        .await
        .expect("appended to bronze");
}

#[tokio::test]
async fn a_pipeline_run_killed_in_any_stage_leaves_gold_serving_and_the_next_run_converges() {
    let deployment = Deployment::new().await;
    deployment.write_demo(2000).await;

    let clean = soundlake(&deployment, &["pipeline", "run"]);
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );
    let pool = deployment.pool().await;
    let served = lakehouse::gold::fingerprint::tables(&pool).await.unwrap();
    assert!(
        served.iter().all(|(_, digest)| digest.is_some()),
        "{served:?}"
    );

    // Every stage of a full run with maintenance. The catalogue's stages work only when bronze
    // holds a catalogue batch silver has not read (an import brings silver and gold up to date
    // itself, so this is an import that stopped after bronze): one is appended before their
    // runs, a row that silver quarantines, so the catalogue gold serves stays the same.
    for stage in [
        "silver_tracks",
        "silver_listens",
        "gold_tracks",
        "gold_marts",
        "ml",
        "lake_maintenance",
    ] {
        if stage.ends_with("_tracks") {
            append_unreadable_track(&deployment.lake(), stage).await;
        }
        // Maintenance is the last stage: a full run would have retrained and published a
        // model before it, so that round compacts what the previous run left.
        let run_args: &[&str] = if stage == "lake_maintenance" {
            &["pipeline", "run", "--maintenance"]
        } else {
            &["pipeline", "run", "--full"]
        };
        let model = current_model(&pool).await;
        let mut run = Command::new(env!("CARGO_BIN_EXE_soundlake"))
            .args(run_args)
            .env("DATABASE_URL", deployment.url.as_ref().unwrap())
            .env("SOUNDLAKE_DATA_DIR", deployment.data.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("a pipeline run");
        let deadline = Instant::now() + Duration::from_secs(120);
        let killed_run: i64 = loop {
            let running: Option<i64> = sqlx::query_scalar(
                "SELECT run_id FROM pipeline_stages WHERE stage = $1 AND status = 'running'",
            )
            .bind(stage)
            .fetch_optional(&pool)
            .await
            .unwrap();
            if let Some(run_id) = running {
                run.kill().expect("SIGKILL");
                run.wait().unwrap();
                break run_id;
            }
            assert!(
                run.try_wait().unwrap().is_none(),
                "the run ended before {stage} was caught running"
            );
            assert!(Instant::now() < deadline, "{stage} never ran");
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        let differing = changed_tables(
            &lakehouse::gold::fingerprint::tables(&pool).await.unwrap(),
            &served,
        );
        assert!(
            differing.is_empty(),
            "with {stage} dead, gold changed: {differing:?}"
        );
        assert_eq!(
            current_model(&pool).await,
            model,
            "with {stage} dead, the served model changed"
        );

        let next = soundlake(&deployment, &["pipeline", "run"]);
        assert!(
            next.status.success(),
            "after a kill in {stage}: {}",
            String::from_utf8_lossy(&next.stderr)
        );
        let (status, error): (String, Option<String>) =
            sqlx::query_as("SELECT status, error FROM pipeline_runs WHERE run_id = $1")
                .bind(killed_run)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(status, "failed", "{error:?}");
        let differing = changed_tables(
            &lakehouse::gold::fingerprint::tables(&pool).await.unwrap(),
            &served,
        );
        assert!(
            differing.is_empty(),
            "after a kill in {stage}, these differ: {differing:?}"
        );
    }
    pool.close().await;
    deployment.finish().await;
}
