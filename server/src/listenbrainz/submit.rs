//! `POST /1/submit-listens`: listens from players into bronze, through the same writer and
//! checks as `POST /api/v1/listens`, matched to the catalogue as `import listens` matches;
//! `playing_now` is kept apart, as what the listener is playing now.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use chrono::{DateTime, Duration, Utc};
use lakehouse::bronze::listens::RejectedListen;
use lakehouse::gold::now_playing::{self, NowPlaying};
use lakehouse::ingest::{IngestError, ListenRules, MatchedBy, Rejection, listen_of};
use lakehouse::sources::listen_exports::{ExportFormat, read_listenbrainz};
use serde_json::{Value, json};

use super::error::LbError;
use super::submission::{self, ALLOWED_SKEW_SECONDS, ListenType, SubmittedListen};
use super::token::{Listener, require_listener};
use crate::state::AppState;

/// Where these listens came from, in bronze (`context_source`, rejected events' `source`).
pub const SOURCE: &str = "listenbrainz";

pub async fn submit_listens(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, LbError> {
    let listener = require_listener(&state.auth, &headers).await?;
    let body = body.map_err(|_| {
        LbError::bad_request(format!(
            "Payload too large. Payload cannot exceed {} bytes",
            submission::MAX_PAYLOAD_SIZE
        ))
    })?;
    let now = Utc::now();
    let submission = submission::parse(&body, now.timestamp()).map_err(LbError::bad_request)?;
    match submission.listen_type {
        ListenType::PlayingNow => {
            playing_now(&state, &listener, &submission.listens[0], now).await?
        }
        ListenType::Single | ListenType::Import => {
            store(&state, &listener, &submission.listens).await?
        }
    }
    Ok(Json(json!({"status": "ok"})))
}

/// The rules of `POST /api/v1/listens`, with ListenBrainz's tolerance for players' clocks.
fn rules(state: &AppState) -> ListenRules {
    ListenRules {
        future_slack: Duration::seconds(ALLOWED_SKEW_SECONDS),
        ..state.ingest.rules()
    }
}

/// Writes the listens to bronze and returns once they are committed. A listen soundlake
/// refuses after ListenBrainz's checks passed is kept among the rejected events with its
/// reason, as every refused listen is.
async fn store(
    state: &AppState,
    listener: &Listener,
    listens: &[SubmittedListen],
) -> Result<(), LbError> {
    let (catalogue, rules) = (state.ingest.catalogue(), rules(state));
    let (mut accepted, mut refused) = (Vec::new(), Vec::new());
    for (position, listen) in listens.iter().enumerate() {
        let item = listen.to_json();
        let raw = item.to_string();
        let read = read_listenbrainz(&item)
            .map_err(Rejection::new)
            .map(|exported| {
                listen_of(
                    &catalogue,
                    &rules,
                    &listener.user_id,
                    ExportFormat::ListenBrainz,
                    SOURCE,
                    exported,
                )
                .1
            });
        match read.and_then(|listen| listen) {
            Ok(listen) => accepted.push(listen),
            Err(rejection) => refused.push(RejectedListen::new(
                SOURCE,
                position as i64,
                rejection.reason,
                &raw,
            )),
        }
    }
    let played: Vec<(String, String)> = accepted
        .iter()
        .map(|l| (l.user_id.clone(), l.track_id.clone()))
        .collect();
    state
        .ingest
        .submit(accepted, refused)
        .await
        .map_err(|error| match error {
            IngestError::Busy | IngestError::Stopped => {
                LbError::unavailable("The server is busy; retry shortly.")
            }
            IngestError::Halted => LbError::unavailable(
                "Listens cannot be stored until the server is restarted; try again later.",
            ),
            IngestError::Commit(_) | IngestError::NotDurable(_) => LbError::internal(error),
        })?;
    // Durable now: the listener's live list may move.
    state.live.on_listens(played);
    Ok(())
}

/// Records what the listener is playing, matched to the catalogue where it can be; it shows
/// until the track's length has passed (ten minutes when nobody knows its length).
async fn playing_now(
    state: &AppState,
    listener: &Listener,
    listen: &SubmittedListen,
    now: DateTime<Utc>,
) -> Result<(), LbError> {
    let mut item = listen.to_json();
    item["listened_at"] = now.timestamp().into();
    let matched = read_listenbrainz(&item).ok().and_then(|exported| {
        match listen_of(
            &state.ingest.catalogue(),
            &rules(state),
            &listener.user_id,
            ExportFormat::ListenBrainz,
            SOURCE,
            exported,
        ) {
            (MatchedBy::Nothing, _) | (_, Err(_)) => None,
            (_, Ok(listen)) => Some(listen),
        }
    });
    let seconds = listen
        .duration_seconds()
        .or_else(|| {
            matched
                .as_ref()
                .map(|l| l.ms_played / 1000)
                .filter(|s| *s > 0)
        })
        .unwrap_or(now_playing::DEFAULT_SECONDS);
    now_playing::set(
        &state.pool,
        &NowPlaying {
            user_id: listener.user_id.clone(),
            track_metadata: Value::Object(listen.track_metadata.clone()),
            track_id: matched.map(|l| l.track_id),
            started_at: now,
            expires_at: now + Duration::seconds(seconds),
        },
    )
    .await?;
    Ok(())
}
