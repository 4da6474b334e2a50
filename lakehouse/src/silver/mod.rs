//! Silver: typed, validated, deduplicated tables built from bronze with DataFusion SQL. The SQL
//! lives in `silver/sql/*.sql`.

mod functions;
pub mod listens;
mod recheck;
pub mod tracks;

use std::collections::BTreeMap;

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;

/// Quarantined rows by their `reason` column.
pub(crate) fn count_reasons(batches: &[RecordBatch]) -> crate::Result<BTreeMap<String, usize>> {
    let mut reasons = BTreeMap::new();
    for batch in batches {
        let Some(column) = batch.column_by_name("reason") else {
            continue;
        };
        let column = cast(column, &DataType::Utf8)?;
        for reason in column.as_string::<i32>().iter().flatten() {
            *reasons.entry(reason.to_owned()).or_insert(0) += 1;
        }
    }
    Ok(reasons)
}
