//! Standardising audio features, and the check that they are finite.

use crate::ml::MlError;

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
    pub(super) fn varies(&self, i: usize) -> bool {
        let std = self.stds[i];
        std.is_finite() && std > 1e-12 * self.means[i].abs().max(1.0)
    }

    fn scale(&self, i: usize) -> f64 {
        if self.varies(i) { self.stds[i] } else { 1.0 }
    }
}

/// Fails on the first row with a NaN or infinite value.
pub(super) fn check_finite(
    rows: &[[f64; 9]],
    name: impl Fn(usize) -> String,
) -> Result<(), MlError> {
    match rows.iter().position(|r| r.iter().any(|v| !v.is_finite())) {
        Some(i) => Err(MlError::Algorithm {
            algorithm: "standardise",
            reason: format!("{} has a non-finite feature value", name(i)),
        }),
        None => Ok(()),
    }
}

pub(super) fn add_into(sum: &mut [f64; 9], row: &[f64; 9]) {
    sum.iter_mut().zip(row).for_each(|(s, v)| *s += v);
}
