//! Track catalogue CSV files: recognising their schema by header and reading their rows as text.
//!
//! Two schemas are recognised:
//! - the Kaggle "Spotify Tracks Dataset" (`track_id, artists, ..., track_genre`, artists joined
//!   by `;`, one file per genre or a single `dataset.csv` with a leading unnamed index column);
//! - the Kaggle "Spotify Dataset 1921-2020, 160k+ Tracks" `data.csv` (`id, name, artists, year,
//!   release_date, ...`, artists written as a Python list literal).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{LakehouseError, Result};

/// The text columns every catalogue row is kept with in bronze, whatever its source schema.
pub const RAW_COLUMNS: [&str; 22] = [
    "track_id",
    "track_name",
    "artists",
    "album_name",
    "genre",
    "popularity",
    "duration_ms",
    "explicit",
    "danceability",
    "energy",
    "key",
    "loudness",
    "mode",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
    "time_signature",
    "release_year",
    "release_date",
];

/// The number of raw text columns.
pub const RAW_WIDTH: usize = RAW_COLUMNS.len();

/// The header of the Spotify Tracks Dataset's per-genre files (`by_genre/*.csv`; its single
/// `dataset.csv` has an unnamed index column first): the form the demo catalogue is written
/// in, and the columns its genre profiles are computed from.
pub const SPOTIFY_TRACKS_HEADER: [&str; 20] = [
    "track_id",
    "artists",
    "album_name",
    "track_name",
    "popularity",
    "duration_ms",
    "explicit",
    "danceability",
    "energy",
    "key",
    "loudness",
    "mode",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
    "time_signature",
    "track_genre",
];

/// A supported catalogue schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogFormat {
    /// Kaggle "Spotify Tracks Dataset" (Maharshi Pandya, 2022).
    SpotifyTracks,
    /// Kaggle "Spotify Dataset 1921-2020, 160k+ Tracks", file `data.csv`.
    Spotify160k,
}

impl CatalogFormat {
    /// Every supported format, in the order detection tries them.
    pub const ALL: [CatalogFormat; 2] = [CatalogFormat::SpotifyTracks, CatalogFormat::Spotify160k];

    /// The identifier stored in bronze's `source_format` column.
    pub fn id(self) -> &'static str {
        match self {
            CatalogFormat::SpotifyTracks => "spotify_tracks",
            CatalogFormat::Spotify160k => "spotify_160k",
        }
    }

    /// A human name for error messages.
    pub fn title(self) -> &'static str {
        match self {
            CatalogFormat::SpotifyTracks => "Spotify Tracks Dataset",
            CatalogFormat::Spotify160k => "Spotify 160k tracks data.csv",
        }
    }

    /// The source column that fills each raw column, in [`RAW_COLUMNS`] order.
    fn source_columns(self) -> [Option<&'static str>; RAW_WIDTH] {
        let same = |raw: &'static str| Some(raw);
        match self {
            CatalogFormat::SpotifyTracks => RAW_COLUMNS.map(|raw| match raw {
                "genre" => Some("track_genre"),
                "release_year" | "release_date" => None,
                other => same(other),
            }),
            CatalogFormat::Spotify160k => RAW_COLUMNS.map(|raw| match raw {
                "track_id" => Some("id"),
                "track_name" => Some("name"),
                "release_year" => Some("year"),
                "album_name" | "genre" | "time_signature" => None,
                other => same(other),
            }),
        }
    }

    /// The columns a header must have to be recognised as this format.
    pub fn required_columns(self) -> Vec<&'static str> {
        self.source_columns().into_iter().flatten().collect()
    }

    /// For each raw column, the index of its source column in `header`, or `None` when the
    /// format has no such column. `Err` lists the required columns the header lacks.
    fn map_header(
        self,
        header: &[String],
    ) -> Result<[Option<usize>; RAW_WIDTH], Vec<&'static str>> {
        let mut missing = Vec::new();
        let positions = self.source_columns().map(|source| {
            let name = source?;
            let found = header.iter().position(|h| h == name);
            if found.is_none() {
                missing.push(name);
            }
            found
        });
        if missing.is_empty() {
            Ok(positions)
        } else {
            Err(missing)
        }
    }
}

/// A catalogue row as text, with the line it starts on (1-based, the header is line 1).
#[derive(Debug, Clone, PartialEq)]
pub struct RawTrackRow {
    pub line_number: u64,
    /// Values in [`RAW_COLUMNS`] order; `None` where the format or a short row has no value.
    pub fields: [Option<String>; RAW_WIDTH],
}

impl RawTrackRow {
    /// The raw value of a column by name.
    pub fn get(&self, column: &str) -> Option<&str> {
        let index = RAW_COLUMNS.iter().position(|c| *c == column)?;
        self.fields[index].as_deref()
    }
}

/// One catalogue file read in full.
#[derive(Debug, Clone)]
pub struct CatalogFile {
    pub path: PathBuf,
    /// SHA-256 of the file's bytes, lower-case hex: the identity of a batch.
    pub sha256: String,
    pub format: CatalogFormat,
    pub rows: Vec<RawTrackRow>,
}

/// Lists the CSV files at `path`: the file itself, or the `.csv` files of a folder, sorted.
pub fn list_csv_files(path: &Path) -> Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(path).map_err(|e| LakehouseError::io("reading", path, e))?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries = std::fs::read_dir(path).map_err(|e| LakehouseError::io("listing", path, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| LakehouseError::io("listing", path, e))?;
        let file = entry.path();
        let is_csv = file
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("csv"));
        if is_csv && file.is_file() {
            files.push(file);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(LakehouseError::NoInputFiles(path.to_path_buf()));
    }
    Ok(files)
}

/// Reads a catalogue file: detects its format from the header and keeps every record as text.
pub fn read_catalog_file(path: &Path) -> Result<CatalogFile> {
    let bytes = std::fs::read(path).map_err(|e| LakehouseError::io("reading", path, e))?;
    parse_catalog(path, &bytes)
}

/// Parses catalogue CSV `bytes`, named `path` in errors and in the result.
pub fn parse_catalog(path: &Path, bytes: &[u8]) -> Result<CatalogFile> {
    let sha256 = hex::encode(Sha256::digest(bytes));
    let csv_error = |source| LakehouseError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(csv_error)?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase())
        .collect();
    let (format, positions) = detect_format(path, &header)?;

    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(csv_error)? {
        let line_number = record.position().map_or(0, |p| p.line());
        let fields = positions.map(|pos| pos.and_then(|i| record.get(i)).map(str::to_owned));
        rows.push(RawTrackRow {
            line_number,
            fields,
        });
    }
    Ok(CatalogFile {
        path: path.to_path_buf(),
        sha256,
        format,
        rows,
    })
}

fn detect_format(
    path: &Path,
    header: &[String],
) -> Result<(CatalogFormat, [Option<usize>; RAW_WIDTH])> {
    let mut complaints = Vec::new();
    for format in CatalogFormat::ALL {
        match format.map_header(header) {
            Ok(positions) => return Ok((format, positions)),
            Err(missing) => complaints.push(format!(
                "{} needs columns [{}] (missing: {})",
                format.title(),
                format.required_columns().join(", "),
                missing.join(", ")
            )),
        }
    }
    Err(LakehouseError::UnknownCatalogHeader {
        path: path.to_path_buf(),
        found: header.to_vec(),
        expected: format!("Expected one of: {}.", complaints.join("; ")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACKS_HEADER: &str = "track_id,artists,album_name,track_name,popularity,duration_ms,\
explicit,danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,\
liveness,valence,tempo,time_signature,track_genre";

    const DATA_160K_HEADER: &str = "valence,year,acousticness,artists,danceability,duration_ms,\
energy,explicit,id,instrumentalness,key,liveness,loudness,mode,name,popularity,release_date,\
speechiness,tempo";

    fn parse(text: &str) -> Result<CatalogFile> {
        parse_catalog(Path::new("test.csv"), text.as_bytes())
    }

    #[test]
    fn reads_the_spotify_tracks_schema_with_joined_artists_and_scientific_notation() {
        let text = format!(
            "{TRACKS_HEADER}\n5SuOikwiRyPMVoIQDJUgSV,Gen Hoshino;Ben,Comedy,Comedy,73,230666,False,\
0.676,0.461,1,-6.746,0,0.143,0.0322,1.01e-06,0.358,0.715,87.917,4,acoustic\n"
        );
        let file = parse(&text).unwrap();
        assert_eq!(file.format, CatalogFormat::SpotifyTracks);
        assert_eq!(file.rows.len(), 1);
        let row = &file.rows[0];
        assert_eq!(row.line_number, 2);
        assert_eq!(row.get("track_id"), Some("5SuOikwiRyPMVoIQDJUgSV"));
        assert_eq!(row.get("artists"), Some("Gen Hoshino;Ben"));
        assert_eq!(row.get("instrumentalness"), Some("1.01e-06"));
        assert_eq!(row.get("genre"), Some("acoustic"));
        assert_eq!(row.get("release_year"), None);
    }

    #[test]
    fn accepts_the_unnamed_leading_index_column_of_the_original_file() {
        let text = format!(",{TRACKS_HEADER}\n0,id1,A,Al,T,1,2,True,0,0,0,0,0,0,0,0,0,0,0,4,pop\n");
        let file = parse(&text).unwrap();
        assert_eq!(file.rows[0].get("track_id"), Some("id1"));
        assert_eq!(file.rows[0].get("explicit"), Some("True"));
    }

    #[test]
    fn reads_the_160k_schema_with_python_list_artists() {
        let text = format!(
            "{DATA_160K_HEADER}\n0.0594,1921,0.982,\"['Sergei Rachmaninoff', \"\"Guns N' Roses\"\"]\",\
0.279,831667,0.211,0,4BJqT0PrAfrxzMOxytFOIz,0.878,10,0.665,-20.096,1,Piano Concerto,4,1921,\
0.0366,80.954\n"
        );
        let file = parse(&text).unwrap();
        assert_eq!(file.format, CatalogFormat::Spotify160k);
        let row = &file.rows[0];
        assert_eq!(row.get("track_id"), Some("4BJqT0PrAfrxzMOxytFOIz"));
        assert_eq!(row.get("track_name"), Some("Piano Concerto"));
        assert_eq!(
            row.get("artists"),
            Some("['Sergei Rachmaninoff', \"Guns N' Roses\"]")
        );
        assert_eq!(row.get("release_year"), Some("1921"));
        assert_eq!(row.get("album_name"), None);
        assert_eq!(row.get("time_signature"), None);
    }

    #[test]
    fn keeps_empty_and_short_rows_instead_of_dropping_them() {
        let text = format!("{TRACKS_HEADER}\n,,,,,,,,,,,,,,,,,,,\nid2,Artist\n");
        let file = parse(&text).unwrap();
        assert_eq!(file.rows.len(), 2);
        assert_eq!(file.rows[0].get("track_id"), Some(""));
        assert_eq!(file.rows[1].line_number, 3);
        assert_eq!(file.rows[1].get("artists"), Some("Artist"));
        assert_eq!(file.rows[1].get("track_name"), None);
    }

    #[test]
    fn keeps_a_track_repeated_across_genres_as_separate_rows() {
        let row = |genre: &str| format!("id1,A,Al,T,50,1000,False,0,0,0,0,0,0,0,0,0,0,0,4,{genre}");
        let text = format!("{TRACKS_HEADER}\n{}\n{}\n", row("pop"), row("rock"));
        let file = parse(&text).unwrap();
        let genres: Vec<_> = file.rows.iter().map(|r| r.get("genre").unwrap()).collect();
        assert_eq!(genres, ["pop", "rock"]);
    }

    #[test]
    fn rejects_a_header_from_neither_schema_and_lists_the_expected_columns() {
        let err = parse("user,artist,plays\n1,2,3\n").unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, LakehouseError::UnknownCatalogHeader { .. }));
        assert!(message.contains("track_genre"), "{message}");
        assert!(message.contains("release_date"), "{message}");
        assert!(message.contains("user"), "{message}");
    }

    #[test]
    fn hashes_content_so_the_same_bytes_give_the_same_batch_identity() {
        let a = parse(&format!("{TRACKS_HEADER}\n")).unwrap();
        let b = parse(&format!("{TRACKS_HEADER}\n")).unwrap();
        let c = parse(&format!("{TRACKS_HEADER}\n\n")).unwrap();
        assert_eq!(a.sha256, b.sha256);
        assert_ne!(a.sha256, c.sha256);
        assert_eq!(a.sha256.len(), 64);
    }
}
