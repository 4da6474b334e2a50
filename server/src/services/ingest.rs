//! The server's side of ingestion: the group-committing writer, and the catalogue that listen
//! validation checks lengths against and that listens from other services are matched to.

use std::sync::{Arc, RwLock};

use lakehouse::Lake;
use lakehouse::bronze::listens::RejectedListen;
use lakehouse::gold::tracks_load;
use lakehouse::ingest::{
    CatalogueIndex, IngestError, IngestReceipt, IngestWriter, Listen, ListenRules, WriterSettings,
};
use sqlx::PgPool;

use crate::infra::metrics::Metrics;

/// Shared by every ingest request.
#[derive(Clone)]
pub struct Ingest {
    pub writer: IngestWriter,
    catalogue: Arc<RwLock<Arc<CatalogueIndex>>>,
    metrics: Metrics,
}

impl std::fmt::Debug for Ingest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingest").finish_non_exhaustive()
    }
}

impl Ingest {
    /// Starts the writer and loads the catalogue's index.
    pub async fn start(lake: Lake, pool: &PgPool) -> lakehouse::Result<Self> {
        let ingest = Self {
            writer: IngestWriter::start(lake, WriterSettings::default()),
            catalogue: Arc::new(RwLock::new(Arc::new(CatalogueIndex::load(pool).await?))),
            metrics: Metrics::default(),
        };
        Ok(ingest)
    }

    /// The same ingest, counting what it commits in `metrics`.
    pub fn reporting_to(self, metrics: Metrics) -> Self {
        Self { metrics, ..self }
    }

    /// Commits accepted and refused events to bronze and waits until they are (counted in the
    /// server's metrics).
    pub async fn submit(
        &self,
        listens: Vec<Listen>,
        refused: Vec<RejectedListen>,
    ) -> Result<IngestReceipt, IngestError> {
        let (accepted, refused_count) = (listens.len(), refused.len());
        let started = std::time::Instant::now();
        let receipt = self.writer.submit(listens, refused).await?;
        self.metrics
            .observe_ingest(accepted, refused_count, started.elapsed());
        Ok(receipt)
    }

    /// Reloads the catalogue's index from gold (after the catalogue changed).
    pub async fn reload_catalogue(&self, pool: &PgPool) -> lakehouse::Result<()> {
        let index = Arc::new(CatalogueIndex::load(pool).await?);
        *self.catalogue.write().unwrap_or_else(|e| e.into_inner()) = index;
        Ok(())
    }

    /// Reloads the catalogue's index whenever a new catalogue reaches gold, whichever process
    /// loaded it (a pipeline run of this server, of another instance or of the command line).
    pub fn follow_catalogue(&self, pool: PgPool) {
        let ingest = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = ingest.reload_on_change(&pool).await {
                    tracing::warn!("following catalogue changes: {e}; listening again");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        });
    }

    async fn reload_on_change(&self, pool: &PgPool) -> lakehouse::Result<()> {
        let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
        listener.listen(tracks_load::CHANGED_CHANNEL).await?;
        loop {
            let changed = listener.recv().await?;
            tracing::info!(
                silver_version = changed.payload(),
                "reloading the catalogue"
            );
            self.reload_catalogue(pool).await?;
        }
    }

    /// The catalogue as last loaded: track lengths, and tracks by Spotify id and by name.
    pub fn catalogue(&self) -> Arc<CatalogueIndex> {
        self.catalogue
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The rules a listen arriving now must pass.
    pub fn rules(&self) -> ListenRules {
        ListenRules {
            track_lengths: self.catalogue().lengths(),
            ..ListenRules::at(chrono::Utc::now())
        }
    }
}
