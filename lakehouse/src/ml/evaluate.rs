//! The offline evaluation protocol, the figure that decides which model serves.
//!
//! 1. Per listener with at least `min_interactions`, hold out `holdout` of their interactions
//!    (seeded): the test split. The rest is `train`. [`evaluate_newest`], which the pipeline
//!    runs, holds out each listener's newest tracks by first play instead.
//! 2. Split `train` the same way again (seed + 1; the newest of `train`, walk-forward, when
//!    the test split is the newest) into `fit` and `validation`.
//! 3. Each model family tries its settings on `fit`, is scored on `validation` (NDCG@k), keeps
//!    its best; the hybrid's weights and its popularity and exposure damping are tuned there
//!    too, over the families' best (all but EASE, which competes on its own).
//! 4. The chosen model is decided on validation (never on the test figures): every setting
//!    whose NDCG@k is within `ndcg_tolerance` standard errors of the best is as good by
//!    measurement, and of those the one whose lists spread over most of the catalogue wins
//!    (the one-standard-error rule, in favour of coverage rather than of simplicity). The same
//!    rule picks each family's settings and the hybrid's blend. Optionally, `min_coverage`
//!    sets a hard floor: a setting under it only wins when nothing reaches it (then the one
//!    with most coverage).
//! 5. Every family's best is retrained on `train` and measured on the test split.
//!
//! Listeners' likes and dislikes ([`Feedback`]) are folded into `fit` and `train` after the
//! splits, each leaving out the feedback on the pairs it holds out: the held-out items are the
//! same with feedback and without, so the two can be compared. The lists measured leave out
//! what a listener disliked and, where the feedback carries them, the tracks they mostly
//! skipped ([`Feedback::with_skipped`]), as the published lists do.
//!
//! [`evaluate_split`] runs steps 2 to 5 on a split made elsewhere, tuned on a validation split
//! made elsewhere too if given. A split by time (what each listener went on to play after a
//! moment, with the feedback given before it, tuned on the same split at an earlier moment) is
//! where feedback can show its worth: a random split holds out plays from the same weeks the
//! feedback was given in, so the plays already say what the feedback says.

use std::sync::Arc;
use std::time::Instant;

use super::MlError;
use super::feedback::{Feedback, held_out_pairs};
use super::interactions::Interactions;
use super::metrics::{Metrics, MetricsAccumulator};
use super::models::als::AlsParams;
use super::models::content::ItemFeatures;
use super::models::ease::EaseParams;
use super::models::hybrid::{
    EXPOSURE_DEPTH, Hybrid, blend_all, blend_scores, component_lists, damping, exposure,
    exposure_damping, rank_blends,
};
use super::models::item_knn::{ItemKnnParams, Similarity};
use super::models::liked::Likes;
use super::models::spec::{HybridParams, ModelSpec};
use super::models::user_knn::UserKnnParams;
use super::models::{KnnTables, Recommender, SideInfo, recommend_all};
use super::split::{FirstPlays, Holdout, holdout, holdout_newest, sample_listeners};

/// The protocol's settings.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// The cut-off of every metric.
    pub k: usize,
    /// The share of each listener's interactions held out.
    pub holdout: f64,
    /// Listeners with fewer interactions are not evaluated.
    pub min_interactions: usize,
    pub seed: u64,
    /// The catalogue coverage a model's top-k lists must reach on validation to be preferred
    /// (0: no floor).
    pub min_coverage: f64,
    /// How many standard errors of validation NDCG@k a setting may trail the best by and still
    /// win by covering more of the catalogue (0: selection on NDCG alone).
    pub ndcg_tolerance: f64,
    /// The protocol runs on at most this many listeners, a sample stratified by activity
    /// (see [`sample_listeners`]): selection then costs the same on any size of lake, and the
    /// chosen model is trained on every listener afterwards.
    pub max_listeners: usize,
}

/// The default [`EvalOptions::max_listeners`].
pub const EVAL_LISTENERS: usize = 4_000;

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            k: 10,
            holdout: 0.2,
            min_interactions: 5,
            seed: 42,
            min_coverage: 0.0,
            ndcg_tolerance: 1.0,
            max_listeners: EVAL_LISTENERS,
        }
    }
}

/// One model family's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelResult {
    pub model: &'static str,
    pub spec: ModelSpec,
    /// NDCG@k on the validation split, which selection uses.
    pub validation_ndcg: f64,
    /// Catalogue coverage on the validation split.
    pub validation_coverage: f64,
    /// The test split's figures.
    pub test: Metrics,
    /// Each test listener's NDCG@k, by user (for [`super::metrics::paired_difference`]).
    #[serde(skip)]
    pub test_ndcg_by_user: Vec<(u32, f64)>,
    /// Seconds to train on the training split.
    pub train_secs: f64,
    /// Seconds to rank the test listeners' lists.
    pub eval_secs: f64,
}

/// The whole evaluation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Evaluation {
    /// The listeners the protocol ran on (a sample when the data has more).
    pub users: usize,
    /// How many listeners the data has.
    pub all_users: usize,
    pub items: usize,
    pub interactions: usize,
    pub test_users: usize,
    pub models: Vec<ModelResult>,
    /// The model selection prefers on validation (see `preferred`).
    pub chosen: ModelSpec,
    pub k: usize,
    pub seed: u64,
    pub min_coverage: f64,
    pub ndcg_tolerance: f64,
    /// Seconds for everything: tuning, training and evaluating every model.
    pub total_secs: f64,
}

impl Evaluation {
    /// The chosen model's result.
    pub fn chosen_result(&self) -> Option<&ModelResult> {
        self.models.iter().find(|m| m.spec == self.chosen)
    }
}

/// The settings each family tries on the validation split. Small on purpose: every model must
/// be tuned, trained and evaluated in seconds. The content model joins where items have
/// features, the liked-tracks model where listeners liked tracks.
fn candidates(has_features: bool, has_likes: bool) -> Vec<Vec<ModelSpec>> {
    let item_knn = |neighbours, similarity| {
        ModelSpec::ItemKnn(ItemKnnParams {
            neighbours,
            similarity,
        })
    };
    let user_knn = |neighbours, exponent| {
        ModelSpec::UserKnn(UserKnnParams {
            neighbours,
            shrink: 10.0,
            exponent,
        })
    };
    let mut families = vec![
        vec![ModelSpec::Popularity],
        vec![
            item_knn(200, Similarity::Cosine { shrink: 50.0 }),
            item_knn(100, Similarity::Cosine { shrink: 10.0 }),
        ],
        vec![
            item_knn(
                200,
                Similarity::Rp3Beta {
                    alpha: 1.0,
                    beta: 0.3,
                },
            ),
            item_knn(
                400,
                Similarity::Rp3Beta {
                    alpha: 0.6,
                    beta: 0.4,
                },
            ),
        ],
        vec![user_knn(50, 2.0), user_knn(100, 3.0)],
        vec![
            ModelSpec::Als(AlsParams::default()),
            ModelSpec::Als(AlsParams {
                alpha: 8.0,
                ..AlsParams::default()
            }),
        ],
        vec![
            ModelSpec::Ease(EaseParams::default()),
            ModelSpec::Ease(EaseParams {
                regularisation: 2.0,
                ..EaseParams::default()
            }),
        ],
    ];
    if has_features {
        families.push(vec![ModelSpec::Content]);
    }
    if has_likes {
        families.push(vec![
            ModelSpec::Liked(ItemKnnParams {
                neighbours: 200,
                similarity: Similarity::Cosine { shrink: 50.0 },
            }),
            ModelSpec::Liked(ItemKnnParams {
                neighbours: 100,
                similarity: Similarity::Cosine { shrink: 10.0 },
            }),
        ]);
    }
    families
}

/// Runs the protocol on `data` (with item features when the items have them).
pub fn evaluate(
    data: &Interactions,
    features: Option<&ItemFeatures>,
    options: &EvalOptions,
) -> Result<Evaluation, MlError> {
    evaluate_with_feedback(data, &Feedback::default(), features, options)
}

/// Runs the protocol on `data` (listens alone) with the listeners' `feedback` (indexed like
/// `data`) as training signal.
pub fn evaluate_with_feedback(
    data: &Interactions,
    feedback: &Feedback,
    features: Option<&ItemFeatures>,
    options: &EvalOptions,
) -> Result<Evaluation, MlError> {
    evaluate_sample(data, None, feedback, features, options)
}

/// [`evaluate_with_feedback`] split by time: the test split holds out each listener's newest
/// tracks by first play (`first_plays`, aligned with `data`'s rows), and the models are tuned
/// on the newest of the rest, so the model chosen is the one that best foresees what
/// listeners go on to discover, which is what a published model is asked to do.
pub fn evaluate_newest(
    data: &Interactions,
    first_plays: &FirstPlays,
    feedback: &Feedback,
    features: Option<&ItemFeatures>,
    options: &EvalOptions,
) -> Result<Evaluation, MlError> {
    evaluate_sample(data, Some(first_plays), feedback, features, options)
}

/// The protocol on a sample of `data`'s listeners (all of them when there are no more than
/// `options.max_listeners`), split at random or, given first plays, by them.
fn evaluate_sample(
    data: &Interactions,
    first_plays: Option<&FirstPlays>,
    feedback: &Feedback,
    features: Option<&ItemFeatures>,
    options: &EvalOptions,
) -> Result<Evaluation, MlError> {
    let started = Instant::now();
    let all_users = data.n_users();
    let (sample, sampled_feedback, sampled_plays);
    let (data, feedback, first_plays) = if all_users > options.max_listeners {
        let users = sample_listeners(data, options.max_listeners, options.seed);
        sample = data.select_users(&users);
        sampled_feedback = feedback.select_users(&users);
        sampled_plays = first_plays.map(|p| p.select_users(&users));
        (&sample, &sampled_feedback, sampled_plays.as_ref())
    } else {
        (data, feedback, first_plays)
    };
    let (share, min) = (options.holdout, options.min_interactions);
    let (outer, tuning) = match first_plays {
        Some(plays) => {
            let (outer, kept) = holdout_newest(data, plays, share, min);
            (outer, Tuning::NewestOfTrain(kept))
        }
        None => (
            holdout(data, share, min, options.seed),
            Tuning::RandomOfTrain,
        ),
    };
    evaluate_from(
        outer, feedback, tuning, features, options, all_users, started,
    )
}

/// The split the models are tuned on.
enum Tuning<'a> {
    /// A random holdout of the training split (seed + 1), with the same feedback.
    RandomOfTrain,
    /// The newest items of the training split by first play (aligned with its rows), with
    /// the same feedback.
    NewestOfTrain(FirstPlays),
    /// A split made elsewhere, with its own feedback indexed like its own `train`.
    Given(Holdout, &'a Feedback),
}

/// Steps 2 to 5 of the protocol on a split made elsewhere: `outer.train` is what the models
/// learn from and `outer.test` what they are measured on (for instance each listener's plays
/// after a moment, [`super::datasets::LaterPlays`]); `feedback`, indexed like `outer.train`,
/// must be what was said by then. Every listener of `outer.train` takes part (no sample).
/// `validation`, when given, is the split the models are tuned on, with its own feedback
/// indexed like its own `train` (for instance the same split at an earlier moment); otherwise
/// they are tuned on a random holdout of `outer.train`.
pub fn evaluate_split(
    outer: Holdout,
    feedback: &Feedback,
    validation: Option<(Holdout, &Feedback)>,
    features: Option<&ItemFeatures>,
    options: &EvalOptions,
) -> Result<Evaluation, MlError> {
    let all_users = outer.train.n_users();
    let tuning = match validation {
        Some((inner, inner_feedback)) => Tuning::Given(inner, inner_feedback),
        None => Tuning::RandomOfTrain,
    };
    evaluate_from(
        outer,
        feedback,
        tuning,
        features,
        options,
        all_users,
        Instant::now(),
    )
}

/// Steps 2 to 5 (see [`evaluate_split`]) on a split of a sample of `all_users` listeners.
fn evaluate_from(
    mut outer: Holdout,
    feedback: &Feedback,
    tuning: Tuning<'_>,
    features: Option<&ItemFeatures>,
    options: &EvalOptions,
    all_users: usize,
    started: Instant,
) -> Result<Evaluation, MlError> {
    // The pairs of the listens alone, before any feedback is folded in.
    let interactions = outer.train.nnz() + outer.test.iter().map(|(_, t)| t.len()).sum::<usize>();
    // The validation split, its feedback, and the pairs that feedback must leave out. A split
    // of `outer.train` keeps the same feedback, which then leaves out both splits' pairs.
    let (share, min) = (options.holdout, options.min_interactions);
    let of_train = |inner: Holdout| {
        let held = held_out_pairs([&outer.test[..], &inner.test[..]]);
        (inner, feedback, held)
    };
    let (mut inner, inner_feedback, inner_held) = match tuning {
        Tuning::Given(inner, inner_feedback) => {
            let held = held_out_pairs([&inner.test[..]]);
            (inner, inner_feedback, held)
        }
        Tuning::RandomOfTrain => of_train(holdout(&outer.train, share, min, options.seed + 1)),
        Tuning::NewestOfTrain(plays) => {
            of_train(holdout_newest(&outer.train, &plays, share, min).0)
        }
    };
    let (mut hidden_in_fit, mut hidden_in_train) = (Hidden::default(), Hidden::default());
    let (mut likes_in_fit, mut likes_in_train): (Arc<Likes>, Arc<Likes>) = Default::default();
    if !inner_feedback.says_nothing() {
        likes_in_fit = Arc::new(inner_feedback.likes(&inner.train, &inner_held));
        let hidden;
        (inner.train, hidden) = inner_feedback.apply_and_tell(inner.train, &inner_held);
        hidden_in_fit = Hidden(hidden);
    }
    if !feedback.says_nothing() {
        let held = held_out_pairs([&outer.test[..]]);
        likes_in_train = Arc::new(feedback.likes(&outer.train, &held));
        let hidden;
        (outer.train, hidden) = feedback.apply_and_tell(outer.train, &held);
        hidden_in_train = Hidden(hidden);
    }
    // Item-kNN and the liked-tracks model share each neighbour table computed on a split.
    let (fit_tables, train_tables) = (KnnTables::new(&inner.train), KnnTables::new(&outer.train));
    let fit_side = SideInfo {
        features,
        likes: Some(&likes_in_fit),
        knn_tables: Some(&fit_tables),
    };
    let train_side = SideInfo {
        features,
        likes: Some(&likes_in_train),
        knn_tables: Some(&train_tables),
    };
    if outer.test.is_empty() || inner.test.is_empty() {
        return Err(MlError::NotEnoughData(format!(
            "no listener has {} or more interactions to evaluate",
            options.min_interactions
        )));
    }
    // 3. Each family's best settings on validation.
    let mut best: Vec<(ModelSpec, Metrics, Arc<dyn Recommender>)> = Vec::new();
    for family in candidates(features.is_some(), !likes_in_fit.is_empty()) {
        let mut tried: Vec<(ModelSpec, Metrics, Arc<dyn Recommender>)> = family
            .into_iter()
            .map(|spec| {
                let model = spec.fit(&inner.train, fit_side);
                let (metrics, _) =
                    measure_hiding(model.as_ref(), &inner, &hidden_in_fit, options.k);
                tracing::debug!(
                    model = spec.name(),
                    ?spec,
                    metrics.ndcg,
                    metrics.coverage,
                    "validation"
                );
                (spec, metrics, model)
            })
            .collect();
        if let Some(chosen) = preferred(tried.iter().map(|t| &t.1), options) {
            best.push(tried.swap_remove(chosen));
        }
    }
    // EASE scores only the most listened items: as a component it pulls the blend towards
    // them (measured: lower coverage, no better NDCG), so it competes on its own.
    let blendable: Vec<_> = best
        .iter()
        .filter(|(spec, _, _)| !matches!(spec, ModelSpec::Ease(_)))
        .cloned()
        .collect();
    let (hybrid, hybrid_metrics) = tune_hybrid(&blendable, &inner, &hidden_in_fit, options);
    drop(fit_tables);
    let mut tuned: Vec<(ModelSpec, Metrics)> = best.into_iter().map(|(s, m, _)| (s, m)).collect();
    tuned.push((ModelSpec::Hybrid(hybrid), hybrid_metrics));
    // 4. Selection on validation.
    let chosen = preferred(tuned.iter().map(|t| &t.1), options)
        .map(|i| tuned[i].0.clone())
        .unwrap_or(ModelSpec::Popularity);
    // 5. Retrain on train (each family once; the hybrid reuses them), measure on test.
    let mut fitted: Vec<(ModelSpec, Arc<dyn Recommender>, f64)> = Vec::new();
    let mut models = Vec::new();
    for (spec, validation) in tuned {
        let t = Instant::now();
        let model: Arc<dyn Recommender> = match &spec {
            // The components were trained above: reuse them.
            ModelSpec::Hybrid(params) => Arc::new(Hybrid::assemble(params, &outer.train, |part| {
                let (_, model, _) = fitted.iter().find(|(s, _, _)| s == part)?;
                Some(Arc::clone(model))
            })),
            _ => spec.fit(&outer.train, train_side),
        };
        let mut train_secs = t.elapsed().as_secs_f64();
        if let ModelSpec::Hybrid(params) = &spec {
            // Its components' training is its training too.
            train_secs += params
                .components
                .iter()
                .filter_map(|(part, _)| fitted.iter().find(|(s, _, _)| s == part))
                .map(|(_, _, secs)| secs)
                .sum::<f64>();
        }
        let t = Instant::now();
        let (test, test_ndcg_by_user) =
            measure_hiding(model.as_ref(), &outer, &hidden_in_train, options.k);
        fitted.push((spec.clone(), model, train_secs));
        models.push(ModelResult {
            model: spec.name(),
            spec,
            validation_ndcg: validation.ndcg,
            validation_coverage: validation.coverage,
            test,
            test_ndcg_by_user,
            train_secs,
            eval_secs: t.elapsed().as_secs_f64(),
        });
    }
    Ok(Evaluation {
        users: outer.train.n_users(),
        all_users,
        items: outer.train.n_items(),
        interactions,
        test_users: outer.test.len(),
        models,
        chosen,
        k: options.k,
        seed: options.seed,
        min_coverage: options.min_coverage,
        ndcg_tolerance: options.ndcg_tolerance,
        total_secs: started.elapsed().as_secs_f64(),
    })
}

/// The metrics of `model` (trained on `split.train`) over the split's held-out items.
pub fn measure(model: &dyn Recommender, split: &Holdout, k: usize) -> Metrics {
    measure_hiding(model, split, &Hidden::default(), k).0
}

/// [`measure`], the lists leaving out the `hidden` items as they leave out what a listener
/// played; with each test listener's NDCG, in the split's order (by user).
fn measure_hiding(
    model: &dyn Recommender,
    split: &Holdout,
    hidden: &Hidden,
    k: usize,
) -> (Metrics, Vec<(u32, f64)>) {
    let users: Vec<u32> = split.test.iter().map(|(u, _)| *u).collect();
    let lists = recommend_all(model, &split.train, &users, k + hidden.longest());
    let mut acc = MetricsAccumulator::new(split.train.n_items(), k);
    let mut by_user = Vec::with_capacity(split.test.len());
    for (list, (u, relevant)) in lists.iter().zip(&split.test) {
        let ranked: Vec<u32> = list
            .iter()
            .map(|(i, _)| *i)
            .filter(|&i| !hidden.contains(*u, i))
            .take(k)
            .collect();
        by_user.push((*u, acc.add(&ranked, relevant).ndcg));
    }
    (acc.finish(), by_user)
}

/// Per listener (in user order), the items their lists leave out although a model's training
/// rows may not hold them: the tracks they disliked or mostly skipped
/// ([`Feedback::apply_and_tell`]), which the published lists leave out too.
#[derive(Debug, Default)]
struct Hidden(Vec<Vec<u32>>);

impl Hidden {
    fn contains(&self, user: u32, item: u32) -> bool {
        self.0
            .get(user as usize)
            .is_some_and(|items| items.binary_search(&item).is_ok())
    }

    /// The most items hidden from one listener.
    fn longest(&self) -> usize {
        self.0.iter().map(Vec::len).max().unwrap_or(0)
    }
}

/// The index of the setting selection prefers among `candidates` (their validation metrics):
/// of those reaching the coverage floor (or, when none does, the widest alone), every one
/// within `ndcg_tolerance` standard errors of the best NDCG is as good by measurement, and the
/// one covering most of the catalogue wins; ties go to NDCG, then to the earlier candidate.
pub(super) fn preferred<'a>(
    candidates: impl IntoIterator<Item = &'a Metrics>,
    options: &EvalOptions,
) -> Option<usize> {
    let all: Vec<&Metrics> = candidates.into_iter().collect();
    let floor = options.min_coverage;
    let top = (0..all.len()).reduce(|a, b| {
        if better_than(all[b], all[a], floor) {
            b
        } else {
            a
        }
    })?;
    if all[top].coverage < floor {
        // Nothing reaches the floor: `top` is the widest.
        return Some(top);
    }
    let bar = all[top].ndcg - options.ndcg_tolerance * all[top].ndcg_std_error - 1e-9;
    (0..all.len())
        .filter(|&i| all[i].coverage >= floor && all[i].ndcg >= bar)
        .reduce(|a, b| {
            let (x, y) = (all[a], all[b]);
            let wider = y.coverage > x.coverage + 1e-9;
            let as_wide = (y.coverage - x.coverage).abs() <= 1e-9;
            if wider || (as_wide && y.ndcg > x.ndcg + 1e-9) {
                b
            } else {
                a
            }
        })
}

/// `a` beats `b`: reaching the coverage floor first, then NDCG (or, below the floor for
/// both, coverage).
fn better_than(a: &Metrics, b: &Metrics, min_coverage: f64) -> bool {
    match (a.coverage >= min_coverage, b.coverage >= min_coverage) {
        (true, false) => true,
        (false, true) => false,
        (true, true) => a.ndcg > b.ndcg + 1e-9,
        (false, false) => a.coverage > b.coverage + 1e-9,
    }
}

/// Coordinate ascent over the components' weights and the popularity damping on the
/// validation split, then a grid of exposure damping, with and without a protected head, over the result. Each component's scaled
/// top lists are computed once; a setting is then cheap to score.
fn tune_hybrid(
    best: &[(ModelSpec, Metrics, Arc<dyn Recommender>)],
    split: &Holdout,
    hidden: &Hidden,
    options: &EvalOptions,
) -> (HybridParams, Metrics) {
    let n_items = split.train.n_items();
    let counts = split.train.item_counts();
    let models: Vec<&dyn Recommender> = best.iter().map(|(_, _, m)| m.as_ref()).collect();
    let users: Vec<u32> = split.test.iter().map(|(u, _)| *u).collect();
    // lists[user][component] = scaled top list.
    let mut lists = component_lists(&models, &split.train, &users);
    for (per_component, u) in lists.iter_mut().zip(&users) {
        for list in per_component.iter_mut() {
            list.retain(|(i, _)| !hidden.contains(*u, *i));
        }
    }
    let blend = |weights: &[f32], damping: &[f32], k: usize| blend_all(&lists, weights, damping, k);
    let figures = |ranked: Vec<Vec<u32>>| -> Metrics {
        let mut acc = MetricsAccumulator::new(n_items, options.k);
        for (list, (_, relevant)) in ranked.iter().zip(&split.test) {
            acc.add(list, relevant);
        }
        acc.finish()
    };
    // The validation figures of a blend damped by popularity to `exponent`.
    let score = |weights: &[f32], exponent: f32| -> Metrics {
        figures(blend(weights, &damping(&counts, exponent), options.k))
    };
    let better = |a: &Metrics, b: &Metrics| better_than(a, b, options.min_coverage);
    // Start from the best single model.
    let start = (0..best.len())
        .reduce(|a, b| if better(&best[b].1, &best[a].1) { b } else { a })
        .unwrap_or(0);
    let mut weights = vec![0f32; best.len()];
    if let Some(w) = weights.get_mut(start) {
        *w = 1.0;
    }
    let mut exponent = 0f32;
    let mut current = score(&weights, exponent);
    // Every setting tried, for the final choice by `preferred`.
    let mut tried = vec![(weights.clone(), exponent, 0.0, 0, current)];
    for _ in 0..2 {
        for c in 0..weights.len() {
            for value in [0.0, 0.1, 0.25, 0.5, 1.0, 2.0] {
                let mut trial = weights.clone();
                trial[c] = value;
                if trial.iter().all(|&w| w == 0.0) {
                    continue;
                }
                let metrics = score(&trial, exponent);
                tried.push((trial.clone(), exponent, 0.0, 0, metrics));
                if better(&metrics, &current) {
                    current = metrics;
                    weights = trial;
                }
            }
        }
        for value in [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5] {
            let metrics = score(&weights, value);
            tried.push((weights.clone(), value, 0.0, 0, metrics));
            if better(&metrics, &current) {
                current = metrics;
                exponent = value;
            }
        }
    }
    // Exposure damping over the tuned blend: it trades accuracy for reach, so only the final
    // choice by `preferred` decides whether it is worth it.
    let mut popularities = vec![
        0.0,
        exponent / 2.0,
        exponent,
        exponent * 2.0,
        exponent * 3.0,
    ];
    popularities.dedup();
    // The weights are set: each listener's blend is summed once, then only ranked.
    let blends = blend_scores(&lists, &weights);
    // The head keeps the popularity damping tuned for accuracy.
    let head_popularity_exponent = exponent;
    let accurate = damping(&counts, head_popularity_exponent);
    for popularity in popularities {
        let popular = damping(&counts, popularity);
        let rank = |head: usize, damping: &[f32], k: usize| {
            rank_blends(&blends, (head, &accurate), damping, k)
        };
        // Exposure is counted once per popularity setting; each exponent only rescales it.
        let exposed = exposure(rank(0, &popular, EXPOSURE_DEPTH), n_items);
        for value in [0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0] {
            let both: Vec<f32> = popular
                .iter()
                .zip(exposure_damping(&exposed, value))
                .map(|(p, e)| p * e)
                .collect();
            let metrics = figures(rank(0, &both, options.k));
            tried.push((weights.clone(), popularity, value, 0, metrics));
            // The same damping below a protected head (ranked as the tuned blend ranks), where
            // stronger damping pays.
            for head in [5, 7, 8, 9] {
                let metrics = figures(rank(head, &both, options.k));
                tracing::debug!(
                    popularity,
                    value,
                    head,
                    metrics.ndcg,
                    metrics.coverage,
                    "head"
                );
                tried.push((weights.clone(), popularity, value, head, metrics));
            }
        }
    }
    let (mut exposure_exponent, mut protected_head) = (0.0, 0);
    if let Some(i) = preferred(tried.iter().map(|t| &t.4), options) {
        tracing::debug!(chosen = ?tried[i], "hybrid");
        (
            weights,
            exponent,
            exposure_exponent,
            protected_head,
            current,
        ) = tried.swap_remove(i);
    }
    let params = HybridParams {
        components: best
            .iter()
            .zip(&weights)
            .filter(|(_, w)| **w > 0.0)
            .map(|((spec, _, _), w)| (spec.clone(), *w))
            .collect(),
        popularity_exponent: exponent,
        exposure_exponent,
        protected_head,
        head_popularity_exponent: if protected_head > 0 {
            head_popularity_exponent
        } else {
            0.0
        },
    };
    (params, current)
}
