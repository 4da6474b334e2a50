//! `soundlake`: the command line of the lakehouse music recommender.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};
use server::config::Config;
use server::{bench, commands};

/// A lakehouse music recommender: listens land in Delta Lake, DataFusion builds silver,
/// PostgreSQL gold serves the web app and the REST API.
#[derive(Debug, Parser)]
#[command(name = "soundlake", version)]
struct Cli {
    /// A TOML configuration file (default: ./soundlake.toml when present).
    #[arg(long, global = true, env = "SOUNDLAKE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the web app and the REST API (loads the demo catalogue into an empty database).
    Serve {
        /// Do not load the demo catalogue when the catalogue is empty.
        #[arg(long)]
        no_demo: bool,
    },
    /// Import data into the lake and bring every layer up to date.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Simulate listening histories over the catalogue and write them to bronze, through the
    /// same path as the ingest API. Deterministic by seed.
    Simulate {
        #[arg(long, default_value_t = 1_000)]
        users: usize,
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Mean listens per active user per day.
        #[arg(long, default_value_t = 20.0)]
        listens_per_day: f64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Post to the server at this base URL (e.g. http://127.0.0.1:3000) instead of writing
        /// to the lake, stamping each listen with the time it is sent, until Ctrl-C.
        #[arg(long)]
        stream: Option<String>,
        /// Listens per second in --stream mode.
        #[arg(long, default_value_t = 100, requires = "stream")]
        rate: u32,
    },
    /// Measure the engine.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// Import track catalogue CSV files (Spotify Tracks Dataset or the 160k data.csv): each
    /// PATH is a file or a folder of .csv files.
    Catalog {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Import listening histories (Spotify extended or basic streaming history, ListenBrainz
    /// listens) for one user; plays are matched to the catalogue by Spotify id, else by artist
    /// and title.
    Listens {
        /// The soundlake user the plays belong to.
        #[arg(long)]
        user: String,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
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
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,server=info,soundlake=info,lakehouse=info".into()),
        )
        .with_target(false)
        .init();
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve { no_demo } => commands::serve(&config, !no_demo).await,
        Command::Simulate {
            users,
            days,
            listens_per_day,
            seed,
            stream,
            rate,
        } => {
            let sim =
                lakehouse::simulate::Simulation::ending_today(users, days, listens_per_day, seed);
            commands::simulate(&config, &sim, stream.map(|url| (url, rate))).await
        }
        Command::Import {
            what: ImportCommand::Catalog { paths },
        } => commands::import_catalog(&config, &paths).await,
        Command::Import {
            what: ImportCommand::Listens { user, files },
        } => commands::import_listens(&config, &user, &files).await,
        Command::Bench {
            what: BenchCommand::Import { path, runs },
        } => bench::import(&config, &path, runs).await,
        Command::Bench {
            what:
                BenchCommand::Ingest {
                    clients,
                    events,
                    single,
                },
        } => {
            let settings = bench::IngestBench {
                clients,
                batched_events: events,
                single_requests: single,
            };
            bench::ingest(&config, settings).await
        }
    }
}
