//! Silver: typed, validated, deduplicated tables built from bronze with DataFusion SQL. The SQL
//! lives in `silver/sql/*.sql`.

pub mod listens;
pub mod tracks;

use std::collections::BTreeMap;

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;

/// The generation of silver's checks, recorded by each silver table in its commits: a table
/// built by an older soundlake, with fewer checks, is checked again on the next run (tracks
/// rebuilt, listens' stored rows checked, see [`listens`]). Raised whenever a check is
/// added that rows already in silver could fail.
pub(crate) const CHECKS: i64 = 1;

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
