//! Listening-history exports: Spotify's "Extended streaming history"
//! (`Streaming_History_Audio_*.json`), Spotify's older `StreamingHistory*.json`, and
//! ListenBrainz listens (a JSON array or one JSON object per line). Recognised by their fields.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde_json::Value;

/// A supported export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    SpotifyExtended,
    SpotifyBasic,
    ListenBrainz,
}

impl ExportFormat {
    pub fn id(self) -> &'static str {
        match self {
            ExportFormat::SpotifyExtended => "spotify_extended",
            ExportFormat::SpotifyBasic => "spotify_basic",
            ExportFormat::ListenBrainz => "listenbrainz",
        }
    }

    fn detect(item: &Value) -> Option<Self> {
        let has = |key: &str| item.get(key).is_some();
        if has("ts") && has("ms_played") {
            Some(ExportFormat::SpotifyExtended)
        } else if has("endTime") && has("msPlayed") {
            Some(ExportFormat::SpotifyBasic)
        } else if has("listened_at") && has("track_metadata") {
            Some(ExportFormat::ListenBrainz)
        } else {
            None
        }
    }
}

/// One exported play, before matching to the catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedListen {
    /// When the play started.
    pub played_at: DateTime<Utc>,
    pub ms_played: Option<i64>,
    pub artist: Option<String>,
    pub title: Option<String>,
    pub spotify_id: Option<String>,
    pub end_reason: Option<String>,
    pub skipped: Option<bool>,
    /// The item as it appears in the export.
    pub raw: String,
}

/// Parses an export: its format, and each item as a play or the reason it cannot be read.
pub fn parse_export(
    text: &str,
) -> Result<(ExportFormat, Vec<Result<ExportedListen, String>>), String> {
    let items: Vec<Value> = match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => items,
        // JSON lines holding a single object.
        Ok(single @ Value::Object(_)) => vec![single],
        Ok(_) => return Err("expected a JSON array of listens or one JSON object per line".into()),
        Err(_) => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("neither a JSON array nor JSON lines: {e}"))?,
    };
    let format = items.iter().find_map(ExportFormat::detect).ok_or_else(|| {
        "no Spotify (ts/ms_played or endTime/msPlayed) or ListenBrainz (listened_at/track_metadata) items found".to_owned()
    })?;
    let listens = items.iter().map(|item| read_item(format, item)).collect();
    Ok((format, listens))
}

fn text(value: Option<&Value>) -> Option<String> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// One ListenBrainz listen (`listened_at`, `track_metadata`), as its API and exports write it.
pub fn read_listenbrainz(item: &Value) -> Result<ExportedListen, String> {
    read_item(ExportFormat::ListenBrainz, item)
}

fn read_item(format: ExportFormat, item: &Value) -> Result<ExportedListen, String> {
    let raw = item.to_string();
    match format {
        ExportFormat::SpotifyExtended => {
            let ended = text(item.get("ts")).ok_or("ts is missing")?;
            let ended = DateTime::parse_from_rfc3339(&ended)
                .map_err(|_| format!("ts {ended:?} is not a timestamp"))?;
            let ms_played = item
                .get("ms_played")
                .and_then(Value::as_i64)
                .ok_or("ms_played is missing")?;
            let spotify_id = text(item.get("spotify_track_uri"))
                .and_then(|uri| uri.strip_prefix("spotify:track:").map(str::to_owned));
            Ok(ExportedListen {
                played_at: ended.with_timezone(&Utc) - Duration::milliseconds(ms_played),
                ms_played: Some(ms_played),
                artist: text(item.get("master_metadata_album_artist_name")),
                title: text(item.get("master_metadata_track_name")),
                spotify_id,
                end_reason: text(item.get("reason_end")),
                skipped: item.get("skipped").and_then(Value::as_bool),
                raw,
            })
        }
        ExportFormat::SpotifyBasic => {
            let ended = text(item.get("endTime")).ok_or("endTime is missing")?;
            let ended = NaiveDateTime::parse_from_str(&ended, "%Y-%m-%d %H:%M")
                .map_err(|_| format!("endTime {ended:?} is not YYYY-MM-DD HH:MM"))?
                .and_utc();
            let ms_played = item
                .get("msPlayed")
                .and_then(Value::as_i64)
                .ok_or("msPlayed is missing")?;
            Ok(ExportedListen {
                played_at: ended - Duration::milliseconds(ms_played),
                ms_played: Some(ms_played),
                artist: text(item.get("artistName")),
                title: text(item.get("trackName")),
                spotify_id: None,
                end_reason: None,
                skipped: None,
                raw,
            })
        }
        ExportFormat::ListenBrainz => {
            let seconds = item
                .get("listened_at")
                .and_then(Value::as_i64)
                .ok_or("listened_at is missing")?;
            let played_at =
                DateTime::from_timestamp(seconds, 0).ok_or("listened_at is out of range")?;
            let metadata = item
                .get("track_metadata")
                .ok_or("track_metadata is missing")?;
            let info = metadata.get("additional_info");
            let spotify_id = text(info.and_then(|i| i.get("spotify_id")))
                .and_then(|url| url.rsplit('/').next().map(str::to_owned))
                .filter(|id| !id.is_empty());
            Ok(ExportedListen {
                played_at,
                ms_played: info
                    .and_then(|i| i.get("duration_ms"))
                    .and_then(Value::as_i64),
                artist: text(metadata.get("artist_name")),
                title: text(metadata.get("track_name")),
                spotify_id,
                end_reason: None,
                skipped: None,
                raw,
            })
        }
    }
}

/// Lower-case letters and digits, words separated by one space: how artist and title are
/// compared with the catalogue.
pub fn normalise(text: &str) -> String {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_extended_history_and_starts_the_play_before_its_end() {
        let text = r#"[{"ts": "2024-03-01T12:03:00Z", "ms_played": 180000,
            "master_metadata_track_name": "Comedy", "master_metadata_album_artist_name": "Gen Hoshino",
            "spotify_track_uri": "spotify:track:5SuOikwiRyPMVoIQDJUgSV", "reason_end": "trackdone", "skipped": null}]"#;
        let (format, items) = parse_export(text).unwrap();
        assert_eq!(format, ExportFormat::SpotifyExtended);
        let listen = items[0].as_ref().unwrap();
        assert_eq!(listen.played_at.to_rfc3339(), "2024-03-01T12:00:00+00:00");
        assert_eq!(listen.spotify_id.as_deref(), Some("5SuOikwiRyPMVoIQDJUgSV"));
        assert_eq!(listen.skipped, None);
    }

    #[test]
    fn reads_the_basic_history_and_listenbrainz_lines() {
        let basic = r#"[{"endTime": "2024-03-01 12:03", "artistName": "A", "trackName": "T", "msPlayed": 60000}]"#;
        let (format, items) = parse_export(basic).unwrap();
        assert_eq!(format, ExportFormat::SpotifyBasic);
        assert_eq!(
            items[0].as_ref().unwrap().played_at.to_rfc3339(),
            "2024-03-01T12:02:00+00:00"
        );

        let lines = "{\"listened_at\": 1709294400, \"track_metadata\": {\"artist_name\": \"A\", \"track_name\": \"T\", \
\"additional_info\": {\"spotify_id\": \"https://open.spotify.com/track/abc123\", \"duration_ms\": 200000}}}\n\
{\"listened_at\": \"soon\", \"track_metadata\": {}}\n";
        let (format, items) = parse_export(lines).unwrap();
        assert_eq!(format, ExportFormat::ListenBrainz);
        assert_eq!(
            items[0].as_ref().unwrap().spotify_id.as_deref(),
            Some("abc123")
        );
        assert_eq!(items[1], Err("listened_at is missing".to_owned()));
    }

    #[test]
    fn an_unknown_shape_is_refused_with_what_was_expected() {
        let error = parse_export(r#"[{"user": 1}]"#).unwrap_err();
        assert!(error.contains("ListenBrainz"), "{error}");
    }

    #[test]
    fn names_compare_without_case_or_punctuation() {
        assert_eq!(normalise("  Guns N' Roses "), "guns n roses");
        assert_eq!(normalise("Ghost - Acoustic"), "ghost acoustic");
    }
}
