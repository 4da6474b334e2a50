//! Real-time re-ranking of a served list after a listen, without waiting for a pipeline run:
//! the batch model's list stays the base; the listener's session moves it.
//!
//! A candidate's score is `BASE · base + SESSION · session + TASTE · taste`:
//! - `base`: 1 for the batch list's first item down to ~0 for its last, 0 for tracks the
//!   batch list did not hold;
//! - `session`: similarity to the tracks just played (each similar-tracks list scaled so its
//!   best is 1), the latest play counting most (halving per older play);
//! - `taste`: closeness of the track's audio features to the mean of the tracks just played.
//!
//! Tracks just played leave the list; disliked tracks and artists never enter it.

use std::collections::{HashMap, HashSet};

/// Weight of the batch model's rank.
pub const BASE: f32 = 1.0;
/// Weight of similarity to the session's tracks.
pub const SESSION: f32 = 0.8;
/// Weight of closeness to the session's taste.
pub const TASTE: f32 = 0.4;

/// What re-ranking needs to know of a track.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackInfo {
    pub name: String,
    pub primary_artist: String,
    /// Audio features scaled to about [0, 1] (see [`scaled_features`]).
    pub features: [f32; 9],
}

/// One item of the batch list.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseItem {
    pub track_id: String,
    pub reason: String,
}

/// The inputs of one re-ranking.
#[derive(Debug, Clone)]
pub struct Session<'a> {
    /// The batch model's list, best first.
    pub base: &'a [BaseItem],
    /// Tracks played since the list was published, latest first.
    pub recent: &'a [String],
    /// For each recent track, its similar tracks (track, similarity), most similar first.
    pub similar: &'a HashMap<String, Vec<(String, f32)>>,
    /// Catalogue data of the candidates and the recent tracks.
    pub tracks: &'a HashMap<String, TrackInfo>,
    pub excluded_tracks: &'a HashSet<String>,
    pub excluded_artists: &'a HashSet<String>,
    pub size: usize,
    pub max_per_artist: usize,
}

/// One re-ranked recommendation.
#[derive(Debug, Clone, PartialEq)]
pub struct Reranked {
    pub track_id: String,
    pub score: f32,
    pub reason: String,
}

/// The features used for taste closeness, from raw values in `ml::clusters::FEATURES` order,
/// each scaled to about [0, 1]: loudness (dB, about −60 to 0) and tempo (BPM, about 0 to 250)
/// are rescaled, the rest are already shares.
pub fn scaled_features(raw: [f64; 9]) -> [f32; 9] {
    let mut out = raw;
    out[2] = ((raw[2] + 60.0) / 60.0).clamp(0.0, 1.0);
    out[8] = (raw[8] / 250.0).clamp(0.0, 1.0);
    out.map(|x| x as f32)
}

/// Re-ranks a listener's list for their session.
pub fn rerank(s: &Session<'_>) -> Vec<Reranked> {
    let played: HashSet<&str> = s.recent.iter().map(String::as_str).collect();
    let mut candidates: Vec<&str> = s.base.iter().map(|b| b.track_id.as_str()).collect();
    for r in s.recent {
        if let Some(list) = s.similar.get(r) {
            candidates.extend(list.iter().map(|(t, _)| t.as_str()));
        }
    }
    let mut seen = HashSet::new();
    candidates.retain(|c| seen.insert(*c));

    let base_rank: HashMap<&str, (usize, &str)> = s
        .base
        .iter()
        .enumerate()
        .map(|(i, b)| (b.track_id.as_str(), (i, b.reason.as_str())))
        .collect();
    // session[candidate] = (boost, the recent track contributing most)
    let mut session: HashMap<&str, (f32, &str, f32)> = HashMap::new();
    for (age, r) in s.recent.iter().enumerate() {
        let Some(list) = s.similar.get(r) else {
            continue;
        };
        let top = list.first().map_or(1.0, |(_, x)| x.max(f32::EPSILON));
        let decay = 0.5f32.powi(age as i32);
        for (t, sim) in list {
            let part = decay * sim / top;
            let entry = session.entry(t.as_str()).or_insert((0.0, r.as_str(), 0.0));
            entry.0 += part;
            if part > entry.2 {
                entry.1 = r.as_str();
                entry.2 = part;
            }
        }
    }
    let taste = mean_features(s.recent.iter().filter_map(|r| s.tracks.get(r)));

    let mut scored: Vec<Reranked> = candidates
        .into_iter()
        .filter(|c| !played.contains(c) && !s.excluded_tracks.contains(*c))
        .filter(|c| {
            s.tracks
                .get(*c)
                .is_none_or(|t| !s.excluded_artists.contains(&t.primary_artist))
        })
        .map(|c| {
            let base = base_rank
                .get(c)
                .map_or(0.0, |(i, _)| 1.0 - *i as f32 / s.base.len().max(1) as f32);
            let (boost, because) = session.get(c).map_or((0.0, None), |e| (e.0, Some(e.1)));
            let closeness = match (&taste, s.tracks.get(c)) {
                (Some(taste), Some(t)) => 1.0 / (1.0 + 2.0 * distance(taste, &t.features)),
                _ => 0.0,
            };
            let score = BASE * base + SESSION * boost + TASTE * closeness;
            let reason = match (because, base_rank.get(c)) {
                (Some(r), _) if SESSION * boost >= 0.3 => format!(
                    "because you just played {}",
                    s.tracks.get(r).map_or(r, |t| t.name.as_str())
                ),
                (_, Some((_, reason))) => (*reason).to_owned(),
                _ => "matches what you are listening to now".to_owned(),
            };
            Reranked {
                track_id: c.to_owned(),
                score,
                reason,
            }
        })
        .collect();
    scored.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.track_id.cmp(&b.track_id))
    });
    let mut per_artist: HashMap<&str, usize> = HashMap::new();
    let mut out = Vec::with_capacity(s.size);
    for r in scored {
        if out.len() == s.size {
            break;
        }
        let artist = s.tracks.get(&r.track_id).map(|t| t.primary_artist.as_str());
        if let Some(artist) = artist {
            let n = per_artist.entry(artist).or_default();
            if *n >= s.max_per_artist {
                continue;
            }
            *n += 1;
        }
        out.push(r);
    }
    out
}

fn mean_features<'a>(tracks: impl Iterator<Item = &'a TrackInfo>) -> Option<[f32; 9]> {
    let mut sum = [0f32; 9];
    let mut n = 0;
    for t in tracks {
        sum.iter_mut().zip(t.features).for_each(|(s, x)| *s += x);
        n += 1;
    }
    (n > 0).then(|| sum.map(|s| s / n as f32))
}

fn distance(a: &[f32; 9], b: &[f32; 9]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, artist: &str, level: f32) -> TrackInfo {
        TrackInfo {
            name: name.into(),
            primary_artist: artist.into(),
            features: [level; 9],
        }
    }

    fn base(ids: &[&str]) -> Vec<BaseItem> {
        ids.iter()
            .map(|id| BaseItem {
                track_id: (*id).into(),
                reason: format!("batch reason for {id}"),
            })
            .collect()
    }

    #[test]
    fn without_a_session_the_batch_order_stands() {
        let base = base(&["a", "b", "c"]);
        let (tracks, similar, none) = (HashMap::new(), HashMap::new(), HashSet::new());
        let out = rerank(&Session {
            base: &base,
            recent: &[],
            similar: &similar,
            tracks: &tracks,
            excluded_tracks: &none,
            excluded_artists: &none,
            size: 10,
            max_per_artist: 3,
        });
        let ids: Vec<&str> = out.iter().map(|r| r.track_id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(out[0].reason, "batch reason for a");
    }

    #[test]
    fn a_listen_removes_the_track_and_pulls_similar_ones_up() {
        let base = base(&["a", "b", "c", "d"]);
        let recent = vec!["b".to_owned()];
        let similar = HashMap::from([(
            "b".to_owned(),
            vec![("d".to_owned(), 0.9), ("x".to_owned(), 0.5)],
        )]);
        let tracks: HashMap<String, TrackInfo> = [
            ("a", "A", 0.1),
            ("b", "B", 0.8),
            ("c", "C", 0.1),
            ("d", "D", 0.8),
            ("x", "X", 0.8),
        ]
        .into_iter()
        .map(|(id, artist, level)| (id.to_owned(), info(&format!("song {id}"), artist, level)))
        .collect();
        let none = HashSet::new();
        let out = rerank(&Session {
            base: &base,
            recent: &recent,
            similar: &similar,
            tracks: &tracks,
            excluded_tracks: &none,
            excluded_artists: &none,
            size: 10,
            max_per_artist: 3,
        });
        let ids: Vec<&str> = out.iter().map(|r| r.track_id.as_str()).collect();
        assert!(
            !ids.contains(&"b"),
            "the played track leaves the list: {ids:?}"
        );
        assert_eq!(ids[0], "d", "{ids:?}");
        assert_eq!(out[0].reason, "because you just played song b");
        assert!(ids.contains(&"x"), "similar tracks enter the list: {ids:?}");
    }

    #[test]
    fn excluded_tracks_and_artists_and_the_artist_cap() {
        let base = base(&["a1", "a2", "a3", "b1", "c1"]);
        let tracks: HashMap<String, TrackInfo> = [
            ("a1", "A"),
            ("a2", "A"),
            ("a3", "A"),
            ("b1", "B"),
            ("c1", "C"),
        ]
        .into_iter()
        .map(|(id, artist)| (id.to_owned(), info(id, artist, 0.5)))
        .collect();
        let excluded_tracks = HashSet::from(["c1".to_owned()]);
        let excluded_artists = HashSet::from(["B".to_owned()]);
        let similar = HashMap::new();
        let out = rerank(&Session {
            base: &base,
            similar: &similar,
            tracks: &tracks,
            excluded_tracks: &excluded_tracks,
            excluded_artists: &excluded_artists,
            recent: &[],
            size: 10,
            max_per_artist: 2,
        });
        let ids: Vec<&str> = out.iter().map(|r| r.track_id.as_str()).collect();
        assert_eq!(ids, ["a1", "a2"]);
    }
}
