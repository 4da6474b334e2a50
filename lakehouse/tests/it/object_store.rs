//! The lake on an S3-compatible object store: a real server in a process of its own (moto's,
//! from PyPI), the pipeline end to end on it, and the same silver and gold as on a local
//! folder fed the same listens.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use lakehouse::Lake;
use lakehouse::ingest::{IngestWriter, Listen, WriterSettings};
use lakehouse::named_tables;
use lakehouse::pipeline::RunOptions;
use lakehouse::simulate::{Simulation, simulate};

use crate::s3_server::S3Server;
use crate::support::{TestEnv, demo_catalogue, python, run_pipeline};

/// Columns that say when a row was written and from which import (a batch id, a temporary
/// file): they differ between two lakes fed the same data at different moments.
const WRITTEN_WHEN_AND_FROM: [&str; 4] =
    ["ingested_at", "batch_id", "source_batch_id", "source_file"];

/// Every row of `table` (`layer.name`) as text, sorted, without [`WRITTEN_WHEN_AND_FROM`].
async fn rows(lake: &Lake, table: &str) -> Vec<String> {
    let (schema, _) = named_tables::query(lake, &format!("SELECT * FROM {table} LIMIT 0"))
        .await
        .unwrap_or_else(|e| panic!("{table}: {e}"));
    let columns: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|name| !WRITTEN_WHEN_AND_FROM.contains(&name.as_str()))
        .map(|name| format!("\"{name}\""))
        .collect();
    let sql = format!("SELECT {} FROM {table}", columns.join(", "));
    let (_, batches) = named_tables::query(lake, &sql).await.unwrap();
    let mut lines = Vec::new();
    for batch in &batches {
        lines.extend(format_rows(batch));
    }
    lines.sort();
    lines
}

fn format_rows(batch: &RecordBatch) -> Vec<String> {
    let options = FormatOptions::default();
    let formatters: Vec<ArrayFormatter> = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
        .collect();
    (0..batch.num_rows())
        .map(|row| {
            formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

async fn write(lake: &Lake, listens: &[Listen]) {
    let writer = IngestWriter::start(lake.clone(), WriterSettings::default());
    for part in listens.chunks(listens.len().div_ceil(3)) {
        writer.submit(part.to_vec(), Vec::new()).await.unwrap();
    }
}

#[tokio::test]
async fn the_pipeline_on_an_object_store_gives_the_silver_and_gold_of_a_local_folder() {
    let s3 = S3Server::start(&python());
    let local = TestEnv::new().await;
    let mut remote = TestEnv::new().await;
    remote.lake = s3.lake("prod");
    remote.lake.check_conditional_writes().await.unwrap();

    let tracks = demo_catalogue(&local, 300).await;
    assert_eq!(demo_catalogue(&remote, 300).await, tracks);
    let mut listens = simulate(&Simulation::ending_today(25, 10, 10.0, 3), &tracks);
    // One listen the checks refuse, to fill the quarantine too.
    let mut refused = listens[0].clone();
    refused.event_id = "played-too-long".into();
    refused.ms_played = 50 * 60 * 60 * 1000;
    listens.push(refused);
    write(&local.lake, &listens).await;
    write(&remote.lake, &listens).await;
    let options = RunOptions {
        force_maintenance: true,
        ..RunOptions::default()
    };
    for env in [&local, &remote] {
        let summary = run_pipeline(env, options.clone()).await;
        assert!(summary.succeeded, "{:?}", summary.error);
    }

    for table in [
        "bronze.listens",
        "silver.tracks",
        "silver.tracks_quarantine",
        "silver.listens",
        "silver.listens_quarantine",
    ] {
        let expected = rows(&local.lake, table).await;
        let got = rows(&remote.lake, table).await;
        let first_difference = got.iter().zip(&expected).find(|(a, b)| a != b);
        assert!(
            got.len() == expected.len() && first_difference.is_none(),
            "{table}: {} rows on the store, {} on the folder; first difference {first_difference:?}",
            got.len(),
            expected.len()
        );
    }
    assert!(
        !rows(&remote.lake, "silver.listens_quarantine")
            .await
            .is_empty()
    );
    // Time travel reads an earlier version from the store.
    let first = named_tables::query(&remote.lake, r#"SELECT count(*) FROM bronze."listens@v0""#)
        .await
        .unwrap();
    assert!(first.1[0].num_rows() == 1);

    let gold = lakehouse::gold::fingerprint::tables(&local.pool)
        .await
        .unwrap();
    assert!(gold.iter().all(|(_, digest)| digest.is_some()), "{gold:?}");
    assert_eq!(
        lakehouse::gold::fingerprint::tables(&remote.pool)
            .await
            .unwrap(),
        gold
    );
    local.finish().await;
    remote.finish().await;
}

#[tokio::test]
async fn writers_on_one_object_store_lose_no_commit() {
    let s3 = S3Server::start(&python());
    let env = TestEnv::new().await;
    let lake = s3.lake("shared");
    let tracks = demo_catalogue(&env, 100).await;
    let listens = simulate(&Simulation::ending_today(8, 3, 10.0, 9), &tracks);
    // Four writers, as four server instances would be, append at once.
    let parts: Vec<Vec<Listen>> = listens
        .chunks(listens.len().div_ceil(4))
        .map(<[Listen]>::to_vec)
        .collect();
    let writers = parts.into_iter().map(|part| {
        let lake = lake.clone();
        tokio::spawn(async move { write(&lake, &part).await })
    });
    for writer in writers {
        writer.await.unwrap();
    }
    let stored = rows(&lake, "bronze.listens").await;
    assert_eq!(stored.len(), listens.len());
    env.finish().await;
}
