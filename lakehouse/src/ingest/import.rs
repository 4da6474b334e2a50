//! `import listens`: plays from exported histories, matched to the catalogue, written to bronze
//! through the ingest writer. Every play is kept: unmatched plays land in bronze with a
//! placeholder track id (silver quarantines them), unreadable ones in the rejected table.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::{IngestWriter, Listen, ListenRules, Rejection, parse_listen};
use crate::bronze::listens::RejectedListen;
use crate::error::{LakehouseError, Result};
use crate::sources::listen_exports::{ExportFormat, ExportedListen, normalise, parse_export};

/// How the plays of one file were matched.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListenImportReport {
    pub path: PathBuf,
    pub format: &'static str,
    pub by_spotify_id: usize,
    pub by_name: usize,
    pub unmatched: usize,
    /// Items that could not be read or failed validation (kept in `bronze/rejected_listens`).
    pub rejected: usize,
}

/// The catalogue's ids, and its tracks by normalised "artist / title".
pub struct CatalogueIndex {
    /// Track lengths in ms by id.
    ids: std::sync::Arc<HashMap<String, i64>>,
    by_name: HashMap<(String, String), String>,
}

impl CatalogueIndex {
    /// Loads the index from gold.
    pub async fn load(pool: &PgPool) -> Result<Self> {
        let rows = sqlx::query!("SELECT track_id, name, artists, duration_ms FROM tracks")
            .fetch_all(pool)
            .await?;
        let (mut ids, mut by_name) = (HashMap::new(), HashMap::new());
        for row in rows {
            for artist in &row.artists {
                by_name
                    .entry((normalise(artist), normalise(&row.name)))
                    .or_insert_with(|| row.track_id.clone());
            }
            ids.insert(row.track_id, i64::from(row.duration_ms));
        }
        Ok(Self {
            ids: std::sync::Arc::new(ids),
            by_name,
        })
    }

    /// Track lengths in ms by id, for [`ListenRules`].
    pub fn lengths(&self) -> std::sync::Arc<HashMap<String, i64>> {
        self.ids.clone()
    }
}

/// How a play was matched to the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedBy {
    SpotifyId,
    Name,
    /// Kept with a placeholder track id; silver quarantines it.
    Nothing,
}

/// A play exported from (or sent by) another service as a listen of `user` arriving through
/// `context_source`, matched to the catalogue; or why it is refused. The same play always gets the same event id, so that
/// sending it twice stores it once in silver.
pub fn listen_of(
    index: &CatalogueIndex,
    rules: &ListenRules,
    user: &str,
    format: ExportFormat,
    context_source: &str,
    exported: ExportedListen,
) -> (MatchedBy, Result<Listen, Rejection>) {
    let (matched, track_id, length) = match match_track(index, &exported) {
        Match::Id(id) => {
            let length = index.ids.get(&id).copied();
            (MatchedBy::SpotifyId, id, length)
        }
        Match::Name(id) => {
            let length = index.ids.get(&id).copied();
            (MatchedBy::Name, id, length)
        }
        Match::None(placeholder) => (MatchedBy::Nothing, placeholder, None),
    };
    // A ListenBrainz listen names the track's length, not how long it played (a player
    // submits a listen once enough of the track has played): the catalogue's length wins.
    let ms_played = match format {
        ExportFormat::ListenBrainz => length.or(exported.ms_played),
        _ => exported.ms_played.or(length),
    };
    let event = json!({
        "event_id": event_id(user, format.id(), &exported),
        "user_id": user,
        "track_id": track_id,
        "played_at": exported.played_at.to_rfc3339(),
        "ms_played": ms_played.unwrap_or(0),
        "end_reason": exported.end_reason.filter(|r| super::END_REASONS.contains(&r.as_str())),
        "skipped": exported.skipped,
        "context": {"source": context_source},
    });
    let listen = parse_listen(&event, rules).map(|mut listen| {
        listen.raw = exported.raw;
        listen
    });
    (matched, listen)
}

enum Match {
    Id(String),
    Name(String),
    None(String),
}

fn match_track(index: &CatalogueIndex, listen: &ExportedListen) -> Match {
    if let Some(id) = listen
        .spotify_id
        .as_ref()
        .filter(|id| index.ids.contains_key(*id))
    {
        return Match::Id(id.clone());
    }
    if let (Some(artist), Some(title)) = (&listen.artist, &listen.title)
        && let Some(id) = index.by_name.get(&(normalise(artist), normalise(title)))
    {
        return Match::Name(id.clone());
    }
    let placeholder = listen.spotify_id.clone().unwrap_or_else(|| {
        let artist = listen.artist.as_deref().unwrap_or("unknown artist");
        let title = listen.title.as_deref().unwrap_or("unknown track");
        format!("unmatched:{artist} - {title}")
    });
    // An id holds no control character (ingest refuses those): they become spaces.
    let placeholder = placeholder
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c });
    Match::None(placeholder.take(128).collect())
}

/// Imports the plays of `files` for `user`.
pub async fn import_listens(
    pool: &PgPool,
    writer: &IngestWriter,
    user: &str,
    files: &[PathBuf],
) -> Result<Vec<ListenImportReport>> {
    let index = CatalogueIndex::load(pool).await?;
    let rules = ListenRules {
        track_lengths: index.ids.clone(),
        ..ListenRules::at(chrono::Utc::now())
    };
    let mut reports = Vec::new();
    for path in files {
        let text =
            std::fs::read_to_string(path).map_err(|e| LakehouseError::io("reading", path, e))?;
        let (format, items) = parse_export(&text).map_err(|detail| LakehouseError::Schema {
            table: path.display().to_string(),
            detail,
        })?;
        let mut report = ListenImportReport {
            path: path.clone(),
            format: format.id(),
            ..Default::default()
        };
        let (mut listens, mut rejected) = (Vec::new(), Vec::new());
        for (position, item) in items.into_iter().enumerate() {
            let reject = |reason: String, raw: String| {
                RejectedListen::new(
                    format!("import:{}", file_name(path)),
                    position as i64,
                    reason,
                    &raw,
                )
            };
            let exported = match item {
                Ok(exported) => exported,
                Err(reason) => {
                    rejected.push(reject(reason, String::new()));
                    continue;
                }
            };
            let raw = exported.raw.clone();
            let source = format!("import:{}", format.id());
            let (matched, listen) = listen_of(&index, &rules, user, format, &source, exported);
            match matched {
                MatchedBy::SpotifyId => report.by_spotify_id += 1,
                MatchedBy::Name => report.by_name += 1,
                MatchedBy::Nothing => report.unmatched += 1,
            }
            match listen {
                Ok(listen) => listens.push(listen),
                Err(rejection) => rejected.push(reject(rejection.reason, raw)),
            }
        }
        report.rejected = rejected.len();
        writer
            .submit(listens, rejected)
            .await
            .map_err(|e| LakehouseError::Schema {
                table: "bronze/listens".into(),
                detail: e.to_string(),
            })?;
        reports.push(report);
    }
    Ok(reports)
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The same play imported twice gets the same id, so silver keeps it once.
fn event_id(user: &str, format: &str, listen: &ExportedListen) -> String {
    let key = format!(
        "{user}\u{1f}{format}\u{1f}{}\u{1f}{}\u{1f}{}",
        listen.played_at.timestamp_millis(),
        listen.artist.as_deref().unwrap_or(""),
        listen.title.as_deref().unwrap_or("")
    );
    format!(
        "import-{}",
        &hex::encode(Sha256::digest(key.as_bytes()))[..32]
    )
}
