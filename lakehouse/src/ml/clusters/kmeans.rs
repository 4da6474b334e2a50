//! KMeans fitted on a sample and applied to all points, the PCA map, the silhouette score,
//! and the small vector helpers they share.

use std::cmp::Reverse;

use linfa::DatasetBase;
use linfa::traits::{Fit, Predict};
use linfa_clustering::{KMeans, KMeansError};
use linfa_reduction::{Pca, ReductionError};
use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::FEATURES;
use super::standardise::{Standardiser, add_into};
use crate::ml::MlError;

/// KMeans restarts per k; the run with the lowest inertia wins.
const KMEANS_RUNS: usize = 2;

/// KMeans stops once its centroids move less than this (L2 norm over all centroids).
const KMEANS_TOLERANCE: f64 = 1e-4;

/// Fits KMeans on `fit` and returns the nearest centroid of every row of `all`.
pub(super) fn kmeans_labels(
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
pub(super) fn project_2d(
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
pub(super) fn mean_silhouette(points: &[[f64; 9]], labels: &[usize], k: usize) -> f64 {
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
pub(super) fn cluster_means(
    rows: &[[f64; 9]],
    labels: &[usize],
    k: usize,
) -> (Vec<[f64; 9]>, Vec<usize>) {
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
pub(super) fn relabel_by_size(labels: &mut [usize], k: usize) -> usize {
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

/// At most `amount` distinct indices below `n`, ascending: all of them when `amount >= n`, else
/// a seeded random sample.
pub(super) fn sample_indices(rng: &mut ChaCha8Rng, n: usize, amount: usize) -> Vec<usize> {
    if amount >= n {
        return (0..n).collect();
    }
    let mut indices = rand::seq::index::sample(rng, n, amount).into_vec();
    indices.sort_unstable();
    indices
}

pub(super) fn sample_rows(rows: &[[f64; 9]], rng: &mut ChaCha8Rng, amount: usize) -> Vec<[f64; 9]> {
    sample_indices(rng, rows.len(), amount)
        .into_iter()
        .map(|i| rows[i])
        .collect()
}

pub(super) fn to_array(rows: &[[f64; 9]]) -> Array2<f64> {
    Array2::from_shape_fn((rows.len(), FEATURES.len()), |(i, j)| rows[i][j])
}

pub(super) fn squared_distance(a: &[f64; 9], b: &[f64; 9]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}
