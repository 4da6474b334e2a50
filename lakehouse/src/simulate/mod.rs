//! Listening histories that look like listening: users with latent tastes over genres and
//! audio features, Zipf-like track popularity, sessions with a daily and weekly rhythm,
//! favourites replayed, skips likelier far from a user's taste, users joining over time, and
//! now and then a like of a track near their taste or a dislike of one far from it, which the
//! listener acts on afterwards as a player lets them. Deterministic by seed.

mod rhythm;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use rand::distributions::WeightedIndex;
use rand::prelude::*;
use rand_chacha::ChaCha8Rng;

use crate::ingest::Listen;

/// A catalogue track as the simulator sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimTrack {
    pub track_id: String,
    pub duration_ms: i64,
    pub genre: String,
    pub popularity: i64,
    /// Energy, valence, danceability, acousticness: each 0 to 1.
    pub features: [f64; 4],
}

/// The shape of a simulated history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Simulation {
    pub users: usize,
    pub days: u32,
    /// Mean listens per active user per day.
    pub listens_per_day: f64,
    pub seed: u64,
    /// The first day of the history (UTC midnight).
    pub start: DateTime<Utc>,
}

impl Simulation {
    /// A history of `days` ending at today's UTC midnight.
    pub fn ending_today(users: usize, days: u32, listens_per_day: f64, seed: u64) -> Self {
        let today = Utc::now()
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc();
        Self {
            users,
            days,
            listens_per_day,
            seed,
            start: today - Duration::days(i64::from(days)),
        }
    }

    /// About how many listens the history holds (fewer: some users join late).
    pub fn expected_listens(&self) -> usize {
        (self.users as f64 * f64::from(self.days) * self.listens_per_day) as usize
    }
}

struct User {
    id: String,
    /// The taste the user starts with.
    taste: Taste,
    /// The centre of the user's taste in feature space.
    centroid: [f64; 4],
    joins_on: u32,
    activity: f64,
}

/// What a user picks tracks from, which their own likes and dislikes change as they go: a
/// liked track joins the tracks they replay (a player's liked songs) and draws them further
/// into its genre; a disliked track is never played again (a player's "hide this track").
#[derive(Clone)]
struct Taste {
    /// Genre indexes and their weights.
    genre_ids: Vec<usize>,
    genre_weights: Vec<f64>,
    genres: WeightedIndex<f64>,
    /// Tracks replayed a quarter of the time: favourites, then liked tracks (a disliked one
    /// leaves them).
    favourites: Vec<usize>,
    disliked: HashSet<usize>,
}

/// What a like adds to the weight of its track's genre in the listener's taste (the first of
/// their genres weighs 1).
const LIKE_PULL: f64 = 0.25;
/// Draws a listener makes to avoid the tracks they disliked, before they settle for the next
/// track of the catalogue they did not dislike.
const DRAWS: usize = 8;

impl Taste {
    fn new(genre_ids: Vec<usize>, favourites: Vec<usize>) -> Self {
        let genre_weights: Vec<f64> = (0..genre_ids.len())
            .map(|i| 1.0 / (i as f64 + 1.0))
            .collect();
        Self {
            genres: WeightedIndex::new(&genre_weights).expect("positive weights"),
            genre_ids,
            genre_weights,
            favourites,
            disliked: HashSet::new(),
        }
    }

    /// The listener's word on `track` (of `genre`), acted on from now on.
    fn heard(&mut self, track: usize, genre: usize, like: bool) {
        if !like {
            self.disliked.insert(track);
            self.favourites.retain(|&f| f != track);
            return;
        }
        if !self.favourites.contains(&track) {
            self.favourites.push(track);
        }
        match self.genre_ids.iter().position(|&g| g == genre) {
            Some(at) => self.genre_weights[at] += LIKE_PULL,
            None => {
                self.genre_ids.push(genre);
                self.genre_weights.push(LIKE_PULL);
            }
        }
        self.genres = WeightedIndex::new(&self.genre_weights).expect("positive weights");
    }

    /// A track the listener would put on next.
    fn pick(&self, rng: &mut ChaCha8Rng, catalogue: &Catalogue) -> usize {
        let mut index = 0;
        for _ in 0..DRAWS {
            index = if rng.gen_bool(0.25) && !self.favourites.is_empty() {
                self.favourites[rng.gen_range(0..self.favourites.len())]
            } else if rng.gen_bool(0.9) {
                catalogue.pick(self.genre_ids[self.genres.sample(rng)], rng)
            } else {
                // Exploration outside the user's genres.
                catalogue.pick(catalogue.genre_sizes.sample(rng), rng)
            };
            if !self.disliked.contains(&index) {
                return index;
            }
        }
        let n = catalogue.tracks.len();
        (1..n)
            .map(|step| (index + step) % n)
            .find(|t| !self.disliked.contains(t))
            .unwrap_or(index)
    }
}

/// Tracks grouped by genre, each genre with Zipf-like weights by popularity rank.
struct Catalogue<'a> {
    tracks: &'a [SimTrack],
    genres: Vec<Vec<usize>>,
    /// Each track's genre index.
    genre_of: Vec<usize>,
    pick_in_genre: Vec<WeightedIndex<f64>>,
    genre_sizes: WeightedIndex<f64>,
}

impl<'a> Catalogue<'a> {
    fn new(tracks: &'a [SimTrack]) -> Option<Self> {
        let mut by_genre: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, t) in tracks.iter().enumerate() {
            by_genre.entry(t.genre.as_str()).or_default().push(i);
        }
        let mut genres: Vec<(&str, Vec<usize>)> = by_genre.into_iter().collect();
        genres.sort_by(|a, b| a.0.cmp(b.0));
        let mut pick_in_genre = Vec::with_capacity(genres.len());
        for (_, members) in &mut genres {
            members.sort_by(|&a, &b| {
                tracks[b]
                    .popularity
                    .cmp(&tracks[a].popularity)
                    .then(a.cmp(&b))
            });
            let weights: Vec<f64> = (1..=members.len())
                .map(|rank| (rank as f64).powf(-1.1))
                .collect();
            pick_in_genre.push(WeightedIndex::new(weights).ok()?);
        }
        let genre_sizes = WeightedIndex::new(genres.iter().map(|(_, m)| m.len() as f64)).ok()?;
        let mut genre_of = vec![0; tracks.len()];
        for (g, (_, members)) in genres.iter().enumerate() {
            for &t in members {
                genre_of[t] = g;
            }
        }
        Some(Self {
            tracks,
            genre_of,
            genres: genres.into_iter().map(|(_, m)| m).collect(),
            pick_in_genre,
            genre_sizes,
        })
    }

    fn pick(&self, genre: usize, rng: &mut ChaCha8Rng) -> usize {
        self.genres[genre][self.pick_in_genre[genre].sample(rng)]
    }
}

/// A listener's word on a track they just played, as a player's like and dislike buttons
/// send it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimFeedback {
    pub user_id: String,
    pub track_id: String,
    pub like: bool,
    pub at: DateTime<Utc>,
}

/// A simulated history: the listens, and the feedback given on them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub listens: Vec<Listen>,
    /// In time order per user.
    pub feedback: Vec<SimFeedback>,
}

/// The most a full play of a track at the centre of a user's taste is liked.
const LIKE_RATE: f64 = 0.15;
/// Tracks further than this from a user's taste (in the four features) are never liked.
const LIKE_RADIUS: f64 = 0.35;
/// The most a skip of a track far from a user's taste is disliked.
const DISLIKE_RATE: f64 = 0.05;
/// The distance from a user's taste at which a skip is disliked at [`DISLIKE_RATE`].
const DISLIKE_DISTANCE: f64 = 0.6;

/// Generates the history: every listen of every user, in time order per user.
pub fn simulate(sim: &Simulation, tracks: &[SimTrack]) -> Vec<Listen> {
    history(sim, tracks).listens
}

/// Generates the listens of [`simulate`] and the feedback given on them (the same listens:
/// [`simulate`] draws the feedback too, since the listeners act on it).
pub fn history(sim: &Simulation, tracks: &[SimTrack]) -> History {
    let Some(simulator) = Simulator::new(sim, tracks) else {
        return History::default();
    };
    let expected = sim.expected_listens();
    let mut out = History {
        listens: Vec::with_capacity(expected + expected / 4),
        feedback: Vec::new(),
    };
    for user in 0..sim.users {
        simulator.user_history(user, &mut out);
    }
    out
}

/// The users of a simulation over a catalogue, whose histories are generated one user at a
/// time (each user's from a generator seeded by their id, so in any order and any batches).
struct Simulator<'a> {
    sim: &'a Simulation,
    catalogue: Catalogue<'a>,
    users: Vec<User>,
}

impl<'a> Simulator<'a> {
    fn new(sim: &'a Simulation, tracks: &'a [SimTrack]) -> Option<Self> {
        let catalogue = Catalogue::new(tracks)?;
        let mut rng = ChaCha8Rng::seed_from_u64(sim.seed);
        let users: Vec<User> = (0..sim.users)
            .map(|u| make_user(&mut rng, &catalogue, sim, u))
            .collect();
        Some(Self {
            sim,
            catalogue,
            users,
        })
    }

    /// Appends user `index`'s listens and feedback, in time order, to `out`.
    fn user_history(&self, index: usize, out: &mut History) {
        let (sim, user) = (self.sim, &self.users[index]);
        let mut rng = ChaCha8Rng::seed_from_u64(sim.seed ^ hash(&user.id));
        let mut words = ChaCha8Rng::seed_from_u64(sim.seed ^ hash(&user.id) ^ FEEDBACK_STREAM);
        let mut taste = user.taste.clone();
        let mut free_from = sim.start;
        let mut n = 0u64;
        for day in user.joins_on..sim.days {
            let date = sim.start + Duration::days(i64::from(day));
            let weekday = date.weekday().num_days_from_monday();
            let mean = sim.listens_per_day * user.activity * rhythm::weekday_factor(weekday);
            let mut remaining = poisson(&mut rng, mean);
            let mut sessions = Vec::new();
            while remaining > 0 {
                let size = remaining.min(rng.gen_range(3..=15));
                remaining -= size;
                sessions.push((rhythm::session_start_minute(&mut rng), size));
            }
            // In time order, one at a time (a session starts once the one before has ended):
            // what the listener says in one session is known in the next.
            sessions.sort_unstable();
            for (minute, size) in sessions {
                let mut at = (date + Duration::minutes(minute)).max(free_from);
                for _ in 0..size {
                    let track = taste.pick(&mut rng, &self.catalogue);
                    let (listen, distance) =
                        play(&mut rng, sim, &self.catalogue, user, track, at, &mut n);
                    at = listen.played_at
                        + Duration::milliseconds(listen.ms_played + rng.gen_range(0..4_000));
                    if let Some(like) = verdict(&mut words, &listen, distance) {
                        taste.heard(track, self.catalogue.genre_of[track], like);
                        out.feedback.push(SimFeedback {
                            user_id: listen.user_id.clone(),
                            track_id: listen.track_id.clone(),
                            like,
                            at: listen.played_at + Duration::milliseconds(listen.ms_played),
                        });
                    }
                    out.listens.push(listen);
                }
                free_from = at;
            }
        }
    }
}

/// Mixed into a user's seed for their feedback's generator.
const FEEDBACK_STREAM: u64 = 0x5eed_f33d_bac0;

/// Whether the listener likes (`Some(true)`) or dislikes (`Some(false)`) the track they just
/// played, `distance` from their taste: likes go to full plays near it, dislikes to skips far
/// from it.
fn verdict(rng: &mut ChaCha8Rng, listen: &Listen, distance: f64) -> Option<bool> {
    let skipped = listen.skipped == Some(true);
    let chance = if skipped {
        DISLIKE_RATE * (distance / DISLIKE_DISTANCE).min(1.0)
    } else {
        LIKE_RATE * (1.0 - distance / LIKE_RADIUS).max(0.0)
    };
    // One draw per listen whatever the chance, so that each listen's draw is the same draw.
    rng.gen_bool(chance.clamp(0.0, 0.99)).then_some(!skipped)
}

fn make_user(rng: &mut ChaCha8Rng, catalogue: &Catalogue, sim: &Simulation, index: usize) -> User {
    let count = rng.gen_range(1..=3);
    let genre_ids: Vec<usize> = (0..count)
        .map(|_| catalogue.genre_sizes.sample(rng))
        .collect();
    let mut taste = Taste::new(genre_ids, Vec::new());
    let favourites: Vec<usize> = (0..rng.gen_range(5..=20))
        .map(|_| catalogue.pick(taste.genre_ids[taste.genres.sample(rng)], rng))
        .collect();
    let mut centroid = [0.0; 4];
    for &f in &favourites {
        for (c, v) in centroid.iter_mut().zip(catalogue.tracks[f].features) {
            *c += v / favourites.len() as f64;
        }
    }
    // A third of the users arrive during the history rather than before it.
    let joins_on = if rng.gen_bool(1.0 / 3.0) {
        rng.gen_range(0..sim.days.max(1))
    } else {
        0
    };
    taste.favourites = favourites;
    User {
        id: format!("user-{index:05}"),
        taste,
        centroid,
        joins_on,
        activity: (rng.gen_range(-0.8f64..0.8)).exp(),
    }
}

fn play(
    rng: &mut ChaCha8Rng,
    sim: &Simulation,
    catalogue: &Catalogue,
    user: &User,
    index: usize,
    at: DateTime<Utc>,
    n: &mut u64,
) -> (Listen, f64) {
    let track = &catalogue.tracks[index];
    let distance = track
        .features
        .iter()
        .zip(user.centroid)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt();
    let skip_probability = (0.08 + 0.6 * distance).clamp(0.05, 0.9);
    let skipped = rng.gen_bool(skip_probability);
    let (ms_played, end_reason) = if skipped {
        (
            rng.gen_range(2_000..30_000).min(track.duration_ms),
            "fwdbtn",
        )
    } else if rng.gen_bool(0.9) {
        (track.duration_ms, "trackdone")
    } else {
        (
            rng.gen_range(30_000..track.duration_ms.max(30_001)),
            "endplay",
        )
    };
    *n += 1;
    let event_id = format!("sim-{}-{}-{}", sim.seed, user.id, n);
    let raw = serde_json::json!({
        "event_id": event_id, "user_id": user.id, "track_id": track.track_id,
        "played_at": at.to_rfc3339(), "ms_played": ms_played, "end_reason": end_reason,
        "skipped": skipped, "context": {"source": "simulator"},
    });
    let listen = Listen {
        raw: raw.to_string(),
        event_id,
        event_id_assigned: false,
        user_id: user.id.clone(),
        track_id: track.track_id.clone(),
        played_at: at,
        ms_played,
        end_reason: Some(end_reason.to_owned()),
        skipped: Some(skipped),
        context_source: Some("simulator".to_owned()),
        context_device: None,
    };
    (listen, distance)
}

fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> u32 {
    rand_distr::Poisson::new(mean.max(1e-9))
        .map_or(0, |d: rand_distr::Poisson<f64>| d.sample(rng) as u32)
}

fn hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

/// What writing a simulated history did.
#[derive(Debug, Clone, PartialEq)]
pub struct Backfill {
    pub events: usize,
    pub generate: std::time::Duration,
    pub write: std::time::Duration,
    /// The feedback given during the history, for the caller to record where feedback is kept.
    pub feedback: Vec<SimFeedback>,
}

/// Generates the history and writes its listens to bronze through the ingest writer (the same
/// path the API takes), about [`CHUNK`] events per submission; `progress` hears the events
/// written so far and the expected total. Listens are generated a submission's worth of users
/// at a time, so memory holds one submission, not the history.
pub async fn backfill(
    sim: &Simulation,
    tracks: &[SimTrack],
    writer: &crate::ingest::IngestWriter,
    mut progress: impl FnMut(usize, usize),
) -> Result<Backfill, crate::ingest::IngestError> {
    let mut report = Backfill {
        events: 0,
        generate: std::time::Duration::ZERO,
        write: std::time::Duration::ZERO,
        feedback: Vec::new(),
    };
    let Some(simulator) = Simulator::new(sim, tracks) else {
        return Ok(report);
    };
    let expected = sim.expected_listens();
    let mut batch = History::default();
    let mut users = 0..sim.users;
    loop {
        let started = std::time::Instant::now();
        for user in users.by_ref() {
            simulator.user_history(user, &mut batch);
            if batch.listens.len() >= CHUNK {
                break;
            }
        }
        report.generate += started.elapsed();
        if batch.listens.is_empty() {
            break;
        }
        let started = std::time::Instant::now();
        report.events += batch.listens.len();
        report.feedback.append(&mut batch.feedback);
        writer
            .submit(std::mem::take(&mut batch.listens), Vec::new())
            .await?;
        report.write += started.elapsed();
        let total = if users.is_empty() {
            report.events
        } else {
            expected.max(report.events)
        };
        progress(report.events, total);
    }
    Ok(report)
}

/// Events per submission when backfilling: large, so each Delta commit writes a big file.
const CHUNK: usize = 100_000;

/// A simulated listen as a player would send it to the ingest API, played at `played_at`
/// (RFC 3339): what the simulator's streams post, from the command line or from `/admin`.
pub fn player_event(listen: &Listen, played_at: &str) -> serde_json::Value {
    serde_json::json!({"event_id": listen.event_id, "user_id": listen.user_id,
        "track_id": listen.track_id, "played_at": played_at, "ms_played": listen.ms_played,
        "end_reason": listen.end_reason, "skipped": listen.skipped,
        "context": {"source": "simulator"}})
}

/// The hour of a listen, for tests and summaries.
pub fn hour_of(listen: &Listen) -> u32 {
    listen.played_at.hour()
}

#[cfg(test)]
mod tests;
