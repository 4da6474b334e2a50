//! What a listener said they like, as a model of its own: a listener's score for an item sums
//! its item-kNN similarities to the tracks they liked, each like counting the same however
//! often the track was played. A like is a word on taste that plays weigh only as plays (one
//! among hundreds); as a component of the hybrid, scaled per listener like every other, it
//! gets a share of the list that validation decides. Listeners who liked nothing get nothing
//! from it.

use std::sync::Arc;

use super::item_knn::ItemKnn;
use super::{History, Recommender};

/// Each listener's liked items (ascending, no repeats), indexed like the training matrix's
/// users; listeners beyond the end liked nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Likes(Vec<Vec<u32>>);

impl Likes {
    /// Likes from one list of items per user (in user order).
    pub fn new(mut per_user: Vec<Vec<u32>>) -> Self {
        for items in &mut per_user {
            items.sort_unstable();
            items.dedup();
        }
        Self(per_user)
    }

    /// User `u`'s liked items.
    pub fn of(&self, u: u32) -> &[u32] {
        self.0.get(u as usize).map_or(&[], Vec::as_slice)
    }

    /// Whether nobody liked anything.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Vec::is_empty)
    }
}

/// The liked-tracks model: item-kNN neighbourhoods, seeded by each listener's likes.
#[derive(Debug, Clone)]
pub struct Liked {
    knn: Arc<ItemKnn>,
    likes: Arc<Likes>,
}

impl Liked {
    /// The model over `knn`'s neighbour table (which an item-kNN model may share).
    pub fn new(knn: Arc<ItemKnn>, likes: Arc<Likes>) -> Self {
        Self { knn, likes }
    }
}

impl Recommender for Liked {
    fn score(&self, user: u32, _history: History<'_>, scores: &mut [f32]) {
        for &liked in self.likes.of(user) {
            if (liked as usize) < scores.len() {
                for &(i, s) in self.knn.neighbours(liked) {
                    scores[i as usize] += s;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::item_knn::ItemKnnParams;
    use super::*;
    use crate::ml::interactions::Interactions;

    #[test]
    fn a_listener_is_offered_what_is_like_what_they_liked_and_nothing_without_likes() {
        let train = Interactions::from_rows(
            vec!["a".into(), "b".into(), "c".into()],
            (0..4).map(|i| i.to_string()).collect(),
            vec![
                vec![(0, 1.0), (1, 1.0)],
                vec![(0, 1.0), (1, 1.0), (2, 1.0)],
                vec![(2, 1.0), (3, 1.0)],
            ],
        );
        let likes = Arc::new(Likes::new(vec![vec![0, 0], vec![]]));
        let knn = ItemKnn::fit(&train, &ItemKnnParams::default());
        let model = Liked::new(Arc::new(knn), likes);
        let mut scores = vec![0f32; train.n_items()];
        model.score(0, History::of(&train, 0), &mut scores);
        // Item 1 is played with item 0 by two listeners, item 2 by one, item 3 by nobody.
        assert!(scores[1] > scores[2] && scores[2] > 0.0, "{scores:?}");
        assert_eq!(scores[3], 0.0);
        let mut nothing = vec![0f32; train.n_items()];
        model.score(1, History::of(&train, 1), &mut nothing);
        model.score(7, History::of(&train, 1), &mut nothing);
        assert!(nothing.iter().all(|&s| s == 0.0));
    }
}
