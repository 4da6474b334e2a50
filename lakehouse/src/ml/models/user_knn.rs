//! User-based collaborative filtering: a listener's `k` most similar listeners (cosine over
//! log-weighted histories) vote for what they played, each vote weighted by the similarity to
//! the power `exponent` (above 1, the closest neighbours count for more).

use super::{History, Recommender, best_of, log_weights};
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

thread_local! {
    /// Each thread's dense accumulator of one listener's overlaps, and the listeners touched.
    static OVERLAP: std::cell::RefCell<(Vec<f32>, Vec<u32>)> = Default::default();
}

impl Recommender for UserKnn {
    fn score(&self, user: u32, history: History<'_>, scores: &mut [f32]) {
        let sims = OVERLAP.with_borrow_mut(|(overlap, touched)| {
            overlap.resize(self.x.n_users(), 0.0);
            let mut norm = 0f32;
            for (i, w) in history.iter() {
                let w = w.ln_1p();
                norm += w * w;
                for &(v, wv) in &self.by_item[i as usize] {
                    if v != user {
                        if overlap[v as usize] == 0.0 {
                            touched.push(v);
                        }
                        overlap[v as usize] += w * wv;
                    }
                }
            }
            let norm = norm.sqrt();
            let sims: Vec<(u32, f32)> = touched
                .drain(..)
                .map(|v| {
                    let dot = std::mem::take(&mut overlap[v as usize]);
                    (
                        v,
                        dot / (norm * self.norms[v as usize] + self.params.shrink),
                    )
                })
                .collect();
            sims
        });
        for (v, s) in best_of(sims, self.params.neighbours) {
            let s = s.powf(self.params.exponent);
            let (items, weights) = self.x.row(v);
            for (&i, &w) in items.iter().zip(weights) {
                scores[i as usize] += s * w;
            }
        }
    }
}
