//! A fingerprint of what gold serves from the lake, table by table: to compare two deployments
//! fed the same listens, or one deployment before and after something that must not change
//! it (a run killed part-way).

use sqlx::{AssertSqlSafe, PgPool};

use crate::error::Result;

/// Each table and the rows of it the fingerprint covers: the catalogue, every mart, and the
/// current model's lists, similar tracks and segments, row for row (scores included; the
/// version number left out, since a retrain on the same input gives the same model under a new
/// number).
const COVERED: [(&str, &str); 18] = [
    ("tracks", "SELECT track_id, name FROM tracks"),
    ("genres", "SELECT * FROM genres"),
    ("users", "SELECT * FROM users"),
    ("daily_activity", "SELECT * FROM daily_activity"),
    ("genre_daily", "SELECT * FROM genre_daily"),
    (
        "hour_weekday_activity",
        "SELECT * FROM hour_weekday_activity",
    ),
    ("track_popularity", "SELECT * FROM track_popularity"),
    ("user_tops", "SELECT * FROM user_tops"),
    ("hourly_activity", "SELECT * FROM hourly_activity"),
    ("track_daily", "SELECT * FROM track_daily"),
    ("artist_daily", "SELECT * FROM artist_daily"),
    ("track_day_leaders", "SELECT * FROM track_day_leaders"),
    ("artist_day_leaders", "SELECT * FROM artist_day_leaders"),
    ("cohort_retention", "SELECT * FROM cohort_retention"),
    ("user_recent_listens", "SELECT * FROM user_recent_listens"),
    (
        "recommendations",
        "SELECT r.user_id, r.rank, r.track_id, r.score, r.reason FROM recommendations r
         JOIN model_versions v USING (model_version) WHERE v.is_current",
    ),
    (
        "similar_tracks",
        "SELECT s.track_id, s.rank, s.similar_track_id, s.score FROM similar_tracks s
         JOIN model_versions v USING (model_version) WHERE v.is_current",
    ),
    ("user_segment_members", "SELECT * FROM user_segment_members"),
];

/// Each covered table with the MD5 of its rows in a fixed order (`None` when it is empty).
pub async fn tables(pool: &PgPool) -> Result<Vec<(String, Option<String>)>> {
    let mut fingerprint = Vec::with_capacity(COVERED.len());
    for (table, rows) in COVERED {
        let digest: Option<String> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM ({rows}) AS t"
        )))
        .fetch_one(pool)
        .await?;
        fingerprint.push((table.to_owned(), digest));
    }
    Ok(fingerprint)
}
