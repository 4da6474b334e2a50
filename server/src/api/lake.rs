//! The lake's tables: version, files, size, partitions, rows and recent history; any earlier
//! version on request (time travel).

use axum::Json;
use axum::extract::State;
use lakehouse::lake_info::{self, TableInfo};
use lakehouse::{Lake, LakehouseError};
use serde::Deserialize;

use super::ApiError;
use super::admin::Admin;
use super::extract::{Path, Query};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableParams {
    /// Describe the table as it was at this version.
    version: Option<i64>,
    /// How many commits of history to include (default 10, at most 100).
    history: Option<usize>,
}

/// `GET /lake/tables`: every table that exists, at its latest version, with its last 5 commits.
pub async fn list(
    _admin: Admin,
    State(lake): State<Lake>,
) -> Result<Json<Vec<TableInfo>>, ApiError> {
    Ok(Json(lake_info::describe_all(&lake, 5).await?))
}

/// `GET /lake/tables/{layer}/{name}?version=N&history=K`.
pub async fn get_one(
    _admin: Admin,
    State(lake): State<Lake>,
    Path((layer, name)): Path<(String, String)>,
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
