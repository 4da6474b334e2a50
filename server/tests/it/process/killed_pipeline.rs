//! A pipeline run killed in each stage in turn: gold keeps serving, the run is marked failed,
//! and the next run converges to what a clean run gives.

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

    // The stages a full run does work in (the catalogue is loaded only when it changed).
    for stage in ["silver_listens", "gold_marts", "ml"] {
        let mut run = Command::new(env!("CARGO_BIN_EXE_soundlake"))
            .args(["pipeline", "run", "--full"])
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
