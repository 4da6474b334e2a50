//! `bench pipeline --peer duckdb`: the same bronze → gold SQL work done by DuckDB (PyPI) over
//! the same files, timed in a process of its own, to print beside soundlake's figures. The
//! script (`duckdb_peer.py`) says what it does and what it leaves out.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use lakehouse::Lake;
use lakehouse::lake::TableRef;
use serde::Deserialize;
use serde_json::json;

const SCRIPT: &str = include_str!("duckdb_peer.py");

/// The peer's figures, as its script prints them.
#[derive(Debug, Deserialize)]
pub struct PeerFigures {
    pub engine: String,
    pub bronze_rows: i64,
    pub silver_rows: i64,
    pub quarantined_rows: i64,
    pub seconds: PeerSeconds,
    pub marts: BTreeMap<String, MartFigures>,
}

#[derive(Debug, Deserialize)]
pub struct PeerSeconds {
    pub silver_listens: f64,
    pub gold_marts: f64,
    pub total: f64,
}

#[derive(Debug, Deserialize)]
pub struct MartFigures {
    pub rows: i64,
    pub seconds: f64,
}

/// The Python that runs the peer: `SOUNDLAKE_PYTHON` (a virtualenv with `duckdb`), else
/// `python3`.
fn python() -> String {
    std::env::var("SOUNDLAKE_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// Runs the DuckDB peer over the lake's bronze listens and silver tracks, with the same
/// number of threads soundlake's queries use, writing its silver under `work`.
pub async fn duckdb(lake: &Lake, work: &Path, threads: usize) -> Result<PeerFigures> {
    let manifest = json!({
        "bronze_listens": active_files(lake, lakehouse::bronze::listens::LISTENS).await?,
        "silver_tracks": active_files(lake, lakehouse::silver::tracks::TABLE).await?,
        "threads": threads,
    });
    std::fs::create_dir_all(work)?;
    let script = work.join("duckdb_peer.py");
    std::fs::write(&script, SCRIPT)?;
    let manifest_file = work.join("manifest.json");
    std::fs::write(&manifest_file, serde_json::to_vec(&manifest)?)?;
    let python = python();
    let output = tokio::task::spawn_blocking({
        let (script, manifest_file, out) =
            (script.clone(), manifest_file.clone(), work.join("out"));
        move || {
            Command::new(&python)
                .arg(&script)
                .arg(&manifest_file)
                .arg(&out)
                .stderr(std::process::Stdio::inherit())
                .output()
                .with_context(|| format!("running {python}"))
        }
    })
    .await??;
    if !output.status.success() {
        bail!(
            "the DuckDB peer failed ({}); it needs Python with duckdb \
             (SOUNDLAKE_PYTHON=<venv>/bin/python; pip install duckdb)",
            output.status
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let last = text.lines().last().unwrap_or_default();
    serde_json::from_str(last).with_context(|| format!("reading the peer's figures: {last}"))
}

/// The local paths of a Delta table's data files at its latest version.
async fn active_files(lake: &Lake, table: TableRef) -> Result<Vec<String>> {
    let Some(delta) = lake.existing_table(table).await? else {
        bail!("{table} does not exist yet");
    };
    delta
        .get_file_uris()?
        .map(|uri| {
            let path = uri.strip_prefix("file://").unwrap_or(&uri).to_owned();
            if path.contains("://") {
                bail!("the DuckDB peer reads a local lake only, not {uri}");
            }
            Ok(path)
        })
        .collect()
}
