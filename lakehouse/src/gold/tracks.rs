//! Queries that serve the catalogue from gold.

use serde::Serialize;
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::error::Result;

/// A catalogue search: free text over name, artists and album, an optional genre, one page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackSearch {
    pub text: Option<String>,
    pub genre: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// A track as listed in search results.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct TrackSummaryRow {
    pub track_id: String,
    pub name: String,
    pub artists: Vec<String>,
    pub album_name: Option<String>,
    pub genres: Vec<String>,
    pub popularity: i16,
    pub duration_ms: i32,
    pub explicit: bool,
}

/// One page of search results and the number of all matches.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackSearchPage {
    pub total: i64,
    pub items: Vec<TrackSummaryRow>,
}

/// Everything gold knows about one track.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackDetailRow {
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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GenreCountRow {
    pub genre: String,
    pub track_count: i32,
}

const SUMMARY_COLUMNS: &str =
    "track_id, name, artists, album_name, genres, popularity, duration_ms, explicit";

/// Escapes `%`, `_` and `\` so user text matches literally inside a LIKE pattern.
fn like_literal(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

fn push_filters(query: &mut QueryBuilder<Postgres>, search: &TrackSearch) {
    query.push(" WHERE true");
    if let Some(text) = search
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let pattern = format!("%{}%", like_literal(&text.to_lowercase()));
        query.push(" AND search_text LIKE ").push_bind(pattern);
    }
    if let Some(genre) = search.genre.as_deref().filter(|g| !g.is_empty()) {
        query
            .push(" AND genres @> ARRAY[")
            .push_bind(genre.to_owned())
            .push("]::text[]");
    }
}

/// The tracks among `ids` that the catalogue holds, in no particular order.
pub async fn tracks_by_id(pool: &PgPool, ids: &[String]) -> Result<Vec<TrackSummaryRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SUMMARY_COLUMNS} FROM tracks WHERE track_id = ANY($1)"
    )))
    .bind(ids)
    .fetch_all(pool)
    .await?)
}

/// Searches the catalogue: the most popular matches first, then by id for a stable order.
pub async fn search_tracks(pool: &PgPool, search: &TrackSearch) -> Result<TrackSearchPage> {
    let mut count = QueryBuilder::new("SELECT count(*) FROM tracks");
    push_filters(&mut count, search);
    let total: i64 = count.build_query_scalar().fetch_one(pool).await?;

    let mut page = QueryBuilder::new(format!("SELECT {SUMMARY_COLUMNS} FROM tracks"));
    push_filters(&mut page, search);
    page.push(" ORDER BY popularity DESC, track_id LIMIT ")
        .push_bind(search.limit)
        .push(" OFFSET ")
        .push_bind(search.offset);
    let items = page
        .build_query_as::<TrackSummaryRow>()
        .fetch_all(pool)
        .await?;
    Ok(TrackSearchPage { total, items })
}

/// One track by id.
pub async fn get_track(pool: &PgPool, track_id: &str) -> Result<Option<TrackDetailRow>> {
    let track = sqlx::query_as!(
        TrackDetailRow,
        "SELECT track_id, name, artists, album_name, genres, popularity, duration_ms, explicit,
                danceability, energy, key, loudness, mode, speechiness, acousticness,
                instrumentalness, liveness, valence, tempo, time_signature, release_year
         FROM tracks WHERE track_id = $1",
        track_id,
    )
    .fetch_optional(pool)
    .await?;
    Ok(track)
}

/// Every genre with its number of tracks, by name.
pub async fn list_genres(pool: &PgPool) -> Result<Vec<GenreCountRow>> {
    let genres = sqlx::query_as!(
        GenreCountRow,
        "SELECT genre, track_count FROM genres ORDER BY genre",
    )
    .fetch_all(pool)
    .await?;
    Ok(genres)
}

/// Every track's length in ms, by id: what listen validation checks `ms_played` against.
pub async fn track_lengths(pool: &PgPool) -> Result<std::collections::HashMap<String, i64>> {
    let rows = sqlx::query!("SELECT track_id, duration_ms FROM tracks")
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.track_id, i64::from(row.duration_ms)))
        .collect())
}

struct SimulationTrackRow {
    track_id: String,
    duration_ms: i32,
    genre: String,
    popularity: i16,
    energy: f64,
    valence: f64,
    danceability: f64,
    acousticness: f64,
}

/// The catalogue as the listening simulator needs it: length, first genre, popularity and
/// four audio features of every track that has a genre.
pub async fn simulation_tracks(pool: &PgPool) -> Result<Vec<crate::simulate::SimTrack>> {
    let rows = sqlx::query_as!(
        SimulationTrackRow,
        r#"SELECT track_id, duration_ms, genres[1] AS "genre!", popularity, energy, valence,
                  danceability, acousticness
           FROM tracks WHERE cardinality(genres) > 0 ORDER BY track_id"#,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| crate::simulate::SimTrack {
            track_id: r.track_id,
            duration_ms: i64::from(r.duration_ms),
            genre: r.genre,
            popularity: i64::from(r.popularity),
            features: [r.energy, r.valence, r.danceability, r.acousticness],
        })
        .collect())
}

/// The number of tracks in gold.
pub async fn count_tracks(pool: &PgPool) -> Result<i64> {
    Ok(
        sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM tracks"#)
            .fetch_one(pool)
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::like_literal;

    #[test]
    fn like_wildcards_in_user_text_match_literally() {
        assert_eq!(like_literal("100% _pure_ \\o/"), "100\\% \\_pure\\_ \\\\o/");
    }
}
