//! The lake's tables by name (`bronze.listens`, `silver."listens@v0"`), read-only.

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::Int64Type;
use lakehouse::ingest::{IngestWriter, WriterSettings};
use lakehouse::named_tables;
use lakehouse::pipeline::RunOptions;
use lakehouse::simulate::{Simulation, simulate};

use crate::support::{TestEnv, demo_catalogue, run_pipeline};

fn single_count(batches: &[RecordBatch]) -> i64 {
    assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 1);
    let batch = batches.iter().find(|b| b.num_rows() == 1).unwrap();
    batch.column(0).as_primitive::<Int64Type>().value(0)
}

async fn count(env: &TestEnv, sql: &str) -> i64 {
    let (_, batches) = named_tables::query(&env.lake, sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    single_count(&batches)
}

#[tokio::test]
async fn every_table_answers_by_layer_and_name_at_any_version_and_nothing_can_be_changed() {
    let env = TestEnv::new().await;
    let tracks = demo_catalogue(&env, 300).await;
    let listens = simulate(&Simulation::ending_today(12, 5, 8.0, 5), &tracks);
    let (first, second) = listens.split_at(listens.len() / 3);
    let writer = IngestWriter::start(env.lake.clone(), WriterSettings::default());
    writer.submit(first.to_vec(), Vec::new()).await.unwrap();
    let between = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    writer.submit(second.to_vec(), Vec::new()).await.unwrap();
    assert!(run_pipeline(&env, RunOptions::default()).await.succeeded);

    let all = listens.len() as i64;
    assert_eq!(
        count(&env, "SELECT count(*) FROM bronze.listens").await,
        all
    );
    assert_eq!(
        count(&env, r#"SELECT count(*) FROM bronze."listens@v0""#).await,
        first.len() as i64
    );
    let at_time = format!(
        r#"SELECT count(*) FROM bronze."listens@{}""#,
        between.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    );
    assert_eq!(count(&env, &at_time).await, first.len() as i64);
    let silver = count(&env, "SELECT count(*) FROM silver.listens").await;
    assert!(silver > 0 && silver <= all, "{silver} of {all}");
    let silver_again = env
        .lake_query(
            lakehouse::silver::listens::TABLE,
            "SELECT count(*) AS n FROM silver_listens",
        )
        .await;
    assert!(
        silver_again.contains(&format!("| {silver} ")),
        "{silver_again}"
    );
    // Layers join like any tables.
    let joined = count(
        &env,
        "SELECT count(*) FROM silver.listens l JOIN silver.tracks t ON l.track_id = t.track_id",
    )
    .await;
    assert_eq!(joined, silver);

    let (_, shown) = named_tables::query(&env.lake, "SHOW TABLES").await.unwrap();
    let listed = datafusion::arrow::util::pretty::pretty_format_batches(&shown)
        .unwrap()
        .to_string();
    for table in ["| bronze ", "| listens ", "| silver ", "| tracks "] {
        assert!(listed.contains(table), "{table} in\n{listed}");
    }

    for (sql, says) in [
        (
            "INSERT INTO bronze.listens SELECT * FROM bronze.listens",
            "DML",
        ),
        ("CREATE TABLE copied AS SELECT * FROM silver.tracks", "DDL"),
        ("SET datafusion.execution.batch_size = 1", "Statement"),
        (r#"SELECT * FROM bronze."listens@v999""#, "no such state"),
        (r#"SELECT * FROM bronze."listens@yesterday""#, "RFC 3339"),
        ("SELECT * FROM bronze.nothing", "nothing"),
        ("SELECT * FROM gold.tracks", "gold"),
    ] {
        let refused = named_tables::query(&env.lake, sql).await;
        match refused {
            Err(e) => assert!(e.to_string().contains(says), "{sql}: {e}"),
            Ok(_) => panic!("{sql} ran"),
        }
    }
    assert_eq!(
        count(&env, "SELECT count(*) FROM bronze.listens").await,
        all
    );
    env.finish().await;
}
