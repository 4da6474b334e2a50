//! When people listen: more at weekends, little at night, peaks at commute, lunch and evening.

use std::sync::LazyLock;

use rand::Rng;
use rand::distributions::{Distribution, WeightedIndex};

/// Relative weight of each hour of the day (UTC) for starting a session.
const HOURLY: [f64; 24] = [
    0.8, 0.4, 0.2, 0.15, 0.15, 0.3, 0.8, 1.8, 2.6, 2.0, 1.6, 1.7, //
    2.3, 2.1, 1.7, 1.7, 2.0, 2.6, 3.0, 3.2, 3.1, 2.7, 2.0, 1.3,
];

/// Listening on weekday `d` (0 = Monday) relative to an average day.
pub fn weekday_factor(d: u32) -> f64 {
    match d {
        0..=3 => 0.93,
        4 => 1.05,
        _ => 1.1,
    }
}

/// The minute of the day (0 to 1439) a session starts at.
pub fn session_start_minute<R: Rng>(rng: &mut R) -> i64 {
    static HOURS: LazyLock<WeightedIndex<f64>> =
        LazyLock::new(|| WeightedIndex::new(HOURLY).expect("positive weights"));
    HOURS.sample(rng) as i64 * 60 + rng.gen_range(0..60)
}
