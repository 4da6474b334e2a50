//! The catalogue's track clusters, their 2-D map, and the listener segments.

use app::types::{ClusterInsights, ListenerSegment, TrackMapPoint};
use axum::Json;
use axum::extract::State;
use lakehouse::gold::clusters as gold_clusters;
use serde::Serialize;
use sqlx::PgPool;

use super::limit::{LimitParams, limit};
use crate::accounts::Role;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Query;

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
