//! `bronze/tracks`: every catalogue CSV row as text, with its file, line, batch and time.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion::arrow::array::{
    ArrayRef, AsArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use deltalake::kernel::transaction::CommitProperties;

use crate::error::{LakehouseError, Result};
use crate::lake::{Lake, TableRef};
use crate::sources::catalog_csv::{CatalogFile, RAW_COLUMNS};

/// The bronze catalogue table.
pub const TABLE: TableRef = TableRef::new("bronze", "tracks");

/// The Arrow schema of bronze catalogue rows: the raw text columns, then lineage.
pub fn schema() -> SchemaRef {
    let mut fields: Vec<Field> = RAW_COLUMNS
        .iter()
        .map(|c| Field::new(*c, DataType::Utf8, true))
        .collect();
    fields.extend([
        Field::new("source_format", DataType::Utf8, false),
        Field::new("source_file", DataType::Utf8, false),
        Field::new("line_number", DataType::Int64, false),
        Field::new("batch_id", DataType::Utf8, false),
        Field::new("file_sha256", DataType::Utf8, false),
        Field::new(
            "ingested_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ]);
    Arc::new(Schema::new(fields))
}

/// A file written to bronze as one batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BronzeBatch {
    pub batch_id: String,
    pub source_file: String,
    pub rows: usize,
}

/// What an append wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct BronzeAppend {
    /// The table version of the commit.
    pub version: i64,
    pub batches: Vec<BronzeBatch>,
}

/// The SHA-256 of every file already in bronze.
pub async fn known_file_hashes(lake: &Lake) -> Result<HashSet<String>> {
    let Some(table) = lake.existing_table(TABLE).await? else {
        return Ok(HashSet::new());
    };
    let sql = format!("SELECT DISTINCT file_sha256 FROM {}", TABLE.sql_name());
    let batches = lake.query_table(TABLE, &table, &sql).await?;
    let mut hashes = HashSet::new();
    for batch in &batches {
        let column = datafusion::arrow::compute::cast(batch.column(0), &DataType::Utf8)?;
        hashes.extend(
            column
                .as_string::<i32>()
                .iter()
                .flatten()
                .map(str::to_owned),
        );
    }
    Ok(hashes)
}

/// Appends `files` to bronze in one commit, one batch per file, all stamped `ingested_at`.
pub async fn append(
    lake: &Lake,
    files: &[CatalogFile],
    ingested_at: DateTime<Utc>,
) -> Result<BronzeAppend> {
    let table = lake.table(TABLE).await?;
    let mut record_batches = Vec::with_capacity(files.len());
    let mut batches = Vec::with_capacity(files.len());
    for file in files {
        let batch_id = uuid::Uuid::new_v4().to_string();
        record_batches.push(to_record_batch(file, &batch_id, ingested_at)?);
        batches.push(BronzeBatch {
            batch_id,
            source_file: file.path.display().to_string(),
            rows: file.rows.len(),
        });
    }
    let metadata = [
        (
            "soundlake.operation".to_owned(),
            serde_json::json!("import catalog"),
        ),
        (
            "soundlake.files".to_owned(),
            serde_json::json!(batches.iter().map(|b| &b.source_file).collect::<Vec<_>>()),
        ),
    ];
    let table = table
        .write(record_batches)
        .with_table_name("bronze_tracks")
        .with_commit_properties(CommitProperties::default().with_metadata(metadata))
        .await
        .map_err(|e| LakehouseError::delta(TABLE.qualified(), e))?;
    let version = table.version().unwrap_or_default() as i64;
    Ok(BronzeAppend { version, batches })
}

fn to_record_batch(
    file: &CatalogFile,
    batch_id: &str,
    ingested_at: DateTime<Utc>,
) -> Result<RecordBatch> {
    let n = file.rows.len();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(RAW_COLUMNS.len() + 6);
    for index in 0..RAW_COLUMNS.len() {
        let values = file.rows.iter().map(|row| row.fields[index].as_deref());
        columns.push(Arc::new(StringArray::from_iter(values)));
    }
    let source_file = file.path.display().to_string();
    columns.push(Arc::new(StringArray::from_iter_values(
        std::iter::repeat_n(file.format.id(), n),
    )));
    columns.push(Arc::new(StringArray::from_iter_values(
        std::iter::repeat_n(source_file.as_str(), n),
    )));
    columns.push(Arc::new(Int64Array::from_iter_values(
        file.rows.iter().map(|r| r.line_number as i64),
    )));
    columns.push(Arc::new(StringArray::from_iter_values(
        std::iter::repeat_n(batch_id, n),
    )));
    columns.push(Arc::new(StringArray::from_iter_values(
        std::iter::repeat_n(file.sha256.as_str(), n),
    )));
    let micros = ingested_at.timestamp_micros();
    columns.push(Arc::new(
        TimestampMicrosecondArray::from_iter_values(std::iter::repeat_n(micros, n))
            .with_timezone("UTC"),
    ));
    Ok(RecordBatch::try_new(schema(), columns)?)
}
