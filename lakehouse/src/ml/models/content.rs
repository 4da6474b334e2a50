//! Content-based: a listener's taste is the play-weighted mean of their items' standardised
//! audio features; an item scores by the cosine between its features and that taste.

use super::{History, Recommender};

/// Standardised feature vectors, one slot per item (`None`: the item has no features).
#[derive(Debug, Clone, Default)]
pub struct ItemFeatures {
    pub vectors: Vec<Option<Vec<f32>>>,
}

impl ItemFeatures {
    /// Vectors from standardised rows, one per item.
    pub fn from_rows(rows: &[Option<[f64; 9]>]) -> Self {
        Self {
            vectors: rows
                .iter()
                .map(|r| r.map(|r| r.iter().map(|&x| x as f32).collect()))
                .collect(),
        }
    }

    /// The play-weighted mean feature vector of a history (`None` if no item has features).
    pub fn taste(&self, history: History<'_>) -> Option<Vec<f32>> {
        let mut taste: Option<Vec<f32>> = None;
        let mut total = 0f32;
        for (i, w) in history.iter() {
            let Some(Some(v)) = self.vectors.get(i as usize) else {
                continue;
            };
            let w = w.ln_1p();
            let t = taste.get_or_insert_with(|| vec![0.0; v.len()]);
            t.iter_mut().zip(v).for_each(|(t, &x)| *t += w * x);
            total += w;
        }
        let mut taste = taste?;
        taste.iter_mut().for_each(|t| *t /= total.max(f32::EPSILON));
        Some(taste)
    }
}

/// Cosine similarity of two vectors (0 when either is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
    for (&x, &y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}

/// The content-based model.
#[derive(Debug, Clone)]
pub struct Content {
    features: ItemFeatures,
}

impl Content {
    pub fn fit(features: ItemFeatures) -> Self {
        Self { features }
    }

    pub fn features(&self) -> &ItemFeatures {
        &self.features
    }
}

impl Recommender for Content {
    fn score(&self, _user: u32, history: History<'_>, scores: &mut [f32]) {
        let Some(taste) = self.features.taste(history) else {
            return;
        };
        for (s, v) in scores.iter_mut().zip(&self.features.vectors) {
            // Cosine in [-1, 1] moved to [0, 1]: items without features stay at 0.
            if let Some(v) = v {
                *s = (1.0 + cosine(&taste, v)) / 2.0;
            }
        }
    }
}
