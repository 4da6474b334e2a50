//! Recommendations: a listener's live list (and its server-sent events), feedback, similar
//! tracks, clusters, and the model registry.

use std::convert::Infallible;
use std::sync::Arc;

use app::types::{ClusterInsights, ListDiversity, ListenerSegment, SkipMetrics, TrackMapPoint};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use futures::Stream;
use lakehouse::gold::clusters as gold_clusters;
use lakehouse::gold::recommendations::{
    self as gold_recs, FeedbackRow, ModelMetricRow, ModelVersionRow, SimilarRow,
};
use lakehouse::gold::tracks as gold_tracks;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;

use super::ApiError;
use super::extract::{self, FreeText, Id, Path, Query};
use crate::accounts::Role;
use crate::auth::Caller;
use crate::live::{LiveList, LiveRecommendations};
use crate::shutdown::Shutdown;

/// `limit`: how many to answer with; each route says its default and most.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LimitParams {
    #[param(minimum = 1)]
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
        (status = 422, description = "Not a feedback this route takes.", body = super::error::ErrorBody),
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

/// `GET /clusters`: the track clusters (profile, label, size), largest first, and the
/// silhouette of every k. Who: business users and admins.
#[utoipa::path(
    get,
    path = "/clusters",
    tag = "models",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "The clusters and the k tried.", body = ClusterInsights)),
)]
pub async fn clusters(
    caller: Caller,
    State(pool): State<PgPool>,
) -> Result<Json<ClusterInsights>, ApiError> {
    caller.require(&[Role::Business, Role::Admin])?;
    let clusters = gold_clusters::list_clusters(&pool).await?;
    let k_scores = gold_clusters::list_k_scores(&pool).await?;
    Ok(Json(ClusterInsights {
        clusters: clusters.into_iter().map(Into::into).collect(),
        k_scores: k_scores.into_iter().map(Into::into).collect(),
    }))
}

/// A sample of the catalogue's map.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TrackMap {
    pub points: Vec<TrackMapPoint>,
}

/// `GET /clusters/map?limit=N` (default 2,000, at most 20,000): a fixed sample of tracks with
/// their cluster and position on the 2-D map. Who: business users and admins.
#[utoipa::path(
    get,
    path = "/clusters/map",
    tag = "models",
    security(("bearer" = []), ("session" = [])),
    params(LimitParams),
    responses((status = 200, description = "The sample (the same tracks on every call).", body = TrackMap)),
)]
pub async fn cluster_map(
    caller: Caller,
    State(pool): State<PgPool>,
    Query(params): Query<LimitParams>,
) -> Result<Json<TrackMap>, ApiError> {
    caller.require(&[Role::Business, Role::Admin])?;
    let limit = limit(params, 2_000, 20_000)?;
    let points = gold_clusters::map_sample(&pool, limit as i64).await?;
    Ok(Json(TrackMap {
        points: points.into_iter().map(Into::into).collect(),
    }))
}

/// The listener segments, largest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Segments {
    pub segments: Vec<ListenerSegment>,
}

/// `GET /segments`: listener segments by taste (label, size, centroid). Who: business users and
/// admins.
#[utoipa::path(
    get,
    path = "/segments",
    tag = "models",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "The segments.", body = Segments)),
)]
pub async fn segments(
    caller: Caller,
    State(pool): State<PgPool>,
) -> Result<Json<Segments>, ApiError> {
    caller.require(&[Role::Business, Role::Admin])?;
    let segments = gold_clusters::list_segments(&pool).await?;
    Ok(Json(Segments {
        segments: segments.into_iter().map(Into::into).collect(),
    }))
}

/// Model versions, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ModelVersions {
    pub items: Vec<ModelVersion>,
}

/// A model version as the registry records it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ModelVersion {
    pub model_version: i64,
    pub run_id: Option<i64>,
    /// The family it serves.
    pub model: String,
    /// The family's settings, by name.
    pub params: Value,
    pub trained_at: chrono::DateTime<chrono::Utc>,
    /// The `silver/listens` version it was trained on.
    pub silver_version: i64,
    pub users: i64,
    pub items: i64,
    pub interactions: i64,
    pub train_secs: f64,
    pub skip_metrics: Option<SkipMetrics>,
    pub diversity: Option<ListDiversity>,
    pub is_current: bool,
    /// Every family's offline figures at k = 10.
    pub metrics: Vec<FamilyFigures>,
}

/// One family's offline figures for a version.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FamilyFigures {
    pub model: String,
    pub chosen: bool,
    pub params: Value,
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

/// `GET /models?limit=N` (default 10, at most 100): model versions, newest first, each with
/// its offline metrics per model family. Who: business users and admins.
#[utoipa::path(
    get,
    path = "/models",
    tag = "models",
    security(("bearer" = []), ("session" = [])),
    params(LimitParams),
    responses((status = 200, description = "The versions.", body = ModelVersions)),
)]
pub async fn models(
    caller: Caller,
    State(pool): State<PgPool>,
    Query(params): Query<LimitParams>,
) -> Result<Json<ModelVersions>, ApiError> {
    caller.require(&[Role::Business, Role::Admin])?;
    let limit = limit(params, 10, 100)?;
    let versions = gold_recs::list_versions(&pool, limit as i64).await?;
    let ids: Vec<i64> = versions.iter().map(|v| v.model_version).collect();
    let metrics = gold_recs::list_metrics(&pool, &ids).await?;
    let items = versions
        .into_iter()
        .map(|v| model_version(v, &metrics))
        .collect();
    Ok(Json(ModelVersions { items }))
}

fn model_version(v: ModelVersionRow, metrics: &[ModelMetricRow]) -> ModelVersion {
    let metrics = metrics
        .iter()
        .filter(|m| m.model_version == v.model_version)
        .map(|m| FamilyFigures {
            model: m.model.clone(),
            chosen: m.chosen,
            params: parse(&m.params),
            validation_ndcg: m.validation_ndcg,
            ndcg: m.ndcg,
            recall: m.recall,
            precision: m.precision,
            map: m.map,
            coverage: m.coverage,
            train_secs: m.train_secs,
            eval_secs: m.eval_secs,
            test_users: m.test_users,
        })
        .collect();
    ModelVersion {
        model_version: v.model_version,
        run_id: v.run_id,
        model: v.model,
        params: parse(&v.params),
        trained_at: v.trained_at,
        silver_version: v.silver_version,
        users: v.users,
        items: v.items,
        interactions: v.interactions,
        train_secs: v.train_secs,
        skip_metrics: v.skip_metrics.as_deref().and_then(typed),
        diversity: v.diversity.as_deref().and_then(typed),
        is_current: v.is_current,
        metrics,
    }
}

/// A JSON column read as its type; `None` when it does not hold one.
fn typed<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_str(text).ok()
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}
