//! The error type of the machine-learning stage.

use std::path::PathBuf;

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
