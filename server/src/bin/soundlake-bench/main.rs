//! `soundlake-bench`: commands that measure soundlake and print figures, built beside the
//! `soundlake` binary but not part of it. Each run works on a fresh database (on
//! `DATABASE_URL`'s server, or the embedded cluster) and a temporary lake.

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

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::{Parser, Subcommand};
use lakehouse::gold::admin::{create_database_if_missing, drop_database, parse_url};
use server::cli::ConfigFile;
use server::infra::config::Config;
use server::infra::embedded_postgres::EmbeddedPostgres;
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;

/// The same allocator as the `soundlake` binary, so that memory figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Measure soundlake: each command prints figures.
#[derive(Debug, Parser)]
#[command(name = "soundlake-bench", version)]
struct Cli {
    #[command(flatten)]
    config: ConfigFile,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Import a catalogue into a fresh lake and a fresh database, several times, and print
    /// the median time and rows/s of each layer.
    Import {
        /// The catalogue to import (a CSV file or folder).
        #[arg(default_value = "../shared/data/raw/spotify-tracks-dataset-114k/by_genre")]
        path: PathBuf,
        /// How many runs to take the median of.
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// Simulate listens into a fresh bronze, run the pipeline, print each stage's time, rows/s
    /// and peak memory.
    Pipeline(pipeline::PipelineBench),
    /// Recommendation reads under fixed request rates, sent by oha (a load generator in its
    /// own process) to a `soundlake serve` holding the demo: p50/p99 per rate.
    Api(api::ApiBench),
    /// A served demo kept busy for minutes (listens streamed, the schedule running, page and
    /// API reads): the server's memory every 10 s, and any error.
    Soak(soak::SoakBench),
    /// Post listens to a local server: batches of 1,000 for throughput, then single events for
    /// latency.
    Ingest {
        /// Concurrent clients.
        #[arg(long, default_value_t = 4)]
        clients: usize,
        /// Events to send in batches of 1,000.
        #[arg(long, default_value_t = 200_000)]
        events: usize,
        /// Single-event requests to send.
        #[arg(long, default_value_t = 2_000)]
        single: usize,
    },
    /// The offline evaluation: every recommender tuned on a validation split, measured on a
    /// per-user 20% holdout (NDCG, recall, precision, MAP @10, coverage, training time).
    Recsys {
        /// `simulated`, `hetrec` (../shared/data/raw/hetrec2011-lastfm-2k/user_artists.dat) or
        /// the path of a user, item[, weight] file (tab, comma or whitespace separated).
        #[arg(long, default_value = "simulated")]
        dataset: recsys::Dataset,
        /// The split's seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// The catalogue coverage a model must reach on validation to be preferred (0: select
        /// on NDCG alone).
        #[arg(long, default_value_t = 0.0)]
        min_coverage: f64,
        /// How many standard errors of validation NDCG a setting may trail the best by and
        /// still win by covering more of the catalogue (0: select on NDCG alone).
        #[arg(long, default_value_t = 1.0)]
        ndcg_tolerance: f64,
    },
    /// Cluster a catalogue's tracks by audio features (KMeans over the k range, silhouettes,
    /// PCA map) and print each k's figures and the time taken.
    Clusters {
        /// The catalogue (a CSV file or folder).
        #[arg(default_value = "../shared/data/raw/spotify-tracks-dataset-114k/by_genre")]
        path: PathBuf,
    },
    /// Simulate a history, run the pipeline, then time re-ranking a listener's list after a
    /// listen (p50, p99), server-side.
    Rerank {
        #[arg(long, default_value_t = 20_000)]
        tracks: usize,
        #[arg(long, default_value_t = 500)]
        users: usize,
        /// Re-rankings to time.
        #[arg(long, default_value_t = 2_000)]
        reranks: usize,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    server::cli::init_logging();
    let cli = Cli::parse();
    let config = cli.config.load()?;
    match cli.command {
        Command::Import { path, runs } => import::import(&config, &path, runs).await,
        Command::Pipeline(settings) => pipeline::pipeline(&config, settings).await,
        Command::Api(settings) => api::api(&config, settings).await,
        Command::Soak(settings) => soak::soak(&config, settings).await,
        Command::Ingest {
            clients,
            events,
            single,
        } => {
            let settings = ingest::IngestBench {
                clients,
                batched_events: events,
                single_requests: single,
            };
            ingest::ingest(&config, settings).await
        }
        Command::Recsys {
            dataset,
            seed,
            min_coverage,
            ndcg_tolerance,
        } => {
            let options = lakehouse::ml::evaluate::EvalOptions {
                seed,
                min_coverage,
                ndcg_tolerance,
                ..Default::default()
            };
            tokio::task::block_in_place(|| recsys::recsys(&dataset, &options))
        }
        Command::Clusters { path } => clusters::clusters(&config, &path).await,
        Command::Rerank {
            tracks,
            users,
            reranks,
        } => {
            let settings = rerank::RerankBench {
                tracks,
                users,
                reranks,
            };
            rerank::rerank(&config, settings).await
        }
    }
}

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
