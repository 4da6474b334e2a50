use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Int64Type;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use deltalake::DeltaTable;
use deltalake::parquet::file::properties::WriterProperties;
use deltalake::protocol::SaveMode;

use super::PartitionedWrite;
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
