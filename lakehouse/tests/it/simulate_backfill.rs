//! A simulated history written to bronze through the ingest writer.

use lakehouse::bronze::listens::LISTENS;
use lakehouse::ingest::{IngestWriter, WriterSettings};
use lakehouse::lake::count_rows;
use lakehouse::simulate::{Simulation, backfill, history};

use crate::support::{TestEnv, demo_catalogue};

#[tokio::test]
async fn a_backfill_lands_every_simulated_listen_in_bronze() {
    let env = TestEnv::new().await;
    let tracks = demo_catalogue(&env, 500).await;
    assert_eq!(tracks.len(), 500);

    let writer = IngestWriter::start(env.lake.clone(), WriterSettings::default());
    let sim = Simulation::ending_today(50, 10, 10.0, 7);
    let mut reported = Vec::new();
    let report = backfill(&sim, &tracks, &writer, |done, total| {
        reported.push((done, total))
    })
    .await
    .unwrap();
    assert!(report.events > 2_000, "{}", report.events);
    assert_eq!(reported.last(), Some(&(report.events, report.events)));
    assert_eq!(
        count_rows(&env.lake, LISTENS).await.unwrap(),
        report.events as i64
    );
    // Generated in batches of users, the history is the one generated at once.
    let whole = history(&sim, &tracks);
    assert_eq!(report.events, whole.listens.len());
    assert_eq!(report.feedback, whole.feedback);
    env.finish().await;
}
