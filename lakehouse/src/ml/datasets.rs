//! Where interactions come from: soundlake's listens (simulated here, or silver in the
//! pipeline's ML stage) or any user–item–weight file (see [`Interactions::read_delimited`]).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::clusters::Standardiser;
use super::feedback::{Feedback, Verdict};
use super::interactions::{Interactions, InteractionsBuilder, index_of};
use super::models::content::ItemFeatures;
use super::split::{FirstPlays, Holdout};
use crate::demo::{DemoCatalog, DemoTrack};
use crate::ingest::Listen;
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
    /// When each listener first played each track of their row.
    pub first_plays: FirstPlays,
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

/// A track's audio features in [`FEATURES`](super::clusters::FEATURES) order.
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
    /// The listeners' likes and dislikes, and the pairs they mostly skipped, indexed like
    /// `interactions`.
    pub feedback: Feedback,
    pub features: ItemFeatures,
    /// When each listener first played each track of their row of `interactions`.
    pub first_plays: FirstPlays,
    pub listens: usize,
    /// The same history split in time, for measuring what feedback is worth.
    pub later: LaterPlays,
}

/// A history split at a moment, and again at an earlier one for validation: models are tuned on
/// what listeners played in the days before the cutoff (having learnt from what came before
/// those days), then trained on everything before the cutoff and measured on what came after
/// it. A random validation split would hold out plays from the same weeks it trains on, where
/// the plays already say what a word said before them could tell.
#[derive(Debug, Clone)]
pub struct LaterPlays {
    /// The split at the cutoff, which the models are measured on.
    pub test: TimeSplit,
    /// The same split of the history before the cutoff, as many days earlier, which the
    /// models are tuned on. Indexed on its own: its listeners are those who had played by then.
    pub validation: TimeSplit,
}

/// A history split at a moment: what a model may learn from is what happened before it, and
/// it is measured on what each listener went on to play after it.
#[derive(Debug, Clone)]
pub struct TimeSplit {
    /// `train`: every listen before the cutoff, indexed like the whole history's items (its
    /// listeners are those who had played by then). `test`: per listener with at least
    /// [`MIN_EARLIER_ITEMS`] tracks in `train`, the tracks not in their `train` row whose
    /// weight after the cutoff is positive (as the weights count plays and skips).
    pub split: Holdout,
    /// The likes and dislikes given before the cutoff, and the pairs mostly skipped before it,
    /// indexed like `split.train`.
    pub feedback: Feedback,
    pub cutoff: DateTime<Utc>,
}

/// Listeners with fewer tracks before the cutoff are not measured (the protocol's default).
pub const MIN_EARLIER_ITEMS: usize = 5;

/// The settings of [`simulated`].
#[derive(Debug, Clone, Copy)]
pub struct SimulatedSettings {
    pub tracks: usize,
    pub users: usize,
    pub days: u32,
    pub listens_per_day: f64,
    pub seed: u64,
    /// The last days of the history, which [`LaterPlays`] holds out.
    pub later_days: u32,
}

impl Default for SimulatedSettings {
    fn default() -> Self {
        Self {
            tracks: 5_000,
            users: 1_000,
            days: 60,
            listens_per_day: 15.0,
            seed: 42,
            later_days: 12,
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
    let track_ids: Vec<&str> = tracks.iter().map(|t| t.track_id.as_str()).collect();
    let (interactions, skipped) = weights(&track_ids, &listens);
    let cutoff =
        sim.start + Duration::days(i64::from(settings.days.saturating_sub(settings.later_days)));
    let later_days = Duration::days(i64::from(settings.later_days));
    let later = LaterPlays {
        test: time_split(
            &track_ids,
            &listens,
            &feedback,
            cutoff,
            DateTime::<Utc>::MAX_UTC,
        ),
        validation: time_split(&track_ids, &listens, &feedback, cutoff - later_days, cutoff),
    };
    let feedback = index_feedback(&interactions, &feedback).with_skipped(skipped);
    let by_id: HashMap<&str, [f64; 9]> = tracks
        .iter()
        .map(|t| (t.track_id.as_str(), demo_features(t)))
        .collect();
    let features = item_features(&interactions, |id| by_id.get(id).copied());
    SimulatedDataset {
        first_plays: first_plays(&interactions, &listens),
        interactions,
        feedback,
        features,
        listens: listens.len(),
        later,
    }
}

/// The listens folded into weights, every track of `track_ids` an item in that order.
fn weights<'a>(
    track_ids: &[&str],
    listens: impl IntoIterator<Item = &'a Listen>,
) -> (Interactions, Vec<(u32, u32)>) {
    let mut builder = InteractionsBuilder::new();
    for t in track_ids {
        builder.add_item(t);
    }
    for l in listens {
        let skip = is_skip(l.ms_played, l.end_reason.as_deref(), l.skipped);
        builder.add(
            &l.user_id,
            &l.track_id,
            if skip { SKIP_WEIGHT } else { PLAY_WEIGHT },
        );
    }
    builder.build_with_skipped()
}

/// When each listener first played each track of their row of `data`.
fn first_plays(data: &Interactions, listens: &[Listen]) -> FirstPlays {
    let (users, items) = (index_of(data.user_ids()), index_of(data.item_ids()));
    let mut first: HashMap<(u32, u32), i64> = HashMap::new();
    for l in listens {
        let user = users.get(l.user_id.as_str());
        if let (Some(&u), Some(&i)) = (user, items.get(l.track_id.as_str())) {
            let at = l.played_at.timestamp();
            first
                .entry((u, i))
                .and_modify(|f| *f = (*f).min(at))
                .or_insert(at);
        }
    }
    FirstPlays(
        (0..data.n_users() as u32)
            .map(|u| {
                let row = data.row(u).0.iter();
                row.map(|&i| first.get(&(u, i)).copied().unwrap_or_default())
                    .collect()
            })
            .collect(),
    )
}

/// The history before `end` split at `cutoff` (see [`TimeSplit`]).
fn time_split(
    track_ids: &[&str],
    listens: &[Listen],
    feedback: &[simulate::SimFeedback],
    cutoff: DateTime<Utc>,
    end: DateTime<Utc>,
) -> TimeSplit {
    let (train, skipped) = weights(track_ids, listens.iter().filter(|l| l.played_at < cutoff));
    let later = listens
        .iter()
        .filter(|l| (cutoff..end).contains(&l.played_at));
    let (after, _) = weights(track_ids, later);
    let users = index_of(train.user_ids());
    let mut test: Vec<(u32, Vec<u32>)> = Vec::new();
    for a in 0..after.n_users() as u32 {
        let Some(&u) = users.get(after.user_id(a)) else {
            continue;
        };
        let known = train.row(u).0;
        if known.len() < MIN_EARLIER_ITEMS {
            continue;
        }
        let new: Vec<u32> = after
            .row(a)
            .0
            .iter()
            .copied()
            .filter(|i| known.binary_search(i).is_err())
            .collect();
        if !new.is_empty() {
            test.push((u, new));
        }
    }
    test.sort_unstable_by_key(|(u, _)| *u);
    let before = feedback.iter().filter(|f| f.at < cutoff);
    TimeSplit {
        feedback: index_feedback(&train, before).with_skipped(skipped),
        split: Holdout { train, test },
        cutoff,
    }
}

/// Simulated feedback indexed like `data` (words on unknown listeners or tracks left out).
fn index_feedback<'a>(
    data: &Interactions,
    feedback: impl IntoIterator<Item = &'a simulate::SimFeedback>,
) -> Feedback {
    let (users, items) = (index_of(data.user_ids()), index_of(data.item_ids()));
    Feedback::new(
        feedback
            .into_iter()
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
