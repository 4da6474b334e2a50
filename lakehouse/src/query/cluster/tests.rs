//! Engines by address; soundlake's functions on every member of a cluster; and a Delta
//! table read as its snapshot's files, which answers as delta-rs's provider does, also after
//! its plans went through the codecs a cluster receives them by.

use std::sync::Arc;

use ballista_core::serde::BallistaPhysicalExtensionCodec;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::physical_plan::collect;
use datafusion::prelude::SessionContext;
use datafusion_proto::bytes::{
    logical_plan_from_bytes_with_extension_codec, logical_plan_to_bytes_with_extension_codec,
    physical_plan_from_bytes_with_extension_codec, physical_plan_to_bytes_with_extension_codec,
};
use deltalake::DeltaTable;
use deltalake::parquet::file::properties::WriterProperties;
use deltalake::protocol::SaveMode;

use super::*;
use crate::lake::{Lake, TableRef};
use crate::partitioned_write::PartitionedWrite;

const PLAYS: TableRef = TableRef::new("test", "plays");

/// A query that reads some partitions, filters on a stored column and on a partition column.
const QUERY: &str = "SELECT day, count(*) AS n, sum(plays) AS plays, max(id) AS last \
     FROM plays WHERE day > 1 OR id = 5 GROUP BY day ORDER BY day";

/// `test/plays`, partitioned by day, written and then overwritten: its folder holds the
/// first version's files too, which the snapshot no longer has.
async fn plays_table(lake: &Lake) -> DeltaTable {
    let ctx = lake.session().unwrap();
    let write = PartitionedWrite {
        table: PLAYS,
        partition_columns: vec!["day".to_owned()],
        mode: SaveMode::Append,
        writer_properties: WriterProperties::default(),
        app_metadata: Vec::new(),
        app_transactions: Vec::new(),
    };
    let rows = |values: &str| {
        format!("SELECT column1 AS id, column2 AS day, column3 AS plays FROM (VALUES {values})")
    };
    let first = write
        .write(
            &ctx,
            &rows("(1, 3, 10), (2, 1, 20), (3, 3, 30)"),
            lake.table(PLAYS).await.unwrap(),
        )
        .await
        .unwrap();
    let overwrite = PartitionedWrite {
        mode: SaveMode::Overwrite,
        ..write
    };
    overwrite
        .write(
            &ctx,
            &rows("(4, 2, 40), (5, 1, 50), (6, 2, NULL), (7, 3, 70)"),
            first.table,
        )
        .await
        .unwrap()
        .table
}

fn shown(batches: &[RecordBatch]) -> String {
    pretty_format_batches(batches).unwrap().to_string()
}

async fn answer(ctx: &SessionContext) -> String {
    shown(&ctx.sql(QUERY).await.unwrap().collect().await.unwrap())
}

#[tokio::test]
async fn a_snapshot_read_as_its_files_answers_as_delta_rs_also_through_the_codecs() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::new(dir.path());
    let table = plays_table(&lake).await;

    let delta_rs = SessionContext::new();
    lake.register_as(&delta_rs, "plays", PLAYS, &table)
        .await
        .unwrap();
    let expected = answer(&delta_rs).await;
    assert!(
        expected.contains("| 2   | 2 | 40    | 6    |"),
        "{expected}"
    );

    let files = SessionContext::new();
    files
        .register_table("plays", Arc::new(SnapshotTable::of(&table).unwrap()))
        .unwrap();
    assert_eq!(answer(&files).await, expected);

    // The plan as the scheduler receives it, planned there, then as an executor receives it.
    let plan = files
        .sql(QUERY)
        .await
        .unwrap()
        .into_optimized_plan()
        .unwrap();
    let bytes = logical_plan_to_bytes_with_extension_codec(&plan, &LakeCodec::default()).unwrap();
    let scheduler = SessionContext::new();
    let decoded = logical_plan_from_bytes_with_extension_codec(
        &bytes,
        &scheduler.task_ctx(),
        &LakeCodec::default(),
    )
    .unwrap();
    let physical = scheduler
        .state()
        .create_physical_plan(&decoded)
        .await
        .unwrap();
    let codec = BallistaPhysicalExtensionCodec::default();
    let bytes = physical_plan_to_bytes_with_extension_codec(physical, &codec).unwrap();
    let executor = SessionContext::new();
    let received =
        physical_plan_from_bytes_with_extension_codec(&bytes, &executor.task_ctx(), &codec)
            .unwrap();
    let rows = collect(received, executor.task_ctx()).await.unwrap();
    assert_eq!(shown(&rows), expected);
}

#[test]
fn engines_parse_from_their_addresses() {
    assert_eq!(Engine::parse("local").unwrap(), Engine::Local);
    assert_eq!(
        Engine::parse("ballista://127.0.0.1:50070").unwrap(),
        Engine::Ballista {
            host: "127.0.0.1".into(),
            port: 50070
        }
    );
    let default_port = Engine::parse("ballista://scheduler").unwrap();
    assert_eq!(default_port.to_string(), "ballista://scheduler:50050");
    for wrong in [
        "",
        "spark://host:7077",
        "ballista://",
        "ballista://host:0",
        "ballista://host:99999",
        "ballista://user@host:1",
    ] {
        assert!(Engine::parse(wrong).is_err(), "{wrong} was taken");
    }
}

#[test]
fn every_soundlake_function_reaches_the_scheduler_and_the_executors() {
    let state = scheduler_session(SessionConfig::new()).unwrap();
    let registry = executor_functions();
    for name in [
        "xxhash64",
        "parse_artists",
        "id_fault",
        "text_fault",
        "array_element",
    ] {
        assert!(state.scalar_functions().contains_key(name), "{name}");
        assert!(registry.scalar_functions.contains_key(name), "{name}");
    }
    assert!(state.aggregate_functions().contains_key("top_items"));
    assert!(registry.aggregate_functions.contains_key("top_items"));
}
