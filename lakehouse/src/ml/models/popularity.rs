//! The baseline: the items most users have, the same for everyone.

use super::{History, Recommender};
use crate::ml::interactions::Interactions;

/// Scores an item by the share of users who have it.
#[derive(Debug, Clone)]
pub struct Popularity {
    share: Vec<f32>,
}

impl Popularity {
    pub fn fit(train: &Interactions) -> Self {
        let users = train.n_users().max(1) as f32;
        Self {
            share: train
                .item_counts()
                .into_iter()
                .map(|c| c as f32 / users)
                .collect(),
        }
    }

    /// Each item's share of users.
    pub fn shares(&self) -> &[f32] {
        &self.share
    }
}

impl Recommender for Popularity {
    fn score(&self, _user: u32, _history: History<'_>, scores: &mut [f32]) {
        scores.copy_from_slice(&self.share);
    }
}
