//! EASE, the "embarrassingly shallow autoencoder" (Steck, 2019): an item × item linear model
//! whose weights have a closed form. With `X` the binary listener × item matrix and
//! `P = (XᵀX + λI)⁻¹`, the weight of item `i` for item `j` is `−P[i][j] / P[j][j]`, and `0` on
//! the diagonal (an item does not recommend itself). A listener's score for `j` is the sum of
//! the weights of their items for `j`.
//!
//! The model is dense: memory grows with the square of the items and the inversion with their
//! cube. It is therefore fitted on the `max_items` items most listeners have, the part of the
//! catalogue where co-listening is informative; the other items score nothing (they are left
//! to the other models and the hybrid). `λ` is set relative to the mean of `XᵀX`'s diagonal
//! (an item's listeners), so that one setting means the same on small and large data.

use super::popularity::Popularity;
use super::{History, Recommender};
use crate::ml::interactions::Interactions;

/// EASE's settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EaseParams {
    /// `λ` over the mean number of listeners per modelled item.
    pub regularisation: f32,
    /// The most listened items the model covers.
    pub max_items: usize,
}

impl Default for EaseParams {
    fn default() -> Self {
        Self {
            regularisation: 0.5,
            max_items: 1_500,
        }
    }
}

/// A fitted EASE model.
#[derive(Debug, Clone)]
pub struct Ease {
    /// The modelled items (training-matrix indices), in the model's order.
    items: Vec<u32>,
    /// Each training item's place in `items`, or `NOT_MODELLED`.
    place: Vec<u32>,
    /// The item × item weights, row-major over the modelled items.
    weights: Vec<f32>,
    /// Each modelled item's share of listeners: the ranking for a listener none of whose
    /// items are modelled.
    popularity: Vec<f32>,
}

const NOT_MODELLED: u32 = u32::MAX;

impl Ease {
    pub fn fit(train: &Interactions, params: &EaseParams) -> Self {
        let counts = train.item_counts();
        let mut items: Vec<u32> = (0..counts.len() as u32)
            .filter(|&i| counts[i as usize] > 0)
            .collect();
        items.sort_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]).then(a.cmp(&b)));
        items.truncate(params.max_items);
        items.sort_unstable();
        let mut place = vec![NOT_MODELLED; counts.len()];
        for (p, &i) in items.iter().enumerate() {
            place[i as usize] = p as u32;
        }
        let n = items.len();
        let mut gram = gram(train, &place, n);
        let mean_diagonal = (0..n).map(|i| gram[i * n + i]).sum::<f64>() / n.max(1) as f64;
        let lambda = (f64::from(params.regularisation) * mean_diagonal).max(1e-3);
        for i in 0..n {
            gram[i * n + i] += lambda;
        }
        invert_positive_definite(&mut gram, n);
        let weights = (0..n * n)
            .map(|k| {
                let (i, j) = (k / n, k % n);
                if i == j {
                    0.0
                } else {
                    (-gram[k] / gram[j * n + j]) as f32
                }
            })
            .collect();
        let shares = Popularity::fit(train);
        Self {
            popularity: items.iter().map(|&i| shares.shares()[i as usize]).collect(),
            items,
            place,
            weights,
        }
    }
}

impl Recommender for Ease {
    fn score(&self, _user: u32, history: History<'_>, scores: &mut [f32]) {
        let n = self.items.len();
        let mut modelled = vec![0.0f32; n];
        let mut any = false;
        for item in history.items {
            let p = self
                .place
                .get(*item as usize)
                .copied()
                .unwrap_or(NOT_MODELLED);
            if p == NOT_MODELLED {
                continue;
            }
            any = true;
            let row = &self.weights[p as usize * n..(p as usize + 1) * n];
            for (s, w) in modelled.iter_mut().zip(row) {
                *s += w;
            }
        }
        if !any {
            modelled.copy_from_slice(&self.popularity);
        }
        scores.fill(f32::NEG_INFINITY);
        for (&item, s) in self.items.iter().zip(modelled) {
            scores[item as usize] = s;
        }
    }
}

/// `XᵀX` over the modelled items (`place`), with `X` binary: how many listeners have both
/// items; row-major, `n × n`.
fn gram(train: &Interactions, place: &[u32], n: usize) -> Vec<f64> {
    let mut gram = vec![0.0f64; n * n];
    let mut row: Vec<usize> = Vec::new();
    for u in 0..train.n_users() as u32 {
        row.clear();
        row.extend(
            train
                .row(u)
                .0
                .iter()
                .map(|&i| place[i as usize])
                .filter(|&p| p != NOT_MODELLED)
                .map(|p| p as usize),
        );
        for &a in &row {
            let line = &mut gram[a * n..(a + 1) * n];
            for &b in &row {
                line[b] += 1.0;
            }
        }
    }
    gram
}

/// Replaces the symmetric positive definite `n × n` matrix `a` (row-major) with its inverse, by
/// Gauss–Jordan elimination in place. A positive definite matrix needs no pivoting. Each step
/// updates the other rows on every core.
fn invert_positive_definite(a: &mut [f64], n: usize) {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    for k in 0..n {
        let (before, rest) = a.split_at_mut(k * n);
        let (pivot_row, after) = rest.split_at_mut(n);
        let pivot = pivot_row[k];
        pivot_row[k] = 1.0;
        for x in pivot_row.iter_mut() {
            *x /= pivot;
        }
        let pivot_row: &[f64] = pivot_row;
        let eliminate = |row: &mut [f64]| {
            let factor = row[k];
            if factor != 0.0 {
                row[k] = 0.0;
                for (x, y) in row.iter_mut().zip(pivot_row) {
                    *x -= factor * y;
                }
            }
        };
        let eliminate = &eliminate;
        let mut rows: Vec<&mut [f64]> = before
            .chunks_exact_mut(n)
            .chain(after.chunks_exact_mut(n))
            .collect();
        if threads == 1 || n < 256 {
            for row in rows {
                eliminate(row);
            }
            continue;
        }
        let per_thread = rows.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            for group in rows.chunks_mut(per_thread) {
                scope.spawn(move || {
                    for row in group.iter_mut() {
                        eliminate(row);
                    }
                });
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverts_a_positive_definite_matrix() {
        let n = 300;
        // A diagonally dominant symmetric matrix with a varied off-diagonal part.
        let original: Vec<f64> = (0..n * n)
            .map(|k| {
                let (i, j) = (k / n, k % n);
                if i == j {
                    n as f64
                } else {
                    ((i * 7 + j * 7 + i * j) % 13) as f64 / 13.0
                }
            })
            .collect();
        let mut inverse = original.clone();
        invert_positive_definite(&mut inverse, n);
        for i in (0..n).step_by(17) {
            for j in (0..n).step_by(13) {
                let product: f64 = (0..n)
                    .map(|m| original[i * n + m] * inverse[m * n + j])
                    .sum();
                let identity = if i == j { 1.0 } else { 0.0 };
                assert!((product - identity).abs() < 1e-9, "({i}, {j}): {product}");
            }
        }
    }

    fn data(rows: &[&[u32]], items: usize) -> Interactions {
        Interactions::from_rows(
            (0..rows.len()).map(|u| format!("u{u}")).collect(),
            (0..items).map(|i| format!("i{i}")).collect(),
            rows.iter()
                .map(|r| r.iter().map(|&i| (i, 1.0)).collect())
                .collect(),
        )
    }

    #[test]
    fn recommends_what_is_listened_with_a_listeners_items() {
        // Items 0 and 1 go together, as do 2 and 3; item 4 is everyone's.
        let train = data(
            &[
                &[0, 1, 4],
                &[0, 1, 4],
                &[0, 1],
                &[2, 3, 4],
                &[2, 3, 4],
                &[2, 3],
            ],
            5,
        );
        let model = Ease::fit(&train, &EaseParams::default());
        let mut scores = vec![0.0; 5];
        model.score(
            0,
            History {
                items: &[0],
                weights: &[1.0],
            },
            &mut scores,
        );
        assert!(scores[1] > scores[2] && scores[1] > scores[3], "{scores:?}");
        assert_eq!(scores[0], 0.0, "an item does not recommend itself");
    }

    #[test]
    fn covers_the_most_listened_items_and_scores_no_other() {
        let train = data(&[&[0, 1, 2], &[0, 1], &[0, 3]], 5);
        let params = EaseParams {
            max_items: 2,
            ..EaseParams::default()
        };
        let model = Ease::fit(&train, &params);
        assert_eq!(model.items.len(), 2);
        let mut scores = vec![0.0; 5];
        model.score(
            9,
            History {
                items: &[2],
                weights: &[1.0],
            },
            &mut scores,
        );
        // Item 2 is not modelled: the listener gets the modelled items by popularity.
        assert!(scores[0] > scores[1], "{scores:?}");
        assert!(
            scores[2..].iter().all(|s| *s == f32::NEG_INFINITY),
            "{scores:?}"
        );
    }
}
