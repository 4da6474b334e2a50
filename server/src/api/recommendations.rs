//! Recommendations: a listener's live list (and its server-sent events), their feedback, and
//! similar tracks.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use futures::Stream;
use lakehouse::gold::recommendations::{self as gold_recs, FeedbackRow, SimilarRow};
use lakehouse::gold::tracks as gold_tracks;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::limit::{LimitParams, limit};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{self, FreeText, Id, Path, Query};
use crate::infra::shutdown::Shutdown;
use crate::services::live::{LiveList, LiveRecommendations};

/// `GET /users/{id}/recommendations?limit=N` (default 20, at most 50): the current list,
/// re-ranked by the listener's latest plays. 404 when no model was published yet. Who: the
/// listener themselves, business users and admins.
#[utoipa::path(
    get,
    path = "/users/{user_id}/recommendations",
    tag = "recommendations",
    security(("bearer" = []), ("session" = [])),
    params(("user_id" = inline(Id), Path, description = "The listener."), LimitParams),
    responses((status = 200, description = "The list, best first.", body = LiveList)),
)]
pub async fn for_user(
    caller: Caller,
    State(live): State<LiveRecommendations>,
    Path(user_id): Path<Id>,
    Query(params): Query<LimitParams>,
) -> Result<Json<LiveList>, ApiError> {
    caller.require_listener(&user_id)?;
    let limit = limit(params, 20, 50)?;
    let list = live.list(&user_id).await?;
    if list.model_version.is_none() {
        return Err(ApiError::not_found(
            "no model has been published yet: run the pipeline",
        ));
    }
    Ok(Json(truncated(&list, limit)))
}

fn truncated(list: &LiveList, limit: usize) -> LiveList {
    let mut list = list.clone();
    list.items.truncate(limit);
    list
}

/// `GET /users/{id}/recommendations/events`: server-sent events, a `recommendations` event
/// with the list now and another each time it changes. Who: as for the list.
#[utoipa::path(
    get,
    path = "/users/{user_id}/recommendations/events",
    tag = "recommendations",
    security(("bearer" = []), ("session" = [])),
    params(("user_id" = inline(Id), Path, description = "The listener.")),
    responses((
        status = 200,
        description = "Server-sent `recommendations` events, each with the list as its JSON data.",
        content_type = "text/event-stream",
        body = String,
    )),
)]
pub async fn events(
    caller: Caller,
    State(live): State<LiveRecommendations>,
    State(shutdown): State<Shutdown>,
    Path(user_id): Path<Id>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    caller.require_listener(&user_id)?;
    let mut changes = live.subscribe(&user_id);
    let first = live.list(&user_id).await?;
    Ok(super::sse::stream_from(shutdown, move |tx| async move {
        if tx.send(list_event(&first)).await.is_err() {
            return;
        }
        loop {
            match changes.recv().await {
                Ok(list) => {
                    if tx.send(list_event(&list)).await.is_err() {
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    }))
}

fn list_event(list: &Arc<LiveList>) -> Event {
    Event::default()
        .event("recommendations")
        .json_data(list.as_ref())
        .unwrap_or_default()
}

/// The body of `POST /users/{id}/feedback`: a `kind` and exactly one of `track_id`, `artist`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    /// `like`, `dislike` or `do_not_recommend`.
    #[schema(pattern = "^(like|dislike|do_not_recommend)$")]
    kind: String,
    track_id: Option<Id>,
    artist: Option<FreeText>,
}

const KINDS: [&str; 3] = ["like", "dislike", "do_not_recommend"];

/// `POST /users/{id}/feedback`: stores the feedback and answers with the list it changed.
/// Who: the listener themselves and admins.
#[utoipa::path(
    post,
    path = "/users/{user_id}/feedback",
    tag = "recommendations",
    security(("bearer" = []), ("session" = [])),
    params(("user_id" = inline(Id), Path, description = "The listener.")),
    request_body = FeedbackRequest,
    responses(
        (status = 200, description = "Stored; the list as it is now.", body = LiveList),
        (status = 422, description = "Not a feedback this route takes.", body = crate::error::ErrorBody),
    ),
)]
pub async fn feedback(
    caller: Caller,
    State(pool): State<PgPool>,
    State(live): State<LiveRecommendations>,
    Path(user_id): Path<Id>,
    extract::Json(request): extract::Json<FeedbackRequest>,
) -> Result<Json<LiveList>, ApiError> {
    caller.require_listener(&user_id)?;
    if !KINDS.contains(&request.kind.as_str()) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_feedback",
            format!("kind must be one of {}", KINDS.join(", ")),
        ));
    }
    let (target_type, target_id) = match (request.track_id, request.artist) {
        (Some(track), None) => {
            if gold_tracks::get_track(&pool, &track).await?.is_none() {
                return Err(ApiError::not_found(format!("no track {track}")));
            }
            ("track", track.into_string())
        }
        (None, Some(artist)) if !artist.trim().is_empty() => ("artist", artist.into_string()),
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_feedback",
                "give exactly one of track_id or artist",
            ));
        }
    };
    let row = FeedbackRow {
        target_type: target_type.into(),
        target_id,
        kind: request.kind,
    };
    Ok(Json(live.feedback(&user_id, &row).await?.as_ref().clone()))
}

/// Tracks like one track, best first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SimilarTracks {
    pub track_id: String,
    pub items: Vec<SimilarRow>,
}

/// `GET /tracks/{id}/similar?limit=N` (default 20, at most 50): by shared listeners, then by
/// sound. Who: anyone.
#[utoipa::path(
    get,
    path = "/tracks/{track_id}/similar",
    tag = "catalogue",
    params(("track_id" = inline(Id), Path, description = "The track."), LimitParams),
    responses((status = 200, description = "Similar tracks, best first.", body = SimilarTracks)),
)]
pub async fn similar(
    State(pool): State<PgPool>,
    Path(track_id): Path<Id>,
    Query(params): Query<LimitParams>,
) -> Result<Json<SimilarTracks>, ApiError> {
    let limit = limit(params, 20, 50)?;
    if gold_tracks::get_track(&pool, &track_id).await?.is_none() {
        return Err(ApiError::not_found(format!("no track {track_id}")));
    }
    let items = gold_recs::similar(&pool, &track_id, limit as i64).await?;
    Ok(Json(SimilarTracks {
        track_id: track_id.into_string(),
        items,
    }))
}
