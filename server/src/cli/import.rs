//! `soundlake import ...`: track catalogues and listening histories into the lake, every layer
//! brought up to date.

use std::path::PathBuf;

use anyhow::Result;
use app::types::format_count;
use clap::{Args, Subcommand};
use lakehouse::catalog::{self, CatalogImportReport, CatalogRefreshReport};
use lakehouse::ingest::IngestWriter;

use super::seconds;
use crate::infra::config::Config;
use crate::infra::database::Database;

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    what: ImportCommand,
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

pub async fn run(config: &Config, args: ImportArgs) -> Result<()> {
    match args.what {
        ImportCommand::Catalog { paths } => import_catalog(config, &paths).await,
        ImportCommand::Listens { user, files } => import_listens(config, &user, &files).await,
    }
}

/// `soundlake import catalog PATH...`
async fn import_catalog(config: &Config, paths: &[PathBuf]) -> Result<()> {
    let lake = config.writable_lake().await?;
    let database = Database::open(config).await?;
    let result = catalog::import_catalog(&lake, &database.pool, paths).await;
    database.close().await;
    print_import(&result?);
    Ok(())
}

/// `soundlake import listens --user NAME FILE...`
async fn import_listens(config: &Config, user: &str, files: &[PathBuf]) -> Result<()> {
    let lake = config.writable_lake().await?;
    let database = Database::open(config).await?;
    let writer = IngestWriter::start(lake, Default::default());
    let result = lakehouse::ingest::import_listens(&database.pool, &writer, user, files).await;
    database.close().await;
    for r in result? {
        println!(
            "{} ({}): {} matched by Spotify id, {} by artist and title, {} unmatched (kept in bronze), {} rejected",
            r.path.display(),
            r.format,
            format_count(r.by_spotify_id as i64),
            format_count(r.by_name as i64),
            format_count(r.unmatched as i64),
            format_count(r.rejected as i64)
        );
    }
    Ok(())
}

/// Prints what an import did, layer by layer.
pub fn print_import(report: &CatalogImportReport) {
    let new = report.files.iter().filter(|f| f.new).count();
    println!(
        "files:  {} read, {} new, {} already imported (same content)",
        report.files.len(),
        new,
        report.files.len() - new
    );
    match report.bronze_version {
        Some(version) => println!(
            "bronze: {} rows appended to bronze/tracks (version {version}) in {}",
            format_count(report.bronze_rows as i64),
            seconds(report.bronze_time)
        ),
        None => println!("bronze: unchanged"),
    }
    print_layers(&report.layers);
}

/// Prints what the silver and gold catalogue stages did.
pub fn print_layers(layers: &CatalogRefreshReport) {
    match &layers.silver {
        None => println!("silver: no bronze catalogue yet"),
        Some(silver) if !silver.rebuilt => println!(
            "silver: unchanged (built from bronze version {})",
            silver.bronze_version
        ),
        Some(silver) => {
            println!(
                "silver: {} tracks, {} rows quarantined, from bronze version {} in {}",
                format_count(silver.tracks as i64),
                format_count(silver.quarantined as i64),
                silver.bronze_version,
                seconds(layers.silver_time)
            );
            for (reason, count) in &silver.reasons {
                println!(
                    "        quarantined {}: {reason}",
                    format_count(*count as i64)
                );
            }
        }
    }
    match layers.gold_tracks {
        Some(tracks) => println!(
            "gold:   {} tracks loaded in {}",
            format_count(tracks as i64),
            seconds(layers.gold_time)
        ),
        None => println!("gold:   unchanged"),
    }
}
