//! Training the model a [`ModelSpec`] names.

use std::sync::Arc;

use super::Recommender;
use super::als::Als;
use super::content::{Content, ItemFeatures};
use super::ease::Ease;
use super::hybrid::Hybrid;
use super::item_knn::ItemKnn;
use super::liked::{Liked, Likes};
use super::popularity::Popularity;
use super::spec::ModelSpec;
use super::user_knn::UserKnn;
use crate::ml::interactions::Interactions;

/// What models learn from beside the listener × item weights (side information).
#[derive(Debug, Clone, Copy, Default)]
pub struct SideInfo<'a> {
    /// The items' standardised audio features, which the content model needs.
    pub features: Option<&'a ItemFeatures>,
    /// The listeners' likes, indexed like the training matrix's users, which the liked-tracks
    /// model needs.
    pub likes: Option<&'a Arc<Likes>>,
}

impl<'a> SideInfo<'a> {
    /// Item features alone.
    pub fn features(features: Option<&'a ItemFeatures>) -> Self {
        Self {
            features,
            likes: None,
        }
    }
}

impl ModelSpec {
    /// Trains this model on `train`.
    pub fn fit(&self, train: &Interactions, side: SideInfo<'_>) -> Arc<dyn Recommender> {
        let features = side.features;
        match self {
            ModelSpec::Popularity => Arc::new(Popularity::fit(train)),
            ModelSpec::ItemKnn(p) => Arc::new(ItemKnn::fit(train, p)),
            ModelSpec::UserKnn(p) => Arc::new(UserKnn::fit(train, p)),
            ModelSpec::Als(p) => Arc::new(Als::fit(train, p)),
            ModelSpec::Ease(p) => Arc::new(Ease::fit(train, p)),
            ModelSpec::Content => Arc::new(Content::fit(features.cloned().unwrap_or_default())),
            ModelSpec::Liked(p) => Arc::new(Liked::fit(
                train,
                p,
                side.likes.cloned().unwrap_or_default(),
            )),
            ModelSpec::Hybrid(params) => Arc::new(Hybrid::assemble(params, train, |part| {
                Some(part.fit(train, side))
            })),
        }
    }
}
