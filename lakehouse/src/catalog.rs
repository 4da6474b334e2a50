//! The catalogue slice end to end: CSV files → `bronze/tracks` → `silver/tracks` → gold
//! `tracks`. Each layer is brought up to date only when the layer below it changed, so
//! importing the same files again changes nothing anywhere.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use sqlx::PgPool;

use crate::bronze;
use crate::error::Result;
use crate::gold::{lake_loads, tracks_load};
use crate::lake::Lake;
use crate::silver;
use crate::silver::tracks::SilverTracksReport;
use crate::sources::catalog_csv::{self, CatalogFile};

/// What happened to one input file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileOutcome {
    pub path: PathBuf,
    pub format: &'static str,
    pub rows: usize,
    /// `false` when a file with the same content was imported before (or earlier in this call).
    pub new: bool,
}

/// What an import did in each layer, with the time each took.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogImportReport {
    pub files: Vec<FileOutcome>,
    /// Rows appended to bronze by this import.
    pub bronze_rows: usize,
    /// The bronze commit, when anything was appended.
    pub bronze_version: Option<i64>,
    pub bronze_time: Duration,
    pub layers: CatalogRefreshReport,
}

/// What bringing silver and gold up to date did.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogRefreshReport {
    /// `None` when there is no bronze catalogue at all.
    pub silver: Option<SilverTracksReport>,
    pub silver_time: Duration,
    /// Tracks loaded into gold; `None` when gold already held the current silver version.
    pub gold_tracks: Option<u64>,
    pub gold_time: Duration,
}

/// Imports catalogue CSV files (each path a file or a folder of `.csv` files) through every
/// layer. Every file's header is checked before anything is written: one unrecognised file
/// fails the whole import and writes nothing.
pub async fn import_catalog(
    lake: &Lake,
    pool: &PgPool,
    paths: &[PathBuf],
) -> Result<CatalogImportReport> {
    let started = Instant::now();
    let files = read_all(paths).await?;
    let known = bronze::tracks::known_file_hashes(lake).await?;
    let mut seen = HashSet::new();
    let mut outcomes = Vec::with_capacity(files.len());
    let mut new_files = Vec::new();
    for file in files {
        let new = !known.contains(&file.sha256) && seen.insert(file.sha256.clone());
        outcomes.push(FileOutcome {
            path: file.path.clone(),
            format: file.format.id(),
            rows: file.rows.len(),
            new,
        });
        if new {
            new_files.push(file);
        }
    }
    let bronze_rows = new_files.iter().map(|f| f.rows.len()).sum();
    let bronze_version = if new_files.is_empty() {
        None
    } else {
        Some(
            bronze::tracks::append(lake, &new_files, Utc::now())
                .await?
                .version,
        )
    };
    let bronze_time = started.elapsed();
    let layers = refresh_catalog(lake, pool).await?;
    Ok(CatalogImportReport {
        files: outcomes,
        bronze_rows,
        bronze_version,
        bronze_time,
        layers,
    })
}

/// Brings silver and gold up to date with bronze: rebuilds silver when bronze changed and
/// reloads gold when silver changed (or gold was emptied or never loaded).
pub async fn refresh_catalog(lake: &Lake, pool: &PgPool) -> Result<CatalogRefreshReport> {
    let started = Instant::now();
    let silver = silver::tracks::build(lake).await?;
    let silver_time = started.elapsed();

    let started = Instant::now();
    let mut gold_tracks = None;
    if let Some(report) = &silver {
        let loaded = lake_loads::loaded_version(pool, tracks_load::TARGET).await?;
        if loaded != Some(report.tracks_version) {
            gold_tracks =
                Some(tracks_load::load_from_silver(lake, pool, report.tracks_version).await?);
        }
    }
    Ok(CatalogRefreshReport {
        silver,
        silver_time,
        gold_tracks,
        gold_time: started.elapsed(),
    })
}

/// Reads and parses every file on a blocking thread, in parallel across the machine's cores.
async fn read_all(paths: &[PathBuf]) -> Result<Vec<CatalogFile>> {
    let mut files = Vec::new();
    for path in paths {
        files.extend(catalog_csv::list_csv_files(path)?);
    }
    tokio::task::spawn_blocking(move || read_in_parallel(&files))
        .await
        .expect("the CSV reading thread does not panic")
}

fn read_in_parallel(files: &[PathBuf]) -> Result<Vec<CatalogFile>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len().max(1));
    let chunk = files.len().div_ceil(workers.max(1)).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|p| catalog_csv::read_catalog_file(p))
                        .collect::<Result<Vec<_>>>()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(files.len());
        for handle in handles {
            all.extend(
                handle
                    .join()
                    .expect("a CSV reading thread does not panic")?,
            );
        }
        Ok(all)
    })
}

/// The rows of the demo catalogue file, written under `dir` when missing, ready to import.
pub fn demo_catalog_file(dir: &Path, catalog: &crate::demo::DemoCatalog) -> Result<PathBuf> {
    let path = dir.join(format!(
        "demo-catalog-{}-seed{}.csv",
        catalog.tracks, catalog.seed
    ));
    if !path.exists() {
        // Written aside and renamed, so an interrupted run never leaves half a file to import.
        let partial = path.with_extension("csv.partial");
        crate::demo::write_demo_catalog_csv(&partial, catalog)?;
        std::fs::rename(&partial, &path)
            .map_err(|e| crate::error::LakehouseError::io("renaming", &partial, e))?;
    }
    Ok(path)
}
