use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema, TimeUnit};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use delta_kernel::table_properties::TableProperties;
use deltalake::DeltaTable;
use deltalake::parquet::file::properties::WriterProperties;
use deltalake::protocol::SaveMode;

use super::file_stats::{self, IndexedColumns};
use super::{PartitionedWrite, on_cluster};
use crate::error::LakehouseError;
use crate::lake::{Lake, TableRef};

const PLAYS: TableRef = TableRef::new("test", "plays");

fn plays_write(mode: SaveMode) -> PartitionedWrite {
    PartitionedWrite {
        table: PLAYS,
        partition_columns: vec!["day".to_owned()],
        mode,
        writer_properties: WriterProperties::default(),
        app_metadata: Vec::new(),
        app_transactions: Vec::new(),
    }
}

/// A lake in a temporary folder (removed when the folder's handle is dropped), and a session.
fn fresh_lake() -> (tempfile::TempDir, Lake, SessionContext) {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::new(dir.path());
    let ctx = lake.session().unwrap();
    (dir, lake, ctx)
}

/// A query over `(id, day, plays)` rows, in the order given.
fn rows_sql(rows: &[(i64, i64, i64)]) -> String {
    let values: Vec<String> = rows
        .iter()
        .map(|(id, day, plays)| format!("({id}, {day}, {plays})"))
        .collect();
    format!(
        "SELECT column1 AS id, column2 AS day, column3 AS plays FROM (VALUES {})",
        values.join(", ")
    )
}

/// `(day, sum of plays)` read back from the table.
async fn plays_by_day(lake: &Lake, table: &DeltaTable) -> Vec<(i64, i64)> {
    let sql = "SELECT day, sum(plays) FROM test_plays GROUP BY day ORDER BY day";
    let batches = lake.query_table(PLAYS, table, sql).await.unwrap();
    batches
        .iter()
        .flat_map(|b| {
            let days = b.column(0).as_primitive::<Int64Type>().clone();
            let plays = b.column(1).as_primitive::<Int64Type>().clone();
            (0..b.num_rows()).map(move |i| (days.value(i), plays.value(i)))
        })
        .collect()
}

/// How many data files each `day=N` folder holds.
fn files_by_partition(table: &DeltaTable) -> BTreeMap<String, usize> {
    let mut files = BTreeMap::new();
    for uri in table.get_file_uris().unwrap() {
        let folder = uri
            .split('/')
            .find(|part| part.starts_with("day="))
            .unwrap_or("none")
            .to_owned();
        *files.entry(folder).or_default() += 1;
    }
    files
}

#[tokio::test]
async fn rows_of_interleaved_days_land_each_in_its_day_once_and_appends_add_to_them() {
    let (_dir, lake, ctx) = fresh_lake();
    let interleaved = rows_sql(&[(1, 3, 10), (2, 1, 20), (3, 3, 30), (4, 2, 40), (5, 1, 50)]);
    let table = lake.table(PLAYS).await.unwrap();
    let written = plays_write(SaveMode::Append)
        .write(&ctx, &interleaved, table)
        .await
        .unwrap();
    assert_eq!((written.rows, written.files), (5, 3));
    let files = files_by_partition(&written.table);
    let expected: BTreeMap<String, usize> = [("day=1", 1), ("day=2", 1), ("day=3", 1)]
        .map(|(d, n)| (d.to_owned(), n))
        .into();
    assert_eq!(files, expected);
    assert_eq!(
        plays_by_day(&lake, &written.table).await,
        [(1, 70), (2, 40), (3, 40)]
    );

    let in_order = rows_sql(&[(6, 3, 1), (7, 4, 2), (8, 4, 3)]);
    let appended = plays_write(SaveMode::Append)
        .write(&ctx, &in_order, written.table)
        .await
        .unwrap();
    assert_eq!((appended.rows, appended.files), (3, 2));
    assert_eq!(appended.table.version(), Some(1));
    assert_eq!(
        plays_by_day(&lake, &appended.table).await,
        [(1, 70), (2, 40), (3, 41), (4, 5)]
    );
}

#[tokio::test]
async fn an_append_of_other_columns_or_partitions_is_refused_and_commits_nothing() {
    let (_dir, lake, ctx) = fresh_lake();
    let table = lake.table(PLAYS).await.unwrap();
    let first = plays_write(SaveMode::Append)
        .write(&ctx, &rows_sql(&[(1, 1, 10)]), table)
        .await
        .unwrap();
    let text_plays = "SELECT 2 AS id, 1 AS day, 'ten' AS plays";
    let error = plays_write(SaveMode::Append)
        .write(&ctx, text_plays, first.table)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, LakehouseError::Schema { detail, .. } if detail.contains("`plays`")),
        "{error}"
    );
    let with_skips = "SELECT 2 AS id, 1 AS day, 3 AS plays, 1 AS skips";
    let error = plays_write(SaveMode::Append)
        .write(&ctx, with_skips, lake.table(PLAYS).await.unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, LakehouseError::Schema { detail, .. } if detail.contains("`skips`")),
        "{error}"
    );
    let mut by_id = plays_write(SaveMode::Append);
    by_id.partition_columns = vec!["id".to_owned()];
    let error = by_id
        .write(
            &ctx,
            &rows_sql(&[(2, 1, 3)]),
            lake.table(PLAYS).await.unwrap(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, LakehouseError::Schema { detail, .. } if detail.contains("partitioned by")),
        "{error}"
    );
    let reloaded = lake.table(PLAYS).await.unwrap();
    assert_eq!(reloaded.version(), Some(0));
    assert_eq!(plays_by_day(&lake, &reloaded).await, [(1, 10)]);
}

#[tokio::test]
async fn an_overwrite_replaces_the_rows_and_the_columns() {
    let (_dir, lake, ctx) = fresh_lake();
    let table = lake.table(PLAYS).await.unwrap();
    let first = plays_write(SaveMode::Append)
        .write(&ctx, &rows_sql(&[(1, 1, 10), (2, 2, 20)]), table)
        .await
        .unwrap();
    let with_skips = "SELECT 3 AS id, 2 AS day, 5 AS plays, 1 AS skips";
    let replaced = plays_write(SaveMode::Overwrite)
        .write(&ctx, with_skips, first.table)
        .await
        .unwrap();
    assert_eq!(plays_by_day(&lake, &replaced.table).await, [(2, 5)]);
    let sql = "SELECT sum(skips) FROM test_plays";
    let skips = lake.query_table(PLAYS, &replaced.table, sql).await.unwrap();
    assert_eq!(skips[0].column(0).as_primitive::<Int64Type>().value(0), 1);
    assert_eq!(
        files_by_partition(&replaced.table),
        [("day=2".to_owned(), 1)].into()
    );
}

#[tokio::test]
async fn a_day_whose_rows_come_from_several_streams_gets_one_file() {
    let (_dir, lake, ctx) = fresh_lake();
    let first = ctx.sql(&rows_sql(&[(1, 1, 10), (2, 2, 20)])).await.unwrap();
    let second = ctx.sql(&rows_sql(&[(3, 2, 30), (4, 3, 40)])).await.unwrap();
    let (first, second) = (
        first.collect().await.unwrap(),
        second.collect().await.unwrap(),
    );
    let schema = first[0].schema();
    let streams = MemTable::try_new(schema, vec![first, second]).unwrap();
    ctx.register_table("two_streams", Arc::new(streams))
        .unwrap();
    let table = lake.table(PLAYS).await.unwrap();
    let written = plays_write(SaveMode::Append)
        .write(&ctx, "SELECT * FROM two_streams", table)
        .await
        .unwrap();
    assert_eq!((written.rows, written.files), (4, 3));
    assert_eq!(
        plays_by_day(&lake, &written.table).await,
        [(1, 10), (2, 50), (3, 40)]
    );
}

#[test]
fn a_file_a_cluster_wrote_takes_its_partition_values_from_its_folders() {
    let write = PartitionedWrite {
        partition_columns: vec!["year".to_owned(), "month".to_owned(), "day".to_owned()],
        ..plays_write(SaveMode::Append)
    };
    let path = std::path::Path::new(
        "cluster-1f2e/year=2026/month=__HIVE_DEFAULT_PARTITION__/day=5/a_0.parquet",
    );
    let values = write.partition_values(path);
    let expected = [("year", Some("2026")), ("month", None), ("day", Some("5"))]
        .map(|(column, value)| (column.to_owned(), value.map(str::to_owned)));
    assert_eq!(values, std::collections::HashMap::from(expected));
}

/// `(id, artist, score, played_at, skipped, day)` rows over two days; the second day's
/// artists are all unknown, and the times carry milliseconds, as Delta's bounds do.
fn typed_rows() -> RecordBatch {
    let schema = Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("artist", DataType::Utf8, true),
        Field::new("score", DataType::Float64, true),
        Field::new(
            "played_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("skipped", DataType::Boolean, true),
        Field::new("day", DataType::Int64, false),
    ]);
    let at = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_micros()
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![3, 1, 2, 5, 4])),
        Arc::new(StringArray::from(vec![
            Some("Nina"),
            None,
            Some("Arca"),
            None,
            None,
        ])),
        Arc::new(Float64Array::from(vec![
            Some(0.5),
            Some(-1.25),
            None,
            Some(7.0),
            Some(2.0),
        ])),
        Arc::new(
            TimestampMicrosecondArray::from(vec![
                Some(at("2026-03-01T10:00:00.250Z")),
                Some(at("2026-03-01T09:30:10.125Z")),
                None,
                Some(at("2026-03-02T23:59:59.999Z")),
                Some(at("2026-03-02T00:00:00.001Z")),
            ])
            .with_timezone("UTC"),
        ),
        Arc::new(BooleanArray::from(vec![
            Some(true),
            Some(false),
            None,
            None,
            Some(false),
        ])),
        Arc::new(Int64Array::from(vec![1, 1, 1, 2, 2])),
    ];
    RecordBatch::try_new(Arc::new(schema), columns).unwrap()
}

#[tokio::test]
async fn a_file_another_process_wrote_gets_the_statistics_delta_rs_gives_its_own() {
    let (_dir, lake, ctx) = fresh_lake();
    let rows = typed_rows();
    let table = MemTable::try_new(rows.schema(), vec![vec![rows]]).unwrap();
    ctx.register_table("typed_rows", Arc::new(table)).unwrap();
    let written = plays_write(SaveMode::Append)
        .write(
            &ctx,
            "SELECT * FROM typed_rows",
            lake.table(PLAYS).await.unwrap(),
        )
        .await
        .unwrap();
    let by_delta_rs: BTreeMap<String, serde_json::Value> = written
        .table
        .snapshot()
        .unwrap()
        .log_data()
        .iter()
        .map(|file| {
            let day = file.partition_values_map()["day"].clone().unwrap();
            (day, serde_json::from_str(&file.stats().unwrap()).unwrap())
        })
        .collect();

    // As a cluster's executor writes them: DataFusion's Parquet files, Hive-style by day.
    let elsewhere = tempfile::tempdir().unwrap();
    let options = DataFrameWriteOptions::new().with_partition_by(vec!["day".to_owned()]);
    ctx.sql("SELECT * FROM typed_rows")
        .await
        .unwrap()
        .write_parquet(&format!("{}/", elsewhere.path().display()), options, None)
        .await
        .unwrap();
    let indexed = IndexedColumns::of(&TableProperties::default());
    let url = url::Url::from_directory_path(elsewhere.path()).unwrap();
    let no_options: [(&str, &str); 0] = [];
    let store = deltalake::logstore::store_for(&url, no_options).unwrap();
    let mut from_footers = BTreeMap::new();
    for file in on_cluster::parquet_files(&store, "").await.unwrap() {
        let folder = file.location.parts().next().unwrap();
        let day = folder.as_ref().strip_prefix("day=").unwrap().to_owned();
        let footer = on_cluster::footer(&store, &file).await.unwrap();
        from_footers.insert(day, file_stats::stats_of(&footer, &indexed).unwrap());
    }

    assert_eq!(from_footers.len(), 2);
    assert_eq!(from_footers, by_delta_rs);
    let second_day = &from_footers["2"];
    assert_eq!(second_day["nullCount"]["artist"], 2);
    assert!(second_day["minValues"].get("artist").is_none());
    assert_eq!(
        second_day["maxValues"]["played_at"],
        "2026-03-02T23:59:59.999Z"
    );
}
