//! `soundlake-bench recsys`: the offline evaluation protocol on a dataset, one row per model.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use lakehouse::ml::datasets::{self, SimulatedSettings};
use lakehouse::ml::evaluate::{EvalOptions, Evaluation, evaluate, evaluate_with_feedback};
use lakehouse::ml::feedback::{Feedback, Signal};
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

/// Loads the dataset, runs the protocol and prints the table; on a dataset with feedback, runs
/// it again with the feedback as training signal and prints both models' test figures.
pub fn recsys(dataset: &Dataset, options: &EvalOptions) -> Result<()> {
    let started = Instant::now();
    let (name, data, feedback, features) = load(dataset)?;
    println!(
        "{name}: {} users, {} items, {} interactions (loaded in {:.2} s)",
        data.n_users(),
        data.n_items(),
        data.nnz(),
        started.elapsed().as_secs_f64()
    );
    let evaluation = evaluate(&data, features.as_ref(), options)?;
    print_table(&evaluation);
    if !feedback.is_empty() {
        let with = evaluate_with_feedback(&data, &feedback, features.as_ref(), options)?;
        print_feedback(&evaluation, &with, &feedback);
        print_signals(
            &data,
            &feedback,
            features.as_ref(),
            options,
            &evaluation,
            &with,
        )?;
    }
    Ok(())
}

/// The chosen model's test NDCG with feedback weighed in other ways (`with`: soundlake's way,
/// evaluated already).
fn print_signals(
    data: &Interactions,
    feedback: &Feedback,
    features: Option<&ItemFeatures>,
    options: &EvalOptions,
    without: &Evaluation,
    with: &Evaluation,
) -> Result<()> {
    println!(
        "\nother ways of weighing it: the chosen model's test NDCG@{}",
        options.k
    );
    let ndcg = |e: &Evaluation| e.chosen_result().map_or(0.0, |m| m.test.ndcg);
    println!("  no feedback: {:.4}", ndcg(without));
    for like_weight in [0.0, 1.0, 4.0] {
        for dislike_removes in [false, true] {
            if like_weight == 0.0 && !dislike_removes {
                continue;
            }
            let signal = Signal {
                like_weight,
                dislike_removes,
            };
            let evaluated;
            let e = if signal == Signal::default() {
                with
            } else {
                let weighed = feedback.clone().with_signal(signal);
                evaluated = evaluate_with_feedback(data, &weighed, features, options)?;
                &evaluated
            };
            println!(
                "  like adds {like_weight} plays, dislike {}: {:.4} ({:+.1}%)",
                if dislike_removes {
                    "removes the pair"
                } else {
                    "only hides the track"
                },
                ndcg(e),
                100.0 * (ndcg(e) / ndcg(without).max(1e-12) - 1.0)
            );
        }
    }
    Ok(())
}

/// Each family's test figures without the feedback and with it.
fn print_feedback(without: &Evaluation, with: &Evaluation, feedback: &Feedback) {
    let (likes, dislikes) = feedback.counts();
    println!(
        "\nthe same protocol with {likes} likes and {dislikes} dislikes as training signal (a like adds {} plays, a dislike removes the pair; feedback on held-out pairs left out)",
        lakehouse::ml::feedback::LIKE_WEIGHT
    );
    println!(
        "{:<11} {:>11} {:>11} {:>9} {:>11} {:>11}",
        "model", "ndcg_before", "ndcg_after", "change", "cov_before", "cov_after"
    );
    for after in &with.models {
        let Some(before) = without.models.iter().find(|m| m.model == after.model) else {
            continue;
        };
        println!(
            "{:<11} {:>11.4} {:>11.4} {:>+8.1}% {:>11.4} {:>11.4}",
            after.model,
            before.test.ndcg,
            after.test.ndcg,
            100.0 * (after.test.ndcg / before.test.ndcg.max(1e-12) - 1.0),
            before.test.coverage,
            after.test.coverage
        );
    }
    if let (Some(before), Some(after)) = (without.chosen_result(), with.chosen_result()) {
        println!(
            "chosen model: {} NDCG@{} = {:.4} without feedback, {} NDCG@{} = {:.4} (coverage {:.4}) with it, in {:.1} s",
            before.model,
            without.k,
            before.test.ndcg,
            after.model,
            with.k,
            after.test.ndcg,
            after.test.coverage,
            with.total_secs
        );
    }
}

type Loaded = (String, Interactions, Feedback, Option<ItemFeatures>);

fn load(dataset: &Dataset) -> Result<Loaded> {
    Ok(match dataset {
        Dataset::Simulated => {
            let settings = SimulatedSettings::default();
            let sim = datasets::simulated(&settings);
            let name = format!(
                "simulated ({} listens by {} listeners over {} tracks, seed {})",
                sim.listens, settings.users, settings.tracks, settings.seed
            );
            (name, sim.interactions, sim.feedback, Some(sim.features))
        }
        Dataset::Hetrec => (
            "HetRec 2011 Last.fm 2K".into(),
            read(Path::new(HETREC)).context(
                "HetRec is read from ../shared/data/raw beside the checkout; pass a path instead",
            )?,
            Feedback::default(),
            None,
        ),
        Dataset::File(path) => (
            path.display().to_string(),
            read(path)?,
            Feedback::default(),
            None,
        ),
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
