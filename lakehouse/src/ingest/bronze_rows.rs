//! Accepted listens as rows of `bronze/listens`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};

use super::Listen;
use crate::bronze::listens::{listens_schema, micros, repeated};
use crate::error::Result;

/// Accepted listens as one Arrow batch, stamped `ingested_at`.
pub fn listens_batch(listens: &[&Listen], ingested_at: DateTime<Utc>) -> Result<RecordBatch> {
    let n = listens.len();
    let text = |f: fn(&Listen) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(listens.iter().map(|l| f(l))))
    };
    let optional = |f: fn(&Listen) -> Option<&str>| -> ArrayRef {
        Arc::new(StringArray::from_iter(listens.iter().map(|l| f(l))))
    };
    let columns: Vec<ArrayRef> = vec![
        text(|l| &l.event_id),
        Arc::new(BooleanArray::from_iter(
            listens.iter().map(|l| Some(l.event_id_assigned)),
        )),
        text(|l| &l.user_id),
        text(|l| &l.track_id),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(
                listens.iter().map(|l| l.played_at.timestamp_micros()),
            )
            .with_timezone("UTC"),
        ),
        Arc::new(Int64Array::from_iter_values(
            listens.iter().map(|l| l.ms_played),
        )),
        optional(|l| l.end_reason.as_deref()),
        Arc::new(BooleanArray::from_iter(listens.iter().map(|l| l.skipped))),
        optional(|l| l.context_source.as_deref()),
        optional(|l| l.context_device.as_deref()),
        text(|l| &l.raw),
        micros(n, ingested_at),
        repeated(n, &ingested_at.format("%Y-%m-%d").to_string()),
    ];
    Ok(RecordBatch::try_new(listens_schema(), columns)?)
}
