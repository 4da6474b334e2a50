//! A Delta table at one version as a plain Parquet scan of its snapshot's files, each with its
//! partition values. delta-rs's own provider plans a scan node of its own, which Ballista has
//! no codec for; the plans this one makes are DataFusion's Parquet scans, which Ballista sends
//! to executors as they are, and the table itself travels in a query's plan through
//! [`super::LakeCodec`]. soundlake's tables use neither deletion vectors nor column mapping,
//! so a snapshot's rows are its files' rows.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, FieldRef, Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use deltalake::DeltaTable;
use serde::{Deserialize, Serialize};

/// A snapshot's files, as [`super::LakeCodec`] writes them into a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct SnapshotFiles {
    /// The object store the files are in: `file://` or `s3://bucket`.
    store: String,
    /// The partition columns, in the order of each file's values.
    partition_columns: Vec<String>,
    files: Vec<SnapshotFile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SnapshotFile {
    /// The file's path in the store.
    path: String,
    size: u64,
    /// The partition values as Delta's log writes them (`None`: null).
    partition_values: Vec<Option<String>>,
}

/// A Delta table's snapshot as a table of Parquet files.
#[derive(Debug)]
pub struct SnapshotTable {
    /// The files' columns, then the partition columns.
    schema: SchemaRef,
    files: SnapshotFiles,
}

impl SnapshotTable {
    /// The table at the version `delta` is loaded at.
    pub fn of(delta: &DeltaTable) -> Result<Self> {
        let state = delta
            .snapshot()
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let partition_columns = state.metadata().partition_columns().to_vec();
        let url = delta.table_url();
        let store = format!("{}://{}", url.scheme(), url.authority());
        let root = url.path().trim_matches('/');
        let files = state
            .log_data()
            .iter()
            .map(|file| {
                let values = file.partition_values_map();
                SnapshotFile {
                    path: format!("{root}/{}", file.object_store_path()),
                    size: file.size().max(0) as u64,
                    partition_values: partition_columns
                        .iter()
                        .map(|column| values.get(column).cloned().flatten())
                        .collect(),
                }
            })
            .collect();
        let files = SnapshotFiles {
            store,
            partition_columns,
            files,
        };
        Self::new(&state.snapshot().arrow_schema(), files)
    }

    /// The table of `files`, whose columns are those of `logical` (in any order).
    pub(super) fn new(logical: &Schema, files: SnapshotFiles) -> Result<Self> {
        let partition = |name: &str| files.partition_columns.iter().any(|c| c == name);
        let mut fields: Vec<FieldRef> = logical
            .fields()
            .iter()
            .filter(|f| !partition(f.name()))
            .cloned()
            .collect();
        for column in &files.partition_columns {
            fields.push(Arc::new(logical.field_with_name(column)?.clone()));
        }
        Ok(Self {
            schema: Arc::new(Schema::new(fields)),
            files,
        })
    }

    pub(super) fn files(&self) -> &SnapshotFiles {
        &self.files
    }

    /// The columns stored in the files, and the partition columns.
    fn split_schema(&self) -> (SchemaRef, Vec<FieldRef>) {
        let stored = self.schema.fields().len() - self.files.partition_columns.len();
        let fields = self.schema.fields();
        (
            Arc::new(Schema::new(fields[..stored].to_vec())),
            fields[stored..].to_vec(),
        )
    }

    /// The files in `groups` groups of about equal size, each with its partition values.
    fn file_groups(&self, partition_fields: &[FieldRef], groups: usize) -> Result<Vec<FileGroup>> {
        let mut files = self
            .files
            .files
            .iter()
            .map(|file| partitioned_file(file, partition_fields))
            .collect::<Result<Vec<_>>>()?;
        files.sort_by_key(|f| std::cmp::Reverse(f.object_meta.size));
        let groups = groups.clamp(1, files.len().max(1));
        let mut grouped: Vec<(u64, Vec<PartitionedFile>)> = vec![(0, Vec::new()); groups];
        for file in files {
            let lightest = (0..groups).min_by_key(|&i| grouped[i].0).unwrap_or(0);
            grouped[lightest].0 += file.object_meta.size;
            grouped[lightest].1.push(file);
        }
        Ok(grouped
            .into_iter()
            .filter(|(_, files)| !files.is_empty())
            .map(|(_, files)| FileGroup::new(files))
            .collect())
    }
}

fn partitioned_file(file: &SnapshotFile, partition_fields: &[FieldRef]) -> Result<PartitionedFile> {
    let values = partition_fields
        .iter()
        .zip(&file.partition_values)
        .map(|(field, value)| partition_value(value.as_deref(), field.data_type()))
        .collect::<Result<Vec<_>>>()?;
    Ok(PartitionedFile::new(file.path.clone(), file.size).with_partition_values(values))
}

/// A partition value from its text in Delta's log, where an empty text is null.
fn partition_value(text: Option<&str>, data_type: &DataType) -> Result<ScalarValue> {
    match text {
        None | Some("") => ScalarValue::try_from(data_type),
        Some(text) => ScalarValue::try_from_string(text.to_owned(), data_type),
    }
}

#[async_trait]
impl TableProvider for SnapshotTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// Filters prune row groups and whole partitions; they are checked again above the scan.
    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if self.files.files.is_empty() {
            let schema = match projection {
                Some(columns) => Arc::new(self.schema.project(columns)?),
                None => Arc::clone(&self.schema),
            };
            return Ok(Arc::new(EmptyExec::new(schema)));
        }
        let (stored, partition_fields) = self.split_schema();
        let mut source = ParquetSource::new(
            TableSchema::builder(stored)
                .with_table_partition_cols(partition_fields.clone())
                .build(),
        )
        .with_table_parquet_options(state.table_options().parquet.clone());
        if let Some(filter) = conjunction(filters.iter().cloned()) {
            let schema = DFSchema::try_from(Arc::clone(&self.schema))?;
            source = source.with_predicate(state.create_physical_expr(filter, &schema)?);
        }
        let store = ObjectStoreUrl::parse(&self.files.store)?;
        let groups = self.file_groups(&partition_fields, state.config().target_partitions())?;
        let config = FileScanConfigBuilder::new(store, Arc::new(source))
            .with_file_groups(groups)
            .with_projection_indices(projection.cloned())?
            .with_limit(limit)
            .build();
        Ok(DataSourceExec::from_data_source(config))
    }
}

impl SnapshotFiles {
    pub(super) fn to_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| DataFusionError::External(Box::new(e)))
    }

    pub(super) fn from_json(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(|e| DataFusionError::External(Box::new(e)))
    }
}
