//! `/stats/...`: the business dashboards' figures over the gold marts, for business users and
//! admins, each as JSON or, with `format=csv`, as a CSV download. Every route takes the
//! dashboards' filter: `from`, `to` (dates, `YYYY-MM-DD`; default the last four weeks with
//! listens, at most 366 days) and `genre` (default every genre).

use app::dashboard::{
    self, CohortCell, DayPoint, GenreDay, HeatCell, TopEntry, WeekListeners, converted,
};
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use lakehouse::gold::stats::{self, StatsFilter, TopKind};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::accounts::Role;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Query;

/// The query parameters every stats route takes.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// The first day, `YYYY-MM-DD` (default: four weeks before `to`).
    #[serde(default)]
    #[param(required = false, max_length = 10)]
    from: String,
    /// The last day, `YYYY-MM-DD` (default: the last day with listens); at most 366 days
    /// after `from`.
    #[serde(default)]
    #[param(required = false, max_length = 10)]
    to: String,
    /// Only this genre (default: every genre).
    #[serde(default)]
    #[param(required = false, max_length = 32)]
    genre: String,
    /// `json` (default) or `csv`.
    #[serde(default)]
    #[param(required = false, pattern = "^(json|csv)?$")]
    format: String,
    /// For `/stats/top`: `track`, `artist` or `genre`.
    #[serde(default)]
    #[param(required = false, pattern = "^(track|artist|genre)?$")]
    kind: String,
    /// For `/stats/top`: 1 to 100 (default 10).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// The parsed filter, after the caller's role is checked.
async fn filter(
    caller: &Caller,
    pool: &PgPool,
    params: &StatsParams,
) -> Result<StatsFilter, ApiError> {
    caller.require(&[Role::Business, Role::Admin])?;
    if !["", "json", "csv"].contains(&params.format.as_str()) {
        return Err(ApiError::bad_request("format must be json or csv"));
    }
    let last = stats::listening_days(pool).await?.map(|(_, last)| last);
    dashboard::parse_filter(&params.from, &params.to, &params.genre, last)
        .map_err(|e| ApiError::bad_request(e.0))
}

/// The rows as JSON, or as a CSV file named `name.csv`.
fn answer<T: Serialize>(name: &str, params: &StatsParams, rows: Vec<T>) -> Response {
    if params.format != "csv" {
        return Json(rows).into_response();
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in &rows {
        if let Err(e) = writer.serialize(row) {
            return ApiError::internal(e).into_response();
        }
    }
    match writer.into_inner() {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}.csv\""),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// `GET /stats/daily`: listens, listeners, skip rate and hours per day.
/// Who: business users and admins.
#[utoipa::path(
    get,
    path = "/stats/daily",
    tag = "dashboards",
    security(("bearer" = []), ("session" = [])),
    params(StatsParams),
    responses((
        status = 200,
        description = "Listens, listeners, skip rate and hours per day. As JSON, or as CSV with `format=csv`.",
        content((Vec<DayPoint> = "application/json"), (String = "text/csv")),
    )),
)]
pub async fn daily(
    caller: Caller,
    State(pool): State<PgPool>,
    Query(params): Query<StatsParams>,
) -> Result<Response, ApiError> {
    let filter = filter(&caller, &pool, &params).await?;
    let rows: Vec<DayPoint> = converted(stats::daily_activity(&pool, &filter).await?);
    Ok(answer("daily", &params, rows))
}

/// `GET /stats/top?kind=track|artist|genre&limit=10`: the most listened of the range.
/// Who: business users and admins.
#[utoipa::path(
    get,
    path = "/stats/top",
    tag = "dashboards",
    security(("bearer" = []), ("session" = [])),
    params(StatsParams),
    responses((
        status = 200,
        description = "The most listened tracks, artists or genres of the range. As JSON, or as CSV with `format=csv`.",
        content((Vec<TopEntry> = "application/json"), (String = "text/csv")),
    )),
)]
pub async fn top(
    caller: Caller,
    State(pool): State<PgPool>,
    Query(params): Query<StatsParams>,
) -> Result<Response, ApiError> {
    let filter = filter(&caller, &pool, &params).await?;
    let kind = TopKind::parse(&params.kind)
        .ok_or_else(|| ApiError::bad_request("kind must be track, artist or genre"))?;
    let limit = params.limit.unwrap_or(dashboard::TOP_ENTRIES);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_request("limit must be from 1 to 100"));
    }
    let rows: Vec<TopEntry> = converted(stats::top(&pool, &filter, kind, limit).await?);
    Ok(answer(&format!("top-{}", params.kind), &params, rows))
}

/// `GET /stats/genre-mix`: listens per day of the most listened genres, the rest as `other`.
/// Who: business users and admins.
#[utoipa::path(
    get,
    path = "/stats/genre-mix",
    tag = "dashboards",
    security(("bearer" = []), ("session" = [])),
    params(StatsParams),
    responses((
        status = 200,
        description = "Listens per day of the most listened genres. As JSON, or as CSV with `format=csv`.",
        content((Vec<GenreDay> = "application/json"), (String = "text/csv")),
    )),
)]
pub async fn genre_mix(
    caller: Caller,
    State(pool): State<PgPool>,
    Query(params): Query<StatsParams>,
) -> Result<Response, ApiError> {
    let filter = filter(&caller, &pool, &params).await?;
    let rows: Vec<GenreDay> =
        converted(stats::genre_mix(&pool, &filter, dashboard::MIX_GENRES).await?);
    Ok(answer("genre-mix", &params, rows))
}

/// `GET /stats/heatmap`: listens per weekday (0 = Sunday) and hour, UTC.
/// Who: business users and admins.
#[utoipa::path(
    get,
    path = "/stats/heatmap",
    tag = "dashboards",
    security(("bearer" = []), ("session" = [])),
    params(StatsParams),
    responses((
        status = 200,
        description = "Listens per weekday and hour. As JSON, or as CSV with `format=csv`.",
        content((Vec<HeatCell> = "application/json"), (String = "text/csv")),
    )),
)]
pub async fn heatmap(
    caller: Caller,
    State(pool): State<PgPool>,
    Query(params): Query<StatsParams>,
) -> Result<Response, ApiError> {
    let filter = filter(&caller, &pool, &params).await?;
    let rows: Vec<HeatCell> = converted(stats::heatmap(&pool, &filter).await?);
    Ok(answer("heatmap", &params, rows))
}

/// `GET /stats/weekly-listeners`: new and returning listeners per week.
/// Who: business users and admins.
#[utoipa::path(
    get,
    path = "/stats/weekly-listeners",
    tag = "dashboards",
    security(("bearer" = []), ("session" = [])),
    params(StatsParams),
    responses((
        status = 200,
        description = "New and returning listeners per week. As JSON, or as CSV with `format=csv`.",
        content((Vec<WeekListeners> = "application/json"), (String = "text/csv")),
    )),
)]
pub async fn weekly_listeners(
    caller: Caller,
    State(pool): State<PgPool>,
    Query(params): Query<StatsParams>,
) -> Result<Response, ApiError> {
    let filter = filter(&caller, &pool, &params).await?;
    let rows: Vec<WeekListeners> = converted(stats::weekly_listeners(&pool, &filter).await?);
    Ok(answer("weekly-listeners", &params, rows))
}

/// `GET /stats/cohorts`: how each week's new listeners came back, week by week.
/// Who: business users and admins.
#[utoipa::path(
    get,
    path = "/stats/cohorts",
    tag = "dashboards",
    security(("bearer" = []), ("session" = [])),
    params(StatsParams),
    responses((
        status = 200,
        description = "Each week's new listeners, week by week. As JSON, or as CSV with `format=csv`.",
        content((Vec<CohortCell> = "application/json"), (String = "text/csv")),
    )),
)]
pub async fn cohorts(
    caller: Caller,
    State(pool): State<PgPool>,
    Query(params): Query<StatsParams>,
) -> Result<Response, ApiError> {
    let filter = filter(&caller, &pool, &params).await?;
    let rows: Vec<CohortCell> = converted(stats::cohorts(&pool, &filter).await?);
    Ok(answer("cohorts", &params, rows))
}
