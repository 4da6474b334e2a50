//! The lake's tables: version, files, size, partitions, rows and recent history; any earlier
//! version on request (time travel).

use axum::Json;
use axum::extract::State;
use lakehouse::lake_info::{self, TableInfo};
use lakehouse::{Lake, LakehouseError};
use serde::Deserialize;

use super::admin::Admin;
use crate::error::ApiError;
use crate::extract::{Id, Path, Query};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TableParams {
    /// Describe the table as it was at this version.
    #[param(minimum = 0)]
    version: Option<i64>,
    /// How many commits of history to include (default 10, at most 100).
    #[param(maximum = 100)]
    history: Option<usize>,
}

/// `GET /lake/tables`: every table that exists, at its latest version, with its last 5 commits.
#[utoipa::path(
    get,
    path = "/lake/tables",
    tag = "lake",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "Every table written so far.", body = Vec<TableInfo>)),
)]
pub async fn list(
    _admin: Admin,
    State(lake): State<Lake>,
) -> Result<Json<Vec<TableInfo>>, ApiError> {
    Ok(Json(lake_info::describe_all(&lake, 5).await?))
}

/// `GET /lake/tables/{layer}/{name}?version=N&history=K`. Who: admins.
#[utoipa::path(
    get,
    path = "/lake/tables/{layer}/{name}",
    tag = "lake",
    security(("bearer" = []), ("session" = [])),
    params(
        ("layer" = inline(Id), Path, description = "`bronze` or `silver`.", example = "silver"),
        ("name" = inline(Id), Path, description = "The table, e.g. `listens`.", example = "tracks"),
        TableParams,
    ),
    responses((status = 200, description = "The table at that version.", body = TableInfo)),
)]
pub async fn get_one(
    _admin: Admin,
    State(lake): State<Lake>,
    Path((layer, name)): Path<(Id, Id)>,
    Query(params): Query<TableParams>,
) -> Result<Json<TableInfo>, ApiError> {
    let qualified = format!("{layer}/{name}");
    let Some(table) = lake_info::find_table(&qualified) else {
        return Err(ApiError::not_found(format!(
            "the lake has no table {qualified}"
        )));
    };
    if params.version.is_some_and(|v| v < 0) {
        return Err(ApiError::bad_request("version counts from 0"));
    }
    let history = params.history.unwrap_or(10);
    if history > 100 {
        return Err(ApiError::bad_request("history must be at most 100"));
    }
    match lake_info::describe(&lake, table, params.version, history).await {
        Ok(Some(info)) => Ok(Json(info)),
        Ok(None) => Err(ApiError::not_found(format!(
            "{qualified} has not been written yet"
        ))),
        Err(LakehouseError::NotFound(message)) => Err(ApiError::not_found(message)),
        Err(e) => Err(ApiError::internal(e)),
    }
}
