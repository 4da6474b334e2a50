//! A partitioned write whose query runs on a Ballista cluster: the executors write the rows as
//! Parquet files, Hive-style by the partition columns, into a new folder of the table, and
//! soundlake commits those files to Delta, with statistics read from their footers. The rows
//! never pass through soundlake's process.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::metadata::ParquetMetaData;
use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
use datafusion::prelude::{DataFrame, cast, col};
use deltalake::DeltaTable;
use deltalake::kernel::Add;

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
        let root = table.table_url().to_file_path().map_err(|()| {
            LakehouseError::Config(format!(
                "{}: a cluster writes only to a table in a local folder",
                self.table
            ))
        })?;
        let folder = format!("cluster-{}", uuid::Uuid::new_v4().simple());
        let dir = root.join(&folder);
        std::fs::create_dir_all(&dir)
            .map_err(|e| LakehouseError::io("creating a table folder", &dir, e))?;
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
            .write_parquet(&format!("{}/", dir.display()), options, None)
            .await
            .map_err(query_error)?;
        let modified = chrono::Utc::now().timestamp_millis();
        let mut adds = Vec::new();
        let mut rows = 0;
        for file in parquet_files(&dir)? {
            let relative = file.strip_prefix(&root).map_err(|_| {
                self.schema_error(format!("{} is outside the table", file.display()))
            })?;
            let footer = footer(&file)?;
            let stats = file_stats::stats_of(&footer, indexed)
                .map_err(|e| read_error(&file, "reading a written file's statistics", e))?;
            rows += footer.file_metadata().num_rows().max(0) as usize;
            let size = std::fs::metadata(&file)
                .map_err(|e| LakehouseError::io("reading a written file", &file, e))?
                .len();
            adds.push(Add {
                path: relative.to_string_lossy().into_owned(),
                partition_values: self.partition_values(relative),
                size: size as i64,
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

/// The Parquet files under `dir`, in its folders at any depth.
pub(super) fn parquet_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder)
            .map_err(|e| LakehouseError::io("listing written files", &folder, e))?;
        for entry in entries {
            let path = entry
                .map_err(|e| LakehouseError::io("listing written files", &folder, e))?
                .path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// A Parquet file's footer: its schema, row groups and their statistics.
pub(super) fn footer(file: &Path) -> Result<ParquetMetaData> {
    let opened = std::fs::File::open(file)
        .map_err(|e| LakehouseError::io("reading a written file", file, e))?;
    let reader = SerializedFileReader::new(opened)
        .map_err(|e| read_error(file, "reading a written file's footer", e))?;
    Ok(reader.metadata().clone())
}

fn read_error(file: &Path, doing: &'static str, e: ParquetError) -> LakehouseError {
    LakehouseError::io(doing, file, std::io::Error::other(e))
}
