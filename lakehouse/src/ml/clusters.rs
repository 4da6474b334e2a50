//! Track clusters and user taste segments over the catalogue's audio features.
//!
//! [`cluster_tracks`] standardises the nine [`FEATURES`], runs KMeans for every k of a range,
//! chooses k by the silhouette score on a fixed sample of tracks (every k's score is kept),
//! projects the tracks to 2-D with PCA for the catalogue map and describes each cluster: its
//! centroid in the features' own units, its top genres, its size and a readable label such as
//! "acoustic · calm · low tempo". [`segment_users`] groups users by their mean features.
//!
//! Runtime: KMeans and PCA are *fitted* on a deterministic sample of at most [`FIT_SAMPLE`]
//! points, then every point is assigned to its nearest centroid and projected. On the 114,000
//! track catalogue this keeps the whole k range to seconds, and the centroids of 20,000 points
//! in 9-D differ little from the full-data ones. Inertia, silhouette and the profiles are
//! computed from the assignment of all points.

use std::cmp::Reverse;
use std::collections::HashMap;

use linfa::DatasetBase;
use linfa::traits::{Fit, Predict};
use linfa_clustering::{KMeans, KMeansError};
use linfa_reduction::{Pca, ReductionError};
use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::MlError;

/// The audio features clustered, in this order.
pub const FEATURES: [&str; 9] = [
    "danceability",
    "energy",
    "loudness",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
];

/// KMeans and PCA are fitted on at most this many points (a seeded sample); all are assigned.
pub const FIT_SAMPLE: usize = 20_000;
/// KMeans restarts per k; the run with the lowest inertia wins.
const KMEANS_RUNS: usize = 2;
/// KMeans stops once its centroids move less than this (L2 norm over all centroids).
const KMEANS_TOLERANCE: f64 = 1e-4;
/// Iteration cap of [`segment_users`]' KMeans.
const SEGMENT_MAX_ITERATIONS: u64 = 100;
/// A feature takes part in a label only if its standardised centroid is at least this far from 0.
const LABEL_MIN_Z: f64 = 0.3;
/// Words in a label; one more is tried when two labels collide.
const LABEL_WORDS: usize = 3;
const LABEL_SEPARATOR: &str = " · ";
const TOP_GENRES: usize = 5;
/// Each feature's word when its centroid is above (first) or below (second) the mean.
const WORDS: [(&str, &str); 9] = [
    ("danceable", "still"),
    ("energetic", "calm"),
    ("loud", "quiet"),
    ("spoken", "sung"),
    ("acoustic", "electric"),
    ("instrumental", "vocal"),
    ("live", "studio"),
    ("happy", "sombre"),
    ("high tempo", "low tempo"),
];
/// For the probability-like features, the least centroid value (own units) for which the "high"
/// word is true: a cluster of tracks averaging 0.3 instrumentalness is above the mean, but it
/// is not "instrumental".
const HIGH_WORD_FLOOR: [Option<f64>; 9] = [
    None,
    None,
    None,
    Some(0.33),
    Some(0.5),
    Some(0.5),
    Some(0.5),
    None,
    None,
];

/// One track's audio features and genres, the input of [`cluster_tracks`].
#[derive(Debug, Clone, PartialEq)]
pub struct TrackFeatures {
    /// The track's id in the catalogue.
    pub track_id: String,
    /// The track's genres (counted for each cluster's top genres).
    pub genres: Vec<String>,
    /// The [`FEATURES`], in that order and in their own units.
    pub values: [f64; 9],
}

/// Settings of [`cluster_tracks`].
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// The smallest k tried (at least 2).
    pub k_min: usize,
    /// The largest k tried (clamped to the number of tracks − 1).
    pub k_max: usize,
    /// How many tracks (at most) the silhouette is computed on; the same sample for every k.
    pub silhouette_sample: usize,
    /// Seed of every random choice: samples and KMeans initialisation.
    pub seed: u64,
    /// KMeans iteration cap per run.
    pub max_iterations: u64,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            k_min: 4,
            k_max: 12,
            silhouette_sample: 2000,
            seed: 42,
            max_iterations: 100,
        }
    }
}

/// How well one k clustered the catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct KScore {
    /// The number of clusters asked for.
    pub k: usize,
    /// Mean silhouette over the sample, in [-1, 1]; higher is better.
    pub silhouette: f64,
    /// Sum over all tracks of the squared distance to their cluster's mean (standardised space).
    pub inertia: f64,
}

/// What a cluster of tracks sounds like.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterProfile {
    /// The cluster's id: clusters are numbered by size, largest first.
    pub cluster_id: usize,
    /// A readable description derived from the centroid, unique among the clusters.
    pub label: String,
    /// The number of tracks in the cluster.
    pub size: usize,
    /// The mean of each feature (name, value in the feature's own units), in [`FEATURES`] order.
    pub centroid: Vec<(String, f64)>,
    /// At most five genres, by track count descending, then by name.
    pub top_genres: Vec<(String, usize)>,
}

/// The result of [`cluster_tracks`].
#[derive(Debug, Clone)]
pub struct TrackClustering {
    /// The k with the best silhouette (ties go to the smaller k).
    pub chosen_k: usize,
    /// Every k tried, ascending.
    pub scores: Vec<KScore>,
    /// One profile per non-empty cluster, indexed by cluster id (fewer than `chosen_k` only if
    /// KMeans left a cluster empty).
    pub clusters: Vec<ClusterProfile>,
    /// Each input track's cluster id, in input order.
    pub assignments: Vec<usize>,
    /// Each input track's position on the 2-D PCA map of the standardised features.
    pub positions: Vec<[f64; 2]>,
    /// The standardisation the clusters were computed in.
    pub standardiser: Standardiser,
}

/// Per-feature standardisation to zero mean and unit (population) standard deviation.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardiser {
    /// Each feature's mean.
    pub means: [f64; 9],
    /// Each feature's population standard deviation (0 for a constant feature).
    pub stds: [f64; 9],
}

impl Standardiser {
    /// Fits the means and standard deviations of the rows' columns.
    pub fn fit(rows: &[[f64; 9]]) -> Self {
        let n = rows.len().max(1) as f64;
        let mut means = [0.0; 9];
        for row in rows {
            add_into(&mut means, row);
        }
        means.iter_mut().for_each(|m| *m /= n);
        let mut stds = [0.0; 9];
        for row in rows {
            for ((s, v), m) in stds.iter_mut().zip(row).zip(&means) {
                *s += (v - m) * (v - m);
            }
        }
        stds.iter_mut().for_each(|s| *s = (*s / n).sqrt());
        Self { means, stds }
    }

    /// Standardises one row; a feature without spread (std ≈ 0) is only centred.
    pub fn apply(&self, row: &[f64; 9]) -> [f64; 9] {
        std::array::from_fn(|i| (row[i] - self.means[i]) / self.scale(i))
    }

    /// Maps a standardised row back to the features' own units.
    pub fn invert(&self, standardised: &[f64; 9]) -> [f64; 9] {
        std::array::from_fn(|i| standardised[i] * self.scale(i) + self.means[i])
    }

    /// Whether feature `i` varies at all (its std is not rounding noise).
    fn varies(&self, i: usize) -> bool {
        let std = self.stds[i];
        std.is_finite() && std > 1e-12 * self.means[i].abs().max(1.0)
    }

    fn scale(&self, i: usize) -> f64 {
        if self.varies(i) { self.stds[i] } else { 1.0 }
    }
}

/// Clusters the catalogue by audio features (see the module documentation).
///
/// Fails with [`MlError::NotEnoughData`] unless there are more tracks than `k_min` (and at
/// least 3), and with [`MlError::Algorithm`] on a non-finite feature value or a linfa failure.
pub fn cluster_tracks(
    tracks: &[TrackFeatures],
    options: &ClusterOptions,
) -> Result<TrackClustering, MlError> {
    let n = tracks.len();
    let k_min = options.k_min.max(2);
    let k_max = options.k_max.min(n.saturating_sub(1));
    if n < k_min || k_max < k_min {
        return Err(MlError::NotEnoughData(format!(
            "{n} tracks cannot be clustered into {k_min}..={} clusters (more tracks than k_min needed)",
            options.k_max
        )));
    }
    let raw: Vec<[f64; 9]> = tracks.iter().map(|t| t.values).collect();
    check_finite(&raw, |i| format!("track {}", tracks[i].track_id))?;
    let standardiser = Standardiser::fit(&raw);
    let z: Vec<[f64; 9]> = raw.iter().map(|r| standardiser.apply(r)).collect();
    let all = to_array(&z);

    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let fit = to_array(&sample_rows(&z, &mut rng, FIT_SAMPLE));
    let sample = sample_indices(&mut rng, n, options.silhouette_sample.max(2));
    let sample_points: Vec<[f64; 9]> = sample.iter().map(|&i| z[i]).collect();

    let mut scores = Vec::new();
    let mut best: Option<(f64, usize, Vec<usize>)> = None;
    for k in k_min..=k_max {
        let seed = options.seed.wrapping_add(k as u64);
        let labels = kmeans_labels(&fit, &all, k, seed, options.max_iterations)?;
        let (means, _) = cluster_means(&z, &labels, k);
        let inertia: f64 = z
            .iter()
            .zip(&labels)
            .map(|(row, &label)| squared_distance(row, &means[label]))
            .sum();
        let sample_labels: Vec<usize> = sample.iter().map(|&i| labels[i]).collect();
        let silhouette = mean_silhouette(&sample_points, &sample_labels, k);
        tracing::debug!(k, silhouette, inertia, "track clusters");
        scores.push(KScore {
            k,
            silhouette,
            inertia,
        });
        let better = match &best {
            Some((s, _, _)) => silhouette > *s,
            None => true,
        };
        if better {
            best = Some((silhouette, k, labels));
        }
    }
    let Some((_, chosen_k, mut assignments)) = best else {
        return Err(MlError::NotEnoughData("no k to try".to_string()));
    };
    tracing::info!(chosen_k, tracks = n, "track clusters chosen by silhouette");

    let n_clusters = relabel_by_size(&mut assignments, chosen_k);
    let (means, sizes) = cluster_means(&z, &assignments, n_clusters);
    let units: Vec<[f64; 9]> = means.iter().map(|m| standardiser.invert(m)).collect();
    let labels = unique_labels(&means, &units);
    let genres = top_genres(tracks, &assignments, n_clusters);
    let clusters = labels
        .into_iter()
        .zip(sizes)
        .zip(units.iter().zip(genres))
        .enumerate()
        .map(
            |(cluster_id, ((label, size), (unit, top_genres)))| ClusterProfile {
                cluster_id,
                label,
                size,
                centroid: named(unit),
                top_genres,
            },
        )
        .collect();
    let positions = project_2d(&fit, &all, &z, &standardiser)?;
    Ok(TrackClustering {
        chosen_k,
        scores,
        clusters,
        assignments,
        positions,
        standardiser,
    })
}

/// A group of users with similar taste.
#[derive(Debug, Clone, Serialize)]
pub struct Segment {
    /// The segment's id: segments are numbered by size, largest first.
    pub segment_id: usize,
    /// A readable description derived from the centroid, unique among the segments.
    pub label: String,
    /// The number of users in the segment.
    pub size: usize,
    /// The segment's mean taste (feature name, value in the feature's own units).
    pub centroid: Vec<(String, f64)>,
}

/// The result of [`segment_users`].
#[derive(Debug, Clone)]
pub struct UserSegments {
    /// One entry per non-empty segment, indexed by segment id.
    pub segments: Vec<Segment>,
    /// Each input user's segment id, in input order.
    pub assignments: Vec<usize>,
}

/// User taste segments: KMeans (fixed k, clamped to the number of users) over users' mean
/// standardised feature vectors.
///
/// `tastes` holds each user's mean [`FEATURES`] over their listening, in the features' own
/// units. They are standardised among the users, so a label says how a segment differs from
/// the typical user, not from the typical track.
pub fn segment_users(tastes: &[[f64; 9]], k: usize, seed: u64) -> Result<UserSegments, MlError> {
    if tastes.is_empty() || k == 0 {
        return Err(MlError::NotEnoughData(format!(
            "{} users cannot be split into {k} segments",
            tastes.len()
        )));
    }
    check_finite(tastes, |i| format!("user {i}"))?;
    let k = k.min(tastes.len());
    let standardiser = Standardiser::fit(tastes);
    let z: Vec<[f64; 9]> = tastes.iter().map(|t| standardiser.apply(t)).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let fit = to_array(&sample_rows(&z, &mut rng, FIT_SAMPLE));
    let mut assignments = kmeans_labels(&fit, &to_array(&z), k, seed, SEGMENT_MAX_ITERATIONS)?;
    let n_segments = relabel_by_size(&mut assignments, k);
    let (means, sizes) = cluster_means(&z, &assignments, n_segments);
    let units: Vec<[f64; 9]> = means.iter().map(|m| standardiser.invert(m)).collect();
    let segments = unique_labels(&means, &units)
        .into_iter()
        .zip(sizes)
        .zip(&units)
        .enumerate()
        .map(|(segment_id, ((label, size), unit))| Segment {
            segment_id,
            label,
            size,
            centroid: named(unit),
        })
        .collect();
    Ok(UserSegments {
        segments,
        assignments,
    })
}

/// A readable label for a centroid: the words of the (at most three) features that stand out
/// most (largest |z|, at least 0.3), joined with " · "; "balanced" if none does.
///
/// `centroid_units` vetoes the "high" word of the probability-like features when the
/// centroid's own value does not support it (e.g. "instrumental" needs instrumentalness ≥ 0.5);
/// the next standing-out feature then takes its place.
pub fn label_for(centroid_standardised: &[f64; 9], centroid_units: &[f64; 9]) -> String {
    join_words(
        &label_words(centroid_standardised, centroid_units),
        LABEL_WORDS,
    )
}

/// Every applicable label word of a centroid, the most standing-out feature first.
fn label_words(z: &[f64; 9], units: &[f64; 9]) -> Vec<&'static str> {
    let mut standouts: Vec<(usize, f64)> = z
        .iter()
        .copied()
        .enumerate()
        .filter(|&(_, v)| v.abs() >= LABEL_MIN_Z)
        .collect();
    standouts.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
    standouts
        .into_iter()
        .filter_map(|(feature, v)| {
            let (high, low) = WORDS[feature];
            if v < 0.0 {
                return Some(low);
            }
            match HIGH_WORD_FLOOR[feature] {
                Some(floor) if units[feature] < floor => None,
                _ => Some(high),
            }
        })
        .collect()
}

fn join_words(words: &[&str], max: usize) -> String {
    if words.is_empty() {
        "balanced".to_string()
    } else {
        words[..words.len().min(max)].join(LABEL_SEPARATOR)
    }
}

/// Labels for all centroids, made unique: colliding labels get a fourth word, and any that
/// still collide get " #2", " #3", … in cluster order.
fn unique_labels(standardised: &[[f64; 9]], units: &[[f64; 9]]) -> Vec<String> {
    let words: Vec<Vec<&str>> = standardised
        .iter()
        .zip(units)
        .map(|(z, u)| label_words(z, u))
        .collect();
    let mut labels: Vec<String> = words.iter().map(|w| join_words(w, LABEL_WORDS)).collect();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for label in &labels {
        *counts.entry(label.clone()).or_insert(0) += 1;
    }
    for (label, w) in labels.iter_mut().zip(&words) {
        if counts.get(label.as_str()).copied().unwrap_or(0) > 1 {
            *label = join_words(w, LABEL_WORDS + 1);
        }
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for label in &mut labels {
        let count = seen.entry(label.clone()).or_insert(0);
        *count += 1;
        if *count > 1 {
            *label = format!("{label} #{count}");
        }
    }
    labels
}

/// Fits KMeans on `fit` and returns the nearest centroid of every row of `all`.
fn kmeans_labels(
    fit: &Array2<f64>,
    all: &Array2<f64>,
    k: usize,
    seed: u64,
    max_iterations: u64,
) -> Result<Vec<usize>, MlError> {
    let model = KMeans::params_with_rng(k, ChaCha8Rng::seed_from_u64(seed))
        .max_n_iterations(max_iterations.max(1))
        .tolerance(KMEANS_TOLERANCE)
        .n_runs(KMEANS_RUNS)
        .fit(&DatasetBase::from(fit.view()))
        .map_err(|e: KMeansError| MlError::Algorithm {
            algorithm: "kmeans",
            reason: e.to_string(),
        })?;
    let labels: Array1<usize> = model.predict(all);
    Ok(labels.to_vec())
}

/// Projects `all` on the first two principal components of `fit`. With fewer than two varying
/// features (PCA is degenerate there) the varying feature itself, if any, is the x axis.
fn project_2d(
    fit: &Array2<f64>,
    all: &Array2<f64>,
    z: &[[f64; 9]],
    standardiser: &Standardiser,
) -> Result<Vec<[f64; 2]>, MlError> {
    let varying: Vec<usize> = (0..FEATURES.len())
        .filter(|&i| standardiser.varies(i))
        .collect();
    match varying.as_slice() {
        [] => return Ok(vec![[0.0, 0.0]; z.len()]),
        [only] => return Ok(z.iter().map(|row| [row[*only], 0.0]).collect()),
        _ => {}
    }
    let pca = Pca::params(2)
        .fit(&DatasetBase::from(fit.view()))
        .map_err(|e: ReductionError| MlError::Algorithm {
            algorithm: "pca",
            reason: e.to_string(),
        })?;
    let projected: Array2<f64> = pca.predict(all);
    Ok(projected
        .rows()
        .into_iter()
        .map(|row| {
            let at = |i: usize| row.get(i).copied().unwrap_or(0.0);
            [at(0), at(1)]
        })
        .collect())
}

/// Mean silhouette of the points: for each, (b − a) / max(a, b) with a its mean distance to the
/// other points of its cluster and b the least mean distance to another cluster's points. A
/// point alone in its cluster (or with no other cluster in the sample) scores 0.
fn mean_silhouette(points: &[[f64; 9]], labels: &[usize], k: usize) -> f64 {
    if points.is_empty() {
        return 0.0;
    }
    let mut sizes = vec![0usize; k];
    labels.iter().for_each(|&l| sizes[l] += 1);
    let mut sums = vec![0.0; k];
    let total: f64 = points
        .iter()
        .zip(labels)
        .map(|(p, &own)| {
            if sizes[own] < 2 {
                return 0.0;
            }
            sums.fill(0.0);
            for (q, &l) in points.iter().zip(labels) {
                sums[l] += squared_distance(p, q).sqrt();
            }
            let a = sums[own] / (sizes[own] - 1) as f64;
            let b = sums
                .iter()
                .zip(&sizes)
                .enumerate()
                .filter(|&(c, (_, &size))| c != own && size > 0)
                .map(|(_, (sum, &size))| sum / size as f64)
                .fold(f64::INFINITY, f64::min);
            let scale = a.max(b);
            if b.is_finite() && scale > 0.0 {
                (b - a) / scale
            } else {
                0.0
            }
        })
        .sum();
    total / points.len() as f64
}

/// Each cluster's mean row and size.
fn cluster_means(rows: &[[f64; 9]], labels: &[usize], k: usize) -> (Vec<[f64; 9]>, Vec<usize>) {
    let mut sums = vec![[0.0; 9]; k];
    let mut sizes = vec![0usize; k];
    for (row, &label) in rows.iter().zip(labels) {
        sizes[label] += 1;
        add_into(&mut sums[label], row);
    }
    for (sum, &size) in sums.iter_mut().zip(&sizes) {
        if size > 0 {
            sum.iter_mut().for_each(|s| *s /= size as f64);
        }
    }
    (sums, sizes)
}

/// Renumbers clusters by size, largest first (ties by old id), dropping empty ones; returns
/// how many clusters remain.
fn relabel_by_size(labels: &mut [usize], k: usize) -> usize {
    let mut sizes = vec![0usize; k];
    labels.iter().for_each(|&l| sizes[l] += 1);
    let mut order: Vec<usize> = (0..k).filter(|&c| sizes[c] > 0).collect();
    order.sort_by_key(|&c| Reverse(sizes[c]));
    let mut new_id = vec![0usize; k];
    for (new, &old) in order.iter().enumerate() {
        new_id[old] = new;
    }
    labels.iter_mut().for_each(|l| *l = new_id[*l]);
    order.len()
}

/// Each cluster's most frequent genres (at most [`TOP_GENRES`]), by count then name.
fn top_genres(tracks: &[TrackFeatures], labels: &[usize], k: usize) -> Vec<Vec<(String, usize)>> {
    let mut counts: Vec<HashMap<&str, usize>> = vec![HashMap::new(); k];
    for (track, &label) in tracks.iter().zip(labels) {
        for genre in &track.genres {
            *counts[label].entry(genre.as_str()).or_insert(0) += 1;
        }
    }
    counts
        .into_iter()
        .map(|cluster| {
            let mut genres: Vec<(String, usize)> = cluster
                .into_iter()
                .map(|(genre, count)| (genre.to_string(), count))
                .collect();
            genres.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            genres.truncate(TOP_GENRES);
            genres
        })
        .collect()
}

/// Fails on the first row with a NaN or infinite value.
fn check_finite(rows: &[[f64; 9]], name: impl Fn(usize) -> String) -> Result<(), MlError> {
    match rows.iter().position(|r| r.iter().any(|v| !v.is_finite())) {
        Some(i) => Err(MlError::Algorithm {
            algorithm: "standardise",
            reason: format!("{} has a non-finite feature value", name(i)),
        }),
        None => Ok(()),
    }
}

/// At most `amount` distinct indices below `n`, ascending: all of them when `amount >= n`, else
/// a seeded random sample.
fn sample_indices(rng: &mut ChaCha8Rng, n: usize, amount: usize) -> Vec<usize> {
    if amount >= n {
        return (0..n).collect();
    }
    let mut indices = rand::seq::index::sample(rng, n, amount).into_vec();
    indices.sort_unstable();
    indices
}

fn sample_rows(rows: &[[f64; 9]], rng: &mut ChaCha8Rng, amount: usize) -> Vec<[f64; 9]> {
    sample_indices(rng, rows.len(), amount)
        .into_iter()
        .map(|i| rows[i])
        .collect()
}

fn to_array(rows: &[[f64; 9]]) -> Array2<f64> {
    Array2::from_shape_fn((rows.len(), FEATURES.len()), |(i, j)| rows[i][j])
}

fn named(values: &[f64; 9]) -> Vec<(String, f64)> {
    FEATURES
        .iter()
        .zip(values)
        .map(|(name, &value)| (name.to_string(), value))
        .collect()
}

fn add_into(sum: &mut [f64; 9], row: &[f64; 9]) {
    sum.iter_mut().zip(row).for_each(|(s, v)| *s += v);
}

fn squared_distance(a: &[f64; 9], b: &[f64; 9]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// Noise amplitude per feature, in the feature's own units.
    const SPREAD: [f64; 9] = [0.02, 0.02, 0.5, 0.01, 0.02, 0.02, 0.01, 0.02, 2.0];
    const POP: [f64; 9] = [0.80, 0.85, -5.0, 0.06, 0.10, 0.00, 0.12, 0.75, 125.0];
    const FOLK: [f64; 9] = [0.45, 0.25, -14.0, 0.04, 0.85, 0.05, 0.11, 0.35, 85.0];
    const AMBIENT: [f64; 9] = [0.30, 0.40, -18.0, 0.04, 0.60, 0.90, 0.10, 0.10, 100.0];

    fn jitter(rng: &mut ChaCha8Rng, centre: &[f64; 9]) -> [f64; 9] {
        std::array::from_fn(|i| centre[i] + rng.gen_range(-1.0..1.0) * SPREAD[i])
    }

    /// 100 tracks around each of three centres, blob by blob; pop tracks alternate a
    /// second genre.
    fn planted() -> Vec<TrackFeatures> {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let blobs = [(POP, "pop"), (FOLK, "folk"), (AMBIENT, "ambient")];
        let mut tracks = Vec::new();
        for (centre, genre) in blobs {
            for i in 0..100 {
                let mut genres = vec![genre.to_string()];
                if genre == "pop" && i % 2 == 0 {
                    genres.push("dance".to_string());
                }
                tracks.push(TrackFeatures {
                    track_id: format!("{genre}-{i}"),
                    genres,
                    values: jitter(&mut rng, &centre),
                });
            }
        }
        tracks
    }

    fn small_range() -> ClusterOptions {
        ClusterOptions {
            k_min: 2,
            k_max: 6,
            ..ClusterOptions::default()
        }
    }

    #[test]
    fn finds_planted_blobs() {
        let tracks = planted();
        let result = cluster_tracks(&tracks, &small_range()).expect("clustering");
        assert_eq!(result.chosen_k, 3);
        assert_eq!(result.assignments.len(), tracks.len());
        assert_eq!(result.positions.len(), tracks.len());
        assert_eq!(result.clusters.len(), 3);
        let ks: Vec<usize> = result.scores.iter().map(|s| s.k).collect();
        assert_eq!(ks, vec![2, 3, 4, 5, 6]);
        let best = result
            .scores
            .iter()
            .find(|s| s.k == 3)
            .expect("k = 3 scored");
        assert!(
            result
                .scores
                .iter()
                .all(|s| s.silhouette <= best.silhouette)
        );
        assert!(best.silhouette > 0.6, "silhouette {}", best.silhouette);

        let mut seen = Vec::new();
        for (blob, genre) in ["pop", "folk", "ambient"].iter().enumerate() {
            let ids = &result.assignments[blob * 100..(blob + 1) * 100];
            assert!(ids.iter().all(|&c| c == ids[0]), "{genre} split");
            let cluster = &result.clusters[ids[0]];
            assert_eq!(cluster.size, 100);
            assert_eq!(cluster.top_genres[0], (genre.to_string(), 100));
            seen.push(ids[0]);
        }
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 3, "blobs share a cluster");

        let pop = &result.clusters[result.assignments[0]];
        assert_eq!(pop.top_genres[1], ("dance".to_string(), 50));
        let (name, tempo) = &pop.centroid[8];
        assert_eq!(name, "tempo");
        assert!((tempo - 125.0).abs() < 1.0, "tempo {tempo}");
        let mut labels: Vec<&str> = result.clusters.iter().map(|c| c.label.as_str()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), 3);
    }

    #[test]
    fn same_seed_same_result() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let tracks: Vec<TrackFeatures> = (0..400)
            .map(|i| TrackFeatures {
                track_id: i.to_string(),
                genres: vec!["rock".to_string()],
                values: jitter(&mut rng, &POP).map(|v| v * rng.gen_range(0.5..1.5)),
            })
            .collect();
        let options = ClusterOptions {
            silhouette_sample: 150,
            ..small_range()
        };
        let first = cluster_tracks(&tracks, &options).expect("first run");
        let second = cluster_tracks(&tracks, &options).expect("second run");
        assert_eq!(first.assignments, second.assignments);
        assert_eq!(first.positions, second.positions);
        let silhouettes =
            |r: &TrackClustering| -> Vec<f64> { r.scores.iter().map(|s| s.silhouette).collect() };
        assert_eq!(silhouettes(&first), silhouettes(&second));
    }

    #[test]
    fn labels_describe_the_centroid() {
        let z = [0.0, 1.5, 0.0, 0.0, -1.2, 0.0, 0.0, 0.1, 0.0];
        let units = [0.6, 0.9, -5.0, 0.05, 0.05, 0.0, 0.15, 0.5, 120.0];
        let label = label_for(&z, &units);
        assert!(label.contains("energetic"), "{label}");
        assert!(label.contains("electric"), "{label}");
        assert_eq!(label, "energetic · electric");
        assert_eq!(label_for(&[0.1; 9], &units), "balanced");
        // Above-average instrumentalness that is still mostly vocal is not "instrumental".
        let z = [0.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, -0.5];
        let units = [0.6, 0.6, -7.0, 0.05, 0.3, 0.2, 0.15, 0.5, 100.0];
        assert_eq!(label_for(&z, &units), "low tempo");
    }

    #[test]
    fn colliding_labels_are_made_unique() {
        let z = [0.0, 1.5, 0.0, 0.0, -1.2, 0.0, 0.0, 0.0, 0.0];
        let units = [0.6, 0.9, -5.0, 0.05, 0.05, 0.0, 0.15, 0.5, 120.0];
        let labels = unique_labels(&[z, z], &[units, units]);
        assert_eq!(labels[0], "energetic · electric");
        assert_eq!(labels[1], "energetic · electric #2");
    }

    #[test]
    fn too_few_tracks_is_not_enough_data() {
        let tracks: Vec<TrackFeatures> = planted().into_iter().take(3).collect();
        let result = cluster_tracks(&tracks, &ClusterOptions::default());
        assert!(matches!(result, Err(MlError::NotEnoughData(_))));
    }

    #[test]
    fn segments_split_planted_tastes() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let tastes: Vec<[f64; 9]> = (0..40)
            .map(|i| jitter(&mut rng, if i < 20 { &POP } else { &FOLK }))
            .collect();
        let result = segment_users(&tastes, 2, 5).expect("segments");
        assert_eq!(result.segments.len(), 2);
        let (energetic, acoustic) = result.assignments.split_at(20);
        assert!(energetic.iter().all(|&s| s == energetic[0]));
        assert!(acoustic.iter().all(|&s| s == acoustic[0]));
        assert_ne!(energetic[0], acoustic[0]);
        assert!(result.segments.iter().all(|s| s.size == 20));
        assert_ne!(result.segments[0].label, result.segments[1].label);

        let clamped = segment_users(&tastes[..1], 3, 5).expect("one user");
        assert_eq!(clamped.segments.len(), 1);
        assert_eq!(clamped.assignments, vec![0]);
    }

    #[test]
    fn standardiser_centres_and_scales() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let rows: Vec<[f64; 9]> = (0..500)
            .map(|_| {
                let mut row = jitter(&mut rng, &AMBIENT).map(|v| v * 3.0);
                row[5] = 0.25;
                row
            })
            .collect();
        let standardiser = Standardiser::fit(&rows);
        let z: Vec<[f64; 9]> = rows.iter().map(|r| standardiser.apply(r)).collect();
        let again = Standardiser::fit(&z);
        for (feature, (mean, std)) in again.means.iter().zip(&again.stds).enumerate() {
            assert!(mean.abs() < 1e-9, "{} mean {mean}", FEATURES[feature]);
            let expected = if feature == 5 { 0.0 } else { 1.0 };
            assert!(
                (std - expected).abs() < 1e-9,
                "{} std {std}",
                FEATURES[feature]
            );
        }
        let back = standardiser.invert(&z[0]);
        assert!(back.iter().zip(&rows[0]).all(|(a, b)| (a - b).abs() < 1e-9));
    }
}
