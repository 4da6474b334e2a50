//! The hybrid: each component's top `depth` unheard items, min-max scaled to [0, 1] per
//! listener, summed with the component's weight, then damped twice to spread lists over more
//! of the catalogue:
//! - by popularity: divided by the item's number of listeners to the power
//!   `popularity_exponent`;
//! - by exposure: divided by (1 + the item's exposure in the listeners' top
//!   [`EXPOSURE_DEPTH`] before this damping, per 1,000 listeners, discounted by rank) to the
//!   power `exposure_exponent`. This targets the items the blend itself pushes on everyone (hubs),
//!   which popularity alone misses.
//!
//! Weights and exponents are tuned on a validation split (see `evaluate`).

use std::sync::Arc;

use super::spec::{HybridParams, ModelSpec};
use super::{History, Recommender, recommend_all, top_k};
use crate::ml::interactions::Interactions;

/// How deep into each component's ranking the blend looks.
pub const DEPTH: usize = 200;
/// The length of the lists whose appearances count as an item's exposure (deeper than the
/// lists shown, so that the items just below the cut, which the damping brings up, are not
/// free of it).
pub const EXPOSURE_DEPTH: usize = 50;

/// A weighted blend of trained models.
#[derive(Clone)]
pub struct Hybrid {
    pub components: Vec<(String, Arc<dyn Recommender>, f32)>,
    /// Each item's damping factor (popularity and exposure).
    pub damping: Vec<f32>,
}

impl Hybrid {
    /// The hybrid `params` describes over `train`, its components' models given by
    /// `component` (trained now, or already trained); components with no weight, or that
    /// `component` cannot give, are left out.
    pub fn assemble(
        params: &HybridParams,
        train: &Interactions,
        mut component: impl FnMut(&ModelSpec) -> Option<Arc<dyn Recommender>>,
    ) -> Self {
        let mut hybrid = Self {
            damping: damping(&train.item_counts(), params.popularity_exponent),
            components: params
                .components
                .iter()
                .filter(|(_, w)| *w > 0.0)
                .filter_map(|(spec, w)| Some((spec.name().to_owned(), component(spec)?, *w)))
                .collect(),
        };
        if params.exposure_exponent > 0.0 {
            let users: Vec<u32> = (0..train.n_users() as u32).collect();
            let lists = recommend_all(&hybrid, train, &users, EXPOSURE_DEPTH);
            // Items scored 0 only fill short lists up: they are not pushed on anyone.
            let scored = lists
                .iter()
                .map(|l| l.iter().filter(|(_, s)| *s > 0.0).map(|(i, _)| *i));
            let exposed =
                exposure_damping(&exposure(scored, train.n_items()), params.exposure_exponent);
            hybrid
                .damping
                .iter_mut()
                .zip(exposed)
                .for_each(|(d, e)| *d *= e);
        }
        hybrid
    }
}

/// `1 / max(1, count)^exponent` for each item's count.
pub fn damping(counts: &[u32], exponent: f32) -> Vec<f32> {
    counts
        .iter()
        .map(|&c| (c.max(1) as f32).powf(-exponent))
        .collect()
}

/// Exposure is counted per this many lists, so that an exponent tuned over the validation
/// listeners means the same over every listener.
const EXPOSURE_PER: f32 = 1_000.0;

/// Each of `n_items` items' exposure in `lists` (each list best first; an appearance at rank r
/// counts 1 / log2(r + 1), as NDCG discounts it), per [`EXPOSURE_PER`] lists.
pub fn exposure<L: IntoIterator<Item = u32>>(
    lists: impl IntoIterator<Item = L>,
    n_items: usize,
) -> Vec<f32> {
    let mut exposure = vec![0f32; n_items];
    let mut n_lists = 0usize;
    for list in lists {
        n_lists += 1;
        for (rank, item) in list.into_iter().enumerate() {
            if let Some(e) = exposure.get_mut(item as usize) {
                *e += 1.0 / (rank as f32 + 2.0).log2();
            }
        }
    }
    let per_list = EXPOSURE_PER / n_lists.max(1) as f32;
    exposure.iter_mut().for_each(|e| *e *= per_list);
    exposure
}

/// Each item's damping by its [`exposure`] `e`: `1 / (1 + e)^exponent`.
pub fn exposure_damping(exposure: &[f32], exponent: f32) -> Vec<f32> {
    exposure
        .iter()
        .map(|&e| (1.0 + e).powf(-exponent))
        .collect()
}

impl std::fmt::Debug for Hybrid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let weights: Vec<_> = self.components.iter().map(|(n, _, w)| (n, w)).collect();
        f.debug_struct("Hybrid").field("weights", &weights).finish()
    }
}

/// One component's top `depth` unheard items for a listener, scaled to [0, 1] (the best is 1,
/// the item just below the cut would be 0).
pub fn scaled_top(
    model: &dyn Recommender,
    user: u32,
    history: History<'_>,
    scratch: &mut [f32],
    depth: usize,
) -> Vec<(u32, f32)> {
    scratch.fill(0.0);
    model.score(user, history, scratch);
    let top = top_k(scratch, depth + 1, |i| history.contains(i));
    let (Some(&(_, max)), Some(&(_, min))) = (top.first(), top.last()) else {
        return Vec::new();
    };
    let span = (max - min).max(f32::EPSILON);
    top.into_iter()
        .take(depth)
        .map(|(i, s)| (i, (s - min) / span))
        .collect()
}

impl Recommender for Hybrid {
    fn score(&self, user: u32, history: History<'_>, scores: &mut [f32]) {
        let mut scratch = vec![0f32; scores.len()];
        for (_, model, weight) in &self.components {
            if *weight == 0.0 {
                continue;
            }
            for (i, s) in scaled_top(model.as_ref(), user, history, &mut scratch, DEPTH) {
                scores[i as usize] += weight * s;
            }
        }
        scores
            .iter_mut()
            .zip(&self.damping)
            .for_each(|(s, d)| *s *= d);
    }
}
