//! `bronze/listens` (accepted listening events, partitioned by ingestion date) and
//! `bronze/rejected_listens` (refused events with the reason and the raw payload).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion::arrow::array::{
    ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use deltalake::DeltaTable;

use crate::error::{LakehouseError, Result};
use crate::lake::TableRef;

/// Accepted listens.
pub const LISTENS: TableRef = TableRef::new("bronze", "listens");
/// Refused listens.
pub const REJECTED: TableRef = TableRef::new("bronze", "rejected_listens");
/// Both tables are partitioned Hive-style by the UTC date of ingestion.
pub const PARTITION: &str = "ingest_date";

/// A refused event, kept with why it was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedListen {
    /// Where it came from, e.g. `api`.
    pub source: String,
    /// Its position in the request or file.
    pub position: i64,
    pub reason: String,
    /// The event as sent, cut to [`MAX_KEPT_RAW_BYTES`] (see [`RejectedListen::new`]).
    pub raw: String,
}

/// How much of a refused event's text is kept: refused input must not fill the disk.
pub const MAX_KEPT_RAW_BYTES: usize = 2048;

impl RejectedListen {
    /// A refused event, keeping at most [`MAX_KEPT_RAW_BYTES`] of its text; a longer text is
    /// cut at a character boundary and ends with `… [N bytes in all]`.
    pub fn new(
        source: impl Into<String>,
        position: i64,
        reason: impl Into<String>,
        raw: &str,
    ) -> Self {
        let raw = if raw.len() <= MAX_KEPT_RAW_BYTES {
            raw.to_owned()
        } else {
            let cut = raw.floor_char_boundary(MAX_KEPT_RAW_BYTES);
            format!("{}… [{} bytes in all]", &raw[..cut], raw.len())
        };
        Self {
            source: source.into(),
            position,
            reason: reason.into(),
            raw,
        }
    }
}

fn timestamp() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// The Arrow schema of `bronze/listens`.
pub fn listens_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("event_id", DataType::Utf8, false),
        Field::new("event_id_assigned", DataType::Boolean, false),
        Field::new("user_id", DataType::Utf8, false),
        Field::new("track_id", DataType::Utf8, false),
        Field::new("played_at", timestamp(), false),
        Field::new("ms_played", DataType::Int64, false),
        Field::new("end_reason", DataType::Utf8, true),
        Field::new("skipped", DataType::Boolean, true),
        Field::new("context_source", DataType::Utf8, true),
        Field::new("context_device", DataType::Utf8, true),
        Field::new("raw", DataType::Utf8, false),
        Field::new("ingested_at", timestamp(), false),
        Field::new(PARTITION, DataType::Utf8, false),
    ]))
}

/// The Arrow schema of `bronze/rejected_listens`.
pub fn rejected_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("source", DataType::Utf8, false),
        Field::new("position", DataType::Int64, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("raw", DataType::Utf8, false),
        Field::new("received_at", timestamp(), false),
        Field::new(PARTITION, DataType::Utf8, false),
    ]))
}

/// `n` copies of `at`, as a UTC timestamp column.
pub(crate) fn micros(n: usize, at: DateTime<Utc>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(vec![at.timestamp_micros(); n]).with_timezone("UTC"))
}

/// `n` copies of `text`, as a text column.
pub(crate) fn repeated(n: usize, text: &str) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(std::iter::repeat_n(text, n)))
}

/// Refused events as one Arrow batch, stamped `received_at`.
pub fn rejected_batch(
    rejected: &[&RejectedListen],
    received_at: DateTime<Utc>,
) -> Result<RecordBatch> {
    let n = rejected.len();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            rejected.iter().map(|r| r.source.as_str()),
        )),
        Arc::new(Int64Array::from_iter_values(
            rejected.iter().map(|r| r.position),
        )),
        Arc::new(StringArray::from_iter_values(
            rejected.iter().map(|r| r.reason.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            rejected.iter().map(|r| r.raw.as_str()),
        )),
        micros(n, received_at),
        repeated(n, &received_at.format("%Y-%m-%d").to_string()),
    ];
    Ok(RecordBatch::try_new(rejected_schema(), columns)?)
}

/// Appends `batch` to `table` in one commit (creating the table, partitioned by ingestion
/// date, on first use) and returns the table at its new version.
pub async fn append(table: DeltaTable, name: TableRef, batch: RecordBatch) -> Result<DeltaTable> {
    table
        .write(vec![batch])
        .with_partition_columns([PARTITION])
        .with_table_name(name.sql_name())
        .await
        .map_err(|e| LakehouseError::delta(name.qualified(), e))
}
