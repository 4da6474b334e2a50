//! The recommenders. Each scores every item for one listener from their history; ranking,
//! filtering of already-heard items and evaluation are shared.

pub mod als;
pub mod content;
pub mod ease;
mod fit;
pub mod hybrid;
pub mod item_knn;
pub mod liked;
pub mod popularity;
pub mod spec;
pub mod user_knn;

pub use fit::{KnnTables, SideInfo};

use super::interactions::Interactions;

/// A trained model.
pub trait Recommender: Send + Sync {
    /// Writes a score for every item into `scores` (one slot per item, zeroed by the caller);
    /// higher is better, and a non-finite score means the model does not score that item. `user` is the listener's row in the training matrix and `history`
    /// their (item, weight) pairs.
    fn score(&self, user: u32, history: History<'_>, scores: &mut [f32]);
}

/// A listener's items (ascending) and weights.
#[derive(Debug, Clone, Copy)]
pub struct History<'a> {
    pub items: &'a [u32],
    pub weights: &'a [f32],
}

impl<'a> History<'a> {
    /// User `u`'s row of `data`.
    pub fn of(data: &'a Interactions, u: u32) -> Self {
        let (items, weights) = data.row(u);
        Self { items, weights }
    }

    pub fn iter(&self) -> impl Iterator<Item = (u32, f32)> + '_ {
        self.items.iter().copied().zip(self.weights.iter().copied())
    }

    pub fn contains(&self, item: u32) -> bool {
        self.items.binary_search(&item).is_ok()
    }
}

/// The `k` best-scored items, best first, leaving out `exclude(item)`; ties go to the lower
/// item index so rankings are reproducible.
pub fn top_k(scores: &[f32], k: usize, exclude: impl Fn(u32) -> bool) -> Vec<(u32, f32)> {
    best_of(
        scores
            .iter()
            .enumerate()
            .map(|(i, &s)| (i as u32, s))
            .filter(|&(i, s)| s.is_finite() && !exclude(i))
            .collect(),
        k,
    )
}

/// The `k` best of (item, score) `candidates`, best first; ties go to the lower item index.
pub fn best_of(mut candidates: Vec<(u32, f32)>, k: usize) -> Vec<(u32, f32)> {
    let order = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if candidates.len() > k {
        candidates.select_nth_unstable_by(k, order);
        candidates.truncate(k);
        // The candidates can be the whole catalogue and the list is often kept: keep k.
        candidates.shrink_to_fit();
    }
    candidates.sort_unstable_by(order);
    candidates
}

/// Ranks the top `k` unheard items for each of `users` with `model`, spread over the machine's
/// cores. The result is in the order of `users`.
pub fn recommend_all(
    model: &dyn Recommender,
    train: &Interactions,
    users: &[u32],
    k: usize,
) -> Vec<Vec<(u32, f32)>> {
    parallel_map(users, |&u, scores: &mut Vec<f32>| {
        scores.resize(train.n_items(), 0.0);
        scores.fill(0.0);
        let history = History::of(train, u);
        model.score(u, history, scores);
        top_k(scores, k, |i| history.contains(i))
    })
}

/// `f` over `items`, spread over the machine's cores, in the order of `items`; each thread
/// keeps one `S` of scratch space between its calls.
pub fn parallel_map<T: Sync, S: Default, R: Send>(
    items: &[T],
    f: impl Fn(&T, &mut S) -> R + Sync,
) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| {
                let f = &f;
                scope.spawn(move || {
                    let mut scratch = S::default();
                    part.iter()
                        .map(|item| f(item, &mut scratch))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// `ln(1 + w)`: play counts are heavy-tailed; the log keeps one obsession from drowning a
/// listener's other tastes.
pub fn log_weights(data: &Interactions) -> Interactions {
    data.map_weights(f32::ln_1p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_orders_by_score_then_index_and_excludes() {
        let scores = [0.5, 0.9, 0.5, 0.1, 0.9];
        assert_eq!(
            top_k(&scores, 3, |i| i == 4),
            vec![(1, 0.9), (0, 0.5), (2, 0.5)]
        );
        assert_eq!(top_k(&scores, 10, |_| false).len(), 5);
    }
}
