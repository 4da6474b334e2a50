//! The deterministic demo catalogue.

use std::path::Path;

use rand::distributions::WeightedIndex;
use rand::prelude::*;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Gamma, Normal};

use super::genre_profiles::{GenreProfile, Stat, genre_profiles};
use super::names;
use crate::error::{LakehouseError, Result};
use crate::sources::catalog_csv::SPOTIFY_TRACKS_HEADER;

/// The shape of a demo catalogue. The same settings always give the same tracks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DemoCatalog {
    /// Distinct tracks to generate, spread evenly over the 114 genres.
    pub tracks: usize,
    /// Share of tracks also listed under a second, related genre (the real data: ~19 %).
    pub multi_genre_share: f64,
    pub seed: u64,
}

impl Default for DemoCatalog {
    fn default() -> Self {
        Self {
            tracks: 20_000,
            multi_genre_share: 0.15,
            seed: 42,
        }
    }
}

/// One generated track in one genre, with the columns of the Spotify Tracks Dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoTrack {
    pub track_id: String,
    pub artists: Vec<String>,
    pub album_name: String,
    pub track_name: String,
    pub popularity: u32,
    pub duration_ms: u32,
    pub explicit: bool,
    pub danceability: f64,
    pub energy: f64,
    pub key: u32,
    pub loudness: f64,
    pub mode: u32,
    pub speechiness: f64,
    pub acousticness: f64,
    pub instrumentalness: f64,
    pub liveness: f64,
    pub valence: f64,
    pub tempo: f64,
    pub time_signature: u32,
    pub genre: &'static str,
}

/// The shortest generated track: the real data's minimum of 0 ms is its one empty row.
const MIN_DURATION_MS: f64 = 30_000.0;

struct Artist {
    name: String,
    albums: Vec<String>,
}

impl DemoCatalog {
    /// Generates the catalogue: one row per (track, genre), as the real dataset lists it.
    pub fn generate(&self) -> Vec<DemoTrack> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let profiles = genre_profiles();
        let genres = profiles.len();
        let mut rows = Vec::with_capacity(self.tracks + self.tracks / 5);
        for (index, profile) in profiles.iter().enumerate() {
            // Spread the tracks evenly: every genre gets tracks / genres, give or take one.
            let in_genre = self.tracks * (index + 1) / genres - self.tracks * index / genres;
            let artists = artist_pool(&mut rng, in_genre / 4 + 1);
            // Artist popularity within a genre is Zipf-like: a few artists own many tracks.
            let weights: Vec<f64> = (1..=artists.len()).map(|r| 1.0 / r as f64).collect();
            let artist_index = WeightedIndex::new(&weights).expect("positive weights");
            for _ in 0..in_genre {
                let artist = &artists[artist_index.sample(&mut rng)];
                let track = generate_track(&mut rng, profile, artist, &artists);
                if rng.gen_bool(self.multi_genre_share) {
                    // Listed again under a neighbouring genre, as the real data does.
                    let neighbour = &profiles[(index + 1) % genres];
                    rows.push(DemoTrack {
                        genre: &neighbour.genre,
                        ..track.clone()
                    });
                }
                rows.push(track);
            }
        }
        rows
    }
}

fn artist_pool(rng: &mut ChaCha8Rng, count: usize) -> Vec<Artist> {
    (0..count)
        .map(|_| {
            let albums = (0..rng.gen_range(1..=3))
                .map(|_| names::album_name(rng))
                .collect();
            Artist {
                name: names::artist_name(rng),
                albums,
            }
        })
        .collect()
}

fn generate_track(
    rng: &mut ChaCha8Rng,
    profile: &'static GenreProfile,
    artist: &Artist,
    others: &[Artist],
) -> DemoTrack {
    let mut artists = vec![artist.name.clone()];
    if rng.gen_bool(0.12) {
        let guest = &others[rng.gen_range(0..others.len())].name;
        if guest != &artist.name {
            artists.push(guest.clone());
        }
    }
    let key_index = WeightedIndex::new(profile.key_shares).map_or(0, |d| d.sample(rng));
    let time_signature = if rng.gen_bool(profile.four_four_share) {
        4
    } else {
        *[3, 3, 3, 5, 1].choose(rng).unwrap_or(&3)
    };
    DemoTrack {
        track_id: spotify_like_id(rng),
        artists,
        album_name: artist.albums.choose(rng).cloned().unwrap_or_default(),
        track_name: names::track_name(rng),
        popularity: normal(rng, profile.popularity).round() as u32,
        duration_ms: normal(rng, profile.duration_ms)
            .max(MIN_DURATION_MS)
            .round() as u32,
        explicit: rng.gen_bool(profile.explicit_share),
        danceability: unit(rng, profile.danceability),
        energy: unit(rng, profile.energy),
        key: key_index as u32,
        loudness: round_to(normal(rng, profile.loudness), 3),
        mode: u32::from(rng.gen_bool(profile.mode_major_share)),
        speechiness: unit(rng, profile.speechiness),
        acousticness: unit(rng, profile.acousticness),
        instrumentalness: unit(rng, profile.instrumentalness),
        liveness: unit(rng, profile.liveness),
        valence: unit(rng, profile.valence),
        tempo: round_to(normal(rng, profile.tempo), 3),
        time_signature,
        genre: &profile.genre,
    }
}

/// A normal draw with the genre's mean and spread, kept within the genre's observed range.
fn normal(rng: &mut ChaCha8Rng, stat: Stat) -> f64 {
    let draw =
        Normal::new(stat.mean, stat.std.max(f64::EPSILON)).map_or(stat.mean, |d| d.sample(rng));
    draw.clamp(stat.min, stat.max)
}

/// A draw in [0, 1] from the Beta distribution with the genre's mean and variance; skewed
/// features such as instrumentalness keep their shape this way, unlike a clamped normal.
fn unit(rng: &mut ChaCha8Rng, stat: Stat) -> f64 {
    let (mean, variance) = (stat.mean.clamp(1e-4, 1.0 - 1e-4), stat.std.powi(2));
    let common = mean * (1.0 - mean) / variance.max(1e-9) - 1.0;
    let draw = if common > 0.0 {
        beta(rng, mean * common, (1.0 - mean) * common).unwrap_or(mean)
    } else {
        normal(rng, stat)
    };
    round_to(draw.clamp(stat.min.max(0.0), stat.max.min(1.0)), 4)
}

/// A Beta(a, b) draw as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b), which stays accurate
/// for the small shape parameters skewed features need.
fn beta(rng: &mut ChaCha8Rng, a: f64, b: f64) -> Option<f64> {
    let x = Gamma::new(a, 1.0).ok()?.sample(rng);
    let y = Gamma::new(b, 1.0).ok()?.sample(rng);
    (x + y > 0.0).then(|| x / (x + y))
}

fn round_to(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

fn spotify_like_id(rng: &mut ChaCha8Rng) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..22)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Writes the demo catalogue as a CSV file in the Spotify Tracks Dataset schema, so that it
/// enters the lake through the same import path as real data. Returns the rows written.
pub fn write_demo_catalog_csv(path: &Path, catalog: &DemoCatalog) -> Result<usize> {
    let io_error = |e| LakehouseError::io("writing", path, e);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io_error)?;
    }
    let rows = catalog.generate();
    let mut writer = csv::Writer::from_path(path).map_err(|source| LakehouseError::Csv {
        path: path.to_path_buf(),
        source,
    })?;
    let csv_error = |source| LakehouseError::Csv {
        path: path.to_path_buf(),
        source,
    };
    writer
        .write_record(SPOTIFY_TRACKS_HEADER)
        .map_err(csv_error)?;
    for t in &rows {
        let explicit = if t.explicit { "True" } else { "False" };
        writer
            .write_record([
                t.track_id.as_str(),
                &t.artists.join(";"),
                &t.album_name,
                &t.track_name,
                &t.popularity.to_string(),
                &t.duration_ms.to_string(),
                explicit,
                &t.danceability.to_string(),
                &t.energy.to_string(),
                &t.key.to_string(),
                &t.loudness.to_string(),
                &t.mode.to_string(),
                &t.speechiness.to_string(),
                &t.acousticness.to_string(),
                &t.instrumentalness.to_string(),
                &t.liveness.to_string(),
                &t.valence.to_string(),
                &t.tempo.to_string(),
                &t.time_signature.to_string(),
                t.genre,
            ])
            .map_err(csv_error)?;
    }
    writer.flush().map_err(io_error)?;
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn small() -> DemoCatalog {
        DemoCatalog {
            tracks: 2_280,
            ..DemoCatalog::default()
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_catalogue_and_another_seed_another() {
        assert_eq!(small().generate(), small().generate());
        let other = DemoCatalog { seed: 7, ..small() }.generate();
        assert_ne!(small().generate()[0].track_id, other[0].track_id);
    }

    #[test]
    fn generates_the_requested_number_of_distinct_tracks_over_every_genre() {
        let rows = small().generate();
        let ids: HashSet<_> = rows.iter().map(|r| r.track_id.as_str()).collect();
        let genres: HashSet<_> = rows.iter().map(|r| r.genre).collect();
        assert_eq!(ids.len(), 2_280);
        assert_eq!(genres.len(), genre_profiles().len());
        let repeated = rows.len() - ids.len();
        assert!(
            (150..=550).contains(&repeated),
            "{repeated} rows in a second genre"
        );
    }

    #[test]
    fn features_follow_the_genre_statistics() {
        let rows = DemoCatalog {
            tracks: 22_800,
            ..DemoCatalog::default()
        }
        .generate();
        for genre in ["classical", "edm", "hip-hop"] {
            let profile = genre_profiles().iter().find(|p| p.genre == genre).unwrap();
            let in_genre: Vec<_> = rows.iter().filter(|r| r.genre == genre).collect();
            let mean = |f: fn(&DemoTrack) -> f64| {
                in_genre.iter().map(|r| f(r)).sum::<f64>() / in_genre.len() as f64
            };
            let energy = mean(|r| r.energy);
            let acoustic = mean(|r| r.acousticness);
            assert!(
                (energy - profile.energy.mean).abs() < 0.05,
                "{genre} energy {energy}"
            );
            assert!(
                (acoustic - profile.acousticness.mean).abs() < 0.05,
                "{genre} {acoustic}"
            );
        }
    }

    #[test]
    fn values_stay_in_their_valid_ranges() {
        for row in small().generate() {
            assert!(row.popularity <= 100);
            assert!(row.key <= 11);
            assert!((0.0..=1.0).contains(&row.danceability));
            assert!((0.0..=1.0).contains(&row.instrumentalness));
            assert!(row.duration_ms > 0);
            assert!(!row.track_name.is_empty() && !row.artists[0].is_empty());
        }
    }
}
