//! Clusters and segments over planted blobs of audio features.

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
