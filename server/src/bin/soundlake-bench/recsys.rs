//! `soundlake-bench recsys`: the offline evaluation protocol on a dataset, one row per model.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use lakehouse::ml::datasets::{self, SimulatedSettings};
use lakehouse::ml::evaluate::{EvalOptions, Evaluation, evaluate};
use lakehouse::ml::interactions::Interactions;
use lakehouse::ml::models::content::ItemFeatures;

/// HetRec 2011 Last.fm 2K's user → artist play counts, beside the checkout.
pub const HETREC: &str = "../shared/data/raw/hetrec2011-lastfm-2k/user_artists.dat";

/// Which data to evaluate on.
#[derive(Debug, Clone)]
pub enum Dataset {
    /// A simulated history over a generated catalogue (with audio features).
    Simulated,
    /// HetRec Last.fm 2K (user, artist, plays).
    Hetrec,
    /// Any delimited user, item[, weight] file.
    File(PathBuf),
}

impl std::str::FromStr for Dataset {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "simulated" => Dataset::Simulated,
            "hetrec" => Dataset::Hetrec,
            path => Dataset::File(PathBuf::from(path)),
        })
    }
}

/// Loads the dataset, runs the protocol and prints the table.
pub fn recsys(dataset: &Dataset, options: &EvalOptions) -> Result<()> {
    let started = Instant::now();
    let (name, data, features) = load(dataset)?;
    println!(
        "{name}: {} users, {} items, {} interactions (loaded in {:.2} s)",
        data.n_users(),
        data.n_items(),
        data.nnz(),
        started.elapsed().as_secs_f64()
    );
    let evaluation = evaluate(&data, features.as_ref(), options)?;
    print_table(&evaluation);
    Ok(())
}

fn load(dataset: &Dataset) -> Result<(String, Interactions, Option<ItemFeatures>)> {
    Ok(match dataset {
        Dataset::Simulated => {
            let settings = SimulatedSettings::default();
            let sim = datasets::simulated(&settings);
            let name = format!(
                "simulated ({} listens by {} listeners over {} tracks, seed {})",
                sim.listens, settings.users, settings.tracks, settings.seed
            );
            (name, sim.interactions, Some(sim.features))
        }
        Dataset::Hetrec => (
            "HetRec 2011 Last.fm 2K".into(),
            read(Path::new(HETREC)).context(
                "HetRec is read from ../shared/data/raw beside the checkout; pass a path instead",
            )?,
            None,
        ),
        Dataset::File(path) => (path.display().to_string(), read(path)?, None),
    })
}

fn read(path: &Path) -> Result<Interactions> {
    Ok(Interactions::read_delimited(path)?)
}

fn print_table(e: &Evaluation) {
    println!(
        "protocol: per-user holdout 20% (seed {}), listeners with >= 5 interactions ({} evaluated), metrics @{}, selection on validation: the widest coverage within {} standard errors of the best NDCG, coverage >= {}",
        e.seed, e.test_users, e.k, e.ndcg_tolerance, e.min_coverage
    );
    println!(
        "{:<11} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}  params",
        "model",
        "val_ndcg",
        "val_cov",
        "ndcg",
        "recall",
        "prec",
        "map",
        "coverage",
        "train_s",
        "eval_s"
    );
    for m in &e.models {
        let chosen = if m.spec == e.chosen { "*" } else { " " };
        println!(
            "{:<11} {:>9.4} {:>8.4} {:>8.4} {:>8.4} {:>8.4} {:>8.4} {:>8.4} {:>8.2} {:>8.2}  {}",
            format!("{}{chosen}", m.model),
            m.validation_ndcg,
            m.validation_coverage,
            m.test.ndcg,
            m.test.recall,
            m.test.precision,
            m.test.map,
            m.test.coverage,
            m.train_secs,
            m.eval_secs,
            m.spec.params_json()
        );
    }
    println!(
        "all models tuned, trained and evaluated in {:.1} s",
        e.total_secs
    );
    if let Some(m) = e.chosen_result() {
        println!(
            "chosen model: {} NDCG@{} = {:.4} (coverage {:.4})",
            m.model, e.k, m.test.ndcg, m.test.coverage
        );
    }
}
