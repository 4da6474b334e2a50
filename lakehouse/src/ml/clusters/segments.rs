//! Listener taste segments: KMeans over listeners' mean audio features.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::FIT_SAMPLE;
use super::kmeans::{cluster_means, kmeans_labels, relabel_by_size, sample_rows, to_array};
use super::labels::{named, unique_labels};
use super::standardise::{Standardiser, check_finite};
use crate::ml::MlError;

/// Iteration cap of [`segment_users`]' KMeans.
const SEGMENT_MAX_ITERATIONS: u64 = 100;

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
/// `tastes` holds each user's mean [`FEATURES`](super::FEATURES) over their listening, in the features' own
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
