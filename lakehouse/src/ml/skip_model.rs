//! The skip model: the probability that a listener skips a track, by logistic regression
//! (linfa) on features of the listener, the track and the hour. Trained on the older 80% of
//! listens and measured on the newest 20% (a time-based split: the model predicts the future
//! from the past) against the base rate.

use std::collections::HashMap;

use linfa::prelude::*;
use linfa_logistic::{FittedLogisticRegression, LogisticRegression};
use ndarray::{Array1, Array2};

use super::MlError;

/// One listen, as the skip model sees it. `user` and `item` index the interaction matrix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SkipRow {
    pub user: u32,
    pub item: u32,
    /// Seconds since the epoch.
    pub played_at: i64,
    pub hour: u32,
    pub is_skip: bool,
}

/// The held-out figures.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SkipMetrics {
    /// Area under the ROC curve on the newest listens (0.5 is guessing).
    #[serde(deserialize_with = "super::figures_json::f64_or_nan")]
    pub auc: f64,
    #[serde(deserialize_with = "super::figures_json::f64_or_nan")]
    pub log_loss: f64,
    /// The log-loss of always predicting the training skip rate.
    #[serde(deserialize_with = "super::figures_json::f64_or_nan")]
    pub base_log_loss: f64,
    #[serde(deserialize_with = "super::figures_json::f64_or_nan")]
    pub base_rate: f64,
    /// Listens trained on and tested on (versions from before they were recorded: 0).
    #[serde(default)]
    pub train_rows: usize,
    #[serde(default)]
    pub test_rows: usize,
}

impl SkipMetrics {
    /// Whether every figure is a number (not NaN nor infinite).
    pub fn is_finite(&self) -> bool {
        [self.auc, self.log_loss, self.base_log_loss, self.base_rate]
            .iter()
            .all(|x| x.is_finite())
    }
}

const FEATURES: usize = 15;
/// Prior strength of the smoothed skip rates (in listens).
const PRIOR: f64 = 10.0;

/// A trained skip model.
pub struct SkipModel {
    fitted: FittedLogisticRegression<f64, bool>,
    /// Whether the regression's positive class is "skipped" (linfa makes the larger class
    /// positive).
    skip_is_positive: bool,
    stats: Statistics,
}

/// What the features are computed from: the training listens' statistics and the scaler.
struct Statistics {
    means: [f64; FEATURES],
    stds: [f64; FEATURES],
    base_rate: f64,
    /// Standardised audio features per item.
    item_features: Vec<[f64; 9]>,
    /// Mean features of what each listener played through.
    user_taste: HashMap<u32, [f64; 9]>,
    /// (skips, listens) per listener and per item.
    user_rate: HashMap<u32, (f64, f64)>,
    item_rate: HashMap<u32, (f64, f64)>,
    /// Each listener's latest hour of listening.
    user_hour: HashMap<u32, u32>,
}

impl SkipModel {
    /// Trains on `rows` (any order: they are put in time order, ties by listener and track, so
    /// the same rows train the same model) and measures on the newest fifth. `item_features`
    /// are the items' standardised audio features.
    pub fn train(
        rows: &[SkipRow],
        item_features: Vec<[f64; 9]>,
    ) -> Result<(Self, SkipMetrics), MlError> {
        let mut rows = rows.to_vec();
        rows.sort_by_key(|r| (r.played_at, r.user, r.item, r.is_skip));
        let cut = rows.len() * 4 / 5;
        let (train, test) = rows.split_at(cut);
        let skips = train.iter().filter(|r| r.is_skip).count();
        if train.len() < 100 || test.is_empty() || skips == 0 || skips == train.len() {
            return Err(MlError::NotEnoughData(format!(
                "{} listens ({skips} skips in the older 80%) are too few to train the skip model",
                rows.len()
            )));
        }
        let base_rate = skips as f64 / train.len() as f64;
        let mut stats = Statistics::learn(train, item_features, base_rate);
        let raw: Vec<[f64; FEATURES]> = train
            .iter()
            .map(|r| stats.raw_features(r.user, r.item, r.hour))
            .collect();
        stats.fit_scaler(&raw);
        let x = stats.matrix(&raw);
        let y: Array1<bool> = train.iter().map(|r| r.is_skip).collect();
        let fitted = LogisticRegression::default()
            .max_iterations(100)
            .fit(&Dataset::new(x, y))
            .map_err(|e| MlError::Algorithm {
                algorithm: "logistic regression",
                reason: e.to_string(),
            })?;
        for r in &rows {
            stats.user_hour.insert(r.user, r.hour);
        }
        let model = Self {
            skip_is_positive: fitted.labels().pos.class,
            fitted,
            stats,
        };
        let predicted: Vec<f64> = test
            .iter()
            .map(|r| model.probability_at(r.user, r.item, r.hour))
            .collect();
        let actual: Vec<bool> = test.iter().map(|r| r.is_skip).collect();
        let metrics = SkipMetrics {
            auc: auc(&predicted, &actual),
            log_loss: log_loss(&predicted, &actual),
            base_log_loss: log_loss(&vec![base_rate; actual.len()], &actual),
            base_rate,
            train_rows: train.len(),
            test_rows: test.len(),
        };
        Ok((model, metrics))
    }

    /// The probability that `user` skips `item` at their latest hour of listening.
    pub fn probability(&self, user: u32, item: u32) -> f64 {
        let hour = self.stats.user_hour.get(&user).copied().unwrap_or(20);
        self.probability_at(user, item, hour)
    }

    /// The probability that `user` skips `item` at `hour` (UTC).
    pub fn probability_at(&self, user: u32, item: u32, hour: u32) -> f64 {
        let x = self
            .stats
            .matrix(&[self.stats.raw_features(user, item, hour)]);
        let p = self.fitted.predict_probabilities(&x)[0];
        let p = if self.skip_is_positive { p } else { 1.0 - p };
        if p.is_finite() {
            p
        } else {
            self.stats.base_rate
        }
    }
}

impl Statistics {
    fn learn(train: &[SkipRow], item_features: Vec<[f64; 9]>, base_rate: f64) -> Self {
        let mut user_rate: HashMap<u32, (f64, f64)> = HashMap::new();
        let mut item_rate: HashMap<u32, (f64, f64)> = HashMap::new();
        let mut taste: HashMap<u32, ([f64; 9], f64)> = HashMap::new();
        for r in train {
            let skip = f64::from(u8::from(r.is_skip));
            let u = user_rate.entry(r.user).or_default();
            *u = (u.0 + skip, u.1 + 1.0);
            let i = item_rate.entry(r.item).or_default();
            *i = (i.0 + skip, i.1 + 1.0);
            if let (false, Some(f)) = (r.is_skip, item_features.get(r.item as usize)) {
                let t = taste.entry(r.user).or_insert(([0.0; 9], 0.0));
                t.0.iter_mut().zip(f).for_each(|(t, x)| *t += x);
                t.1 += 1.0;
            }
        }
        Self {
            means: [0.0; FEATURES],
            stds: [1.0; FEATURES],
            base_rate,
            item_features,
            user_taste: taste
                .into_iter()
                .map(|(u, (sum, n))| (u, sum.map(|s| s / n)))
                .collect(),
            user_rate,
            item_rate,
            user_hour: HashMap::new(),
        }
    }

    fn rate(&self, counts: Option<&(f64, f64)>) -> f64 {
        let (skips, n) = counts.copied().unwrap_or_default();
        (skips + PRIOR * self.base_rate) / (n + PRIOR)
    }

    fn raw_features(&self, user: u32, item: u32, hour: u32) -> [f64; FEATURES] {
        let features = self
            .item_features
            .get(item as usize)
            .copied()
            .unwrap_or([0.0; 9]);
        let distance = self.user_taste.get(&user).map_or(0.0, |t| {
            t.iter()
                .zip(&features)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt()
        });
        let angle = f64::from(hour) / 24.0 * std::f64::consts::TAU;
        let plays = self.item_rate.get(&item).map_or(0.0, |(_, n)| *n);
        let mut out = [0.0; FEATURES];
        out[0] = distance;
        out[1..10].copy_from_slice(&features);
        out[10] = angle.sin();
        out[11] = angle.cos();
        out[12] = self.rate(self.user_rate.get(&user));
        out[13] = self.rate(self.item_rate.get(&item));
        out[14] = plays.ln_1p();
        out
    }

    fn fit_scaler(&mut self, raw: &[[f64; FEATURES]]) {
        let n = raw.len().max(1) as f64;
        for c in 0..FEATURES {
            let mean = raw.iter().map(|r| r[c]).sum::<f64>() / n;
            let std = (raw.iter().map(|r| (r[c] - mean).powi(2)).sum::<f64>() / n).sqrt();
            self.means[c] = mean;
            self.stds[c] = if std > 1e-9 { std } else { 1.0 };
        }
    }

    fn matrix(&self, raw: &[[f64; FEATURES]]) -> Array2<f64> {
        Array2::from_shape_fn((raw.len(), FEATURES), |(r, c)| {
            (raw[r][c] - self.means[c]) / self.stds[c]
        })
    }
}

/// The area under the ROC curve: the chance that a random skip is scored above a random
/// non-skip (ties count half).
pub fn auc(scores: &[f64], labels: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum, mut positives) = (0.0, 0usize);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their mean.
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            if labels[k] {
                rank_sum += rank;
                positives += 1;
            }
        }
        i = j + 1;
    }
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return 0.5;
    }
    let p = positives as f64;
    (rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64)
}

/// The mean negative log-likelihood of `labels` under `probabilities`.
pub fn log_loss(probabilities: &[f64], labels: &[bool]) -> f64 {
    let n = labels.len().max(1) as f64;
    probabilities
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let p = p.clamp(1e-12, 1.0 - 1e-12);
            if y { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum::<f64>()
        / n
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn auc_and_log_loss_by_hand() {
        assert_eq!(
            auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]),
            0.75
        );
        assert_eq!(auc(&[0.5, 0.5], &[true, false]), 0.5);
        assert_eq!(auc(&[0.9, 0.1], &[true, false]), 1.0);
        let ll = log_loss(&[0.8, 0.3], &[true, false]);
        assert!((ll - (-(0.8f64).ln() - (0.7f64).ln()) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn learns_that_listeners_skip_tracks_far_from_their_taste() {
        // Each listener likes items on one side of feature 0; the others are skipped 80% of
        // the time.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let items: Vec<[f64; 9]> = (0..100)
            .map(|i| {
                let mut f = [0.0; 9];
                f[0] = if i < 50 { -1.0 } else { 1.0 };
                f[1] = rng.gen_range(-1.0..1.0);
                f
            })
            .collect();
        let rows: Vec<SkipRow> = (0..6_000)
            .map(|n| {
                let user = rng.gen_range(0..40u32);
                let item = rng.gen_range(0..100u32);
                let likes = (user % 2 == 0) == (item < 50);
                SkipRow {
                    user,
                    item,
                    played_at: n,
                    hour: rng.gen_range(0..24),
                    is_skip: rng.gen_bool(if likes { 0.1 } else { 0.8 }),
                }
            })
            .collect();
        let (model, metrics) = SkipModel::train(&rows, items).unwrap();
        assert!(metrics.auc > 0.75, "{metrics:?}");
        assert!(metrics.log_loss < metrics.base_log_loss, "{metrics:?}");
        assert!(model.probability(0, 10) < model.probability(0, 90));
    }

    #[test]
    fn too_few_listens_is_a_clear_error() {
        let rows = vec![
            SkipRow {
                user: 0,
                item: 0,
                played_at: 0,
                hour: 1,
                is_skip: true
            };
            20
        ];
        assert!(matches!(
            SkipModel::train(&rows, vec![[0.0; 9]]),
            Err(MlError::NotEnoughData(_))
        ));
    }
}
