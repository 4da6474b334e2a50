//! `?limit=N` of the list routes: each route says its default and most.

use serde::Deserialize;

use crate::error::ApiError;

/// `limit`: how many to answer with; each route says its default and most.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LimitParams {
    #[param(minimum = 1)]
    limit: Option<usize>,
}

/// The limit asked for, else `default`; 400 outside 1 to `max`.
pub fn limit(params: LimitParams, default: usize, max: usize) -> Result<usize, ApiError> {
    let limit = params.limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be from 1 to {max}"
        )));
    }
    Ok(limit)
}
