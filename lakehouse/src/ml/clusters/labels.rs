//! Readable labels for centroids of audio features ("acoustic · calm · low tempo").

use std::collections::HashMap;

use super::FEATURES;

/// A feature takes part in a label only if its standardised centroid is at least this far from 0.
const LABEL_MIN_Z: f64 = 0.3;

/// Words in a label; one more is tried when two labels collide.
const LABEL_WORDS: usize = 3;

const LABEL_SEPARATOR: &str = " · ";

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
pub(super) fn unique_labels(standardised: &[[f64; 9]], units: &[[f64; 9]]) -> Vec<String> {
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

pub(super) fn named(values: &[f64; 9]) -> Vec<(String, f64)> {
    FEATURES
        .iter()
        .zip(values)
        .map(|(name, &value)| (name.to_string(), value))
        .collect()
}
