//! The offline evaluation protocol, the figure that decides which model serves.
//!
//! 1. Per listener with at least `min_interactions`, hold out `holdout` of their interactions
//!    (seeded): the test split. The rest is `train`.
//! 2. Split `train` the same way again (seed + 1) into `fit` and `validation`.
//! 3. Each model family tries its settings on `fit`, is scored on `validation` (NDCG@k), keeps
//!    its best; the hybrid's weights and popularity damping are tuned there too, over the
//!    families' best.
//! 4. The chosen model is the one with the best validation NDCG@k (never the test figure).
//!    Optionally, lists must also spread over the catalogue: with `min_coverage` above 0, a
//!    setting whose validation coverage is under it only wins when nothing reaches it (then
//!    the one with most coverage). On HetRec Last.fm this trades NDCG for coverage: see the
//!    README's figures.
//! 5. Every family's best is retrained on `train` and measured on the test split.

use std::sync::Arc;
use std::time::Instant;

use super::MlError;
use super::interactions::Interactions;
use super::metrics::{Metrics, MetricsAccumulator};
use super::models::als::AlsParams;
use super::models::content::ItemFeatures;
use super::models::hybrid::{DEPTH, Hybrid, damping, scaled_top};
use super::models::item_knn::{ItemKnnParams, Similarity};
use super::models::spec::{HybridParams, ModelSpec};
use super::models::user_knn::UserKnnParams;
use super::models::{History, Recommender, recommend_all};
use super::split::{Holdout, holdout};

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
    /// (0: selection on NDCG alone).
    pub min_coverage: f64,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            k: 10,
            holdout: 0.2,
            min_interactions: 5,
            seed: 42,
            min_coverage: 0.0,
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
    /// Seconds to train on the training split.
    pub train_secs: f64,
    /// Seconds to rank the test listeners' lists.
    pub eval_secs: f64,
}

/// The whole evaluation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Evaluation {
    pub users: usize,
    pub items: usize,
    pub interactions: usize,
    pub test_users: usize,
    pub models: Vec<ModelResult>,
    /// The family with the best validation NDCG@k.
    pub chosen: ModelSpec,
    pub k: usize,
    pub seed: u64,
    pub min_coverage: f64,
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
/// be tuned, trained and evaluated in seconds.
fn candidates(has_features: bool) -> Vec<Vec<ModelSpec>> {
    let item_knn = |neighbours, similarity| {
        ModelSpec::ItemKnn(ItemKnnParams {
            neighbours,
            similarity,
        })
    };
    let mut families = vec![
        vec![ModelSpec::Popularity],
        vec![
            item_knn(200, Similarity::Cosine { shrink: 50.0 }),
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
        vec![
            ModelSpec::UserKnn(UserKnnParams {
                neighbours: 50,
                shrink: 10.0,
            }),
            ModelSpec::UserKnn(UserKnnParams {
                neighbours: 100,
                shrink: 10.0,
            }),
        ],
        vec![
            ModelSpec::Als(AlsParams::default()),
            ModelSpec::Als(AlsParams {
                alpha: 8.0,
                ..AlsParams::default()
            }),
        ],
    ];
    if has_features {
        families.push(vec![ModelSpec::Content]);
    }
    families
}

/// Runs the protocol on `data` (with item features when the items have them).
pub fn evaluate(
    data: &Interactions,
    features: Option<&ItemFeatures>,
    options: &EvalOptions,
) -> Result<Evaluation, MlError> {
    let started = Instant::now();
    let outer = holdout(
        data,
        options.holdout,
        options.min_interactions,
        options.seed,
    );
    let inner = holdout(
        &outer.train,
        options.holdout,
        options.min_interactions,
        options.seed + 1,
    );
    if outer.test.is_empty() || inner.test.is_empty() {
        return Err(MlError::NotEnoughData(format!(
            "no listener has {} or more interactions to evaluate",
            options.min_interactions
        )));
    }
    // 3. Each family's best settings on validation.
    let better = |a: &Metrics, b: &Metrics| better_than(a, b, options.min_coverage);
    let mut best: Vec<(ModelSpec, Metrics, Arc<dyn Recommender>)> = Vec::new();
    for family in candidates(features.is_some()) {
        let mut family_best: Option<(ModelSpec, Metrics, Arc<dyn Recommender>)> = None;
        for spec in family {
            let model = spec.fit(&inner.train, features);
            let metrics = measure(model.as_ref(), &inner, options.k);
            tracing::debug!(
                model = spec.name(),
                ?spec,
                metrics.ndcg,
                metrics.coverage,
                "validation"
            );
            if family_best
                .as_ref()
                .is_none_or(|(_, b, _)| better(&metrics, b))
            {
                family_best = Some((spec, metrics, model));
            }
        }
        best.extend(family_best);
    }
    let (hybrid, hybrid_metrics) = tune_hybrid(&best, &inner, options);
    let mut tuned: Vec<(ModelSpec, Metrics)> = best.into_iter().map(|(s, m, _)| (s, m)).collect();
    tuned.push((ModelSpec::Hybrid(hybrid), hybrid_metrics));
    // 4. Selection on validation.
    let chosen = tuned
        .iter()
        .fold(None::<&(ModelSpec, Metrics)>, |acc, t| match acc {
            Some(a) if !better(&t.1, &a.1) => Some(a),
            _ => Some(t),
        })
        .map(|(s, _)| s.clone())
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
            _ => spec.fit(&outer.train, features),
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
        let test = measure(model.as_ref(), &outer, options.k);
        fitted.push((spec.clone(), model, train_secs));
        models.push(ModelResult {
            model: spec.name(),
            spec,
            validation_ndcg: validation.ndcg,
            validation_coverage: validation.coverage,
            test,
            train_secs,
            eval_secs: t.elapsed().as_secs_f64(),
        });
    }
    Ok(Evaluation {
        users: data.n_users(),
        items: data.n_items(),
        interactions: data.nnz(),
        test_users: outer.test.len(),
        models,
        chosen,
        k: options.k,
        seed: options.seed,
        min_coverage: options.min_coverage,
        total_secs: started.elapsed().as_secs_f64(),
    })
}

/// The metrics of `model` (trained on `split.train`) over the split's held-out items.
pub fn measure(model: &dyn Recommender, split: &Holdout, k: usize) -> Metrics {
    let users: Vec<u32> = split.test.iter().map(|(u, _)| *u).collect();
    let lists = recommend_all(model, &split.train, &users, k);
    let mut acc = MetricsAccumulator::new(split.train.n_items(), k);
    for (list, (_, relevant)) in lists.iter().zip(&split.test) {
        let ranked: Vec<u32> = list.iter().map(|(i, _)| *i).collect();
        acc.add(&ranked, relevant);
    }
    acc.finish()
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
/// validation split. Each component's scaled top lists are computed once; a setting is then
/// cheap to score.
fn tune_hybrid(
    best: &[(ModelSpec, Metrics, Arc<dyn Recommender>)],
    split: &Holdout,
    options: &EvalOptions,
) -> (HybridParams, Metrics) {
    let n_items = split.train.n_items();
    let counts = split.train.item_counts();
    // lists[user][component] = scaled top list.
    let lists: Vec<Vec<Vec<(u32, f32)>>> = split
        .test
        .iter()
        .map(|(u, _)| {
            let mut scratch = vec![0f32; n_items];
            let history = History::of(&split.train, *u);
            best.iter()
                .map(|(_, _, m)| scaled_top(m.as_ref(), *u, history, &mut scratch, DEPTH))
                .collect()
        })
        .collect();
    let score = |weights: &[f32], exponent: f32| -> Metrics {
        let damping = damping(&counts, exponent);
        let mut acc = MetricsAccumulator::new(n_items, options.k);
        let mut blend: std::collections::HashMap<u32, f32> = Default::default();
        for (per_user, (_, relevant)) in lists.iter().zip(&split.test) {
            blend.clear();
            for (list, &w) in per_user.iter().zip(weights) {
                if w > 0.0 {
                    for &(i, s) in list {
                        *blend.entry(i).or_default() += w * s;
                    }
                }
            }
            let mut ranked: Vec<(u32, f32)> = blend
                .iter()
                .map(|(&i, &s)| (i, s * damping[i as usize]))
                .collect();
            ranked.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let ranked: Vec<u32> = ranked.iter().take(options.k).map(|(i, _)| *i).collect();
            acc.add(&ranked, relevant);
        }
        acc.finish()
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
    for _ in 0..2 {
        for c in 0..weights.len() {
            for value in [0.0, 0.1, 0.25, 0.5, 1.0, 2.0] {
                let mut trial = weights.clone();
                trial[c] = value;
                if trial.iter().all(|&w| w == 0.0) {
                    continue;
                }
                let metrics = score(&trial, exponent);
                if better(&metrics, &current) {
                    current = metrics;
                    weights = trial;
                }
            }
        }
        for value in [0.0, 0.05, 0.1, 0.2, 0.3, 0.5] {
            let metrics = score(&weights, value);
            if better(&metrics, &current) {
                current = metrics;
                exponent = value;
            }
        }
    }
    let params = HybridParams {
        components: best
            .iter()
            .zip(&weights)
            .filter(|(_, w)| **w > 0.0)
            .map(|((spec, _, _), w)| (spec.clone(), *w))
            .collect(),
        popularity_exponent: exponent,
    };
    (params, current)
}
