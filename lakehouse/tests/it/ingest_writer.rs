//! The ingest writer's promise to a client: an acknowledgement means the listens are in bronze
//! (on disk), and an error means none of them are, so a retry stores each listen once.

use chrono::Utc;
use lakehouse::Lake;
use lakehouse::bronze::listens::{LISTENS, REJECTED, RejectedListen};
use lakehouse::ingest::{IngestError, IngestWriter, Listen, WriterSettings};
use lakehouse::lake::count_rows_of;

fn listen(n: usize) -> Listen {
    Listen {
        event_id: format!("writer-test-{n}"),
        event_id_assigned: false,
        user_id: "user-1".into(),
        track_id: format!("track-{n}"),
        played_at: Utc::now(),
        ms_played: 60_000,
        end_reason: None,
        skipped: None,
        context_source: None,
        context_device: None,
        raw: "{}".into(),
    }
}

fn refused(n: usize) -> RejectedListen {
    RejectedListen::new("api", n as i64, "missing user_id", "{}")
}

async fn rows(lake: &Lake, table: lakehouse::lake::TableRef) -> i64 {
    let delta = lake.existing_table(table).await.unwrap().unwrap();
    count_rows_of(lake, table, &delta).await.unwrap()
}

#[tokio::test]
async fn when_the_refused_events_cannot_be_stored_no_listen_is_stored_and_a_retry_stores_each_once()
{
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::new(dir.path());
    let writer = IngestWriter::start(lake.clone(), WriterSettings::default());
    writer
        .submit(vec![listen(0), listen(1)], vec![refused(0)])
        .await
        .unwrap();

    // The refused events' table can no longer take a commit: its log folder is a file.
    let log = lake.local_table_dir(REJECTED).unwrap().join("_delta_log");
    let kept = dir.path().join("rejected-log");
    std::fs::rename(&log, &kept).unwrap();
    std::fs::write(&log, "not a folder").unwrap();
    let failed = writer
        .submit(vec![listen(2), listen(3)], vec![refused(1)])
        .await;
    assert!(matches!(failed, Err(IngestError::Commit(_))), "{failed:?}");
    assert_eq!(
        rows(&lake, LISTENS).await,
        2,
        "an error left no listen in bronze"
    );

    std::fs::remove_file(&log).unwrap();
    std::fs::rename(&kept, &log).unwrap();
    writer
        .submit(vec![listen(2), listen(3)], vec![refused(1)])
        .await
        .unwrap();
    assert_eq!(rows(&lake, LISTENS).await, 4);
    assert_eq!(rows(&lake, REJECTED).await, 2);
}

#[tokio::test]
async fn after_a_commit_that_cannot_be_flushed_to_disk_the_writer_acknowledges_nothing_more() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::new(dir.path());
    let settings = WriterSettings {
        fail_flush_after: Some(1),
        ..WriterSettings::default()
    };
    let writer = IngestWriter::start(lake.clone(), settings);
    // The first commit creates the table; the second is flushed; the third's flush fails.
    for n in 0..2 {
        writer.submit(vec![listen(n)], Vec::new()).await.unwrap();
    }
    assert!(!writer.halted());
    let failed = writer.submit(vec![listen(2)], Vec::new()).await;
    assert!(
        matches!(failed, Err(IngestError::NotDurable(_))),
        "{failed:?}"
    );
    assert!(writer.halted(), "the writer still takes submissions");
    let after = writer.submit(vec![listen(3)], Vec::new()).await;
    assert_eq!(after, Err(IngestError::Halted));
    // What was acknowledged is there, and nothing was written after the failure.
    let stored = rows(&lake, LISTENS).await;
    assert!((2..=3).contains(&stored), "{stored} listens in bronze");

    // A writer started again (as a restart does) reads the lake back and takes listens.
    let restarted = IngestWriter::start(lake.clone(), WriterSettings::default());
    restarted.submit(vec![listen(3)], Vec::new()).await.unwrap();
    assert_eq!(rows(&lake, LISTENS).await, stored + 1);
}
