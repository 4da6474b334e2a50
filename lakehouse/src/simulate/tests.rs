use std::collections::{HashMap, HashSet};

use chrono::TimeZone;

use super::*;
use crate::ingest::{ListenRules, parse_listen};

fn catalogue() -> Vec<SimTrack> {
    let genres = ["ambient", "metal", "pop", "jazz", "techno"];
    (0..250)
        .map(|i| {
            let g = i % genres.len();
            let base = g as f64 / genres.len() as f64;
            SimTrack {
                track_id: format!("t{i:03}"),
                duration_ms: 120_000 + (i as i64 * 997) % 180_000,
                genre: genres[g].to_owned(),
                popularity: (i * 37 % 100) as i64,
                features: [base, 1.0 - base, (base + 0.3) % 1.0, 0.5],
            }
        })
        .collect()
}

fn sim(seed: u64) -> Simulation {
    let start = Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap();
    Simulation {
        users: 120,
        days: 21,
        listens_per_day: 20.0,
        seed,
        start,
    }
}

#[test]
fn the_same_seed_gives_the_same_history_and_another_seed_another() {
    let tracks = catalogue();
    let a = simulate(&sim(1), &tracks);
    let b = simulate(&sim(1), &tracks);
    assert_eq!(a, b);
    let c = simulate(&sim(2), &tracks);
    assert_ne!(
        a.iter().map(|l| &l.track_id).collect::<Vec<_>>(),
        c.iter().map(|l| &l.track_id).collect::<Vec<_>>()
    );
}

#[test]
fn the_history_has_the_requested_volume_and_every_event_is_valid() {
    let tracks = catalogue();
    let listens = simulate(&sim(3), &tracks);
    // 120 users × 21 days × 20 a day, less the days before late joiners arrive.
    assert!(
        (30_000..=55_000).contains(&listens.len()),
        "{}",
        listens.len()
    );
    let end = sim(3).start + Duration::days(22);
    let lengths: HashMap<String, i64> = tracks
        .iter()
        .map(|t| (t.track_id.clone(), t.duration_ms))
        .collect();
    let rules = ListenRules {
        track_lengths: std::sync::Arc::new(lengths),
        ..ListenRules::at(end)
    };
    for listen in listens.iter().step_by(97) {
        let value: serde_json::Value = serde_json::from_str(&listen.raw).unwrap();
        let parsed = parse_listen(&value, &rules).expect("a simulated event passes validation");
        assert_eq!(&parsed.event_id, &listen.event_id);
    }
    let ids: HashSet<&str> = listens.iter().map(|l| l.event_id.as_str()).collect();
    assert_eq!(ids.len(), listens.len(), "event ids are unique");
}

#[test]
fn popularity_is_skewed_and_skips_are_in_a_plausible_band() {
    let listens = simulate(&sim(4), &catalogue());
    let mut per_track: HashMap<&str, usize> = HashMap::new();
    for l in &listens {
        *per_track.entry(l.track_id.as_str()).or_default() += 1;
    }
    let mut counts: Vec<usize> = per_track.into_values().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let top_tenth: usize = counts.iter().take(25).sum();
    let share = top_tenth as f64 / listens.len() as f64;
    assert!(
        share > 0.35,
        "the top 10% of tracks take {share:.2} of listens"
    );

    let skips = listens.iter().filter(|l| l.skipped == Some(true)).count();
    let skip_rate = skips as f64 / listens.len() as f64;
    assert!((0.1..=0.5).contains(&skip_rate), "skip rate {skip_rate:.2}");
    assert!(
        listens
            .iter()
            .filter(|l| l.skipped == Some(true))
            .all(|l| l.ms_played < 30_000)
    );
}

#[test]
fn listening_follows_a_daily_rhythm_and_users_join_over_time() {
    let listens = simulate(&sim(5), &catalogue());
    let mut by_hour = [0usize; 24];
    for l in &listens {
        by_hour[hour_of(l) as usize] += 1;
    }
    let night: usize = by_hour[2..6].iter().sum();
    let evening: usize = by_hour[18..22].iter().sum();
    assert!(night * 4 < evening, "night {night} vs evening {evening}");

    let mut first_day: HashMap<&str, DateTime<Utc>> = HashMap::new();
    for l in &listens {
        first_day
            .entry(l.user_id.as_str())
            .and_modify(|d| *d = (*d).min(l.played_at))
            .or_insert(l.played_at);
    }
    let late = first_day
        .values()
        .filter(|d| **d > sim(5).start + Duration::days(3))
        .count();
    assert!(late >= 10, "{late} users joined after the third day");
}

#[test]
fn listeners_like_full_plays_and_dislike_skips_now_and_then() {
    let tracks = catalogue();
    let history = history(&sim(6), &tracks);
    assert_eq!(history.listens, simulate(&sim(6), &tracks));
    assert_eq!(history, super::history(&sim(6), &tracks));
    let likes = history.feedback.iter().filter(|f| f.like).count();
    let dislikes = history.feedback.len() - likes;
    let share = |n: usize| n as f64 / history.listens.len() as f64;
    assert!(
        (0.002..0.08).contains(&share(likes)) && (0.002..0.08).contains(&share(dislikes)),
        "{likes} likes and {dislikes} dislikes over {} listens",
        history.listens.len()
    );
    // Each word follows a listen of its track by its listener: a like a full play, a dislike
    // a skip.
    let played: HashSet<(&str, &str, bool)> = history
        .listens
        .iter()
        .map(|l| {
            (
                l.user_id.as_str(),
                l.track_id.as_str(),
                l.skipped == Some(true),
            )
        })
        .collect();
    for f in &history.feedback {
        assert!(
            played.contains(&(f.user_id.as_str(), f.track_id.as_str(), !f.like)),
            "{f:?}"
        );
    }
}

#[test]
fn listeners_act_on_their_words_replaying_what_they_liked_and_never_what_they_disliked() {
    let history = history(&sim(6), &catalogue());
    let mut disliked: HashMap<(&str, &str), DateTime<Utc>> = HashMap::new();
    let mut liked: HashMap<(&str, &str), DateTime<Utc>> = HashMap::new();
    for f in &history.feedback {
        let words = if f.like { &mut liked } else { &mut disliked };
        words
            .entry((f.user_id.as_str(), f.track_id.as_str()))
            .or_insert(f.at);
    }
    let mut replays_after_a_like = 0usize;
    for l in &history.listens {
        let pair = (l.user_id.as_str(), l.track_id.as_str());
        if let Some(at) = disliked.get(&pair) {
            assert!(l.played_at < *at, "{l:?} played after its dislike at {at}");
        }
        if liked.get(&pair).is_some_and(|at| l.played_at > *at) {
            replays_after_a_like += 1;
        }
    }
    // A liked track joins the few the listener replays a quarter of the time.
    assert!(
        replays_after_a_like > 5 * liked.len(),
        "{replays_after_a_like} replays of {} liked tracks",
        liked.len()
    );
}
