//! What a listener's own pages read from gold: their tops, their latest listens, and their
//! taste beside their segment's centre.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::error::Result;
use crate::silver::tracks::AUDIO_FEATURES;

/// One entry of a listener's tops.
#[derive(Debug, Clone, PartialEq)]
pub struct TopRow {
    /// `7d`, `30d` or `all`.
    pub period: String,
    /// `track`, `artist` or `genre`.
    pub kind: String,
    pub rank: i16,
    /// The track id, the artist or the genre.
    pub item: String,
    /// The track's name (for tracks in the catalogue), else the item.
    pub name: String,
    pub listens: i64,
}

/// A listener's top tracks, artists and genres of every period, by period, kind and rank.
pub async fn tops(pool: &PgPool, user_id: &str) -> Result<Vec<TopRow>> {
    Ok(sqlx::query_as!(
        TopRow,
        r#"SELECT u.period AS "period!", u.kind AS "kind!", u.rank AS "rank!", u.item AS "item!",
                  coalesce(t.name, u.item) AS "name!", u.listens AS "listens!"
           FROM user_tops AS u
           LEFT JOIN tracks AS t ON u.kind = 'track' AND t.track_id = u.item
           WHERE u.user_id = $1
           ORDER BY u.period, u.kind, u.rank"#,
        user_id,
    )
    .fetch_all(pool)
    .await?)
}

/// One of a listener's latest listens.
#[derive(Debug, Clone, PartialEq)]
pub struct RecentListen {
    pub played_at: DateTime<Utc>,
    pub track_id: String,
    pub name: String,
    pub artists: Vec<String>,
    pub ms_played: i64,
    pub is_skip: bool,
}

/// A listener's latest listens as of the last pipeline run, newest first.
pub async fn recent_listens(pool: &PgPool, user_id: &str) -> Result<Vec<RecentListen>> {
    Ok(sqlx::query_as!(
        RecentListen,
        r#"SELECT r.played_at AS "played_at!", r.track_id AS "track_id!",
                  coalesce(t.name, r.track_id) AS "name!",
                  coalesce(t.artists, '{}') AS "artists!", r.ms_played AS "ms_played!",
                  r.is_skip AS "is_skip!"
           FROM user_recent_listens AS r
           LEFT JOIN tracks AS t USING (track_id)
           WHERE r.user_id = $1
           ORDER BY r.played_at DESC, r.track_id"#,
        user_id,
    )
    .fetch_all(pool)
    .await?)
}

/// A listener's segment, and their taste beside its centre.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentOfListener {
    pub segment_id: i16,
    pub label: String,
    pub size: i32,
    /// Per feature: its name, the listener's mean, the segment's mean.
    pub features: Vec<(String, f64, f64)>,
}

/// The segment of `user_id`, if the last model version placed them in one.
pub async fn segment(pool: &PgPool, user_id: &str) -> Result<Option<SegmentOfListener>> {
    let row = sqlx::query!(
        "SELECT s.segment_id, s.label, s.size, s.centroid, m.taste
         FROM user_segment_members AS m
         JOIN user_segments AS s USING (segment_id)
         WHERE m.user_id = $1",
        user_id,
    )
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let taste = row.taste.unwrap_or_default();
    let features = AUDIO_FEATURES
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            let mine = *taste.get(i)?;
            // `get` finds nothing in a centroid that is not an object.
            let centre = row.centroid.get(*name)?.as_f64()?;
            Some(((*name).to_owned(), mine, centre))
        })
        .collect();
    Ok(Some(SegmentOfListener {
        segment_id: row.segment_id,
        label: row.label,
        size: row.size,
        features,
    }))
}
