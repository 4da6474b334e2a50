//! Types shared by the server (REST API, server functions) and the browser. Their JSON form
//! is the API's: `snake_case`, one definition for both.

use serde::{Deserialize, Serialize};

/// A track as listed in search results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackSummary {
    pub track_id: String,
    pub name: String,
    pub artists: Vec<String>,
    pub album_name: Option<String>,
    pub genres: Vec<String>,
    pub popularity: i16,
    pub duration_ms: i32,
    pub explicit: bool,
}

/// One page of catalogue search results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackPage {
    /// Matches in the whole catalogue, not only on this page.
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
    pub items: Vec<TrackSummary>,
}

impl TrackPage {
    /// The number of pages the matches fill (at least 1).
    pub fn pages(&self) -> u32 {
        let per_page = i64::from(self.per_page.max(1));
        u32::try_from((self.total + per_page - 1) / per_page)
            .unwrap_or(u32::MAX)
            .max(1)
    }
}

/// Everything known about one track, audio features included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackDetail {
    pub track_id: String,
    pub name: String,
    pub artists: Vec<String>,
    pub album_name: Option<String>,
    pub genres: Vec<String>,
    pub popularity: i16,
    pub duration_ms: i32,
    pub explicit: bool,
    pub danceability: f64,
    pub energy: f64,
    pub key: i16,
    pub loudness: f64,
    pub mode: i16,
    pub speechiness: f64,
    pub acousticness: f64,
    pub instrumentalness: f64,
    pub liveness: f64,
    pub valence: f64,
    pub tempo: f64,
    pub time_signature: Option<i16>,
    pub release_year: Option<i16>,
}

/// A genre and its number of tracks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenreCount {
    pub genre: String,
    pub track_count: i32,
}

/// The largest page the API serves.
pub const MAX_PER_PAGE: u32 = 100;

/// Formats a duration as `m:ss`.
pub fn format_duration(ms: i32) -> String {
    let seconds = ms.max(0) / 1000;
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// Formats a count with thousands separators: `89741` → `89,741`.
pub fn format_count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(feature = "ssr")]
mod from_gold {
    use lakehouse::gold::tracks::{GenreCountRow, TrackDetailRow, TrackSummaryRow};

    use super::*;

    impl From<TrackSummaryRow> for TrackSummary {
        fn from(r: TrackSummaryRow) -> Self {
            Self {
                track_id: r.track_id,
                name: r.name,
                artists: r.artists,
                album_name: r.album_name,
                genres: r.genres,
                popularity: r.popularity,
                duration_ms: r.duration_ms,
                explicit: r.explicit,
            }
        }
    }

    impl From<TrackDetailRow> for TrackDetail {
        fn from(r: TrackDetailRow) -> Self {
            Self {
                track_id: r.track_id,
                name: r.name,
                artists: r.artists,
                album_name: r.album_name,
                genres: r.genres,
                popularity: r.popularity,
                duration_ms: r.duration_ms,
                explicit: r.explicit,
                danceability: r.danceability,
                energy: r.energy,
                key: r.key,
                loudness: r.loudness,
                mode: r.mode,
                speechiness: r.speechiness,
                acousticness: r.acousticness,
                instrumentalness: r.instrumentalness,
                liveness: r.liveness,
                valence: r.valence,
                tempo: r.tempo,
                time_signature: r.time_signature,
                release_year: r.release_year,
            }
        }
    }

    impl From<GenreCountRow> for GenreCount {
        fn from(r: GenreCountRow) -> Self {
            Self {
                genre: r.genre,
                track_count: r.track_count,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_durations_and_counts_for_people() {
        assert_eq!(format_duration(230_666), "3:50");
        assert_eq!(format_duration(59_999), "0:59");
        assert_eq!(format_count(89_741), "89,741");
        assert_eq!(format_count(114_000), "114,000");
        assert_eq!(format_count(7), "7");
    }

    #[test]
    fn counts_pages_rounding_up() {
        let page = |total| TrackPage {
            total,
            page: 1,
            per_page: 20,
            items: vec![],
        };
        assert_eq!(page(0).pages(), 1);
        assert_eq!(page(20).pages(), 1);
        assert_eq!(page(21).pages(), 2);
    }
}
