//! `soundlake lake ...`: the lake's tables, their versions, files and history.

use anyhow::{Context, Result};
use app::types::format_count;
use clap::{Args, Subcommand};
use lakehouse::lake_info;

use crate::infra::config::Config;

#[derive(Debug, Args)]
pub struct LakeArgs {
    #[command(subcommand)]
    what: LakeCommand,
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

pub async fn run(config: &Config, args: LakeArgs) -> Result<()> {
    match args.what {
        LakeCommand::Tables => tables(config).await,
        LakeCommand::Show { table, version } => show(config, &table, version).await,
    }
}

/// `soundlake lake tables`: every table with its version, files, size and partitions.
async fn tables(config: &Config) -> Result<()> {
    let lake = config.lake()?;
    let tables = lake_info::describe_all(&lake, 1).await?;
    if tables.is_empty() {
        println!("the lake at {lake} is empty");
    }
    for t in tables {
        println!(
            "{:<27} version {:>5}  {:>12} rows  {:>6} files  {:>10}  {} partitions{}",
            t.table,
            t.version,
            format_count(t.rows),
            t.files,
            bytes(t.size_bytes),
            t.partitions,
            if t.partition_columns.is_empty() {
                String::new()
            } else {
                format!(" by {}", t.partition_columns.join("/"))
            }
        );
    }
    Ok(())
}

/// `soundlake lake show TABLE [--version N]`: one table, at its latest or an earlier version,
/// with its history.
async fn show(config: &Config, table: &str, version: Option<i64>) -> Result<()> {
    let lake = config.lake()?;
    let name = lake_info::find_table(table).with_context(|| {
        let names: Vec<String> = lake_info::TABLES.iter().map(|t| t.qualified()).collect();
        format!(
            "no table {table}; the lake's tables are {}",
            names.join(", ")
        )
    })?;
    let info = lake_info::describe(&lake, name, version, 20)
        .await?
        .with_context(|| format!("{table} has not been written yet"))?;
    println!(
        "{} at version {} (latest {}): {} rows in {} files, {}, {} partitions",
        info.table,
        info.version,
        info.latest_version,
        format_count(info.rows),
        info.files,
        bytes(info.size_bytes),
        info.partitions
    );
    for commit in info.history {
        println!(
            "  v{:<5} {}  {:<18} {}",
            commit.version,
            commit
                .timestamp
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default(),
            commit.operation.unwrap_or_default(),
            commit.soundlake_operation.unwrap_or_default()
        );
    }
    Ok(())
}

fn bytes(n: i64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.2} GB", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1} MB", n / 1e6)
    } else {
        format!("{:.0} kB", n / 1e3)
    }
}
