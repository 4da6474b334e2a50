//! The hybrid: each component's top `depth` unheard items, min-max scaled to [0, 1] per
//! listener, summed with the component's weight, then divided by the item's popularity (number
//! of listeners) to the power `popularity_exponent`, which spreads lists over more of the
//! catalogue. Weights and exponent are tuned on a validation split (see `evaluate`).

use std::sync::Arc;

use super::spec::{HybridParams, ModelSpec};
use super::{History, Recommender, top_k};
use crate::ml::interactions::Interactions;

/// How deep into each component's ranking the blend looks.
pub const DEPTH: usize = 200;

/// A weighted blend of trained models.
#[derive(Clone)]
pub struct Hybrid {
    pub components: Vec<(String, Arc<dyn Recommender>, f32)>,
    /// Each item's damping factor: 1 / listeners^exponent.
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
        Self {
            damping: damping(&train.item_counts(), params.popularity_exponent),
            components: params
                .components
                .iter()
                .filter(|(_, w)| *w > 0.0)
                .filter_map(|(spec, w)| Some((spec.name().to_owned(), component(spec)?, *w)))
                .collect(),
        }
    }
}

/// `1 / max(1, count)^exponent` for each item's listener count.
pub fn damping(counts: &[u32], exponent: f32) -> Vec<f32> {
    counts
        .iter()
        .map(|&c| (c.max(1) as f32).powf(-exponent))
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
