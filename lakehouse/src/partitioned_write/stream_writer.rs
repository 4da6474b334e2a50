//! One output partition of a query, drained into one Delta writer.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::compute::kernels::partition::partition;
use datafusion::arrow::compute::{SortColumn, cast, lexsort_to_indices, take_record_batch};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::ScalarValue;
use datafusion::physical_plan::SendableRecordBatchStream;
use delta_kernel::expressions::Scalar;
use deltalake::DeltaTableError;
use deltalake::kernel::scalars::ScalarExt;
use futures::StreamExt;
use indexmap::IndexMap;

use crate::error::{LakehouseError, Result};
use crate::lake::TableRef;

use super::partition_files::PartitionFiles;

/// A batch whose rows fall in more runs of equal partition values than this is sorted by
/// them before it is written, so each of its partitions is written once.
const MAX_RUNS_UNSORTED: usize = 64;

/// One output partition of the query, drained into one Delta writer.
pub(super) struct StreamWriter {
    pub table: TableRef,
    /// The table's files being written, shared with the other streams.
    pub files: Arc<PartitionFiles>,
    /// The table's columns, as written.
    pub schema: SchemaRef,
    /// For each of the table's columns, its position in the query's batches.
    pub columns: Vec<usize>,
    /// The positions of the partition columns in `schema`, and their names.
    pub partition_columns: Vec<usize>,
    pub partition_names: Vec<String>,
}

impl StreamWriter {
    /// Writes every batch of `stream`; returns the rows written.
    pub async fn drain(self, mut stream: SendableRecordBatchStream) -> Result<usize> {
        let mut rows = 0;
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(|e| LakehouseError::query(self.table.qualified(), e))?;
            rows += self.write(batch).await?;
        }
        Ok(rows)
    }

    /// Writes one batch, each run of rows with the same partition values as one slice.
    async fn write(&self, batch: RecordBatch) -> Result<usize> {
        // The table's columns in its types (the same, or the same values in Delta's spelling
        // of the type, such as a timestamp zone `+00:00` as `UTC`).
        let columns = self
            .columns
            .iter()
            .zip(self.schema.fields())
            .map(|(&i, field)| match batch.column(i) {
                column if column.data_type() == field.data_type() => Ok(column.clone()),
                column => cast(column, field.data_type()),
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.arrow_error(e))?;
        // Checks that no column the table declares non-null holds a null.
        let batch =
            RecordBatch::try_new(self.schema.clone(), columns).map_err(|e| self.arrow_error(e))?;
        let (batch, runs) = self.grouped_by_partition(batch)?;
        for run in runs {
            let key = self.key(&batch, run.start)?;
            let values = self.partition_values(&batch, run.start)?;
            let slice = batch.slice(run.start, run.len());
            self.files
                .write(key, &values, slice)
                .await
                .map_err(|e| self.delta_error(e))?;
        }
        Ok(batch.num_rows())
    }

    /// The partition values of row `row`, as map keys.
    fn key(&self, batch: &RecordBatch, row: usize) -> Result<Vec<ScalarValue>> {
        self.partition_columns
            .iter()
            .map(|&i| ScalarValue::try_from_array(batch.column(i), row))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| LakehouseError::query(self.table.qualified(), e))
    }

    /// `batch` and its runs of consecutive rows with equal partition values: as it is when
    /// each partition is one run (rows in the order of the partition columns, say), else
    /// sorted by the partition columns first.
    fn grouped_by_partition(&self, batch: RecordBatch) -> Result<(RecordBatch, Vec<Range<usize>>)> {
        let keys = self.key_columns(&batch);
        let runs = self.runs(&keys)?;
        if runs.len() <= MAX_RUNS_UNSORTED && self.each_key_once(&keys, &runs) {
            return Ok((batch, runs));
        }
        let sort_columns: Vec<SortColumn> = keys
            .into_iter()
            .map(|values| SortColumn {
                values,
                options: None,
            })
            .collect();
        let order = lexsort_to_indices(&sort_columns, None).map_err(|e| self.arrow_error(e))?;
        let sorted = take_record_batch(&batch, &order).map_err(|e| self.arrow_error(e))?;
        let runs = self.runs(&self.key_columns(&sorted))?;
        Ok((sorted, runs))
    }

    /// The partition columns of `batch`.
    fn key_columns(&self, batch: &RecordBatch) -> Vec<ArrayRef> {
        self.partition_columns
            .iter()
            .map(|&i| batch.column(i).clone())
            .collect()
    }

    /// The ranges of consecutive rows with equal `keys`.
    fn runs(&self, keys: &[ArrayRef]) -> Result<Vec<Range<usize>>> {
        let runs = partition(keys).map_err(|e| self.arrow_error(e))?;
        Ok(runs.ranges())
    }

    /// Whether no two of `runs` have the same keys.
    fn each_key_once(&self, keys: &[ArrayRef], runs: &[Range<usize>]) -> bool {
        let mut seen = HashSet::with_capacity(runs.len());
        runs.iter().all(|run| {
            let key: Option<Vec<ScalarValue>> = keys
                .iter()
                .map(|column| ScalarValue::try_from_array(column, run.start).ok())
                .collect();
            key.is_some_and(|key| seen.insert(key))
        })
    }

    /// The partition values of row `row`, as Delta records them.
    fn partition_values(
        &self,
        batch: &RecordBatch,
        row: usize,
    ) -> Result<IndexMap<String, Scalar>> {
        self.partition_names
            .iter()
            .zip(&self.partition_columns)
            .map(|(name, &i)| {
                let value = Scalar::from_array(batch.column(i).as_ref(), row).ok_or_else(|| {
                    LakehouseError::Schema {
                        table: self.table.qualified(),
                        detail: format!("partition column `{name}` has no Delta partition value"),
                    }
                })?;
                Ok((name.clone(), value))
            })
            .collect()
    }

    fn delta_error(&self, e: DeltaTableError) -> LakehouseError {
        LakehouseError::delta(self.table.qualified(), e)
    }

    fn arrow_error(&self, e: datafusion::arrow::error::ArrowError) -> LakehouseError {
        LakehouseError::query(self.table.qualified(), e.into())
    }
}
