//! A simulated history written to bronze through the ingest writer.

use lakehouse::bronze::listens::LISTENS;
use lakehouse::catalog::{demo_catalog_file, import_catalog};
use lakehouse::demo::DemoCatalog;
use lakehouse::ingest::{IngestWriter, WriterSettings};
use lakehouse::lake::count_rows;
use lakehouse::simulate::{Simulation, backfill};

use crate::support::TestEnv;

#[tokio::test]
async fn a_backfill_lands_every_simulated_listen_in_bronze() {
    let env = TestEnv::new().await;
    let dir = tempfile::tempdir().unwrap();
    let catalog = DemoCatalog {
        tracks: 500,
        ..DemoCatalog::default()
    };
    import_catalog(
        &env.lake,
        &env.pool,
        &[demo_catalog_file(dir.path(), &catalog).unwrap()],
    )
    .await
    .unwrap();
    let tracks = lakehouse::gold::tracks::simulation_tracks(&env.pool)
        .await
        .unwrap();
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
    env.finish().await;
}
