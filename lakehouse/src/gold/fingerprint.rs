//! A fingerprint of what gold serves from the lake, table by table: to compare two deployments
//! fed the same listens, or one deployment before and after something that must not change
//! it (a run killed part-way).

use sqlx::{AssertSqlSafe, PgPool};

use crate::error::Result;

/// Each table and the rows of it the fingerprint covers. The catalogue and every mart row for
/// row; of the current model, who has lists, similar tracks and a segment, and how many (a
/// retrained model is not bit for bit the same: floating-point sums run in parallel).
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
        "SELECT r.user_id, count(*) FROM recommendations r
         JOIN model_versions v USING (model_version) WHERE v.is_current GROUP BY r.user_id",
    ),
    (
        "similar_tracks",
        "SELECT s.track_id, count(*) FROM similar_tracks s
         JOIN model_versions v USING (model_version) WHERE v.is_current GROUP BY s.track_id",
    ),
    (
        "user_segment_members",
        "SELECT user_id FROM user_segment_members",
    ),
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
