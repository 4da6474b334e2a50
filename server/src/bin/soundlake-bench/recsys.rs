//! `soundlake-bench recsys`: the offline evaluation protocol on a dataset, one row per model.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use lakehouse::ml::datasets::{self, LaterPlays, SimulatedSettings};
use lakehouse::ml::evaluate::{
    EvalOptions, Evaluation, evaluate, evaluate_newest, evaluate_split, evaluate_with_feedback,
};
use lakehouse::ml::feedback::{Feedback, Signal, Verdict};
use lakehouse::ml::interactions::{Interactions, index_of};
use lakehouse::ml::metrics::paired_difference;
use lakehouse::ml::models::content::ItemFeatures;
use lakehouse::ml::split::FirstPlays;

/// HetRec 2011 Last.fm 2K's user → artist play counts, beside the checkout.
pub const HETREC: &str = "../shared/data/raw/hetrec2011-lastfm-2k/user_artists.dat";
/// The same listeners' tags on artists: (user, artist, tag, day, month, year).
const HETREC_TAGS: &str = "../shared/data/raw/hetrec2011-lastfm-2k/user_taggedartists.dat";

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
/// it again with the feedback as training signal and prints both models' test figures, on the
/// random split and, where the dataset has times, on a split by time and on each listener's
/// newest tracks (the pipeline's protocol).
pub fn recsys(dataset: &Dataset, options: &EvalOptions) -> Result<()> {
    let started = Instant::now();
    let loaded = load(dataset)?;
    let (data, features) = (&loaded.data, loaded.features.as_ref());
    println!(
        "{}: {} users, {} items, {} interactions (loaded in {:.2} s)",
        loaded.name,
        data.n_users(),
        data.n_items(),
        data.nnz(),
        started.elapsed().as_secs_f64()
    );
    let evaluation = evaluate(data, features, options)?;
    print_table(&evaluation);
    if !loaded.feedback.is_empty() {
        let (likes, dislikes) = loaded.feedback.counts();
        println!(
            "\nthe same protocol with {likes} likes and {dislikes} dislikes as training signal (feedback on held-out pairs left out); with feedback and without, the lists leave out {}",
            loaded.hidden_in_both
        );
        let evaluate =
            |feedback: &Feedback| evaluate_with_feedback(data, feedback, features, options);
        let without = evaluate(&loaded.feedback.skips_only())?;
        compare_feedback(&without, &loaded.feedback, options, evaluate)?;
    }
    if let Some(later) = &loaded.later {
        let (test, validation) = (&later.test, &later.validation);
        let (likes, dislikes) = test.feedback.counts();
        println!(
            "\nsplit by time: trained on the listens before {}, measured on the tracks new to each listener that they played after it ({} listeners), with the {likes} likes and {dislikes} dislikes given before it; tuned on the same split at {} ({} listeners)",
            test.cutoff.format("%Y-%m-%d"),
            test.split.test.len(),
            validation.cutoff.format("%Y-%m-%d"),
            validation.split.test.len()
        );
        let evaluate = |feedback: &Feedback| {
            // The validation split's own feedback, weighed the same way.
            let earlier = if feedback.is_empty() {
                validation.feedback.skips_only()
            } else {
                validation.feedback.clone().with_signal(feedback.signal())
            };
            let tuning = Some((validation.split.clone(), &earlier));
            evaluate_split(test.split.clone(), feedback, tuning, features, options)
        };
        let without = evaluate(&test.feedback.skips_only())?;
        compare_feedback(&without, &test.feedback, options, evaluate)?;
    }
    if let Some(first_plays) = &loaded.first_plays {
        println!(
            "\neach listener's newest tracks by first play (the pipeline's protocol): trained on the rest, tuned on the newest of the rest, with the feedback on held-out pairs left out"
        );
        let evaluate =
            |feedback: &Feedback| evaluate_newest(data, first_plays, feedback, features, options);
        let without = evaluate(&loaded.feedback.skips_only())?;
        compare_feedback(&without, &loaded.feedback, options, evaluate)?;
    }
    Ok(())
}

/// Runs `evaluate` with the feedback as soundlake weighs it and prints each family's test
/// figures beside `without`'s, then the chosen model's test NDCG with the feedback weighed in
/// other ways.
fn compare_feedback(
    without: &Evaluation,
    feedback: &Feedback,
    options: &EvalOptions,
    evaluate: impl Fn(&Feedback) -> Result<Evaluation, lakehouse::ml::MlError>,
) -> Result<()> {
    let with = evaluate(feedback)?;
    print_feedback(without, &with);
    println!(
        "other ways of weighing it: the chosen model's test NDCG@{}, and its change over the same listeners ± the paired standard error",
        options.k
    );
    let ndcg = |e: &Evaluation| e.chosen_result().map_or(0.0, |m| m.test.ndcg);
    println!("  no feedback: {:.4}", ndcg(without));
    let ours = Signal::default();
    let mut signals = vec![
        ours,
        Signal {
            liked_model: false,
            ..ours
        },
        Signal {
            like_weight: 0.0,
            ..ours
        },
        Signal {
            like_weight: 4.0,
            ..ours
        },
    ];
    // Without dislikes, removing their pairs changes nothing: that run is left out.
    if feedback.counts().1 > 0 {
        signals.push(Signal {
            dislike_removes: true,
            ..ours
        });
    }
    for signal in signals {
        let evaluated;
        let e = if signal == ours {
            &with
        } else {
            evaluated = evaluate(&feedback.clone().with_signal(signal))?;
            &evaluated
        };
        let change = paired_difference(ndcg_by_user(without), ndcg_by_user(e));
        println!(
            "  {}{}: {:.4} ({:+.1}%; {:+.4} ± {:.4} over {} listeners)",
            described(signal),
            if signal == ours { " (soundlake's)" } else { "" },
            ndcg(e),
            100.0 * (ndcg(e) / ndcg(without).max(1e-12) - 1.0),
            change.mean,
            change.std_error,
            change.users
        );
    }
    Ok(())
}

/// The chosen model's test NDCG@k per listener (none when nothing was chosen).
fn ndcg_by_user(e: &Evaluation) -> &[(u32, f64)] {
    e.chosen_result()
        .map_or(&[], |m| m.test_ndcg_by_user.as_slice())
}

/// What `signal` makes of a like and of a dislike.
fn described(signal: Signal) -> String {
    format!(
        "a like adds {} plays{}, a dislike {}",
        signal.like_weight,
        if signal.liked_model {
            " and seeds the liked-tracks model"
        } else {
            ""
        },
        if signal.dislike_removes {
            "removes the pair"
        } else {
            "only hides the track"
        }
    )
}

/// Each family's test figures without the feedback and with it (weighed as soundlake does).
fn print_feedback(without: &Evaluation, with: &Evaluation) {
    println!("{}:", described(Signal::default()));
    println!(
        "{:<11} {:>11} {:>11} {:>9} {:>11} {:>11}",
        "model", "ndcg_before", "ndcg_after", "change", "cov_before", "cov_after"
    );
    for after in &with.models {
        let Some(before) = without.models.iter().find(|m| m.model == after.model) else {
            // A family only feedback brings (the liked-tracks model).
            println!(
                "{:<11} {:>11} {:>11.4} {:>9} {:>11} {:>11.4}",
                after.model, "-", after.test.ndcg, "-", "-", after.test.coverage
            );
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
    if let Some(hybrid) = with.models.iter().find(|m| m.model == "hybrid") {
        println!("the hybrid with feedback: {}", hybrid.spec.params_json());
    }
    if let (Some(before), Some(after)) = (without.chosen_result(), with.chosen_result()) {
        println!(
            "chosen model: {} NDCG@{} = {:.4} (standard error {:.4}) without feedback, {} NDCG@{} = {:.4} (standard error {:.4}, coverage {:.4}) with it, in {:.1} s",
            before.model,
            without.k,
            before.test.ndcg,
            before.test.ndcg_std_error,
            after.model,
            with.k,
            after.test.ndcg,
            after.test.ndcg_std_error,
            after.test.coverage,
            with.total_secs
        );
    }
}

/// A dataset as the protocol takes it.
struct Loaded {
    name: String,
    data: Interactions,
    feedback: Feedback,
    features: Option<ItemFeatures>,
    /// The history split by time, where the dataset has times.
    later: Option<LaterPlays>,
    /// When each listener first played each item, where the dataset has times.
    first_plays: Option<FirstPlays>,
    /// What the lists leave out with feedback and without, so that the two differ only in
    /// what the models learn from.
    hidden_in_both: &'static str,
}

impl Loaded {
    fn listens_alone(name: String, data: Interactions) -> Self {
        Self {
            name,
            data,
            feedback: Feedback::default(),
            features: None,
            later: None,
            first_plays: None,
            hidden_in_both: "nothing",
        }
    }
}

fn load(dataset: &Dataset) -> Result<Loaded> {
    Ok(match dataset {
        Dataset::Simulated => {
            let settings = SimulatedSettings::default();
            let sim = datasets::simulated(&settings);
            Loaded {
                name: format!(
                    "simulated ({} listens by {} listeners over {} tracks, seed {})",
                    sim.listens, settings.users, settings.tracks, settings.seed
                ),
                data: sim.interactions,
                feedback: sim.feedback,
                features: Some(sim.features),
                later: Some(sim.later),
                first_plays: Some(sim.first_plays),
                hidden_in_both: "what the listener mostly skipped, as the published ones do",
            }
        }
        Dataset::Hetrec => {
            let beside =
                "HetRec is read from ../shared/data/raw beside the checkout; pass a path instead";
            let data = read(Path::new(HETREC)).context(beside)?;
            let feedback = tags_as_likes(&data, Path::new(HETREC_TAGS)).context(beside)?;
            Loaded {
                feedback,
                hidden_in_both: "the artists the listener tagged, as a player leaves out what was liked",
                ..Loaded::listens_alone("HetRec 2011 Last.fm 2K".into(), data)
            }
        }
        Dataset::File(path) => Loaded::listens_alone(path.display().to_string(), read(path)?),
    })
}

/// HetRec's tags as likes: a listener who tags an artist says they care about it, the
/// dataset's only word from its listeners beside their plays, and often on an artist outside
/// the 50 most played that the plays hold. The tagged pairs are also hidden from the lists in
/// both arms of the comparison, so that what feedback changes is only what the models learn.
/// Tags of users or artists without plays are left out, as the header line is.
fn tags_as_likes(data: &Interactions, path: &Path) -> Result<Feedback> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let (users, items) = (index_of(data.user_ids()), index_of(data.item_ids()));
    let likes: Vec<(u32, u32, Verdict)> = text
        .lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let user = users.get(fields.next()?)?;
            let item = items.get(fields.next()?)?;
            Some((*user, *item, Verdict::Like))
        })
        .collect();
    let tagged = likes.iter().map(|&(u, i, _)| (u, i)).collect();
    Ok(Feedback::new(likes).with_skipped(tagged))
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
