//! The Delta statistics of a Parquet file another process wrote (a cluster's executor), read
//! from the file's footer: its rows, and for each indexed column its bounds and nulls, so that
//! readers skip the file by column values as they do a file soundlake wrote itself.
//!
//! A bound is left out where the footer cannot vouch for it (a row group without statistics),
//! never guessed; a null count a footer leaves out counts as none, as delta-rs reads it.
//! Timestamps are kept to the millisecond, as Delta keeps them: a lower bound rounded down, an
//! upper bound rounded up.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, SecondsFormat, TimeDelta, Utc};
use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::common::ScalarValue;
use datafusion::parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use datafusion::parquet::arrow::parquet_to_arrow_schema;
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::metadata::ParquetMetaData;
use delta_kernel::table_properties::{DataSkippingNumIndexedCols, TableProperties};
use deltalake::table::config::TablePropertiesExt;
use serde_json::{Map, Value, json};

/// Which of a table's columns carry statistics: `delta.dataSkippingStatsColumns` when set,
/// else the first `delta.dataSkippingNumIndexedCols` (32 unless set) that are not partition
/// columns.
pub(super) struct IndexedColumns {
    names: Option<Vec<String>>,
    count: DataSkippingNumIndexedCols,
}

impl IndexedColumns {
    pub(super) fn of(properties: &TableProperties) -> Self {
        Self {
            names: properties
                .data_skipping_stats_columns
                .as_ref()
                .map(|columns| columns.iter().map(ToString::to_string).collect()),
            count: properties.num_indexed_cols(),
        }
    }

    fn select<'f>(&self, fields: &'f [&'f Field]) -> Vec<&'f Field> {
        match (&self.names, self.count) {
            (Some(names), _) => fields
                .iter()
                .filter(|field| names.iter().any(|name| name == field.name()))
                .copied()
                .collect(),
            (None, DataSkippingNumIndexedCols::AllColumns) => fields.to_vec(),
            (None, DataSkippingNumIndexedCols::NumColumns(n)) => {
                fields.iter().take(n as usize).copied().collect()
            }
        }
    }
}

/// The `stats` of a Delta add action for the file whose footer is `metadata`. Partition
/// columns are not in a Hive-partitioned file, so they get none.
pub(super) fn stats_of(
    metadata: &ParquetMetaData,
    indexed: &IndexedColumns,
) -> Result<Value, ParquetError> {
    let file = metadata.file_metadata();
    let schema: Schema = parquet_to_arrow_schema(file.schema_descr(), file.key_value_metadata())?;
    let top_level: Vec<&Field> = schema.fields().iter().map(AsRef::as_ref).collect();
    let rows = file.num_rows().max(0) as u64;
    let (mut min_values, mut max_values, mut null_count) = (Map::new(), Map::new(), Map::new());
    for field in indexed.select(&top_level) {
        let converter = StatisticsConverter::try_new(field.name(), &schema, file.schema_descr())?;
        let groups = metadata.row_groups();
        let row_counts = groups.iter().map(|g| g.num_rows().max(0) as u64);
        let nulls: Vec<Option<u64>> = converter.row_group_null_counts(groups)?.iter().collect();
        let mins = converter.row_group_mins(groups)?;
        let maxes = converter.row_group_maxes(groups)?;
        // A row group of nulls only has no bounds, and needs none.
        let with_values: Vec<usize> = row_counts
            .zip(&nulls)
            .enumerate()
            .filter(|(_, (rows, nulls))| nulls.is_none_or(|nulls| nulls < *rows))
            .map(|(group, _)| group)
            .collect();
        let name = field.name().clone();
        if let Some(value) = bound(&mins, &with_values, Ordering::Less)
            .and_then(|min| json_value(&min, Rounding::Down))
        {
            min_values.insert(name.clone(), value);
        }
        if let Some(value) = bound(&maxes, &with_values, Ordering::Greater)
            .and_then(|max| json_value(&max, Rounding::Up))
        {
            max_values.insert(name.clone(), value);
        }
        if let Some(nulls) = nulls.iter().copied().sum::<Option<u64>>() {
            null_count.insert(name, json!(nulls));
        }
    }
    Ok(json!({
        "numRecords": rows,
        "minValues": min_values,
        "maxValues": max_values,
        "nullCount": null_count,
    }))
}

/// The least (`Less`) or greatest (`Greater`) of the row groups' bounds in `groups`; none when
/// one of them has no bound, or there are none.
fn bound(values: &ArrayRef, groups: &[usize], wanted: Ordering) -> Option<ScalarValue> {
    let mut best: Option<ScalarValue> = None;
    for &group in groups {
        let value = ScalarValue::try_from_array(values, group).ok()?;
        if value.is_null() {
            return None;
        }
        let beats_best = match &best {
            None => true,
            Some(current) => value.partial_cmp(current)? == wanted,
        };
        if beats_best {
            best = Some(value);
        }
    }
    best
}

#[derive(Clone, Copy)]
enum Rounding {
    Down,
    Up,
}

/// A bound as Delta's statistics write it; none for a type they carry no bounds for.
fn json_value(value: &ScalarValue, rounding: Rounding) -> Option<Value> {
    // An instant given in units of which `per_milli` make a millisecond.
    let instant = |value: i64, per_milli: i64| -> Option<Value> {
        let millis = match rounding {
            Rounding::Down => value.div_euclid(per_milli),
            Rounding::Up => {
                value.div_euclid(per_milli) + i64::from(value.rem_euclid(per_milli) != 0)
            }
        };
        let at: DateTime<Utc> = DateTime::from_timestamp_millis(millis)?;
        Some(json!(at.to_rfc3339_opts(SecondsFormat::Millis, true)))
    };
    match value {
        ScalarValue::Boolean(Some(v)) => Some(json!(v)),
        ScalarValue::Int8(Some(v)) => Some(json!(v)),
        ScalarValue::Int16(Some(v)) => Some(json!(v)),
        ScalarValue::Int32(Some(v)) => Some(json!(v)),
        ScalarValue::Int64(Some(v)) => Some(json!(v)),
        ScalarValue::Float32(Some(v)) if v.is_finite() => Some(json!(v)),
        ScalarValue::Float64(Some(v)) if v.is_finite() => Some(json!(v)),
        ScalarValue::Utf8(Some(v))
        | ScalarValue::LargeUtf8(Some(v))
        | ScalarValue::Utf8View(Some(v)) => Some(json!(v)),
        ScalarValue::Date32(Some(days)) => {
            let date = NaiveDate::from_ymd_opt(1970, 1, 1)?
                .checked_add_signed(TimeDelta::try_days(i64::from(*days))?)?;
            Some(json!(date.format("%Y-%m-%d").to_string()))
        }
        // Delta's `timestamp` is an instant (a zone); a zoneless one is `timestamp_ntz`, whose
        // bounds soundlake's tables never need.
        ScalarValue::TimestampSecond(Some(v), Some(_)) => instant(v.checked_mul(1_000)?, 1),
        ScalarValue::TimestampMillisecond(Some(v), Some(_)) => instant(*v, 1),
        ScalarValue::TimestampMicrosecond(Some(v), Some(_)) => instant(*v, 1_000),
        ScalarValue::TimestampNanosecond(Some(v), Some(_)) => instant(*v, 1_000_000),
        _ => None,
    }
}
