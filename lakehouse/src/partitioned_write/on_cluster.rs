//! A partitioned write whose query runs on a Ballista cluster: the executors write the rows as
//! Parquet files, Hive-style by the partition columns, into a new folder of the table (in a
//! local folder or on the lake's object store), and soundlake commits those files to Delta,
//! with statistics read from their footers. The rows never pass through soundlake's process.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::datasource::physical_plan::parquet::metadata::DFParquetMetadata;
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::metadata::ParquetMetaData;
use datafusion::prelude::{DataFrame, cast, col};
use deltalake::DeltaTable;
use deltalake::kernel::Add;
use deltalake::logstore::ObjectStoreRef;
use deltalake::logstore::object_store::ObjectMeta;
use deltalake::logstore::object_store::path::Path as ObjectPath;
use futures::TryStreamExt;

use super::PartitionedWrite;
use super::file_stats::{self, IndexedColumns};
use crate::error::{LakehouseError, Result};

/// How DataFusion names the folder of a null partition value.
const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

impl PartitionedWrite {
    /// Has the cluster write `frame`'s rows, as `target`'s columns, into a new folder of
    /// `table`. Returns the files as Delta adds them, and the rows in them.
    pub(super) async fn write_on_cluster(
        &self,
        frame: DataFrame,
        table: &DeltaTable,
        target: &SchemaRef,
        indexed: &IndexedColumns,
    ) -> Result<(Vec<Add>, usize)> {
        let query_error = |e| LakehouseError::query(self.table.qualified(), e);
        let folder = format!("cluster-{}", uuid::Uuid::new_v4().simple());
        let url = format!(
            "{}/{folder}/",
            table.table_url().as_str().trim_end_matches('/')
        );
        let columns = target
            .fields()
            .iter()
            .map(|field| cast(col(field.name()), field.data_type().clone()).alias(field.name()))
            .collect::<Vec<_>>();
        let options =
            DataFrameWriteOptions::new().with_partition_by(self.partition_columns.clone());
        frame
            .select(columns)
            .map_err(query_error)?
            .write_parquet(&url, options, None)
            .await
            .map_err(query_error)?;
        let store = table.log_store().object_store(None);
        let modified = chrono::Utc::now().timestamp_millis();
        let mut adds = Vec::new();
        let mut rows = 0;
        for file in parquet_files(&store, &folder).await? {
            let footer = footer(&store, &file).await?;
            let stats = file_stats::stats_of(&footer, indexed).map_err(|e| {
                read_error(&file.location, "reading a written file's statistics", e)
            })?;
            rows += footer.file_metadata().num_rows().max(0) as usize;
            let path = file.location.as_ref();
            adds.push(Add {
                path: path.to_owned(),
                partition_values: self.partition_values(Path::new(path)),
                size: file.size as i64,
                modification_time: modified,
                data_change: true,
                stats: Some(stats.to_string()),
                ..Default::default()
            });
        }
        Ok((adds, rows))
    }

    /// The partition values of a file at `path` (`year=2024/month=3/.../file.parquet`).
    pub(super) fn partition_values(&self, path: &Path) -> HashMap<String, Option<String>> {
        let folders: HashMap<&str, &str> = path
            .iter()
            .filter_map(|part| part.to_str()?.split_once('='))
            .collect();
        self.partition_columns
            .iter()
            .map(|column| {
                let value = folders
                    .get(column.as_str())
                    .filter(|value| **value != NULL_PARTITION)
                    .map(|value| (*value).to_owned());
                (column.clone(), value)
            })
            .collect()
    }
}

/// The Parquet files under `folder` of `store`, in its folders at any depth, by path.
pub(super) async fn parquet_files(store: &ObjectStoreRef, folder: &str) -> Result<Vec<ObjectMeta>> {
    let mut files: Vec<ObjectMeta> = store
        .list(Some(&ObjectPath::from(folder)))
        .try_filter(|file| futures::future::ready(file.location.extension() == Some("parquet")))
        .try_collect()
        .await
        .map_err(|e| {
            LakehouseError::io("listing written files", folder, std::io::Error::other(e))
        })?;
    files.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(files)
}

/// A Parquet file's footer: its schema, row groups and their statistics.
pub(super) async fn footer(
    store: &ObjectStoreRef,
    file: &ObjectMeta,
) -> Result<Arc<ParquetMetaData>> {
    DFParquetMetadata::new(store.as_ref(), file)
        .fetch_metadata()
        .await
        .map_err(|e| {
            LakehouseError::io(
                "reading a written file's footer",
                file.location.as_ref(),
                std::io::Error::other(e),
            )
        })
}

fn read_error(file: &ObjectPath, doing: &'static str, e: ParquetError) -> LakehouseError {
    LakehouseError::io(doing, file.as_ref(), std::io::Error::other(e))
}
