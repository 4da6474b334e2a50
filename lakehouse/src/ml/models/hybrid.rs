//! The hybrid: each component's top `depth` unheard items, min-max scaled to [0, 1] per
//! listener, summed with the component's weight, then damped to spread lists over more of the
//! catalogue:
//! - by popularity: divided by the item's number of listeners to the power
//!   `popularity_exponent`;
//! - by exposure: divided by (1 + the item's exposure in the listeners' top
//!   [`EXPOSURE_DEPTH`] before this damping, per 1,000 listeners, discounted by rank) to the
//!   power `exposure_exponent`. This targets the items the blend itself pushes on everyone (hubs),
//!   which popularity alone misses.
//!
//! With a `protected_head` of n, the first n places are ranked without the exposure damping
//! (and with their own popularity damping, `head_popularity_exponent`) and the rest with it:
//! the head, where a hit counts most, stays as accurate as the blend, and the places below it
//! go to the items the blend would otherwise push on nobody.
//!
//! Weights, exponents and the head are tuned on a validation split (see `evaluate`).

use std::sync::Arc;

use super::spec::{HybridParams, ModelSpec};
use super::{History, Recommender, best_of, parallel_map, top_k};
use crate::ml::interactions::Interactions;

/// How deep into each component's ranking the blend looks.
pub const DEPTH: usize = 200;
/// The length of the lists whose appearances count as an item's exposure (deeper than the
/// lists shown, so that the items just below the cut, which the damping brings up, are not
/// free of it).
pub const EXPOSURE_DEPTH: usize = 50;
/// Exposure is measured over at most this many listeners (evenly spaced beyond).
pub const EXPOSURE_SAMPLE: usize = 5_000;

/// A weighted blend of trained models.
#[derive(Clone)]
pub struct Hybrid {
    pub components: Vec<(String, Arc<dyn Recommender>, f32)>,
    /// Each item's damping factor (popularity and exposure).
    pub damping: Vec<f32>,
    /// The protected head: how many places, and each item's damping there (popularity only).
    pub head: Option<(usize, Vec<f32>)>,
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
        let counts = train.item_counts();
        let mut hybrid = Self {
            damping: damping(&counts, params.popularity_exponent),
            components: params
                .components
                .iter()
                .filter(|(_, w)| *w > 0.0)
                .filter_map(|(spec, w)| Some((spec.name().to_owned(), component(spec)?, *w)))
                .collect(),
            head: None,
        };
        if params.exposure_exponent <= 0.0 {
            return hybrid;
        }
        let models: Vec<&dyn Recommender> = hybrid
            .components
            .iter()
            .map(|(_, m, _)| m.as_ref())
            .collect();
        let weights: Vec<f32> = hybrid.components.iter().map(|(_, _, w)| *w).collect();
        let lists = component_lists(&models, train, &sample(train.n_users(), EXPOSURE_SAMPLE));
        let exposed = exposure(
            blend_all(&lists, &weights, &hybrid.damping, EXPOSURE_DEPTH),
            train.n_items(),
        );
        hybrid
            .damping
            .iter_mut()
            .zip(exposure_damping(&exposed, params.exposure_exponent))
            .for_each(|(d, e)| *d *= e);
        if params.protected_head > 0 {
            let popular = damping(&counts, params.head_popularity_exponent);
            hybrid.head = Some((params.protected_head, popular));
        }
        hybrid
    }
}

/// `n` listeners, or `at_most` of them evenly spaced.
fn sample(n: usize, at_most: usize) -> Vec<u32> {
    let step = n.div_ceil(at_most.max(1)).max(1);
    (0..n as u32).step_by(step).collect()
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

/// Each of `users`' [`scaled_top`] lists from each of `models`: `lists[user][model]`.
pub fn component_lists(
    models: &[&dyn Recommender],
    train: &Interactions,
    users: &[u32],
) -> Vec<Vec<Vec<(u32, f32)>>> {
    parallel_map(users, |&u, scratch: &mut Vec<f32>| {
        scratch.resize(train.n_items(), 0.0);
        let history = History::of(train, u);
        models
            .iter()
            .map(|m| scaled_top(*m, u, history, scratch, DEPTH))
            .collect()
    })
}

/// The `k` best items of each listener's blend of their [`component_lists`] with `weights`,
/// each item's score multiplied by its `damping`.
pub fn blend_all(
    lists: &[Vec<Vec<(u32, f32)>>],
    weights: &[f32],
    damping: &[f32],
    k: usize,
) -> Vec<Vec<u32>> {
    rank_blends(&blend_scores(lists, weights), (0, damping), damping, k)
}

/// Each listener's blend of their [`component_lists`] with `weights`: every item with a score
/// in one of the lists, and the weighted sum of its scores. Items scaled to 0 add nothing:
/// they would rank below every item with a score.
pub fn blend_scores(lists: &[Vec<Vec<(u32, f32)>>], weights: &[f32]) -> Vec<Vec<(u32, f32)>> {
    parallel_map(lists, |per_user, sums: &mut Vec<f32>| {
        let mut touched = Vec::new();
        for (list, &w) in per_user.iter().zip(weights) {
            if w > 0.0 {
                for &(i, s) in list.iter().filter(|(_, s)| *s > 0.0) {
                    if sums.len() <= i as usize {
                        sums.resize(i as usize + 1, 0.0);
                    }
                    let slot = &mut sums[i as usize];
                    if *slot == 0.0 {
                        touched.push(i);
                    }
                    *slot += w * s;
                }
            }
        }
        touched
            .into_iter()
            .map(|i| (i, std::mem::take(&mut sums[i as usize])))
            .collect()
    })
}

/// The `k` best items of each listener's [`blend_scores`]: the first `head.0` with each
/// item's score multiplied by its damping in `head.1`, the rest by its `damping`.
pub fn rank_blends(
    blends: &[Vec<(u32, f32)>],
    head: (usize, &[f32]),
    damping: &[f32],
    k: usize,
) -> Vec<Vec<u32>> {
    parallel_map(blends, |blend, _: &mut ()| {
        let mut ranked = best(blend, head.1, head.0.min(k), &[]);
        let tail = best(blend, damping, k - ranked.len(), &ranked);
        ranked.extend(tail);
        ranked
    })
}

/// The `k` best of `candidates` but `skip`, by score times `damping`.
fn best(candidates: &[(u32, f32)], damping: &[f32], k: usize, skip: &[u32]) -> Vec<u32> {
    if k == 0 {
        return Vec::new();
    }
    let damped = candidates
        .iter()
        .filter(|(i, _)| !skip.contains(i))
        .map(|&(i, s)| (i, s * damping[i as usize]))
        .collect();
    best_of(damped, k).into_iter().map(|(i, _)| i).collect()
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
        // The head's items, and their scores there, before the tail's damping.
        let head = self.head.as_ref().map(|(n, popular)| {
            scratch
                .iter_mut()
                .zip(scores.iter().zip(popular))
                .for_each(|(h, (s, p))| *h = s * p);
            top_k(&scratch, *n, |i| history.contains(i))
        });
        scores
            .iter_mut()
            .zip(&self.damping)
            .for_each(|(s, d)| *s *= d);
        if let Some(head) = head {
            // Above every other item, in the head's own order.
            let floor = scores.iter().copied().fold(0f32, f32::max);
            for (i, s) in head.into_iter().filter(|(_, s)| *s > 0.0) {
                scores[i as usize] = floor + s;
            }
        }
    }
}
