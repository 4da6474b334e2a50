//! Listeners' word on tracks as training signal: a like adds to its pair's weight (and makes a
//! pair of a track liked without being played); a dislike can take the pair out of what the
//! models learn from. Which of these soundlake does ([`Signal::default`]) is decided by
//! measurement (`soundlake-bench recsys --dataset simulated` prints every way side by side):
//! a like counts as one more full play, and a dislike only hides the track from the lists, as
//! it always did (see [`crate::ml::recommend::Exclusions`]); taking disliked pairs out lowered
//! NDCG. Feedback on artists, and "do not recommend", only filter lists.

use std::collections::HashSet;

use super::interactions::{Interactions, RowAppender};
use super::models::liked::Likes;

/// What a like adds to a (listener, track) weight: as much as this many full plays.
pub const LIKE_WEIGHT: f32 = 1.0;

/// A listener's word on a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Like,
    Dislike,
}

/// How feedback changes what the models learn from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Signal {
    /// What a like adds to its pair's weight (0: nothing).
    pub like_weight: f32,
    /// Whether a dislike takes its pair out.
    pub dislike_removes: bool,
    /// Whether likes also seed the liked-tracks model ([`crate::ml::models::liked`]).
    pub liked_model: bool,
}

impl Default for Signal {
    fn default() -> Self {
        Self {
            like_weight: LIKE_WEIGHT,
            dislike_removes: false,
            liked_model: true,
        }
    }
}

/// Feedback on tracks, indexed like an [`Interactions`]' users and items: one verdict per
/// (user, item), sorted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Feedback {
    pairs: Vec<(u32, u32, Verdict)>,
    signal: Signal,
    /// (user, item) pairs the listener mostly skipped, sorted: the published lists leave them
    /// out as they leave out what was disliked, so the evaluation's lists do too.
    skipped: Vec<(u32, u32)>,
}

impl Feedback {
    /// Feedback from (user, item, verdict) triples in the order they were given: the latest word
    /// on a pair wins.
    pub fn new(mut pairs: Vec<(u32, u32, Verdict)>) -> Self {
        // A stable sort keeps each pair's words in the order given; the last one stays.
        pairs.sort_by_key(|&(u, i, _)| (u, i));
        let mut kept: Vec<(u32, u32, Verdict)> = Vec::with_capacity(pairs.len());
        for pair in pairs {
            match kept.last_mut() {
                Some(last) if (last.0, last.1) == (pair.0, pair.1) => *last = pair,
                _ => kept.push(pair),
            }
        }
        Self {
            pairs: kept,
            signal: Signal::default(),
            skipped: Vec::new(),
        }
    }

    /// The same feedback, with the (user, item) pairs the listeners mostly skipped.
    pub fn with_skipped(self, mut skipped: Vec<(u32, u32)>) -> Self {
        skipped.sort_unstable();
        skipped.dedup();
        Self { skipped, ..self }
    }

    /// The same feedback, changing what the models learn from as `signal` says.
    pub fn with_signal(self, signal: Signal) -> Self {
        Self { signal, ..self }
    }

    /// How this feedback changes what the models learn from.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// Whether there are no verdicts (skipped pairs aside).
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Whether there are neither verdicts nor skipped pairs.
    pub fn says_nothing(&self) -> bool {
        self.pairs.is_empty() && self.skipped.is_empty()
    }

    /// The feedback without its verdicts: the skipped pairs alone.
    pub fn skips_only(&self) -> Self {
        Self::default().with_skipped(self.skipped.clone())
    }

    /// How many pairs are liked and how many disliked.
    pub fn counts(&self) -> (usize, usize) {
        let likes = self.pairs.iter().filter(|p| p.2 == Verdict::Like).count();
        (likes, self.pairs.len() - likes)
    }

    /// The feedback of `users` alone, indexed as [`Interactions::select_users`] indexes them.
    pub fn select_users(&self, users: &[u32]) -> Self {
        let mut pairs = Vec::new();
        let mut skipped = Vec::new();
        for (new, &old) in users.iter().enumerate() {
            pairs.extend(
                self.of_user(old)
                    .iter()
                    .map(|&(_, i, verdict)| (new as u32, i, verdict)),
            );
            skipped.extend(
                of_user(&self.skipped, old, |p| p.0)
                    .iter()
                    .map(|&(_, i)| (new as u32, i)),
            );
        }
        Self::new(pairs)
            .with_signal(self.signal)
            .with_skipped(skipped)
    }

    /// `data` with the feedback folded in as the [`Signal`] says: a like adds its weight to its
    /// pair (making the pair when the track was not played), a dislike may remove its pair.
    /// Feedback on a pair in `held_out` is left out: it would tell a model what the evaluation
    /// hides from it.
    pub fn apply(&self, data: Interactions, held_out: &HashSet<(u32, u32)>) -> Interactions {
        self.apply_and_tell(data, held_out).0
    }

    /// [`Feedback::apply`], and per user (in user order, items ascending) the items they
    /// disliked or mostly skipped, for their lists to leave out (pairs in `held_out` and
    /// unknown items aside).
    pub fn apply_and_tell(
        &self,
        data: Interactions,
        held_out: &HashSet<(u32, u32)>,
    ) -> (Interactions, Vec<Vec<u32>>) {
        let mut hidden = vec![Vec::new(); data.n_users()];
        for &(u, item) in &self.skipped {
            if (u as usize) < data.n_users() && !held_out.contains(&(u, item)) {
                hidden[u as usize].push(item);
            }
        }
        if self.pairs.is_empty() {
            return (data, hidden);
        }
        let mut out = RowAppender::new(data.item_ids().to_vec());
        let mut row: Vec<(u32, f32)> = Vec::new();
        for u in 0..data.n_users() as u32 {
            let (items, weights) = data.row(u);
            row.extend(items.iter().copied().zip(weights.iter().copied()));
            for &(_, item, verdict) in self.of_user(u) {
                if held_out.contains(&(u, item)) || item as usize >= data.n_items() {
                    continue;
                }
                let at = row.binary_search_by_key(&item, |&(i, _)| i);
                let like = self.signal.like_weight;
                if verdict == Verdict::Dislike {
                    hidden[u as usize].push(item);
                }
                match (verdict, at) {
                    (Verdict::Like, Ok(at)) => row[at].1 += like,
                    (Verdict::Like, Err(at)) if like > 0.0 => row.insert(at, (item, like)),
                    (Verdict::Dislike, Ok(at)) if self.signal.dislike_removes => {
                        row.remove(at);
                    }
                    _ => {}
                }
            }
            out.push(data.user_id(u).to_owned(), &mut row);
        }
        for items in &mut hidden {
            items.sort_unstable();
            items.dedup();
        }
        (out.build(), hidden)
    }

    /// Each of `data`'s users' liked items, as the liked-tracks model takes them: none when
    /// the [`Signal`] leaves that model out; pairs in `held_out` and unknown items left out.
    pub fn likes(&self, data: &Interactions, held_out: &HashSet<(u32, u32)>) -> Likes {
        let mut per_user = vec![Vec::new(); data.n_users()];
        if self.signal.liked_model {
            for &(u, item, verdict) in &self.pairs {
                if verdict == Verdict::Like
                    && (item as usize) < data.n_items()
                    && !held_out.contains(&(u, item))
                    && let Some(items) = per_user.get_mut(u as usize)
                {
                    items.push(item);
                }
            }
        }
        Likes::new(per_user)
    }

    /// User `u`'s verdicts.
    fn of_user(&self, u: u32) -> &[(u32, u32, Verdict)] {
        of_user(&self.pairs, u, |p| p.0)
    }
}

/// User `u`'s entries of `sorted`, a list sorted by `user`.
fn of_user<T>(sorted: &[T], u: u32, user: impl Fn(&T) -> u32) -> &[T] {
    let from = sorted.partition_point(|p| user(p) < u);
    let to = sorted.partition_point(|p| user(p) <= u);
    &sorted[from..to]
}

/// Every (user, item) pair of the held-out lists, the shape [`Feedback::apply`] leaves alone.
pub fn held_out_pairs<'a>(
    lists: impl IntoIterator<Item = &'a [(u32, Vec<u32>)]>,
) -> HashSet<(u32, u32)> {
    lists
        .into_iter()
        .flatten()
        .flat_map(|(u, items)| items.iter().map(move |&i| (*u, i)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix() -> Interactions {
        Interactions::from_rows(
            vec!["a".into(), "b".into()],
            vec!["x".into(), "y".into(), "z".into()],
            vec![vec![(0, 1.0), (1, 2.0)], vec![(2, 0.5)]],
        )
    }

    fn rows(data: &Interactions) -> Vec<Vec<(u32, f32)>> {
        (0..data.n_users() as u32)
            .map(|u| {
                let (items, weights) = data.row(u);
                items.iter().copied().zip(weights.iter().copied()).collect()
            })
            .collect()
    }

    const REMOVING: Signal = Signal {
        like_weight: 4.0,
        dislike_removes: true,
        liked_model: false,
    };

    #[test]
    fn a_like_adds_plays_and_a_dislike_removes_the_pair_when_the_signal_says_so() {
        let feedback = Feedback::new(vec![
            (0, 1, Verdict::Like),
            (0, 2, Verdict::Like),
            (0, 0, Verdict::Dislike),
            (1, 1, Verdict::Dislike),
        ]);
        assert_eq!(feedback.counts(), (2, 2));
        let out = feedback
            .clone()
            .with_signal(REMOVING)
            .apply(matrix(), &HashSet::new());
        assert_eq!(rows(&out), vec![vec![(1, 6.0), (2, 4.0)], vec![(2, 0.5)]]);
        assert_eq!(out.user_ids(), matrix().user_ids());
        assert_eq!(out.item_ids(), matrix().item_ids());
        // Either way the lists leave out what was disliked, in the matrix or not.
        let (_, disliked) = feedback.apply_and_tell(matrix(), &HashSet::new());
        assert_eq!(disliked, vec![vec![0], vec![1]]);
        // soundlake's own: a like is one more play; a dislike leaves the pair.
        let out = feedback.apply(matrix(), &HashSet::new());
        assert_eq!(
            rows(&out),
            vec![
                vec![(0, 1.0), (1, 2.0 + LIKE_WEIGHT), (2, LIKE_WEIGHT)],
                vec![(2, 0.5)]
            ]
        );
    }

    #[test]
    fn mostly_skipped_pairs_are_hidden_with_or_without_verdicts() {
        let skips = Feedback::default().with_skipped(vec![(1, 0), (0, 2)]);
        assert!(skips.is_empty() && !skips.says_nothing());
        let (out, hidden) = skips.apply_and_tell(matrix(), &HashSet::new());
        assert_eq!(rows(&out), rows(&matrix()));
        assert_eq!(hidden, vec![vec![2], vec![0]]);
        let held = held_out_pairs([&[(1, vec![0])][..]]);
        assert_eq!(
            skips.apply_and_tell(matrix(), &held).1,
            vec![vec![2], vec![]]
        );
        let sampled = skips.select_users(&[1]);
        let data = matrix().select_users(&[1]);
        assert_eq!(
            sampled.apply_and_tell(data, &HashSet::new()).1,
            vec![vec![0]]
        );
        let with_words = Feedback::new(vec![(0, 1, Verdict::Dislike)]).with_skipped(vec![(0, 2)]);
        assert_eq!(
            with_words.skips_only(),
            skips.select_users(&[0]).with_skipped(vec![(0, 2)])
        );
        assert_eq!(
            with_words.apply_and_tell(matrix(), &HashSet::new()).1,
            vec![vec![1, 2], vec![]]
        );
    }

    #[test]
    fn likes_seed_the_liked_tracks_model_unless_held_out_or_the_signal_says_not() {
        let feedback = Feedback::new(vec![
            (0, 2, Verdict::Like),
            (0, 1, Verdict::Like),
            (0, 0, Verdict::Dislike),
            (1, 0, Verdict::Like),
            (1, 9, Verdict::Like),
            (5, 1, Verdict::Like),
        ]);
        let likes = feedback.likes(&matrix(), &HashSet::new());
        assert_eq!(
            (likes.of(0), likes.of(1), likes.of(5)),
            (&[1, 2][..], &[0][..], &[][..])
        );
        let held = held_out_pairs([&[(0, vec![2])][..]]);
        assert_eq!(feedback.likes(&matrix(), &held).of(0), &[1]);
        let plays_only = feedback.with_signal(Signal {
            liked_model: false,
            ..Signal::default()
        });
        assert!(plays_only.likes(&matrix(), &HashSet::new()).is_empty());
    }

    #[test]
    fn the_latest_word_on_a_pair_wins() {
        let feedback = Feedback::new(vec![
            (0, 0, Verdict::Dislike),
            (1, 2, Verdict::Like),
            (0, 0, Verdict::Like),
        ]);
        assert_eq!(feedback.counts(), (2, 0));
        let out = feedback
            .with_signal(REMOVING)
            .apply(matrix(), &HashSet::new());
        assert_eq!(rows(&out)[0], vec![(0, 5.0), (1, 2.0)]);
    }

    #[test]
    fn held_out_pairs_and_unknown_items_are_left_alone() {
        let feedback = Feedback::new(vec![
            (0, 0, Verdict::Dislike),
            (1, 0, Verdict::Like),
            (1, 9, Verdict::Like),
        ])
        .with_signal(REMOVING);
        let held = held_out_pairs([&[(0, vec![0])][..], &[(1, vec![0])][..]]);
        assert_eq!(rows(&feedback.apply(matrix(), &held)), rows(&matrix()));
    }

    #[test]
    fn a_sample_of_users_keeps_their_own_feedback() {
        let feedback = Feedback::new(vec![(0, 0, Verdict::Like), (1, 2, Verdict::Dislike)])
            .with_signal(REMOVING);
        let sampled = feedback.select_users(&[1]);
        let data = matrix().select_users(&[1]);
        assert_eq!(rows(&sampled.apply(data, &HashSet::new())), vec![vec![]]);
    }
}
