//! `soundlake bench ...`: commands that measure and print figures. Each run works on a fresh
//! database (on `DATABASE_URL`'s server, or the embedded cluster) and a temporary lake.

mod api;
mod clusters;
mod dashboards;
mod import;
mod ingest;
mod peer;
mod pipeline;
mod recsys;
mod rerank;
mod served;
mod soak;

pub use api::{ApiBench, api};
pub use clusters::clusters;
pub use import::import;
pub use ingest::{IngestBench, ingest};
pub use pipeline::{Peer, pipeline};
pub use recsys::{Dataset, recsys};
pub use rerank::{RerankBench, rerank};
pub use soak::{SoakBench, soak};

use std::time::Duration;

use anyhow::Result;
use lakehouse::gold::admin::{create_database_if_missing, drop_database, parse_url};
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;

use crate::config::Config;
use crate::postgres::EmbeddedPostgres;

/// The PostgreSQL server benchmarks create their databases on.
pub struct BenchServer {
    server: PgConnectOptions,
    url: String,
    _cluster: Option<EmbeddedPostgres>,
}

impl BenchServer {
    pub fn open(config: &Config) -> Result<Self> {
        let (url, cluster) = match &config.database_url {
            Some(url) => (url.clone(), None),
            None => {
                let cluster = EmbeddedPostgres::start(
                    &config.data_dir.join("postgres"),
                    config.pg_bin.as_deref(),
                )?;
                (cluster.admin_url(), Some(cluster))
            }
        };
        Ok(Self {
            server: parse_url(&url)?,
            url,
            _cluster: cluster,
        })
    }

    /// The URL of database `name` on this server, for a process the benchmark starts.
    pub fn database_url(&self, name: &str) -> String {
        let (path, query) = self.url.split_once('?').unwrap_or((&self.url, ""));
        // `scheme://authority[/database]`: the part before the database's slash, if any.
        let authority_at = path.find("://").map_or(0, |i| i + 3);
        let server = match path[authority_at..].find('/') {
            Some(slash) => &path[..authority_at + slash],
            None => path,
        };
        match query {
            "" => format!("{server}/{name}"),
            query => format!("{server}/{name}?{query}"),
        }
    }

    /// A new, migrated database named `name`.
    pub async fn fresh_database(&self, name: &str) -> Result<PgPool> {
        drop_database(&self.server, name).await?;
        create_database_if_missing(&self.server, name).await?;
        let pool = lakehouse::gold::connect(self.server.clone().database(name)).await?;
        lakehouse::gold::migrate(&pool).await?;
        Ok(pool)
    }

    pub async fn drop_database(&self, name: &str) -> Result<()> {
        Ok(drop_database(&self.server, name).await?)
    }
}

/// The value at quantile `q` (0 to 1) of sorted `values`.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}
