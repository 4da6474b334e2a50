//! Serving the current model version: listeners' recommendations, similar tracks, the model
//! registry with its metrics, and listeners' feedback.

use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;
use sqlx::types::Json;

use crate::error::Result;
use crate::ml::diversity::Diversity;
use crate::ml::skip_model::SkipMetrics;

/// One recommendation with the track's catalogue data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecommendationRow {
    pub rank: i16,
    pub track_id: String,
    pub name: String,
    pub artists: Vec<String>,
    pub genres: Vec<String>,
    pub score: f32,
    pub reason: String,
}

/// The current model version's list for `user_id` (empty when the listener is unknown to
/// it), and that version; `None` when no model was published yet.
pub async fn current_list(
    pool: &PgPool,
    user_id: &str,
    limit: i64,
) -> Result<Option<(i64, Vec<RecommendationRow>)>> {
    let Some(version) = current_version(pool).await? else {
        return Ok(None);
    };
    Ok(Some((
        version,
        version_list(pool, version, user_id, limit).await?,
    )))
}

/// Model version `version`'s list for `user_id` (empty when the version does not know them).
pub async fn version_list(
    pool: &PgPool,
    version: i64,
    user_id: &str,
    limit: i64,
) -> Result<Vec<RecommendationRow>> {
    Ok(sqlx::query_as!(
        RecommendationRow,
        "SELECT r.rank, r.track_id, t.name, t.artists, t.genres, r.score, r.reason
         FROM recommendations r JOIN tracks t USING (track_id)
         WHERE r.model_version = $1 AND r.user_id = $2
         ORDER BY r.rank LIMIT $3",
        version,
        user_id,
        limit,
    )
    .fetch_all(pool)
    .await?)
}

/// The current model version, when the run that trained it started, and whether it has a
/// list for `user_id` or the listener gave feedback (a listener with neither gets the popular
/// list), in one statement: all a read of a listener the server keeps nothing of needs.
pub async fn current_model_knowing(
    pool: &PgPool,
    user_id: &str,
) -> Result<Option<(i64, chrono::DateTime<chrono::Utc>, bool)>> {
    let row = sqlx::query!(
        r#"SELECT v.model_version AS "model_version!",
                  coalesce(r.started_at, v.trained_at) AS "started_at!",
                  EXISTS (SELECT 1 FROM recommendations k
                          WHERE k.model_version = v.model_version AND k.user_id = $1)
                  OR EXISTS (SELECT 1 FROM feedback f WHERE f.user_id = $1) AS "known!"
           FROM model_versions v LEFT JOIN pipeline_runs r USING (run_id)
           WHERE v.is_current"#,
        user_id,
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| (row.model_version, row.started_at, row.known)))
}

/// The model version the API serves, and when the run that trained it started: listens
/// accepted after that are not in it.
pub async fn current_model(pool: &PgPool) -> Result<Option<(i64, chrono::DateTime<chrono::Utc>)>> {
    let row = sqlx::query!(
        r#"SELECT v.model_version AS "model_version!",
                  coalesce(r.started_at, v.trained_at) AS "started_at!"
           FROM model_versions v LEFT JOIN pipeline_runs r USING (run_id)
           WHERE v.is_current"#
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| (row.model_version, row.started_at)))
}

/// The model version the API serves.
pub async fn current_version(pool: &PgPool) -> Result<Option<i64>> {
    Ok(current_model(pool).await?.map(|(version, _)| version))
}

/// A similar track.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SimilarRow {
    pub rank: i16,
    pub track_id: String,
    pub name: String,
    pub artists: Vec<String>,
    pub score: f32,
    /// `listeners` (played by the same listeners) or `sound` (closest audio features).
    pub basis: String,
}

/// Tracks similar to `track_id`: by shared listeners from the current model version, then,
/// to fill up to `limit`, the tracks of its cluster with the closest audio features.
pub async fn similar(pool: &PgPool, track_id: &str, limit: i64) -> Result<Vec<SimilarRow>> {
    let mut rows = by_listeners(pool, track_id, limit).await?;
    if (rows.len() as i64) < limit {
        let have: Vec<String> = rows.iter().map(|r| r.track_id.clone()).collect();
        let by_sound = sound_rows(pool, track_id, &have, limit - rows.len() as i64).await?;
        let start = rows.len() as i16;
        rows.extend(by_sound.into_iter().enumerate().map(|(i, mut r)| {
            r.rank = start + i as i16 + 1;
            r
        }));
    }
    Ok(rows)
}

/// Tracks similar to `track_id` on each basis apart: up to `limit` by shared listeners
/// (current model version), and up to `limit` by sound (its cluster's closest tracks).
pub async fn similar_on_both_bases(
    pool: &PgPool,
    track_id: &str,
    limit: i64,
) -> Result<(Vec<SimilarRow>, Vec<SimilarRow>)> {
    let listeners = by_listeners(pool, track_id, limit).await?;
    let sound = sound_rows(pool, track_id, &[], limit).await?;
    Ok((listeners, sound))
}

/// The tracks the current model version found played by the same listeners as `track_id`.
async fn by_listeners(pool: &PgPool, track_id: &str, limit: i64) -> Result<Vec<SimilarRow>> {
    Ok(sqlx::query_as!(
        SimilarRow,
        r#"SELECT s.rank, s.similar_track_id AS track_id, t.name, t.artists, s.score,
                  'listeners' AS "basis!"
           FROM similar_tracks s
           JOIN model_versions v ON v.model_version = s.model_version AND v.is_current
           JOIN tracks t ON t.track_id = s.similar_track_id
           WHERE s.track_id = $1
           ORDER BY s.rank LIMIT $2"#,
        track_id,
        limit,
    )
    .fetch_all(pool)
    .await?)
}

/// A model version as the registry records it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelVersionRow {
    pub model_version: i64,
    pub run_id: Option<i64>,
    /// The family it serves.
    pub model: String,
    /// The family's settings.
    #[cfg_attr(feature = "openapi", schema(value_type = Value))]
    pub params: Json<Value>,
    pub trained_at: chrono::DateTime<chrono::Utc>,
    /// The `silver/listens` version it was trained on.
    pub silver_version: i64,
    pub users: i64,
    pub items: i64,
    pub interactions: i64,
    pub train_secs: f64,
    /// The skip model's held-out figures, when it was trained.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<SkipMetrics>))]
    pub skip_metrics: Option<Json<SkipMetrics>>,
    /// How varied its lists are, for versions that recorded it.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Diversity>))]
    pub diversity: Option<Json<Diversity>>,
    pub is_current: bool,
}

/// One family's offline figures for a version, at k = 10.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelMetricRow {
    pub model_version: i64,
    pub model: String,
    pub chosen: bool,
    /// The family's settings.
    #[cfg_attr(feature = "openapi", schema(value_type = Value))]
    pub params: Json<Value>,
    pub validation_ndcg: f64,
    pub ndcg: f64,
    pub recall: f64,
    pub precision: f64,
    pub map: f64,
    pub coverage: f64,
    pub train_secs: f64,
    pub eval_secs: f64,
    pub test_users: i64,
}

/// The newest `limit` model versions, newest first.
pub async fn list_versions(pool: &PgPool, limit: i64) -> Result<Vec<ModelVersionRow>> {
    Ok(sqlx::query_as!(
        ModelVersionRow,
        r#"SELECT model_version, run_id, model, params AS "params: Json<Value>", trained_at,
                  silver_version, users, items, interactions, train_secs,
                  skip_metrics AS "skip_metrics: Json<SkipMetrics>",
                  diversity AS "diversity: Json<Diversity>", is_current
           FROM model_versions ORDER BY model_version DESC LIMIT $1"#,
        limit,
    )
    .fetch_all(pool)
    .await
    .map(|rows: Vec<ModelVersionRow>| {
        rows.into_iter()
            .map(ModelVersionRow::with_finite_figures)
            .collect()
    })?)
}

impl ModelVersionRow {
    /// The version with its skip model's and diversity figures only when every one of them is
    /// a number: a figure that was not finite when written was stored as `null`, and such a
    /// record is left out as if it had not been recorded.
    fn with_finite_figures(mut self) -> Self {
        if self.skip_metrics.as_ref().is_some_and(|m| !m.0.is_finite()) {
            self.skip_metrics = None;
        }
        if self.diversity.as_ref().is_some_and(|d| !d.0.is_finite()) {
            self.diversity = None;
        }
        self
    }
}

/// The figures of the given versions.
pub async fn list_metrics(pool: &PgPool, versions: &[i64]) -> Result<Vec<ModelMetricRow>> {
    Ok(sqlx::query_as!(
        ModelMetricRow,
        r#"SELECT model_version, model, chosen, params AS "params: Json<Value>", validation_ndcg,
                  ndcg, recall, precision, map, coverage, train_secs, eval_secs, test_users
           FROM model_metrics WHERE model_version = ANY($1)
           ORDER BY model_version DESC, ndcg DESC"#,
        versions,
    )
    .fetch_all(pool)
    .await?)
}

/// A listener's feedback on a track or an artist.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct FeedbackRow {
    pub target_type: String,
    pub target_id: String,
    pub kind: String,
}

/// Records feedback (the latest word on a target wins).
pub async fn record_feedback(pool: &PgPool, user_id: &str, f: &FeedbackRow) -> Result<()> {
    sqlx::query!(
        "INSERT INTO feedback (user_id, target_type, target_id, kind) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, target_type, target_id)
         DO UPDATE SET kind = EXCLUDED.kind, created_at = now()",
        user_id,
        f.target_type,
        f.target_id,
        f.kind,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// A listener's word on a track (`kind` as in [`FeedbackRow`]), given at `at`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackWord<'a> {
    pub user_id: &'a str,
    pub track_id: &'a str,
    pub kind: &'a str,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Records many listeners' words on tracks at once, in the order they were given: the latest
/// word on a track wins, as with [`record_feedback`]. Returns the rows written.
pub async fn record_track_feedback(pool: &PgPool, words: &[TrackWord<'_>]) -> Result<u64> {
    let mut latest: std::collections::HashMap<(&str, &str), usize> = Default::default();
    for (n, w) in words.iter().enumerate() {
        latest.insert((w.user_id, w.track_id), n);
    }
    let mut kept: Vec<usize> = latest.into_values().collect();
    kept.sort_unstable();
    let mut written = 0;
    for chunk in kept.chunks(FEEDBACK_CHUNK) {
        let words: Vec<&TrackWord> = chunk.iter().map(|&n| &words[n]).collect();
        let users: Vec<&str> = words.iter().map(|w| w.user_id).collect();
        let tracks: Vec<&str> = words.iter().map(|w| w.track_id).collect();
        let kinds: Vec<&str> = words.iter().map(|w| w.kind).collect();
        let at: Vec<chrono::DateTime<chrono::Utc>> = words.iter().map(|w| w.at).collect();
        // `as _`: the macro checks text arrays as `&[String]`; these borrow `&str`s.
        written += sqlx::query!(
            "INSERT INTO feedback (user_id, target_type, target_id, kind, created_at)
             SELECT user_id, 'track', target_id, kind, created_at
             FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
                 AS w (user_id, target_id, kind, created_at)
             ON CONFLICT (user_id, target_type, target_id)
             DO UPDATE SET kind = EXCLUDED.kind, created_at = EXCLUDED.created_at",
            users as _,
            tracks as _,
            kinds as _,
            &at,
        )
        .execute(pool)
        .await?
        .rows_affected();
    }
    Ok(written)
}

/// Feedback rows written per statement.
const FEEDBACK_CHUNK: usize = 10_000;

/// A listener's feedback.
pub async fn feedback_of(pool: &PgPool, user_id: &str) -> Result<Vec<FeedbackRow>> {
    Ok(sqlx::query_as!(
        FeedbackRow,
        "SELECT target_type, target_id, kind FROM feedback WHERE user_id = $1 ORDER BY created_at",
        user_id,
    )
    .fetch_all(pool)
    .await?)
}

/// Every listener's feedback, oldest first: (user, target type, target, kind).
pub async fn all_feedback(pool: &PgPool) -> Result<Vec<(String, String, String, String)>> {
    let rows = sqlx::query!(
        "SELECT user_id, target_type, target_id, kind FROM feedback
         ORDER BY created_at, user_id, target_type, target_id",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.user_id, row.target_type, row.target_id, row.kind))
        .collect())
}

/// Model version `version`'s similar tracks of each of `track_ids`.
pub async fn similar_of_many(
    pool: &PgPool,
    version: i64,
    track_ids: &[String],
) -> Result<std::collections::HashMap<String, Vec<(String, f32)>>> {
    let rows = sqlx::query!(
        "SELECT track_id, similar_track_id, score
         FROM similar_tracks
         WHERE model_version = $1 AND track_id = ANY($2)
         ORDER BY track_id, rank",
        version,
        track_ids,
    )
    .fetch_all(pool)
    .await?;
    let mut out: std::collections::HashMap<String, Vec<(String, f32)>> = Default::default();
    for row in rows {
        out.entry(row.track_id)
            .or_default()
            .push((row.similar_track_id, row.score));
    }
    Ok(out)
}

/// Tracks that sound like `track_id` (same cluster, closest audio features), for tracks the
/// current model has no listener-based neighbours of: (track, closeness in (0, 1]), closest
/// first.
pub async fn similar_by_sound(
    pool: &PgPool,
    track_id: &str,
    limit: i64,
) -> Result<Vec<(String, f32)>> {
    let rows = sound_rows(pool, track_id, &[], limit).await?;
    Ok(rows.into_iter().map(|r| (r.track_id, r.score)).collect())
}

/// Up to `limit` tracks of `track_id`'s cluster with the closest audio features, leaving out
/// `exclude` (`similar_by_sound.sql`).
async fn sound_rows(
    pool: &PgPool,
    track_id: &str,
    exclude: &[String],
    limit: i64,
) -> Result<Vec<SimilarRow>> {
    Ok(sqlx::query_file_as!(
        SimilarRow,
        "src/gold/sql/similar_by_sound.sql",
        track_id,
        exclude,
        limit,
    )
    .fetch_all(pool)
    .await?)
}

/// A track's name, artists and audio features, for re-ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackFeaturesRow {
    pub track_id: String,
    pub name: String,
    pub artists: Vec<String>,
    pub danceability: f64,
    pub energy: f64,
    pub loudness: f64,
    pub speechiness: f64,
    pub acousticness: f64,
    pub instrumentalness: f64,
    pub liveness: f64,
    pub valence: f64,
    pub tempo: f64,
}

impl TrackFeaturesRow {
    /// The audio features in `silver::tracks::AUDIO_FEATURES` order, in their own units.
    pub fn features(&self) -> [f64; 9] {
        [
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
}

/// The catalogue rows of `track_ids` (unknown ids are left out).
pub async fn track_features(pool: &PgPool, track_ids: &[String]) -> Result<Vec<TrackFeaturesRow>> {
    Ok(sqlx::query_as!(
        TrackFeaturesRow,
        "SELECT track_id, name, artists, danceability, energy, loudness, speechiness,
                acousticness, instrumentalness, liveness, valence, tempo
         FROM tracks WHERE track_id = ANY($1)",
        track_ids,
    )
    .fetch_all(pool)
    .await?)
}

/// The cold-start list for listeners the model does not know yet: the tracks most listeners
/// played, as the marts count them.
pub async fn popular_list(pool: &PgPool, limit: i64) -> Result<Vec<RecommendationRow>> {
    Ok(sqlx::query_as!(
        RecommendationRow,
        r#"SELECT CAST(row_number() OVER (ORDER BY p.listeners DESC, p.track_id) AS smallint)
                      AS "rank!",
                  p.track_id, t.name, t.artists, t.genres,
                  CAST(p.listeners AS real) AS "score!", 'popular on soundlake' AS "reason!"
           FROM track_popularity p JOIN tracks t USING (track_id)
           ORDER BY p.listeners DESC, p.track_id LIMIT $1"#,
        limit,
    )
    .fetch_all(pool)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_keeps_its_figures_only_when_they_are_numbers() {
        let skip = SkipMetrics {
            auc: f64::NAN,
            log_loss: 0.6,
            base_log_loss: 0.65,
            base_rate: 0.3,
            train_rows: 10,
            test_rows: 5,
        };
        let diversity = Diversity {
            lists: 3,
            sound: 1.2,
            artists: 0.9,
            mean_popularity_rank: 40.0,
            popularity_rank_share: 0.2,
        };
        let version = ModelVersionRow {
            model_version: 1,
            run_id: None,
            model: "popularity".into(),
            params: Json(Value::Null),
            trained_at: chrono::Utc::now(),
            silver_version: 0,
            users: 1,
            items: 1,
            interactions: 1,
            train_secs: 0.1,
            skip_metrics: Some(Json(skip)),
            diversity: Some(Json(diversity)),
            is_current: true,
        }
        .with_finite_figures();
        assert_eq!(version.skip_metrics, None, "a NaN figure drops the record");
        assert_eq!(version.diversity, Some(Json(diversity)));
    }
}
