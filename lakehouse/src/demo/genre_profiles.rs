//! Per-genre audio-feature statistics of the Spotify Tracks Dataset (Maharshi Pandya, Kaggle
//! 2022, ODbL 1.0): 114 genres × 1,000 tracks. Only these summary figures are kept, in
//! `genre_profiles.csv` beside this file, so that the demo catalogue needs no dataset at run
//! time; `soundlake demo genre-profiles PATH` computes the file again from the dataset
//! ([`compute`], then [`to_csv`]).

use std::path::Path;
use std::sync::LazyLock;

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Schema};
use datafusion::prelude::CsvReadOptions;

use crate::error::{LakehouseError, Result};
use crate::query::{collect_sql, new_session};
use crate::sources::catalog_csv::SPOTIFY_TRACKS_HEADER;

/// Mean, standard deviation, minimum and maximum of one feature within one genre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
}

/// The feature statistics of one genre.
#[derive(Debug, Clone, PartialEq)]
pub struct GenreProfile {
    pub genre: String,
    pub popularity: Stat,
    pub duration_ms: Stat,
    pub danceability: Stat,
    pub energy: Stat,
    pub loudness: Stat,
    pub speechiness: Stat,
    pub acousticness: Stat,
    pub instrumentalness: Stat,
    pub liveness: Stat,
    pub valence: Stat,
    pub tempo: Stat,
    pub explicit_share: f64,
    pub mode_major_share: f64,
    pub four_four_share: f64,
    pub key_shares: [f64; 12],
}

/// The features with statistics, in the file's column order, and the decimals each is kept
/// with.
pub const STATS: [(&str, usize); 11] = [
    ("popularity", 2),
    ("duration_ms", 0),
    ("danceability", 4),
    ("energy", 4),
    ("loudness", 2),
    ("speechiness", 4),
    ("acousticness", 4),
    ("instrumentalness", 4),
    ("liveness", 4),
    ("valence", 4),
    ("tempo", 2),
];
/// The decimals shares are kept with.
const SHARE_DECIMALS: usize = 3;
/// Columns of the file: the genre, four per statistic, three shares and twelve keys' shares.
const COLUMNS: usize = 1 + 4 * STATS.len() + 3 + 12;

const EMBEDDED: &str = include_str!("genre_profiles.csv");
const PROFILES_SQL: &str = include_str!("genre_profiles.sql");

static PROFILES: LazyLock<Vec<GenreProfile>> = LazyLock::new(|| {
    parse(EMBEDDED).unwrap_or_else(|e| panic!("genre_profiles.csv, checked by its tests: {e}"))
});

/// All 114 genres, in alphabetical order.
pub fn genre_profiles() -> &'static [GenreProfile] {
    &PROFILES
}

impl GenreProfile {
    /// The statistics in [`STATS`] order.
    fn stats(&self) -> [Stat; 11] {
        [
            self.popularity,
            self.duration_ms,
            self.danceability,
            self.energy,
            self.loudness,
            self.speechiness,
            self.acousticness,
            self.instrumentalness,
            self.liveness,
            self.valence,
            self.tempo,
        ]
    }

    /// A profile from its values in the file's column order (after the genre).
    fn from_values(genre: String, values: &[f64]) -> Self {
        let stat = |i: usize| Stat {
            mean: values[4 * i],
            std: values[4 * i + 1],
            min: values[4 * i + 2],
            max: values[4 * i + 3],
        };
        let shares = &values[4 * STATS.len()..];
        let mut key_shares = [0.0; 12];
        key_shares.copy_from_slice(&shares[3..15]);
        Self {
            genre,
            popularity: stat(0),
            duration_ms: stat(1),
            danceability: stat(2),
            energy: stat(3),
            loudness: stat(4),
            speechiness: stat(5),
            acousticness: stat(6),
            instrumentalness: stat(7),
            liveness: stat(8),
            valence: stat(9),
            tempo: stat(10),
            explicit_share: shares[0],
            mode_major_share: shares[1],
            four_four_share: shares[2],
            key_shares,
        }
    }
}

/// The file's header line.
fn header() -> String {
    let mut names = vec!["genre".to_owned()];
    for (feature, _) in STATS {
        for part in ["mean", "std", "min", "max"] {
            names.push(format!("{feature}_{part}"));
        }
    }
    names.extend(["explicit_share", "mode_major_share", "four_four_share"].map(String::from));
    names.extend((0..12).map(|key| format!("key_{key}_share")));
    names.join(",")
}

fn invalid(detail: String) -> LakehouseError {
    LakehouseError::Schema {
        table: "genre profiles".to_owned(),
        detail,
    }
}

/// Genre profiles from their CSV form (see [`to_csv`]).
pub fn parse(text: &str) -> Result<Vec<GenreProfile>> {
    let mut lines = text.lines();
    let expected = header();
    if lines.next() != Some(expected.as_str()) {
        return Err(invalid(format!("the header is not `{expected}`")));
    }
    let mut profiles = Vec::new();
    for (number, line) in lines.enumerate().map(|(i, l)| (i + 2, l)) {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != COLUMNS {
            return Err(invalid(format!(
                "line {number} has {} fields, not {COLUMNS}",
                fields.len()
            )));
        }
        let values = fields[1..]
            .iter()
            .map(|field| {
                field
                    .parse::<f64>()
                    .map_err(|e| invalid(format!("line {number}: `{field}`: {e}")))
            })
            .collect::<Result<Vec<f64>>>()?;
        profiles.push(GenreProfile::from_values(fields[0].to_owned(), &values));
    }
    Ok(profiles)
}

/// The CSV form of `profiles`: a header, then a line per genre, each value rounded to the
/// decimals of its kind ([`STATS`]; shares to three).
pub fn to_csv(profiles: &[GenreProfile]) -> String {
    let mut out = header();
    out.push('\n');
    for profile in profiles {
        let mut fields = vec![profile.genre.clone()];
        for (stat, (_, decimals)) in profile.stats().iter().zip(STATS) {
            for value in [stat.mean, stat.std, stat.min, stat.max] {
                fields.push(format!("{value:.decimals$}"));
            }
        }
        let shares = [
            profile.explicit_share,
            profile.mode_major_share,
            profile.four_four_share,
        ];
        for share in shares.iter().chain(&profile.key_shares) {
            fields.push(format!("{share:.SHARE_DECIMALS$}"));
        }
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// Computes the profiles of a catalogue in the Spotify Tracks Dataset's columns (a CSV file,
/// or a folder of them such as the dataset's `by_genre`), with `genre_profiles.sql`. The values
/// are as computed; [`to_csv`] rounds them.
pub async fn compute(path: &Path) -> Result<Vec<GenreProfile>> {
    let ctx = new_session(&[]);
    let schema = Schema::new(
        SPOTIFY_TRACKS_HEADER
            .iter()
            .map(|name| Field::new(*name, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    );
    let location = path.to_string_lossy();
    let options = CsvReadOptions::new()
        .has_header(true)
        .schema(&schema)
        .file_extension(".csv");
    ctx.register_csv("dataset", location.as_ref(), options)
        .await
        .map_err(|e| LakehouseError::query(location.as_ref(), e))?;
    let batches = collect_sql(&ctx, "genre profiles", PROFILES_SQL).await?;
    let mut profiles = Vec::new();
    for batch in &batches {
        profiles.extend(profiles_of(batch)?);
    }
    Ok(profiles)
}

/// The profiles in a batch of `genre_profiles.sql`'s result.
fn profiles_of(batch: &RecordBatch) -> Result<Vec<GenreProfile>> {
    if batch.num_columns() != COLUMNS {
        return Err(invalid(format!(
            "the query gave {} columns, not {COLUMNS}",
            batch.num_columns()
        )));
    }
    let genres = datafusion::arrow::compute::cast(batch.column(0), &DataType::Utf8)?;
    let genres = genres.as_string::<i32>();
    let numbers = (1..COLUMNS)
        .map(|i| datafusion::arrow::compute::cast(batch.column(i), &DataType::Float64))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let mut profiles = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        let values: Vec<f64> = numbers
            .iter()
            .map(|column| column.as_primitive::<Float64Type>().value(row))
            .collect();
        profiles.push(GenreProfile::from_values(
            genres.value(row).to_owned(),
            &values,
        ));
    }
    Ok(profiles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_profiles_are_consistent() {
        let profiles = genre_profiles();
        assert_eq!(profiles.len(), 114);
        for pair in profiles.windows(2) {
            assert!(
                pair[0].genre < pair[1].genre,
                "genres not sorted/unique: {} then {}",
                pair[0].genre,
                pair[1].genre
            );
        }
        for p in profiles {
            let key_sum: f64 = p.key_shares.iter().sum();
            assert!(
                (key_sum - 1.0).abs() < 0.01,
                "{}: key shares sum to {key_sum}",
                p.genre
            );
            assert!(
                p.key_shares.iter().all(|&x| (0.0..=1.0).contains(&x)),
                "{}",
                p.genre
            );
            for share in [p.explicit_share, p.mode_major_share, p.four_four_share] {
                assert!((0.0..=1.0).contains(&share), "{}: share {share}", p.genre);
            }
            for ((name, _), st) in STATS.iter().zip(p.stats()) {
                assert!(st.std >= 0.0, "{} {name}: negative std", p.genre);
                assert!(
                    st.min <= st.mean && st.mean <= st.max,
                    "{} {name}: mean {} outside [{}, {}]",
                    p.genre,
                    st.mean,
                    st.min,
                    st.max
                );
            }
        }
    }

    #[test]
    fn the_embedded_file_is_what_writing_its_profiles_gives() {
        assert_eq!(to_csv(genre_profiles()), EMBEDDED);
    }

    #[test]
    fn a_malformed_file_is_refused_with_its_line() {
        let header = header();
        assert!(parse("genre,popularity_mean\n").is_err());
        let short = format!("{header}\nacoustic,1,2\n");
        let e = parse(&short).unwrap_err().to_string();
        assert!(e.contains("line 2 has 3 fields"), "{e}");
        let mut fields = vec!["acoustic".to_owned()];
        fields.extend((1..COLUMNS).map(|_| "0.5".to_owned()));
        fields[7] = "loud".to_owned();
        let bad = format!("{header}\n{}\n", fields.join(","));
        let e = parse(&bad).unwrap_err().to_string();
        assert!(e.contains("line 2: `loud`"), "{e}");
    }
}
