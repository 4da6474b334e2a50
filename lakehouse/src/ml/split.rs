//! The evaluation protocol's split: per user, a fixed-seed random share of their interactions is
//! held out for testing; users with too few interactions stay wholly in training and are not
//! evaluated.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::interactions::Interactions;

/// A training matrix and, for each evaluated user, the items held out from it.
#[derive(Debug, Clone)]
pub struct Holdout {
    pub train: Interactions,
    /// (user, held-out items) for each evaluated user, in user order.
    pub test: Vec<(u32, Vec<u32>)>,
}

/// Holds out `fraction` (at least one) of each user's interactions when they have at least
/// `min_interactions`. The same data, fraction and seed always give the same split.
pub fn holdout(data: &Interactions, fraction: f64, min_interactions: usize, seed: u64) -> Holdout {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rows = Vec::with_capacity(data.n_users());
    let mut test = Vec::new();
    for u in 0..data.n_users() as u32 {
        let (items, weights) = data.row(u);
        let mut row: Vec<(u32, f32)> = items.iter().copied().zip(weights.iter().copied()).collect();
        if row.len() >= min_interactions.max(2) {
            row.shuffle(&mut rng);
            let held = ((row.len() as f64 * fraction).round() as usize).clamp(1, row.len() - 1);
            let mut held_items: Vec<u32> = row.drain(..held).map(|(i, _)| i).collect();
            held_items.sort_unstable();
            test.push((u, held_items));
        }
        rows.push(row);
    }
    Holdout {
        train: data.with_rows(rows),
        test,
    }
}
