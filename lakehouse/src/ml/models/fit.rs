//! Training the model a [`ModelSpec`] names.

use std::sync::Arc;

use super::Recommender;
use super::als::Als;
use super::content::{Content, ItemFeatures};
use super::ease::Ease;
use super::hybrid::Hybrid;
use super::item_knn::ItemKnn;
use super::popularity::Popularity;
use super::spec::ModelSpec;
use super::user_knn::UserKnn;
use crate::ml::interactions::Interactions;

impl ModelSpec {
    /// Trains this model on `train`.
    pub fn fit(
        &self,
        train: &Interactions,
        features: Option<&ItemFeatures>,
    ) -> Arc<dyn Recommender> {
        match self {
            ModelSpec::Popularity => Arc::new(Popularity::fit(train)),
            ModelSpec::ItemKnn(p) => Arc::new(ItemKnn::fit(train, p)),
            ModelSpec::UserKnn(p) => Arc::new(UserKnn::fit(train, p)),
            ModelSpec::Als(p) => Arc::new(Als::fit(train, p)),
            ModelSpec::Ease(p) => Arc::new(Ease::fit(train, p)),
            ModelSpec::Content => Arc::new(Content::fit(features.cloned().unwrap_or_default())),
            ModelSpec::Hybrid(params) => Arc::new(Hybrid::assemble(params, train, |part| {
                Some(part.fit(train, features))
            })),
        }
    }
}
