//! User-based collaborative filtering: a listener's `k` most similar listeners (cosine over
//! log-weighted histories) vote for what they played, each vote weighted by the similarity to
//! the power `exponent` (above 1, the closest neighbours count for more).

use super::{History, Recommender, log_weights};
use crate::ml::interactions::Interactions;

/// User-kNN settings.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UserKnnParams {
    pub neighbours: usize,
    /// Added to the cosine's denominator: similarities built on little overlap count less.
    pub shrink: f32,
    /// Votes are weighted by similarity to this power.
    #[serde(default = "one")]
    pub exponent: f32,
}

fn one() -> f32 {
    1.0
}

impl Default for UserKnnParams {
    fn default() -> Self {
        Self {
            neighbours: 50,
            shrink: 10.0,
            exponent: 1.0,
        }
    }
}

/// A trained user-kNN model: the log-weighted training matrix and its transpose.
#[derive(Debug, Clone)]
pub struct UserKnn {
    params: UserKnnParams,
    x: Interactions,
    by_item: Vec<Vec<(u32, f32)>>,
    norms: Vec<f32>,
}

impl UserKnn {
    pub fn fit(train: &Interactions, params: &UserKnnParams) -> Self {
        let x = log_weights(train);
        let by_item = x.by_item();
        let norms = (0..x.n_users() as u32)
            .map(|u| x.row(u).1.iter().map(|w| w * w).sum::<f32>().sqrt())
            .collect();
        Self {
            params: *params,
            x,
            by_item,
            norms,
        }
    }
}

impl Recommender for UserKnn {
    fn score(&self, user: u32, history: History<'_>, scores: &mut [f32]) {
        let mut overlap: std::collections::HashMap<u32, f32> = Default::default();
        let mut norm = 0f32;
        for (i, w) in history.iter() {
            let w = w.ln_1p();
            norm += w * w;
            for &(v, wv) in &self.by_item[i as usize] {
                if v != user {
                    *overlap.entry(v).or_default() += w * wv;
                }
            }
        }
        let norm = norm.sqrt();
        let mut sims: Vec<(u32, f32)> = overlap
            .into_iter()
            .map(|(v, dot)| {
                (
                    v,
                    dot / (norm * self.norms[v as usize] + self.params.shrink),
                )
            })
            .collect();
        let order = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if sims.len() > self.params.neighbours {
            sims.select_nth_unstable_by(self.params.neighbours, order);
            sims.truncate(self.params.neighbours);
        }
        for (v, s) in sims {
            let s = s.powf(self.params.exponent);
            let (items, weights) = self.x.row(v);
            for (&i, &w) in items.iter().zip(weights) {
                scores[i as usize] += s * w;
            }
        }
    }
}
