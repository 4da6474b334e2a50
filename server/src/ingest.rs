//! The server's side of ingestion: the group-committing writer and the track lengths that
//! listen validation checks against.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use lakehouse::Lake;
use lakehouse::ingest::{IngestWriter, ListenRules, WriterSettings};
use sqlx::PgPool;

/// Shared by every ingest request.
#[derive(Clone, Debug)]
pub struct Ingest {
    pub writer: IngestWriter,
    track_lengths: Arc<RwLock<Arc<HashMap<String, i64>>>>,
}

impl Ingest {
    /// Starts the writer and loads the catalogue's track lengths.
    pub async fn start(lake: Lake, pool: &PgPool) -> lakehouse::Result<Self> {
        let ingest = Self {
            writer: IngestWriter::start(lake, WriterSettings::default()),
            track_lengths: Default::default(),
        };
        ingest.reload_track_lengths(pool).await?;
        Ok(ingest)
    }

    /// Reloads the track lengths from gold (after the catalogue changed).
    pub async fn reload_track_lengths(&self, pool: &PgPool) -> lakehouse::Result<()> {
        let lengths = Arc::new(lakehouse::gold::tracks::track_lengths(pool).await?);
        *self
            .track_lengths
            .write()
            .unwrap_or_else(|e| e.into_inner()) = lengths;
        Ok(())
    }

    /// The rules a listen arriving now must pass.
    pub fn rules(&self) -> ListenRules {
        let lengths = self
            .track_lengths
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        ListenRules {
            track_lengths: lengths,
            ..ListenRules::at(chrono::Utc::now())
        }
    }
}
