//! The model registry: versions, newest first, with every family's offline figures.

use axum::Json;
use axum::extract::State;
use lakehouse::gold::recommendations::{self as gold_recs, ModelMetricRow, ModelVersionRow};
use serde::Serialize;
use sqlx::PgPool;

use super::limit::{LimitParams, limit};
use crate::accounts::Role;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Query;

/// Model versions, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ModelVersions {
    pub items: Vec<ModelVersion>,
}

/// A model version as the registry records it, with every family's offline figures.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ModelVersion {
    #[serde(flatten)]
    pub version: ModelVersionRow,
    /// Every family's offline figures at k = 10, best NDCG first.
    pub metrics: Vec<ModelMetricRow>,
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
        .map(|version| ModelVersion {
            metrics: metrics
                .iter()
                .filter(|m| m.model_version == version.model_version)
                .cloned()
                .collect(),
            version,
        })
        .collect();
    Ok(Json(ModelVersions { items }))
}
