//! Pipeline runs: start one (admin), list them, read one, follow one as server-sent events.

use std::convert::Infallible;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use futures::Stream;
use lakehouse::LakehouseError;
use lakehouse::pipeline::{self, Progress, RunOptions, RunRecord};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::admin::Admin;
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::infra::shutdown::Shutdown;
use crate::services::runs::Pipelines;

/// Options of `POST /pipeline/runs` (a JSON body; every field may be left out).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRun {
    /// Rebuild silver listens from all of bronze.
    #[serde(default)]
    full: bool,
    /// Compact and vacuum now, even if not yet worthwhile.
    #[serde(default)]
    maintenance: bool,
}

/// `POST /pipeline/runs`: 202 with the new run's id and where to follow it; 409 when a run
/// is already going on. Who: admins.
#[utoipa::path(
    post,
    path = "/pipeline/runs",
    tag = "pipeline",
    security(("bearer" = []), ("session" = [])),
    request_body(content = Option<StartRun>, description = "Options; the body may be left out."),
    responses(
        (status = 202, description = "The run started.", body = StartedRun),
        (status = 409, description = "A run is already going on.", body = crate::error::ErrorBody),
    ),
)]
pub async fn start(
    _admin: Admin,
    State(pipelines): State<Pipelines>,
    body: Option<Json<StartRun>>,
) -> Result<(StatusCode, Json<StartedRun>), ApiError> {
    let request = body.map(|Json(b)| b).unwrap_or_default();
    let options = RunOptions {
        full: request.full,
        force_maintenance: request.maintenance,
        ..RunOptions::default()
    };
    match pipelines.start("api", options).await {
        Ok(run_id) => Ok((
            StatusCode::ACCEPTED,
            Json(StartedRun {
                run_id,
                status: "running",
                run: format!("/api/v1/pipeline/runs/{run_id}"),
                events: format!("/api/v1/pipeline/runs/{run_id}/events"),
            }),
        )),
        Err(e @ LakehouseError::RunInProgress(_)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "run_in_progress",
            e.to_string(),
        )),
        Err(e) => Err(ApiError::internal(e)),
    }
}

/// A run just started, and where to follow it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StartedRun {
    run_id: i64,
    /// `running`.
    status: &'static str,
    /// The run's record.
    run: String,
    /// The run's progress as server-sent events.
    events: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// From 1 to 200 (default 20).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// `GET /pipeline/runs?limit=N`: the newest runs (20 by default, at most 200), with stages.
/// Who: admins.
#[utoipa::path(
    get,
    path = "/pipeline/runs",
    tag = "pipeline",
    security(("bearer" = []), ("session" = [])),
    params(ListParams),
    responses((status = 200, description = "The newest runs first.", body = Vec<RunRecord>)),
)]
pub async fn list(
    _admin: Admin,
    State(pool): State<PgPool>,
    Query(params): Query<ListParams>,
) -> Result<Json<Vec<RunRecord>>, ApiError> {
    let limit = params.limit.unwrap_or(20);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("limit must be from 1 to 200"));
    }
    Ok(Json(pipeline::list_runs(&pool, limit).await?))
}

/// `GET /pipeline/runs/{id}`. Who: admins.
#[utoipa::path(
    get,
    path = "/pipeline/runs/{run_id}",
    tag = "pipeline",
    security(("bearer" = []), ("session" = [])),
    params(("run_id" = i64, Path, description = "The run.")),
    responses((status = 200, description = "The run and its stages.", body = RunRecord)),
)]
pub async fn get_one(
    _admin: Admin,
    State(pool): State<PgPool>,
    Path(run_id): Path<i64>,
) -> Result<Json<RunRecord>, ApiError> {
    match pipeline::get_run(&pool, run_id).await {
        Ok(run) => Ok(Json(run)),
        Err(LakehouseError::NotFound(message)) => Err(ApiError::not_found(message)),
        Err(e) => Err(ApiError::internal(e)),
    }
}

/// `GET /pipeline/runs/{id}/events`: a `run` event with the run as recorded now, then the
/// run's progress (`stage_started`, `stage_finished`, `run_finished`) as it happens. The stream
/// ends after `run_finished`, or at once when the run had already finished. Who: admins.
#[utoipa::path(
    get,
    path = "/pipeline/runs/{run_id}/events",
    tag = "pipeline",
    security(("bearer" = []), ("session" = [])),
    params(("run_id" = i64, Path, description = "The run.")),
    responses((
        status = 200,
        description = "Server-sent events: `run`, then `stage_started`, `stage_finished`, \
            `run_finished`, each with a JSON object as its data.",
        content_type = "text/event-stream",
        body = String,
    )),
)]
pub async fn events(
    _admin: Admin,
    State(pool): State<PgPool>,
    State(pipelines): State<Pipelines>,
    State(shutdown): State<Shutdown>,
    Path(run_id): Path<i64>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // Subscribed before reading the record, so nothing between the two is missed.
    let mut progress = pipelines.subscribe();
    let run = match pipeline::get_run(&pool, run_id).await {
        Ok(run) => run,
        Err(LakehouseError::NotFound(message)) => return Err(ApiError::not_found(message)),
        Err(e) => return Err(ApiError::internal(e)),
    };
    let finished = run.status != "running";
    Ok(super::sse::stream_from(shutdown, move |tx| async move {
        if tx.send(event("run", &run)).await.is_err() || finished {
            return;
        }
        loop {
            match progress.recv().await {
                Ok(p) if p.run_id() == run_id => {
                    let done = matches!(p, Progress::RunFinished { .. });
                    if tx.send(event(progress_name(&p), &p)).await.is_err() || done {
                        return;
                    }
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    }))
}

fn progress_name(p: &Progress) -> &'static str {
    match p {
        Progress::StageStarted { .. } => "stage_started",
        Progress::StageFinished { .. } => "stage_finished",
        Progress::RunFinished { .. } => "run_finished",
    }
}

fn event(name: &'static str, data: &impl serde::Serialize) -> Event {
    Event::default()
        .event(name)
        .json_data(data)
        .unwrap_or_else(|_| Event::default().event(name))
}
