//! `soundlake`: the command line of the lakehouse music recommender.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};
use lakehouse::pipeline::Stage;
use server::cli::{sql::SqlCommand, tokens::TokensCommand, users::UsersCommand};
use server::config::Config;
use server::{bench, cli, commands, pipeline_commands};

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
        /// In --stream mode, stop after sending this many listens.
        #[arg(long, requires = "stream")]
        limit: Option<u64>,
        /// In --stream mode, the API token to post with: an ingest token
        /// (`soundlake tokens create ADMIN --scope ingest`) or an admin's.
        #[arg(
            long,
            env = "SOUNDLAKE_TOKEN",
            requires = "stream",
            hide_env_values = true
        )]
        token: Option<String>,
    },
    /// Pipeline runs: bronze → silver → gold, recorded in the database.
    Pipeline {
        #[command(subcommand)]
        what: PipelineCommand,
    },
    /// The lake's tables.
    Lake {
        #[command(subcommand)]
        what: LakeCommand,
    },
    /// A read-only SQL query over the lake's tables by name (bronze.listens, silver.tracks,
    /// ...; silver."listens@v3" for a table at a version).
    Sql(SqlCommand),
    /// Accounts and their roles.
    Users {
        #[command(subcommand)]
        what: UsersCommand,
    },
    /// API tokens for scripts and players.
    Tokens {
        #[command(subcommand)]
        what: TokensCommand,
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
enum PipelineCommand {
    /// Run every stage now (refused while another run is going on).
    Run {
        /// Rebuild silver listens from all of bronze instead of only what is new.
        #[arg(long)]
        full: bool,
        /// Compact and vacuum the lake even if not yet worthwhile.
        #[arg(long)]
        maintenance: bool,
        /// Stop after this stage (silver_tracks, silver_listens, gold_tracks, gold_marts, ml).
        #[arg(long, value_parser = parse_stage)]
        until: Option<Stage>,
    },
    /// The newest runs.
    Runs {
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
}

#[derive(Debug, Subcommand)]
enum LakeCommand {
    /// Every table: version, rows, files, size, partitions.
    Tables,
    /// One table (e.g. silver/listens) with its history, at its latest or an earlier version.
    Show {
        table: String,
        /// Time travel: the table as it was at this version.
        #[arg(long)]
        version: Option<i64>,
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
    /// Simulate listens into a fresh bronze, run the pipeline, print each stage's time, rows/s
    /// and peak memory.
    Pipeline {
        /// Listens to simulate (approximately).
        #[arg(long, default_value_t = 1_000_000)]
        listens: usize,
        /// Tracks in the demo catalogue they are played from.
        #[arg(long, default_value_t = 20_000)]
        tracks: usize,
        /// Stop after this stage (e.g. gold_marts: bronze → gold without the ML stage).
        #[arg(long, value_parser = parse_stage)]
        until: Option<Stage>,
        /// Then do the same bronze → gold work with another engine over the same files and
        /// print its figures beside soundlake's.
        #[arg(long, value_enum)]
        peer: Option<bench::Peer>,
    },
    /// Recommendation reads under fixed request rates, sent by oha (a load generator in its
    /// own process) to a `soundlake serve` holding the demo: p50/p99 per rate.
    Api(bench::ApiBench),
    /// A served demo kept busy for minutes (listens streamed, the schedule running, page and
    /// API reads): the server's memory every 10 s, and any error.
    Soak(bench::SoakBench),
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
        dataset: bench::Dataset,
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

/// mimalloc keeps freed memory for reuse instead of handing it back to the kernel and taking
/// fresh, zeroed pages for the next query's buffers: 9% of the CPU of silver's write went to
/// zeroing pages with the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        Command::Sql(query) => cli::sql::run(&config, query).await,
        Command::Users { what } => cli::users::run(&config, what).await,
        Command::Tokens { what } => cli::tokens::run(&config, what).await,
        Command::Simulate {
            users,
            days,
            listens_per_day,
            seed,
            stream,
            rate,
            limit,
            token,
        } => {
            let sim =
                lakehouse::simulate::Simulation::ending_today(users, days, listens_per_day, seed);
            let stream = match (stream, token) {
                (Some(url), Some(token)) => {
                    Some((server::stream::StreamTarget { url, token }, rate, limit))
                }
                (Some(_), None) => anyhow::bail!(
                    "--stream needs an API token that may post listens: --token or SOUNDLAKE_TOKEN \
                     (soundlake tokens create <admin> --scope ingest)"
                ),
                (None, _) => None,
            };
            commands::simulate(&config, &sim, stream).await
        }
        Command::Import {
            what: ImportCommand::Catalog { paths },
        } => commands::import_catalog(&config, &paths).await,
        Command::Import {
            what: ImportCommand::Listens { user, files },
        } => commands::import_listens(&config, &user, &files).await,
        Command::Pipeline {
            what:
                PipelineCommand::Run {
                    full,
                    maintenance,
                    until,
                },
        } => {
            let options = lakehouse::pipeline::RunOptions {
                full,
                force_maintenance: maintenance,
                until,
                ..Default::default()
            };
            pipeline_commands::run(&config, options).await
        }
        Command::Pipeline {
            what: PipelineCommand::Runs { limit },
        } => pipeline_commands::list_runs(&config, limit).await,
        Command::Lake {
            what: LakeCommand::Tables,
        } => pipeline_commands::lake_tables(&config).await,
        Command::Lake {
            what: LakeCommand::Show { table, version },
        } => pipeline_commands::lake_show(&config, &table, version).await,
        Command::Bench {
            what: BenchCommand::Import { path, runs },
        } => bench::import(&config, &path, runs).await,
        Command::Bench {
            what:
                BenchCommand::Pipeline {
                    listens,
                    tracks,
                    until,
                    peer,
                },
        } => bench::pipeline(&config, listens, tracks, until, peer).await,
        Command::Bench {
            what:
                BenchCommand::Recsys {
                    dataset,
                    seed,
                    min_coverage,
                    ndcg_tolerance,
                },
        } => {
            let options = lakehouse::ml::evaluate::EvalOptions {
                seed,
                min_coverage,
                ndcg_tolerance,
                ..Default::default()
            };
            tokio::task::block_in_place(|| bench::recsys(&dataset, &options))
        }
        Command::Bench {
            what: BenchCommand::Clusters { path },
        } => bench::clusters(&config, &path).await,
        Command::Bench {
            what: BenchCommand::Api(settings),
        } => bench::api(&config, settings).await,
        Command::Bench {
            what: BenchCommand::Soak(settings),
        } => bench::soak(&config, settings).await,
        Command::Bench {
            what:
                BenchCommand::Rerank {
                    tracks,
                    users,
                    reranks,
                },
        } => {
            let settings = bench::RerankBench {
                tracks,
                users,
                reranks,
            };
            bench::rerank(&config, settings).await
        }
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

/// A stage named on the command line.
fn parse_stage(name: &str) -> Result<Stage, String> {
    Stage::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Stage::ALL.iter().map(|s| s.name()).collect();
        format!("no stage `{name}`; the stages are {}", names.join(", "))
    })
}
