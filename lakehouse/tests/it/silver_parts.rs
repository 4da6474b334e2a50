//! A silver listens build in parts (more bronze rows than a build reads at a time): the same
//! tables as a build in one part, for a rebuild and for an incremental build with copies of
//! events already kept; a build stopped part-way is rebuilt whole by the next one.

use lakehouse::ingest::{IngestWriter, Listen, WriterSettings};
use lakehouse::silver::listens::{
    BuildOptions, QUARANTINE, TABLE, build_with, parts_to_come, read_version,
};
use lakehouse::simulate::{Simulation, simulate};

use crate::support::{TestEnv, demo_catalogue};

/// Every row of both tables, sorted, as text.
async fn silver(env: &TestEnv) -> (String, String) {
    let listens = env
        .lake_query(TABLE, "SELECT * FROM silver_listens ORDER BY event_id")
        .await;
    let quarantine = env
        .lake_query(
            QUARANTINE,
            "SELECT * FROM silver_listens_quarantine ORDER BY event_id, ingested_at, reason",
        )
        .await;
    (listens, quarantine)
}

async fn write(env: &TestEnv, listens: Vec<Listen>) {
    let writer = IngestWriter::start(env.lake.clone(), WriterSettings::default());
    writer.submit(listens, Vec::new()).await.unwrap();
}

fn options(full: bool, part_rows: u64) -> BuildOptions {
    BuildOptions {
        full,
        part_rows,
        ..BuildOptions::default()
    }
}

async fn silver_commits(env: &TestEnv) -> i64 {
    let table = env.lake.existing_table(TABLE).await.unwrap().unwrap();
    table.version().unwrap() as i64
}

#[tokio::test]
async fn a_build_in_parts_gives_the_tables_of_a_build_in_one_and_an_interrupted_one_is_rebuilt() {
    let env = TestEnv::new().await;
    let tracks = demo_catalogue(&env, 200).await;
    let mut listens = simulate(&Simulation::ending_today(30, 10, 10.0, 4), &tracks);
    // Listens silver refuses, and copies of events arriving in the same build.
    for (n, l) in listens.clone().iter().enumerate().step_by(97) {
        listens.push(Listen {
            event_id: format!("unknown-track-{n}"),
            track_id: "no-such-track".into(),
            ..l.clone()
        });
        listens.push(Listen {
            ms_played: l.ms_played + 1,
            ..l.clone()
        });
    }
    let first = listens.len();
    write(&env, listens.clone()).await;

    let whole = build_with(&env.lake, options(false, u64::MAX))
        .await
        .unwrap();
    assert_eq!(whole.rows_read, first);
    assert!(whole.quarantined > 0 && whole.duplicates > 0, "{whole:?}");
    let expected = silver(&env).await;

    // A rebuild in parts of about 700 rows: the same rows, the same figures, a commit a part.
    let before = silver_commits(&env).await;
    let parted = build_with(&env.lake, options(true, 700)).await.unwrap();
    let parts = first.div_ceil(700) as i64;
    assert!(parts >= 3);
    assert_eq!(silver_commits(&env).await - before, parts);
    assert_eq!(silver(&env).await, expected);
    assert_eq!(
        (
            parted.rows_read,
            parted.written,
            parted.quarantined,
            parted.duplicates
        ),
        (
            whole.rows_read,
            whole.written,
            whole.quarantined,
            whole.duplicates
        )
    );
    assert_eq!(parted.days, whole.days);

    // A rebuild stopped after its first part: the tables say so, and the next build, though
    // not asked to, rebuilds them whole.
    let stopped = BuildOptions {
        fail_after_parts: Some(1),
        ..options(true, 700)
    };
    assert!(build_with(&env.lake, stopped).await.is_err());
    let table = env.lake.existing_table(TABLE).await.unwrap().unwrap();
    assert_eq!(parts_to_come(&table, TABLE).await.unwrap(), parts - 1);
    assert_ne!(silver(&env).await, expected);
    let resumed = build_with(&env.lake, options(false, 700)).await.unwrap();
    assert_eq!(resumed.rows_read, first);
    assert_eq!(silver(&env).await, expected);
    let table = env.lake.existing_table(TABLE).await.unwrap().unwrap();
    assert_eq!(parts_to_come(&table, TABLE).await.unwrap(), 0);

    // New listens and copies of listens silver holds, read in parts by an incremental build:
    // the tables a rebuild in one part makes of the same bronze.
    let mut more = simulate(&Simulation::ending_today(30, 10, 10.0, 5), &tracks);
    for l in more.iter_mut() {
        l.event_id = format!("more-{}", l.event_id);
    }
    more.extend(listens.iter().step_by(13).take(100).cloned());
    let added = more.len();
    write(&env, more).await;
    let incremental = build_with(&env.lake, options(false, 700)).await.unwrap();
    assert_eq!(incremental.rows_read, added);
    assert_eq!(incremental.duplicates, 100);
    let table = env.lake.existing_table(TABLE).await.unwrap().unwrap();
    let bronze = env
        .lake
        .existing_table(lakehouse::bronze::listens::LISTENS)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        read_version(&table, TABLE).await.unwrap(),
        bronze.version().map(|v| v as i64)
    );
    let after_parts = silver(&env).await;
    build_with(&env.lake, options(true, u64::MAX))
        .await
        .unwrap();
    assert_eq!(silver(&env).await, after_parts);
    env.finish().await;
}
