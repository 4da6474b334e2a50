//! Item-based collaborative filtering: each item keeps its `k` most similar items (by the
//! listeners they share), and a listener's score for an item sums the similarities from the
//! items they played, weighted by how much they played them.

use super::{History, Recommender, log_weights, parallel_map};
use crate::ml::interactions::Interactions;

/// How two items' similarity is measured.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Similarity {
    /// Cosine of the items' (log-weighted) listener vectors, `shrink` added to the
    /// denominator so that pairs seen by few listeners count less.
    Cosine { shrink: f32 },
    /// RP3beta: the probability of a two-step random walk item → listener → item (transition
    /// probabilities raised to `alpha`), divided by the target's popularity to the `beta`.
    Rp3Beta { alpha: f32, beta: f32 },
}

/// Item-kNN settings.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ItemKnnParams {
    pub neighbours: usize,
    pub similarity: Similarity,
}

impl Default for ItemKnnParams {
    fn default() -> Self {
        Self {
            neighbours: 100,
            similarity: Similarity::Cosine { shrink: 10.0 },
        }
    }
}

/// A trained item-kNN model.
#[derive(Debug, Clone)]
pub struct ItemKnn {
    /// For each item, its neighbours (item, similarity), most similar first.
    neighbours: Vec<Vec<(u32, f32)>>,
}

impl ItemKnn {
    pub fn fit(train: &Interactions, params: &ItemKnnParams) -> Self {
        let x = log_weights(train);
        let by_item = x.by_item();
        let n = x.n_items();
        // Each pair's contribution through one shared listener u: left(i, u) · right(u, j).
        let (left, right, target_scale): (Vec<Vec<f32>>, Vec<f32>, Vec<f32>) =
            match params.similarity {
                Similarity::Cosine { .. } => {
                    let left = by_item
                        .iter()
                        .map(|col| col.iter().map(|&(_, w)| w).collect())
                        .collect();
                    let right = (0..x.n_users() as u32)
                        .flat_map(|u| x.row(u).1.to_vec())
                        .collect();
                    (left, right, vec![1.0; n])
                }
                Similarity::Rp3Beta { alpha, beta } => {
                    let item_sums: Vec<f32> = by_item
                        .iter()
                        .map(|col| col.iter().map(|&(_, w)| w).sum())
                        .collect();
                    let left = by_item
                        .iter()
                        .zip(&item_sums)
                        .map(|(col, &s)| col.iter().map(|&(_, w)| (w / s).powf(alpha)).collect())
                        .collect();
                    let right = (0..x.n_users() as u32)
                        .flat_map(|u| {
                            let w = x.row(u).1;
                            let s: f32 = w.iter().sum();
                            w.iter()
                                .map(move |&v| (v / s).powf(alpha))
                                .collect::<Vec<_>>()
                        })
                        .collect();
                    let degree = train.item_counts();
                    let scale = degree
                        .iter()
                        .map(|&d| 1.0 / (d.max(1) as f32).powf(beta))
                        .collect();
                    (left, right, scale)
                }
            };
        let norms: Vec<f32> = by_item
            .iter()
            .map(|col| col.iter().map(|&(_, w)| w * w).sum::<f32>().sqrt())
            .collect();
        // Row offsets of each user in the flattened `right`.
        let mut offsets = Vec::with_capacity(x.n_users());
        let mut at = 0;
        for u in 0..x.n_users() as u32 {
            offsets.push(at);
            at += x.row(u).0.len();
        }
        let items: Vec<u32> = (0..n as u32).collect();
        // Each item's similarities are independent: spread them over the cores, each thread
        // accumulating into its own dense scratch row.
        let neighbours = parallel_map(&items, |&i, scratch: &mut Scratch| {
            let i = i as usize;
            scratch.acc.resize(n, 0.0);
            for (&(u, _), &l) in by_item[i].iter().zip(&left[i]) {
                let row = x.row(u).0;
                let start = offsets[u as usize];
                for (k, &j) in row.iter().enumerate() {
                    if j as usize != i {
                        if scratch.acc[j as usize] == 0.0 {
                            scratch.touched.push(j);
                        }
                        scratch.acc[j as usize] += l * right[start + k];
                    }
                }
            }
            let sims: Vec<(u32, f32)> = scratch
                .touched
                .iter()
                .map(|&j| {
                    let dot = scratch.acc[j as usize];
                    let sim = match params.similarity {
                        Similarity::Cosine { shrink } => {
                            dot / (norms[i] * norms[j as usize] + shrink + 1e-9)
                        }
                        Similarity::Rp3Beta { .. } => dot * target_scale[j as usize],
                    };
                    (j, sim)
                })
                .collect();
            for &j in &scratch.touched {
                scratch.acc[j as usize] = 0.0;
            }
            scratch.touched.clear();
            best(sims, params.neighbours)
        });
        Self { neighbours }
    }

    /// Item `i`'s neighbours (item, similarity), most similar first: its "similar tracks".
    pub fn neighbours(&self, i: u32) -> &[(u32, f32)] {
        &self.neighbours[i as usize]
    }
}

/// One thread's accumulator of an item's dot products, and the items it touched.
#[derive(Default)]
struct Scratch {
    acc: Vec<f32>,
    touched: Vec<u32>,
}

fn best(mut sims: Vec<(u32, f32)>, k: usize) -> Vec<(u32, f32)> {
    sims.retain(|&(_, s)| s > 0.0);
    if sims.len() <= k {
        sims.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        return sims;
    }
    let order = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    sims.select_nth_unstable_by(k, order);
    sims.truncate(k);
    // Every item it shares a listener with was a candidate: keep only the k neighbours.
    sims.shrink_to_fit();
    sims.sort_unstable_by(order);
    sims
}

impl Recommender for ItemKnn {
    fn score(&self, _user: u32, history: History<'_>, scores: &mut [f32]) {
        for (j, w) in history.iter() {
            let w = w.ln_1p();
            for &(i, s) in &self.neighbours[j as usize] {
                scores[i as usize] += w * s;
            }
        }
    }
}
