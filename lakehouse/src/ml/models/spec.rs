//! A model and its settings, as chosen by evaluation and recorded with each model version.

use super::als::AlsParams;
use super::ease::EaseParams;
use super::item_knn::{ItemKnnParams, Similarity};
use super::user_knn::UserKnnParams;

/// Which model, with which settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "model", content = "params", rename_all = "snake_case")]
pub enum ModelSpec {
    Popularity,
    ItemKnn(ItemKnnParams),
    UserKnn(UserKnnParams),
    Als(AlsParams),
    Ease(EaseParams),
    /// Needs item features; without them it scores nothing.
    Content,
    /// Item-kNN seeded by each listener's likes; without likes it scores nothing.
    Liked(ItemKnnParams),
    Hybrid(HybridParams),
}

/// The hybrid's components with their weights, and its damping of popular and of
/// over-recommended items.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HybridParams {
    pub components: Vec<(ModelSpec, f32)>,
    pub popularity_exponent: f32,
    /// The exponent of the damping by exposure: by how many listeners' top lists an item
    /// would reach without it (0: none; versions recorded before it existed have none).
    #[serde(default)]
    pub exposure_exponent: f32,
    /// How many of a list's first places are ranked without the exposure damping (0: none;
    /// versions recorded before it existed have none).
    #[serde(default)]
    pub protected_head: usize,
    /// The popularity damping within the protected head (`popularity_exponent` is the one
    /// below it).
    #[serde(default)]
    pub head_popularity_exponent: f32,
}

impl ModelSpec {
    /// The model family's name, as reports and the API show it.
    pub fn name(&self) -> &'static str {
        match self {
            ModelSpec::Popularity => "popularity",
            ModelSpec::ItemKnn(p) => match p.similarity {
                Similarity::Cosine { .. } => "item_knn",
                Similarity::Rp3Beta { .. } => "rp3beta",
            },
            ModelSpec::UserKnn(_) => "user_knn",
            ModelSpec::Als(_) => "als",
            ModelSpec::Ease(_) => "ease",
            ModelSpec::Content => "content",
            ModelSpec::Liked(_) => "liked",
            ModelSpec::Hybrid(_) => "hybrid",
        }
    }

    /// The settings as JSON (for reports and the model registry).
    pub fn params_json(&self) -> serde_json::Value {
        let value = serde_json::to_value(self).unwrap_or_default();
        value
            .get("params")
            .cloned()
            .unwrap_or(serde_json::Value::Null)
    }
}
