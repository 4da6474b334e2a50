//! The lake on an S3-compatible object store: a real server in a process of its own (moto's,
//! from PyPI), the pipeline end to end on it, and the same silver and gold as on a local
//! folder fed the same listens.

use std::collections::HashMap;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use lakehouse::Lake;
use lakehouse::ingest::{IngestWriter, Listen, WriterSettings};
use lakehouse::named_tables;
use lakehouse::pipeline::RunOptions;
use lakehouse::simulate::{Simulation, simulate};

use crate::support::{TestEnv, demo_catalogue, python, run_pipeline};

/// An S3-compatible server on a free local port, with one bucket; stopped when dropped.
struct S3Server {
    child: Child,
    endpoint: String,
}

const BUCKET: &str = "soundlake-lake";

impl S3Server {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let moto = std::path::Path::new(&python()).with_file_name("moto_server");
        let child = Command::new(moto)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting moto's S3 server");
        let server = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the S3 server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let created = Command::new(python())
            .args([
                "-c",
                &format!(
                    "import boto3; boto3.client('s3', endpoint_url='{}', region_name='us-east-1', \
                     aws_access_key_id='soundlake', aws_secret_access_key='soundlake')\
                     .create_bucket(Bucket='{BUCKET}')",
                    server.endpoint
                ),
            ])
            .output()
            .expect("creating the bucket");
        assert!(
            created.status.success(),
            "{}",
            String::from_utf8_lossy(&created.stderr)
        );
        server
    }

    /// The lake under `prefix` in the bucket.
    fn lake(&self, prefix: &str) -> Lake {
        let options = HashMap::from(
            [
                ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
                ("AWS_REGION", "us-east-1"),
                ("AWS_ACCESS_KEY_ID", "soundlake"),
                ("AWS_SECRET_ACCESS_KEY", "soundlake"),
                ("AWS_ALLOW_HTTP", "true"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        Lake::at(&format!("s3://{BUCKET}/{prefix}"), options).expect("an S3 lake")
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
    let s3 = S3Server::start();
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
    let s3 = S3Server::start();
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
