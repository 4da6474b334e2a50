//! The `soundlake` command line: one file per command, its arguments beside its handler.

pub mod cluster;
pub mod demo;
pub mod import;
pub mod lake;
pub mod pipeline;
pub mod serve;
pub mod simulate;
pub mod sql;
pub mod tokens;
pub mod users;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::infra::config::Config;

/// A lakehouse music recommender: listens land in Delta Lake, DataFusion builds silver,
/// PostgreSQL gold serves the web app and the REST API.
#[derive(Debug, Parser)]
#[command(name = "soundlake", version)]
pub struct Cli {
    #[command(flatten)]
    config: ConfigFile,
    #[command(subcommand)]
    command: Command,
}

/// `--config FILE`, the option soundlake's binaries read their configuration with.
#[derive(Debug, clap::Args)]
pub struct ConfigFile {
    /// A TOML configuration file (default: ./soundlake.toml when present).
    #[arg(long, global = true, env = "SOUNDLAKE_CONFIG")]
    config: Option<PathBuf>,
}

impl ConfigFile {
    /// The configuration: defaults, then the file, then the environment.
    pub fn load(&self) -> Result<Config> {
        Config::load(self.config.as_deref())
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the web app and the REST API (loads the demo catalogue into an empty database).
    Serve(serve::ServeArgs),
    /// Import data into the lake and bring every layer up to date.
    Import(import::ImportArgs),
    /// Simulate listening histories over the catalogue and write them to bronze, through the
    /// same path as the ingest API. Deterministic by seed.
    Simulate(simulate::SimulateArgs),
    /// Pipeline runs: bronze → silver → gold, recorded in the database.
    Pipeline(pipeline::PipelineArgs),
    /// The lake's tables.
    Lake(lake::LakeArgs),
    /// A read-only SQL query over the lake's tables by name (bronze.listens, silver.tracks,
    /// ...; silver."listens@v3" for a table at a version).
    Sql(sql::SqlArgs),
    /// Accounts and their roles.
    Users(users::UsersArgs),
    /// API tokens for scripts and players.
    Tokens(tokens::TokensArgs),
    /// The data the demo is made from.
    Demo(demo::DemoArgs),
    /// The processes of a Ballista cluster for pipeline runs' SQL (`pipeline run --engine`).
    Cluster(cluster::ClusterArgs),
}

impl Cli {
    /// Runs the command, with the configuration `--config` names (else the defaults and the
    /// environment).
    pub async fn run(self) -> Result<()> {
        let config = self.config.load()?;
        match self.command {
            Command::Serve(args) => serve::run(&config, args).await,
            Command::Import(args) => import::run(&config, args).await,
            Command::Simulate(args) => simulate::run(&config, args).await,
            Command::Pipeline(args) => pipeline::run(&config, args).await,
            Command::Lake(args) => lake::run(&config, args).await,
            Command::Sql(args) => sql::run(&config, args).await,
            Command::Users(args) => users::run(&config, args).await,
            Command::Tokens(args) => tokens::run(&config, args).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Cluster(args) => cluster::run(args).await,
        }
    }
}

/// Logs to standard error: warnings, and soundlake's own information (`RUST_LOG` overrides).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,server=info,soundlake=info,lakehouse=info".into()),
        )
        .with_target(false)
        .init();
}

/// A duration as seconds with two decimals.
fn seconds(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}
