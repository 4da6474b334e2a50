//! `POST /listens`: listening events in, acknowledged once committed to bronze.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lakehouse::bronze::listens::RejectedListen;
use lakehouse::ingest::{IngestError, Listen, ListenRules, parse_listen_text};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Events one JSON request may carry; NDJSON bodies may carry more.
pub const MAX_EVENTS_PER_REQUEST: usize = 1_000;
/// Events one NDJSON request may carry.
pub const MAX_NDJSON_EVENTS: usize = 100_000;
/// The largest single event, as sent.
pub const MAX_EVENT_BYTES: usize = 10 * 1024;
/// The largest request body (an NDJSON bulk load).
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// A listening event as `POST /listens` takes it (what the server checks of each event; an
/// event that fails a check is refused on its own, with its reason, and kept in bronze's
/// rejected events).
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ListenEvent {
    /// The client's id for the event, so that a retry is not counted twice (assigned when
    /// left out).
    event_id: Option<crate::extract::Id>,
    user_id: crate::extract::Id,
    track_id: crate::extract::Id,
    /// When the track started, RFC 3339; not before 2000 nor in the future.
    #[schema(format = DateTime)]
    played_at: String,
    /// How long it was played, 0 to 86,400,000 ms, and not longer than the track.
    #[schema(minimum = 0, maximum = 86_400_000)]
    ms_played: i64,
    /// Why it ended: `trackdone`, `fwdbtn`, `backbtn`, `endplay`, …
    #[schema(max_length = 32)]
    end_reason: Option<String>,
    skipped: Option<bool>,
    context: Option<ListenContext>,
}

/// One event, or an array of them.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum ListenEvents {
    One(ListenEvent),
    Many(Vec<ListenEvent>),
}

/// Where a listen was played.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ListenContext {
    /// The player or service, e.g. `navidrome`.
    source: Option<crate::extract::Id>,
    device: Option<crate::extract::Id>,
}

/// The answer to an ingest request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IngestResponse {
    /// Events committed to bronze.
    accepted: usize,
    /// Their ids, in request order (assigned where the client sent none).
    event_ids: Vec<String>,
    /// Refused events: position in the request and why.
    rejected: Vec<RejectedItem>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct RejectedItem {
    index: usize,
    reason: String,
}

fn too_large(message: String) -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
}

/// One event of a request, from its JSON text as sent: the listen, or why it is refused.
fn parse_event(raw: &str, rules: &ListenRules) -> Result<Listen, String> {
    if raw.len() > MAX_EVENT_BYTES {
        return Err(format!("the event is larger than {MAX_EVENT_BYTES} bytes"));
    }
    parse_listen_text(raw, rules).map_err(|r| r.reason)
}

/// How a request body is encoded, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    /// `application/json`: one event object, or an array of them.
    Json,
    /// `application/x-ndjson`: one event object per line.
    Ndjson,
}

fn body_kind(headers: &HeaderMap) -> Result<BodyKind, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Ok(BodyKind::Json),
        "application/x-ndjson" => Ok(BodyKind::Ndjson),
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "send events as application/json or application/x-ndjson, not {:?}",
                content_type
            ),
        )),
    }
}

/// The events of a request body: a JSON object or array, or NDJSON (one object per line).
/// Events are sliced out of the body as sent (kept as they came, not written out again).
fn split_events<'a>(headers: &HeaderMap, body: &'a [u8]) -> Result<Vec<&'a str>, ApiError> {
    if body_kind(headers)? == BodyKind::Ndjson {
        let text = std::str::from_utf8(body)
            .map_err(|_| ApiError::bad_request("the body is not UTF-8"))?;
        let events: Vec<&str> = text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .collect();
        if events.len() > MAX_NDJSON_EVENTS {
            return Err(too_large(format!(
                "{} events in one request; at most {MAX_NDJSON_EVENTS} per NDJSON request",
                events.len()
            )));
        }
        return Ok(events);
    }
    let not_json =
        |e: serde_json::Error| ApiError::bad_request(format!("the body is not valid JSON: {e}"));
    let is_array = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    if !is_array {
        let value: &RawValue = serde_json::from_slice(body).map_err(not_json)?;
        if body.len() > MAX_EVENT_BYTES {
            return Err(too_large(format!(
                "an event may be at most {MAX_EVENT_BYTES} bytes"
            )));
        }
        return Ok(vec![value.get()]);
    }
    let items: Vec<&RawValue> = serde_json::from_slice(body).map_err(not_json)?;
    if items.len() > MAX_EVENTS_PER_REQUEST {
        return Err(too_large(format!(
            "{} events in one request; at most {MAX_EVENTS_PER_REQUEST} (send larger loads as application/x-ndjson)",
            items.len()
        )));
    }
    Ok(items.into_iter().map(RawValue::get).collect())
}

/// Validates each event, commits the valid ones and the refused ones (with their reasons) to
/// bronze, and answers once they are committed: 200 when at least one event was accepted,
/// 422 when none was. Who: a listener's credential for their own listens, an admin or an
/// `ingest` token for anyone's.
#[utoipa::path(
    post,
    path = "/listens",
    tag = "listens",
    security(("bearer" = []), ("session" = [])),
    request_body(
        description = "One event, an array of up to 1,000, or NDJSON (one event per line, up \
            to 100,000).",
        content(
            (ListenEvents = "application/json"),
            (String = "application/x-ndjson"),
        ),
    ),
    responses(
        (status = 200, description = "Committed to bronze: at least one event accepted.", body = IngestResponse),
        (status = 422, description = "No event was accepted; each one's reason is listed.", body = IngestResponse),
    ),
)]
pub async fn post(
    caller: Caller,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    caller.require_ingest()?;
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            too_large(format!("the body is larger than {MAX_BODY_BYTES} bytes"))
        }
        _ => ApiError::bad_request(rejection.body_text()),
    })?;
    let events = split_events(&headers, &body)?;
    if events.is_empty() {
        return Err(ApiError::bad_request("the request holds no events"));
    }
    let rules = state.ingest.rules();
    let mut listens = Vec::new();
    let mut refused = Vec::new();
    let mut rejected_items = Vec::new();
    for (index, raw) in events.into_iter().enumerate() {
        let parsed = parse_event(raw, &rules).and_then(|listen| {
            if caller.may_post_listens_of(&listen.user_id) {
                Ok(listen)
            } else {
                Err(format!(
                    "this credential may not post listens of user {:?}",
                    listen.user_id
                ))
            }
        });
        match parsed {
            Ok(listen) => listens.push(listen),
            Err(reason) => {
                rejected_items.push(RejectedItem {
                    index,
                    reason: reason.clone(),
                });
                refused.push(RejectedListen::new("api", index as i64, reason, raw));
            }
        }
    }
    let event_ids: Vec<String> = listens.iter().map(|l| l.event_id.clone()).collect();
    let played: Vec<(String, String)> = listens
        .iter()
        .map(|l| (l.user_id.clone(), l.track_id.clone()))
        .collect();
    let accepted = listens.len();
    state
        .ingest
        .submit(listens, refused)
        .await
        .map_err(ingest_error)?;
    // Durable now: listeners' live lists may move.
    state.live.on_listens(played);
    let status = if accepted > 0 {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        Json(IngestResponse {
            accepted,
            event_ids,
            rejected: rejected_items,
        }),
    )
        .into_response())
}

fn ingest_error(error: IngestError) -> ApiError {
    match error {
        IngestError::Busy | IngestError::Stopped => ApiError {
            retry_after: Some(1),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", error.to_string())
        },
        IngestError::Halted => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ingest_stopped",
            error.to_string(),
        ),
        IngestError::Commit(_) | IngestError::NotDurable(_) => ApiError::internal(error),
    }
}
