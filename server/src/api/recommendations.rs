//! Recommendations: a listener's live list (and its server-sent events), feedback, similar
//! tracks, clusters, and the model registry.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use futures::Stream;
use lakehouse::gold::clusters as gold_clusters;
use lakehouse::gold::recommendations::{self as gold_recs, FeedbackRow};
use lakehouse::gold::tracks as gold_tracks;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::PgPool;

use super::ApiError;
use super::extract::{self, FreeText, Id, Path, Query};
use crate::accounts::Role;
use crate::auth::Caller;
use crate::live::{LiveList, LiveRecommendations};
use crate::shutdown::Shutdown;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitParams {
    limit: Option<usize>,
}

fn limit(params: LimitParams, default: usize, max: usize) -> Result<usize, ApiError> {
    let limit = params.limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be from 1 to {max}"
        )));
    }
    Ok(limit)
}

/// `GET /users/{id}/recommendations?limit=N` (default 20, at most 50): the current list,
/// re-ranked by the listener's latest plays. 404 when no model was published yet.
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
/// with the list now and another each time it changes.
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    kind: String,
    track_id: Option<Id>,
    artist: Option<FreeText>,
}

const KINDS: [&str; 3] = ["like", "dislike", "do_not_recommend"];

/// `POST /users/{id}/feedback`: stores the feedback and answers with the list it changed.
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

/// `GET /tracks/{id}/similar?limit=N` (default 20, at most 50): by shared listeners, then by
/// sound.
pub async fn similar(
    State(pool): State<PgPool>,
    Path(track_id): Path<Id>,
    Query(params): Query<LimitParams>,
) -> Result<Json<Value>, ApiError> {
    let limit = limit(params, 20, 50)?;
    if gold_tracks::get_track(&pool, &track_id).await?.is_none() {
        return Err(ApiError::not_found(format!("no track {track_id}")));
    }
    let items = gold_recs::similar(&pool, &track_id, limit as i64).await?;
    Ok(Json(json!({ "track_id": track_id, "items": items })))
}

/// `GET /clusters`: the track clusters (profile, label, size) and the silhouette of every k.
pub async fn clusters(caller: Caller, State(pool): State<PgPool>) -> Result<Json<Value>, ApiError> {
    caller.require(&[Role::Business, Role::Admin])?;
    let clusters: Vec<Value> = gold_clusters::list_clusters(&pool)
        .await?
        .into_iter()
        .map(|c| {
            json!({
                "cluster_id": c.cluster_id,
                "label": c.label,
                "size": c.size,
                "centroid": parse(&c.centroid),
                "top_genres": parse(&c.top_genres),
            })
        })
        .collect();
    let k_scores = gold_clusters::list_k_scores(&pool).await?;
    Ok(Json(json!({ "clusters": clusters, "k_scores": k_scores })))
}

/// `GET /clusters/map?limit=N` (default 2,000, at most 20,000): a fixed sample of tracks with
/// their cluster and position on the 2-D map.
pub async fn cluster_map(
    caller: Caller,
    State(pool): State<PgPool>,
    Query(params): Query<LimitParams>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[Role::Business, Role::Admin])?;
    let limit = limit(params, 2_000, 20_000)?;
    let points = gold_clusters::map_sample(&pool, limit as i64).await?;
    Ok(Json(json!({ "points": points })))
}

/// `GET /segments`: listener segments by taste (label, size, centroid).
pub async fn segments(caller: Caller, State(pool): State<PgPool>) -> Result<Json<Value>, ApiError> {
    caller.require(&[Role::Business, Role::Admin])?;
    let segments: Vec<Value> = gold_clusters::list_segments(&pool)
        .await?
        .into_iter()
        .map(|s| {
            json!({
                "segment_id": s.segment_id,
                "label": s.label,
                "size": s.size,
                "centroid": parse(&s.centroid),
            })
        })
        .collect();
    Ok(Json(json!({ "segments": segments })))
}

/// `GET /models?limit=N` (default 10, at most 100): model versions, newest first, each with
/// its offline metrics per model family.
pub async fn models(
    caller: Caller,
    State(pool): State<PgPool>,
    Query(params): Query<LimitParams>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[Role::Business, Role::Admin])?;
    let limit = limit(params, 10, 100)?;
    let versions = gold_recs::list_versions(&pool, limit as i64).await?;
    let ids: Vec<i64> = versions.iter().map(|v| v.model_version).collect();
    let metrics = gold_recs::list_metrics(&pool, &ids).await?;
    let items: Vec<Value> = versions
        .into_iter()
        .map(|v| {
            let of_version: Vec<Value> = metrics
                .iter()
                .filter(|m| m.model_version == v.model_version)
                .map(|m| {
                    json!({
                        "model": m.model, "chosen": m.chosen, "params": parse(&m.params),
                        "validation_ndcg": m.validation_ndcg, "ndcg": m.ndcg, "recall": m.recall,
                        "precision": m.precision, "map": m.map, "coverage": m.coverage,
                        "train_secs": m.train_secs, "eval_secs": m.eval_secs,
                        "test_users": m.test_users,
                    })
                })
                .collect();
            json!({
                "model_version": v.model_version, "run_id": v.run_id, "model": v.model,
                "params": parse(&v.params), "trained_at": v.trained_at,
                "silver_version": v.silver_version, "users": v.users, "items": v.items,
                "interactions": v.interactions, "train_secs": v.train_secs,
                "skip_metrics": v.skip_metrics.as_deref().map(parse),
                "diversity": v.diversity.as_deref().map(parse),
                "is_current": v.is_current, "metrics": of_version,
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}
