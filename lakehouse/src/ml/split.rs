//! The evaluation protocol's split: per user, a share of their interactions is held out for
//! testing, either at random with a fixed seed or the newest by first play; users with too few
//! interactions stay wholly in training and are not evaluated.

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
            let held = held_count(row.len(), fraction);
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

/// How many of a user's `len` (at least 2) interactions a split holds out: `fraction` of them,
/// at least one and never all.
fn held_count(len: usize, fraction: f64) -> usize {
    ((len as f64 * fraction).round() as usize).clamp(1, len - 1)
}

/// When each listener first played each of their items (seconds since the epoch): one list per
/// user, aligned with that user's row of the interactions (ascending items).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FirstPlays(pub Vec<Vec<i64>>);

impl FirstPlays {
    /// The lists of `users` (ascending), in that order, as [`Interactions::select_users`] keeps
    /// their rows.
    pub fn select_users(&self, users: &[u32]) -> Self {
        Self(
            users
                .iter()
                .map(|&u| self.0.get(u as usize).cloned().unwrap_or_default())
                .collect(),
        )
    }
}

/// Holds out each user's newest items: `fraction` (at least one, never all) of the items they
/// first played last, when they have at least `min_interactions` (and their first plays are
/// known); items first played in the same second are taken highest index first. What a model
/// learns from the rest is measured on what the listener went on to discover, as a deployed
/// model is. Returns the split and the training rows' first plays, aligned with its `train`,
/// so that the training split can be split the same way again.
pub fn holdout_newest(
    data: &Interactions,
    first_plays: &FirstPlays,
    fraction: f64,
    min_interactions: usize,
) -> (Holdout, FirstPlays) {
    let mut rows = Vec::with_capacity(data.n_users());
    let mut kept_plays = Vec::with_capacity(data.n_users());
    let mut test = Vec::new();
    for u in 0..data.n_users() as u32 {
        let (items, weights) = data.row(u);
        let times = first_plays.0.get(u as usize).map_or(&[][..], Vec::as_slice);
        let mut held = vec![false; items.len()];
        if items.len() >= min_interactions.max(2) && times.len() == items.len() {
            let n = held_count(items.len(), fraction);
            let mut newest: Vec<usize> = (0..items.len()).collect();
            newest.sort_unstable_by_key(|&k| std::cmp::Reverse((times[k], items[k])));
            newest[..n].iter().for_each(|&k| held[k] = true);
            test.push((
                u,
                (0..items.len())
                    .filter(|&k| held[k])
                    .map(|k| items[k])
                    .collect(),
            ));
        }
        let kept = (0..items.len()).filter(|&k| !held[k]);
        rows.push(kept.clone().map(|k| (items[k], weights[k])).collect());
        kept_plays.push(kept.filter_map(|k| times.get(k).copied()).collect());
    }
    let split = Holdout {
        train: data.with_rows(rows),
        test,
    };
    (split, FirstPlays(kept_plays))
}

/// Activity strata the listener sample is drawn from.
const STRATA: usize = 10;

/// At most `at_most` listeners of `data` (all of them when there are no more), drawn by
/// `seed` from each tenth of the listeners by activity (their number of items) in
/// proportion, so that light and heavy listeners keep their shares. Ascending.
pub fn sample_listeners(data: &Interactions, at_most: usize, seed: u64) -> Vec<u32> {
    let n = data.n_users();
    if n <= at_most {
        return (0..n as u32).collect();
    }
    let mut by_activity: Vec<u32> = (0..n as u32).collect();
    by_activity.sort_by_key(|&u| (data.row(u).0.len(), u));
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut chosen = Vec::with_capacity(at_most);
    for s in 0..STRATA {
        let (from, to) = (s * n / STRATA, (s + 1) * n / STRATA);
        // Each stratum's share, rounded so that the shares add up to `at_most`.
        let take = (to * at_most / n) - (from * at_most / n);
        let mut stratum = by_activity[from..to].to_vec();
        stratum.shuffle(&mut rng);
        chosen.extend_from_slice(&stratum[..take.min(stratum.len())]);
    }
    chosen.sort_unstable();
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1,000 listeners with 1 to 100 items each.
    fn listeners() -> Interactions {
        let rows = (0..1_000u32)
            .map(|u| (0..(u % 100) + 1).map(|i| (i, 1.0)).collect())
            .collect();
        let users = (0..1_000).map(|u| format!("u{u}")).collect();
        let items = (0..100).map(|i| format!("t{i}")).collect();
        Interactions::from_rows(users, items, rows)
    }

    #[test]
    fn the_sample_is_reproducible_by_seed_and_keeps_the_activity_mix() {
        let data = listeners();
        let a = sample_listeners(&data, 200, 7);
        assert_eq!(a, sample_listeners(&data, 200, 7));
        assert_ne!(a, sample_listeners(&data, 200, 8));
        assert_eq!(a.len(), 200);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        // Every tenth by activity gives a tenth of the sample.
        let light = a.iter().filter(|&&u| data.row(u).0.len() <= 10).count();
        assert_eq!(light, 20);
        assert_eq!(sample_listeners(&data, 5_000, 7).len(), 1_000);
    }

    #[test]
    fn the_newest_first_plays_are_held_out_and_the_rest_can_be_split_again() {
        let data = Interactions::from_rows(
            vec!["a".into(), "b".into(), "c".into()],
            (0..5).map(|i| i.to_string()).collect(),
            vec![
                vec![(0, 1.0), (1, 2.0), (2, 1.0), (3, 1.0), (4, 3.0)],
                vec![(0, 1.0), (4, 1.0)],
                vec![(1, 1.0)],
            ],
        );
        // a discovered 3 last, then 1 and 4 in the same second; b discovered 0 last.
        let plays = FirstPlays(vec![vec![10, 40, 20, 50, 40], vec![9, 8], vec![5]]);
        let (split, kept) = holdout_newest(&data, &plays, 0.4, 2);
        assert_eq!(split.test, vec![(0, vec![3, 4]), (1, vec![0])]);
        assert_eq!(split.train.row(0), (&[0, 1, 2][..], &[1.0, 2.0, 1.0][..]));
        assert_eq!(split.train.row(2).0, &[1]);
        assert_eq!(kept, FirstPlays(vec![vec![10, 40, 20], vec![8], vec![5]]));
        // Split again, a's newest of the rest is 1; b has one item left and is not evaluated.
        let (inner, _) = holdout_newest(&split.train, &kept, 0.4, 2);
        assert_eq!(inner.test, vec![(0, vec![1])]);
        // Unknown first plays: nobody is evaluated.
        assert!(
            holdout_newest(&data, &FirstPlays::default(), 0.4, 2)
                .0
                .test
                .is_empty()
        );
    }
}
