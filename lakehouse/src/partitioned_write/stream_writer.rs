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

/// A run of consecutive rows with the same partition values, and those values.
type KeyedRun = (Range<usize>, Vec<ScalarValue>);

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
        for (run, key) in runs {
            let values = self.partition_values(&batch, run.start)?;
            let slice = batch.slice(run.start, run.len());
            self.files
                .write(key, &values, slice)
                .await
                .map_err(|e| self.delta_error(e))?;
        }
        Ok(batch.num_rows())
    }

    /// `batch` and its runs of consecutive rows with equal partition values, each with those
    /// values: as it is when each partition is one run (rows in the order of the partition
    /// columns, say), else sorted by the partition columns first.
    fn grouped_by_partition(&self, batch: RecordBatch) -> Result<(RecordBatch, Vec<KeyedRun>)> {
        let runs = self.runs(&batch)?;
        if runs.len() <= MAX_RUNS_UNSORTED {
            let keyed = self.with_keys(&batch, runs)?;
            let mut seen = HashSet::with_capacity(keyed.len());
            if keyed.iter().all(|(_, key)| seen.insert(key)) {
                return Ok((batch, keyed));
            }
        }
        let sort_columns: Vec<SortColumn> = self
            .key_columns(&batch)
            .into_iter()
            .map(|values| SortColumn {
                values,
                options: None,
            })
            .collect();
        let order = lexsort_to_indices(&sort_columns, None).map_err(|e| self.arrow_error(e))?;
        let sorted = take_record_batch(&batch, &order).map_err(|e| self.arrow_error(e))?;
        let runs = self.runs(&sorted)?;
        let keyed = self.with_keys(&sorted, runs)?;
        Ok((sorted, keyed))
    }

    /// The partition columns of `batch`.
    fn key_columns(&self, batch: &RecordBatch) -> Vec<ArrayRef> {
        self.partition_columns
            .iter()
            .map(|&i| batch.column(i).clone())
            .collect()
    }

    /// The ranges of consecutive rows of `batch` with equal partition values.
    fn runs(&self, batch: &RecordBatch) -> Result<Vec<Range<usize>>> {
        let runs = partition(&self.key_columns(batch)).map_err(|e| self.arrow_error(e))?;
        Ok(runs.ranges())
    }

    /// Each run with its partition values, as map keys.
    fn with_keys(&self, batch: &RecordBatch, runs: Vec<Range<usize>>) -> Result<Vec<KeyedRun>> {
        runs.into_iter()
            .map(|run| {
                let key = self
                    .partition_columns
                    .iter()
                    .map(|&i| ScalarValue::try_from_array(batch.column(i), run.start))
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|e| LakehouseError::query(self.table.qualified(), e))?;
                Ok((run, key))
            })
            .collect()
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
