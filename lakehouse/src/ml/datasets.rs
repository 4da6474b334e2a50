//! Where interactions come from: soundlake's listens (simulated here, or silver in the
//! pipeline's ML stage) or any user–item–weight file (see [`Interactions::read_delimited`]).

use std::collections::HashSet;

use chrono::{TimeZone, Utc};

use super::clusters::{FEATURES, Standardiser};
use super::feedback::{Feedback, Verdict};
use super::interactions::{Interactions, InteractionsBuilder, index_of};
use super::models::content::ItemFeatures;
use crate::demo::{DemoCatalog, DemoTrack};
use crate::simulate::{self, SimTrack, Simulation};

/// A catalogue track as the ML stage sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogTrack {
    pub track_id: String,
    pub name: String,
    pub primary_artist: String,
    pub primary_genre: String,
    pub genres: Vec<String>,
    /// In `ml::clusters::FEATURES` order.
    pub features: [f64; 9],
}

/// Listeners' interactions, with every catalogue track declared as an item (in `tracks`
/// order, so item `i` is `tracks[i]`), and the (listener, track) pairs that were mostly
/// skipped.
#[derive(Debug, Clone)]
pub struct ListenData {
    pub interactions: Interactions,
    /// (user, item) pairs whose weight is not positive.
    pub skipped_pairs: Vec<(u32, u32)>,
    pub listens: i64,
}

/// What a fully played listen adds to a (listener, track) weight.
pub const PLAY_WEIGHT: f64 = 1.0;
/// What a skip adds: a negative signal. A track mostly skipped ends at or below zero and is
/// not a positive interaction.
pub const SKIP_WEIGHT: f64 = -0.5;

/// A listen is a skip when under 30 s was played, the player says the listener moved on, or
/// the client flagged it (the rule of `silver/listens`'s `is_skip`).
pub fn is_skip(ms_played: i64, end_reason: Option<&str>, skipped: Option<bool>) -> bool {
    ms_played < 30_000 || matches!(end_reason, Some("fwdbtn" | "backbtn")) || skipped == Some(true)
}

/// A track's audio features in [`FEATURES`] order.
pub fn demo_features(t: &DemoTrack) -> [f64; 9] {
    [
        t.danceability,
        t.energy,
        t.loudness,
        t.speechiness,
        t.acousticness,
        t.instrumentalness,
        t.liveness,
        t.valence,
        t.tempo,
    ]
}

/// Standardised feature vectors aligned with `data`'s items (`None` for unknown items).
pub fn item_features(
    data: &Interactions,
    features_of: impl Fn(&str) -> Option<[f64; 9]>,
) -> ItemFeatures {
    let raw: Vec<Option<[f64; 9]>> = data.item_ids().iter().map(|id| features_of(id)).collect();
    ItemFeatures::from_rows(&standardise(&raw))
}

/// Each row standardised with the means and spreads of the known rows (`None` stays `None`).
pub fn standardise(raw: &[Option<[f64; 9]>]) -> Vec<Option<[f64; 9]>> {
    let known: Vec<[f64; 9]> = raw.iter().flatten().copied().collect();
    let standardiser = Standardiser::fit(&known);
    raw.iter()
        .map(|v| v.as_ref().map(|v| standardiser.apply(v)))
        .collect()
}

/// A simulated listening history over a generated catalogue, as interactions.
#[derive(Debug, Clone)]
pub struct SimulatedDataset {
    /// The listens' weights alone.
    pub interactions: Interactions,
    /// The listeners' likes and dislikes, indexed like `interactions`.
    pub feedback: Feedback,
    pub features: ItemFeatures,
    pub listens: usize,
}

/// The settings of [`simulated`].
#[derive(Debug, Clone, Copy)]
pub struct SimulatedSettings {
    pub tracks: usize,
    pub users: usize,
    pub days: u32,
    pub listens_per_day: f64,
    pub seed: u64,
}

impl Default for SimulatedSettings {
    fn default() -> Self {
        Self {
            tracks: 5_000,
            users: 1_000,
            days: 60,
            listens_per_day: 15.0,
            seed: 42,
        }
    }
}

/// Generates the catalogue and the history, and folds the listens into weights.
pub fn simulated(settings: &SimulatedSettings) -> SimulatedDataset {
    let catalogue = DemoCatalog {
        tracks: settings.tracks,
        seed: settings.seed,
        ..DemoCatalog::default()
    }
    .generate();
    let mut seen = HashSet::new();
    let tracks: Vec<&DemoTrack> = catalogue
        .iter()
        .filter(|t| seen.insert(t.track_id.clone()))
        .collect();
    let sim_tracks: Vec<SimTrack> = tracks
        .iter()
        .map(|t| SimTrack {
            track_id: t.track_id.clone(),
            duration_ms: i64::from(t.duration_ms),
            genre: t.genre.to_owned(),
            popularity: i64::from(t.popularity),
            features: [t.energy, t.valence, t.danceability, t.acousticness],
        })
        .collect();
    let sim = Simulation {
        users: settings.users,
        days: settings.days,
        listens_per_day: settings.listens_per_day,
        seed: settings.seed,
        start: Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default(),
    };
    let simulate::History { listens, feedback } = simulate::history(&sim, &sim_tracks);
    let mut builder = InteractionsBuilder::new();
    for t in &tracks {
        builder.add_item(&t.track_id);
    }
    for l in &listens {
        let skip = is_skip(l.ms_played, l.end_reason.as_deref(), l.skipped);
        builder.add(
            &l.user_id,
            &l.track_id,
            if skip { SKIP_WEIGHT } else { PLAY_WEIGHT },
        );
    }
    let interactions = builder.build();
    let feedback = index_feedback(&interactions, &feedback);
    let by_id: std::collections::HashMap<&str, [f64; 9]> = tracks
        .iter()
        .map(|t| (t.track_id.as_str(), demo_features(t)))
        .collect();
    let features = item_features(&interactions, |id| by_id.get(id).copied());
    debug_assert_eq!(FEATURES.len(), 9);
    SimulatedDataset {
        interactions,
        feedback,
        features,
        listens: listens.len(),
    }
}

/// Simulated feedback indexed like `data` (words on unknown listeners or tracks left out).
fn index_feedback(data: &Interactions, feedback: &[simulate::SimFeedback]) -> Feedback {
    let (users, items) = (index_of(data.user_ids()), index_of(data.item_ids()));
    Feedback::new(
        feedback
            .iter()
            .filter_map(|f| {
                let verdict = if f.like {
                    Verdict::Like
                } else {
                    Verdict::Dislike
                };
                Some((
                    *users.get(f.user_id.as_str())?,
                    *items.get(f.track_id.as_str())?,
                    verdict,
                ))
            })
            .collect(),
    )
}
