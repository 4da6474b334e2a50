//! The error type of the lakehouse engine.

use std::path::PathBuf;

/// Everything that can go wrong in the engine, by layer.
#[derive(Debug, thiserror::Error)]
pub enum LakehouseError {
    /// A file or folder could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A catalogue file whose header matches no supported schema.
    #[error("{path}: unrecognised catalogue header {found:?}. {expected}")]
    UnknownCatalogHeader {
        path: PathBuf,
        found: Vec<String>,
        expected: String,
    },
    /// A CSV file that could not be parsed at all.
    #[error("{path}: {source}")]
    Csv {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
    /// The import was given nothing to read.
    #[error("no CSV files found at {0}")]
    NoInputFiles(PathBuf),
    /// A Delta table operation failed.
    #[error("delta table {table}: {source}")]
    Delta {
        table: String,
        #[source]
        source: deltalake::DeltaTableError,
    },
    /// The lake's location or its store's settings cannot be used.
    #[error("{0}")]
    Config(String),
    /// A DataFusion query failed.
    #[error("query on {context}: {source}")]
    Query {
        context: String,
        #[source]
        source: datafusion::error::DataFusionError,
    },
    /// An Arrow array could not be built or read.
    #[error("arrow: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    /// The gold database refused a statement.
    #[error("gold database: {0}")]
    Database(#[from] sqlx::Error),
    /// A commit could not be flushed to disk: it may be in the table's log and yet not
    /// durable, and the page cache can no longer be trusted to hold what later flushes would
    /// write (a failed fsync forgets the failure), so the writer must stop.
    #[error("delta table {table}: a commit could not be flushed to disk: {source}")]
    NotDurable {
        table: String,
        #[source]
        source: std::io::Error,
    },
    /// Migrations of the gold database failed.
    #[error("gold migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A table held data of an unexpected shape.
    #[error("unexpected data in {table}: {detail}")]
    Schema { table: String, detail: String },
    /// Another pipeline run holds the pipeline.
    #[error("a pipeline run is already in progress (run {0}); wait for it to finish")]
    RunInProgress(i64),
    /// A failure injected on purpose (tests, drills) into a pipeline stage.
    #[error("injected failure in stage {0}")]
    InjectedFailure(String),
    /// Work that was stopped part-way because another part of it failed (that failure is
    /// reported on its own).
    #[error("{0} stopped part-way")]
    Interrupted(String),
    /// A request named something that does not exist (a table, a version, a run).
    #[error("{0}")]
    NotFound(String),
    /// Training or evaluating a model failed.
    #[error("machine learning: {0}")]
    Ml(#[from] MlError),
}

/// The engine's result type.
pub type Result<T, E = LakehouseError> = std::result::Result<T, E>;

impl LakehouseError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn delta(table: impl Into<String>, source: deltalake::DeltaTableError) -> Self {
        Self::Delta {
            table: table.into(),
            source,
        }
    }

    pub(crate) fn query(
        context: impl Into<String>,
        source: datafusion::error::DataFusionError,
    ) -> Self {
        Self::Query {
            context: context.into(),
            source,
        }
    }
}

/// What can go wrong while reading interactions, training or evaluating models.
#[derive(Debug, thiserror::Error)]
pub enum MlError {
    /// An interactions file could not be read.
    #[error("read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A line of an interactions file that is not `user, item[, weight]`.
    #[error("{path}:{line}: {reason}")]
    BadLine {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    /// There is not enough data to do what was asked.
    #[error("not enough data: {0}")]
    NotEnoughData(String),
    /// A linfa algorithm failed.
    #[error("{algorithm}: {reason}")]
    Algorithm {
        algorithm: &'static str,
        reason: String,
    },
}
