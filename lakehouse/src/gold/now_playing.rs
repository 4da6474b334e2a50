//! What a listener's player says is playing now: set by each `playing_now` submission, read
//! until it expires (the track's length after it started, or ten minutes).

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::error::Result;

/// How long a submission without a length stays "now playing" (ListenBrainz's default).
pub const DEFAULT_SECONDS: i64 = 600;

/// A track being played.
#[derive(Debug, Clone, PartialEq)]
pub struct NowPlaying {
    pub user_id: String,
    /// The submission's `track_metadata` as sent.
    pub track_metadata: serde_json::Value,
    /// The catalogue's track, when matched.
    pub track_id: Option<String>,
    pub started_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Records that `now.user_id` is playing `now.track_metadata`, replacing what they played
/// before.
pub async fn set(pool: &PgPool, now: &NowPlaying) -> Result<()> {
    sqlx::query!(
        "INSERT INTO now_playing (user_id, track_metadata, track_id, started_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id) DO UPDATE SET track_metadata = EXCLUDED.track_metadata,
             track_id = EXCLUDED.track_id, started_at = EXCLUDED.started_at,
             expires_at = EXCLUDED.expires_at",
        now.user_id,
        now.track_metadata,
        now.track_id.as_deref(),
        now.started_at,
        now.expires_at,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// What `user_id` is playing now, if it has not expired.
pub async fn current(pool: &PgPool, user_id: &str) -> Result<Option<NowPlaying>> {
    Ok(sqlx::query_as!(
        NowPlaying,
        "SELECT user_id, track_metadata, track_id, started_at, expires_at
             FROM now_playing WHERE user_id = $1 AND expires_at > now()",
        user_id,
    )
    .fetch_optional(pool)
    .await?)
}
