//! What every step of a silver listens build shares: the two tables, the bronze version and the
//! generation of checks each commit records, and how rows are written to `silver/listens`.

use std::collections::BTreeMap;

use datafusion::arrow::array::RecordBatch;
use datafusion::prelude::SessionContext;
use deltalake::DeltaTable;
use deltalake::kernel::Transaction;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::operations::write::SchemaMode;
use deltalake::parquet::basic::Compression;
use deltalake::parquet::file::properties::{EnabledStatistics, WriterProperties};
use deltalake::parquet::schema::types::ColumnPath;
use deltalake::protocol::SaveMode;

use crate::error::{LakehouseError, Result};
use crate::lake::{TableRef, recorded_version};
use crate::partitioned_write::PartitionedWrite;
use crate::silver;

/// Clean listens, one row per `event_id`.
pub const TABLE: TableRef = TableRef::new("silver", "listens");
/// Listens set aside, with the reason.
pub const QUARANTINE: TableRef = TableRef::new("silver", "listens_quarantine");
/// `silver/listens` is partitioned Hive-style by these columns (`year=2026/month=11/day=3`).
pub const PARTITIONS: [&str; 3] = ["year", "month", "day"];

/// The application id under which both tables record the `bronze/listens` version they hold.
const READ_BRONZE: &str = "soundlake.silver.listens.bronze_version";
/// The application id under which both tables record the generation of checks their rows
/// passed ([`silver::CHECKS`]); see [`super::stored`].
pub(super) const CHECKED_WITH: &str = "soundlake.silver.listens.checks";
/// The application id under which both tables record how many parts of a build in parts are
/// still to come (0 when the build is whole); see [`super::parts`].
const PARTS_TO_COME: &str = "soundlake.silver.listens.parts_to_come";

/// The rows of `silver/listens` from `checked_listens` (see [`super::check`]).
pub(super) const LISTENS_SQL: &str = include_str!("../sql/listens.sql");

/// What a build read and wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SilverListensReport {
    /// The bronze version silver held before this build.
    pub previous_bronze_version: Option<i64>,
    /// The bronze version silver holds now.
    pub bronze_version: Option<i64>,
    /// `silver/listens` version now current.
    pub listens_version: Option<i64>,
    /// `silver/listens_quarantine` version now current.
    pub quarantine_version: Option<i64>,
    /// `false` when there was nothing new in bronze and nothing to check again (or no bronze,
    /// or no catalogue).
    pub built: bool,
    /// Bronze rows read: the new ones, and those of the listens checked again.
    pub rows_read: usize,
    /// Rows appended to `silver/listens`.
    pub written: usize,
    /// Copies of an event already read in this build or already in silver.
    pub duplicates: usize,
    pub quarantined: usize,
    /// Quarantined rows by reason.
    pub reasons: BTreeMap<String, usize>,
    /// Day partitions the new bronze rows fell in.
    pub days: usize,
    /// Quarantined listens of unknown tracks checked again because the catalogue has their
    /// track now.
    pub rechecked: usize,
    /// Of those, the listens now written to `silver/listens`.
    pub released: usize,
}

/// The bronze version a silver listens table holds, if it was ever built.
pub async fn read_version(table: &DeltaTable, name: TableRef) -> Result<Option<i64>> {
    recorded_version(table, name, READ_BRONZE).await
}

/// How many parts of a build in parts a silver listens table still waits for: more than 0 when
/// that build stopped part-way, and the table must be rebuilt.
pub async fn parts_to_come(table: &DeltaTable, name: TableRef) -> Result<i64> {
    Ok(recorded_version(table, name, PARTS_TO_COME)
        .await?
        .unwrap_or(0))
}

/// What a commit of a build records besides its rows: the operation, for the table's history.
pub(super) fn commit_metadata(operation: &str) -> Vec<(String, serde_json::Value)> {
    vec![(
        "soundlake.operation".to_owned(),
        serde_json::json!(operation),
    )]
}

/// What a commit of a build records beside its rows: the bronze version it read, the
/// generation of checks its rows passed, and how many of the build's parts are still to come.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Stamp {
    pub bronze_version: i64,
    pub parts_to_come: i64,
}

impl Stamp {
    /// A build in one part (or the last part of one) that read bronze up to `bronze_version`.
    pub fn whole(bronze_version: i64) -> Self {
        Self {
            bronze_version,
            parts_to_come: 0,
        }
    }

    pub fn transactions(self) -> Vec<Transaction> {
        vec![
            Transaction::new(READ_BRONZE, self.bronze_version),
            Transaction::new(CHECKED_WITH, silver::CHECKS),
            Transaction::new(PARTS_TO_COME, self.parts_to_come),
        ]
    }

    /// The commit properties of a build's commit named `operation`.
    pub fn commit_properties(self, operation: &str) -> CommitProperties {
        CommitProperties::default()
            .with_metadata(commit_metadata(operation))
            .with_application_transactions(self.transactions())
    }
}

/// Appends to, or with `full` overwrites, a table of the build.
pub(super) fn save_mode(full: bool) -> SaveMode {
    if full {
        SaveMode::Overwrite
    } else {
        SaveMode::Append
    }
}

/// Writes the result of `sql` (rows shaped by `listens.sql`) into `silver/listens` in one
/// commit, in as many streams as the query's plan has output partitions. Returns the table and
/// the rows written.
pub(super) async fn write_listens_of(
    ctx: &SessionContext,
    sql: &str,
    table: DeltaTable,
    full: bool,
    stamp: Stamp,
) -> Result<(DeltaTable, usize)> {
    let write = PartitionedWrite {
        table: TABLE,
        partition_columns: PARTITIONS.map(String::from).to_vec(),
        mode: save_mode(full),
        writer_properties: listens_file_properties(),
        app_metadata: commit_metadata("build silver listens"),
        app_transactions: stamp.transactions(),
    };
    let written = write.write(ctx, sql, table).await?;
    Ok((written.table, written.rows))
}

/// How `silver/listens` files are encoded: Snappy, like delta-rs by default; statistics per
/// column chunk (what Delta's file statistics and readers' row-group pruning use); and no
/// dictionary for the columns nearly every listen has its own value in, where building one
/// costs time and is dropped once it outgrows its page.
fn listens_file_properties() -> WriterProperties {
    let unique = ["event_id", "played_at", "ingested_at", "ms_played"];
    unique
        .into_iter()
        .fold(WriterProperties::builder(), |builder, column| {
            builder.set_column_dictionary_enabled(ColumnPath::from(column), false)
        })
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .build()
}

/// Writes `rows` to the quarantine in one commit named `operation`: appended, or with
/// [`SaveMode::Overwrite`] replacing its rows (and its schema).
pub(super) async fn write_quarantine_rows(
    table: DeltaTable,
    rows: Vec<RecordBatch>,
    mode: SaveMode,
    operation: &str,
    stamp: Stamp,
) -> Result<DeltaTable> {
    let mut builder = table
        .write(rows)
        .with_save_mode(mode)
        .with_table_name(QUARANTINE.sql_name())
        .with_commit_properties(stamp.commit_properties(operation));
    if matches!(mode, SaveMode::Overwrite) {
        builder = builder.with_schema_mode(SchemaMode::Overwrite);
    }
    builder
        .await
        .map_err(|e| LakehouseError::delta(QUARANTINE.qualified(), e))
}
