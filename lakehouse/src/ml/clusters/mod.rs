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

mod kmeans;
mod labels;
mod segments;
mod standardise;

use std::collections::HashMap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::MlError;
use kmeans::{
    cluster_means, kmeans_labels, mean_silhouette, project_2d, relabel_by_size, sample_indices,
    sample_rows, squared_distance, to_array,
};
use labels::{named, unique_labels};
use standardise::check_finite;

pub use labels::label_for;
pub use segments::{Segment, UserSegments, segment_users};
pub use standardise::Standardiser;

/// The audio features clustered, in this order.
pub const FEATURES: [&str; 9] = crate::silver::tracks::AUDIO_FEATURES;

/// KMeans and PCA are fitted on at most this many points (a seeded sample); all are assigned.
pub const FIT_SAMPLE: usize = 20_000;

const TOP_GENRES: usize = 5;

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

#[cfg(test)]
mod tests;
