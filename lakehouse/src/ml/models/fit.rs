//! Training the model a [`ModelSpec`] names.

use std::sync::{Arc, Mutex, PoisonError};

use super::Recommender;
use super::als::Als;
use super::content::{Content, ItemFeatures};
use super::ease::Ease;
use super::hybrid::Hybrid;
use super::item_knn::{ItemKnn, ItemKnnParams};
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
    /// Neighbour tables already computed on the training matrix, to reuse.
    pub knn_tables: Option<&'a KnnTables<'a>>,
}

impl<'a> SideInfo<'a> {
    /// Item features alone.
    pub fn features(features: Option<&'a ItemFeatures>) -> Self {
        Self {
            features,
            ..Self::default()
        }
    }

    /// The item-kNN table for `params` on `train`, from `knn_tables` when it holds `train`'s.
    fn item_knn(&self, train: &Interactions, params: &ItemKnnParams) -> Arc<ItemKnn> {
        match self.knn_tables {
            Some(tables) => tables.get(train, params),
            None => Arc::new(ItemKnn::fit(train, params)),
        }
    }
}

/// The item-kNN neighbour tables computed on one training matrix, kept so that the models
/// built on the same table (item-kNN itself, and the liked-tracks model, which seeds it with
/// likes) compute it once.
#[derive(Debug)]
pub struct KnnTables<'a> {
    train: &'a Interactions,
    tables: Mutex<Vec<(ItemKnnParams, Arc<ItemKnn>)>>,
}

impl<'a> KnnTables<'a> {
    pub fn new(train: &'a Interactions) -> Self {
        Self {
            train,
            tables: Mutex::default(),
        }
    }

    /// The table for `params` on `train`: computed once when `train` is this one's matrix,
    /// afresh (and not kept) for any other.
    pub fn get(&self, train: &Interactions, params: &ItemKnnParams) -> Arc<ItemKnn> {
        if !std::ptr::eq(self.train, train) {
            return Arc::new(ItemKnn::fit(train, params));
        }
        let mut tables = self.tables.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, table)) = tables.iter().find(|(p, _)| p == params) {
            return Arc::clone(table);
        }
        let table = Arc::new(ItemKnn::fit(train, params));
        tables.push((*params, Arc::clone(&table)));
        table
    }
}

impl ModelSpec {
    /// Trains this model on `train`. A hybrid's components that rest on the same item-kNN
    /// table share it.
    pub fn fit(&self, train: &Interactions, side: SideInfo<'_>) -> Arc<dyn Recommender> {
        let features = side.features;
        match self {
            ModelSpec::Popularity => Arc::new(Popularity::fit(train)),
            ModelSpec::ItemKnn(p) => side.item_knn(train, p),
            ModelSpec::UserKnn(p) => Arc::new(UserKnn::fit(train, p)),
            ModelSpec::Als(p) => Arc::new(Als::fit(train, p)),
            ModelSpec::Ease(p) => Arc::new(Ease::fit(train, p)),
            ModelSpec::Content => Arc::new(Content::fit(features.cloned().unwrap_or_default())),
            ModelSpec::Liked(p) => Arc::new(Liked::new(
                side.item_knn(train, p),
                side.likes.cloned().unwrap_or_default(),
            )),
            ModelSpec::Hybrid(params) => {
                let own = KnnTables::new(train);
                let side = SideInfo {
                    knn_tables: side.knn_tables.or(Some(&own)),
                    ..side
                };
                Arc::new(Hybrid::assemble(params, train, |part| {
                    Some(part.fit(train, side))
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_is_computed_once_per_setting_and_training_matrix() {
        let train = Interactions::from_rows(
            vec!["a".into(), "b".into()],
            (0..3).map(|i| i.to_string()).collect(),
            vec![vec![(0, 1.0), (1, 1.0)], vec![(1, 1.0), (2, 1.0)]],
        );
        let other = train.clone();
        let tables = KnnTables::new(&train);
        let params = ItemKnnParams::default();
        let wider = ItemKnnParams {
            neighbours: params.neighbours + 1,
            ..params
        };
        let first = tables.get(&train, &params);
        assert!(Arc::ptr_eq(&first, &tables.get(&train, &params)));
        assert!(!Arc::ptr_eq(&first, &tables.get(&train, &wider)));
        assert!(!Arc::ptr_eq(&first, &tables.get(&other, &params)));
    }
}
