//! Where a session on a cluster keeps the results its later queries read: Parquet files in a
//! folder of its own under the lake's scratch folder, which the executors write and read, in
//! place of the in-memory tables a local session keeps (the executors could not read those).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Schema, UInt64Type};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::error::DataFusionError;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::{DataFrame, ParquetReadOptions, SessionContext};

use crate::error::{LakehouseError, Result};

/// A session's scratch folder, kept in its settings.
#[derive(Debug, Clone)]
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// Scratch space in `dir`, a folder the executors reach by the same path.
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The scratch space of `ctx`'s session, when it is a session on a cluster.
    pub fn of(ctx: &SessionContext) -> Option<Arc<Self>> {
        ctx.state_ref().read().config().get_extension::<Self>()
    }

    /// Runs `frame` on the cluster, whose executors write its result here as Parquet, and
    /// registers those files in `ctx` as the table `name`. Returns the number of rows.
    pub async fn materialize(
        &self,
        ctx: &SessionContext,
        name: &str,
        frame: DataFrame,
    ) -> Result<usize> {
        let query_error = |e| LakehouseError::query(name, e);
        let dir = self.new_folder(name)?;
        let schema = frame.schema().as_arrow().clone();
        let counts = frame
            .write_parquet(&folder_url(&dir), DataFrameWriteOptions::new(), None)
            .await
            .map_err(query_error)?;
        let rows = counts
            .iter()
            .filter_map(|b| b.column(0).as_primitive_opt::<UInt64Type>())
            .flat_map(|counts| counts.iter().flatten())
            .sum::<u64>() as usize;
        register(ctx, name, &dir, &schema).await?;
        Ok(rows)
    }

    /// Writes `batches` (at least one, for the schema) here as a Parquet file and registers it
    /// in `ctx` as the table `name`. Returns the number of rows.
    pub async fn register_batches(
        &self,
        ctx: &SessionContext,
        name: &str,
        batches: Vec<RecordBatch>,
    ) -> Result<usize> {
        let parquet_error = |e| LakehouseError::query(name, DataFusionError::External(Box::new(e)));
        let schema = batches[0].schema();
        let dir = self.new_folder(name)?;
        let path = dir.join("part-0.parquet");
        let file = std::fs::File::create(&path)
            .map_err(|e| LakehouseError::io("writing scratch data", &path, e))?;
        let mut writer =
            ArrowWriter::try_new(file, Arc::clone(&schema), None).map_err(parquet_error)?;
        for batch in &batches {
            writer.write(batch).map_err(parquet_error)?;
        }
        writer.close().map_err(parquet_error)?;
        register(ctx, name, &dir, &schema).await?;
        Ok(batches.iter().map(RecordBatch::num_rows).sum())
    }

    /// A new, empty folder for the table `name`.
    fn new_folder(&self, name: &str) -> Result<PathBuf> {
        let dir = self
            .dir
            .join(format!("{name}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| LakehouseError::io("creating a scratch folder", &dir, e))?;
        Ok(dir)
    }
}

/// A folder as DataFusion names a folder of files (with its trailing slash).
fn folder_url(dir: &Path) -> String {
    format!("{}/", dir.display())
}

/// Registers the Parquet files in `dir` as the table `name`, whose columns are `schema`'s.
async fn register(ctx: &SessionContext, name: &str, dir: &Path, schema: &Schema) -> Result<()> {
    let query_error = |e| LakehouseError::query(name, e);
    ctx.deregister_table(name).map_err(query_error)?;
    ctx.register_parquet(
        name,
        folder_url(dir),
        ParquetReadOptions::default().schema(schema),
    )
    .await
    .map_err(query_error)
}
