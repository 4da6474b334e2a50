//! One listener's listens as bronze holds them, newest first: what a player that submitted
//! them reads back at once, before any pipeline run.

use chrono::{DateTime, Utc};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Int64Type, TimestampMicrosecondType};
use datafusion::scalar::ScalarValue;

use super::listens::LISTENS;
use crate::error::{LakehouseError, Result};
use crate::lake::Lake;

const SQL: &str = include_str!("sql/listens_of_user.sql");

/// The most listens one read returns.
pub const MAX_COUNT: usize = 1_000;

/// A listen as it arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredListen {
    pub event_id: String,
    pub played_at: DateTime<Utc>,
    pub track_id: String,
    pub ms_played: i64,
    /// The event exactly as its client sent it.
    pub raw: String,
    pub ingested_at: DateTime<Utc>,
}

/// Which of a listener's listens to read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ListensQuery {
    /// Listens played at or after this time.
    pub from: DateTime<Utc>,
    /// Listens played at or before this time.
    pub to: DateTime<Utc>,
    /// At most this many (capped at [`MAX_COUNT`]).
    pub count: usize,
    /// The oldest listens within the bounds, oldest first (else the newest, newest first).
    pub oldest_first: bool,
}

/// `user_id`'s listens played within the query's bounds, each event once, in the query's
/// order.
pub async fn listens_of_user(
    lake: &Lake,
    user_id: &str,
    query: &ListensQuery,
) -> Result<Vec<StoredListen>> {
    let Some(table) = lake.existing_table(LISTENS).await? else {
        return Ok(Vec::new());
    };
    let micros = |t: DateTime<Utc>| {
        ScalarValue::TimestampMicrosecond(Some(t.timestamp_micros()), Some("UTC".into()))
    };
    let params = [
        ("user_id", ScalarValue::Utf8(Some(user_id.to_owned()))),
        ("min_played_at", micros(query.from)),
        ("max_played_at", micros(query.to)),
    ];
    // A number, so it can be written into the text (LIMIT takes no parameter).
    let order = if query.oldest_first { "ASC" } else { "DESC" };
    let sql = SQL
        .replace("$order", order)
        .replace("$count", &query.count.min(MAX_COUNT).to_string());
    let batches = lake
        .query_table_with(LISTENS, &table, &sql, &params)
        .await?;
    let mut listens = Vec::new();
    for batch in &batches {
        read_batch(batch, &mut listens)?;
    }
    Ok(listens)
}

fn read_batch(batch: &RecordBatch, into: &mut Vec<StoredListen>) -> Result<()> {
    let schema_error = |column: &str| LakehouseError::Schema {
        table: LISTENS.qualified(),
        detail: format!("column {column} has an unexpected type"),
    };
    let text = |i: usize, name: &str| {
        batch
            .column(i)
            .as_string_opt::<i32>()
            .ok_or_else(|| schema_error(name))
    };
    let time = |i: usize, name: &str| {
        batch
            .column(i)
            .as_primitive_opt::<TimestampMicrosecondType>()
            .ok_or_else(|| schema_error(name))
    };
    let (event_id, played_at, track_id) = (
        text(0, "event_id")?,
        time(1, "played_at")?,
        text(2, "track_id")?,
    );
    let ms_played = batch
        .column(3)
        .as_primitive_opt::<Int64Type>()
        .ok_or_else(|| schema_error("ms_played"))?;
    let (raw, ingested_at) = (text(4, "raw")?, time(5, "ingested_at")?);
    let at = |micros: i64| DateTime::from_timestamp_micros(micros).unwrap_or_default();
    for row in 0..batch.num_rows() {
        if event_id.is_null(row) {
            continue;
        }
        into.push(StoredListen {
            event_id: event_id.value(row).to_owned(),
            played_at: at(played_at.value(row)),
            track_id: track_id.value(row).to_owned(),
            ms_played: ms_played.value(row),
            raw: raw.value(row).to_owned(),
            ingested_at: at(ingested_at.value(row)),
        });
    }
    Ok(())
}
