//! The ListenBrainz routes that read: a token's validity, and the caller's own listens and
//! what they are playing now.

use std::collections::{HashMap, HashSet};

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use chrono::{DateTime, Utc};
use lakehouse::bronze::listens_of_user::{self, ListensQuery, MAX_COUNT, StoredListen};
use lakehouse::gold::{now_playing, tracks};
use serde_json::{Map, Value, json};

use super::error::LbError;
use super::token::{Listener, listener_of, require_listener};
use crate::state::AppState;

/// Listens a read returns when the client does not say.
const DEFAULT_COUNT: usize = 25;

/// `GET /1/validate-token`: whether the token (header `Authorization: Token …`, or
/// `?token=`) is a listener's, and the account's name.
pub async fn validate_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<Value>, LbError> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("token")
                .then(|| token.trim().to_owned())
        });
    let token = from_header
        .or_else(|| query.ok().and_then(|Query(q)| q.get("token").cloned()))
        .filter(|t| !t.is_empty())
        .ok_or_else(|| LbError::bad_request("You need to provide an Authorization token."))?;
    Ok(Json(match listener_of(&state.auth, &token).await? {
        Some(listener) => json!({
            "code": 200,
            "message": "Token valid.",
            "valid": true,
            "user_name": listener.account.name,
        }),
        None => json!({"code": 200, "message": "Token invalid.", "valid": false}),
    }))
}

/// The listener, if `user` (from the path) names the caller's own account: a listener reads
/// only their own listens, and another's name is not found (which does not tell whether it
/// exists).
async fn caller_named(
    state: &AppState,
    headers: &HeaderMap,
    user: Result<Path<String>, PathRejection>,
) -> Result<(Listener, String), LbError> {
    let user = user.map(|Path(u)| u).unwrap_or_default();
    let listener = require_listener(&state.auth, headers).await?;
    if !listener.account.name.eq_ignore_ascii_case(&user) {
        let shown: String = user.chars().take(64).collect();
        return Err(LbError::not_found(format!("Cannot find user: {shown}")));
    }
    Ok((listener, user))
}

/// `GET /1/user/{user}/listens?max_ts=&min_ts=&count=`: the caller's listens as bronze holds
/// them (at once, before any pipeline run), newest first.
pub async fn listens(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<Value>, LbError> {
    let (listener, user) = caller_named(&state, &headers, user).await?;
    let params = query.map(|Query(q)| q).unwrap_or_default();
    let listens_query = listens_query(&params)?;
    let mut stored =
        listens_of_user::listens_of_user(&state.lake, &listener.user_id, &listens_query).await?;
    if listens_query.oldest_first {
        stored.reverse();
    }
    // Each listen's raw text is read once: its own metadata, else the catalogue's.
    let sent: Vec<Option<Value>> = stored.iter().map(sent_metadata).collect();
    let unnamed = stored
        .iter()
        .zip(&sent)
        .filter(|(_, metadata)| metadata.is_none())
        .map(|(listen, _)| listen.track_id.clone());
    let names = catalogue_metadata(&state, unnamed).await?;
    let listens: Vec<Value> = stored
        .iter()
        .zip(sent)
        .map(|(listen, sent)| {
            json!({
                "listened_at": listen.played_at.timestamp(),
                "inserted_at": listen.ingested_at.timestamp(),
                "user_name": listener.account.name,
                "track_metadata": sent
                    .or_else(|| names.get(&listen.track_id).cloned())
                    .unwrap_or_else(|| json!({"track_name": listen.track_id, "artist_name": ""})),
            })
        })
        .collect();
    let (latest, oldest) = (
        stored.first().map_or(0, |l| l.played_at.timestamp()),
        stored.last().map_or(0, |l| l.played_at.timestamp()),
    );
    Ok(Json(json!({"payload": {
        "count": listens.len(),
        "listens": listens,
        "latest_listen_ts": latest,
        "oldest_listen_ts": oldest,
        "user_id": user,
    }})))
}

/// `max_ts`, `min_ts` (seconds, both exclusive) and `count`, checked as ListenBrainz checks
/// them.
fn listens_query(params: &HashMap<String, String>) -> Result<ListensQuery, LbError> {
    let seconds = |name: &str| -> Result<Option<DateTime<Utc>>, LbError> {
        let Some(text) = params.get(name) else {
            return Ok(None);
        };
        let shown: String = text.chars().take(32).collect();
        let bad = || LbError::bad_request(format!("Incorrect {name} timestamp argument: {shown}"));
        let value: i64 = text.trim().parse().map_err(|_| bad())?;
        DateTime::from_timestamp(value, 0).map(Some).ok_or_else(bad)
    };
    let (max_ts, min_ts) = (seconds("max_ts")?, seconds("min_ts")?);
    if let (Some(max), Some(min)) = (max_ts, min_ts)
        && max <= min
    {
        return Err(LbError::bad_request("max_ts should be greater than min_ts"));
    }
    let count = match params.get("count") {
        None => DEFAULT_COUNT,
        Some(text) => {
            let shown: String = text.chars().take(32).collect();
            let count: i64 = text
                .trim()
                .parse()
                .map_err(|_| LbError::bad_request(format!("Invalid count argument: {shown}")))?;
            if count <= 0 {
                return Err(LbError::bad_request(
                    "Number of items requested should be positive",
                ));
            }
            (count as usize).min(MAX_COUNT)
        }
    };
    // Both bounds are exclusive; a bound at the end of time leaves nothing beyond it.
    let from = match min_ts {
        None => DateTime::<Utc>::MIN_UTC,
        Some(t) => t
            .checked_add_signed(chrono::Duration::seconds(1))
            .unwrap_or(DateTime::<Utc>::MAX_UTC),
    };
    let to = match max_ts {
        None => DateTime::<Utc>::MAX_UTC,
        Some(t) => t
            .checked_sub_signed(chrono::Duration::microseconds(1))
            .unwrap_or(DateTime::<Utc>::MIN_UTC),
    };
    Ok(ListensQuery {
        from,
        to,
        count,
        // ListenBrainz pages forward from `min_ts` when it is the only bound.
        oldest_first: min_ts.is_some() && max_ts.is_none(),
    })
}

/// The `track_metadata` a player sent with the listen, when it came through this API.
fn sent_metadata(listen: &StoredListen) -> Option<Value> {
    serde_json::from_str::<Value>(&listen.raw)
        .ok()?
        .get("track_metadata")
        .filter(|m| m.is_object())
        .cloned()
}

/// ListenBrainz metadata from the catalogue for `track_ids` (of listens that arrived
/// without any).
async fn catalogue_metadata(
    state: &AppState,
    track_ids: impl Iterator<Item = String>,
) -> Result<HashMap<String, Value>, LbError> {
    let ids: Vec<String> = track_ids.collect::<HashSet<_>>().into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let found = tracks::tracks_by_id(&state.pool, &ids).await?;
    Ok(found
        .into_iter()
        .map(|t| {
            let mut info = Map::new();
            info.insert(
                "spotify_id".into(),
                format!("https://open.spotify.com/track/{}", t.track_id).into(),
            );
            info.insert("duration_ms".into(), t.duration_ms.into());
            let metadata = json!({
                "track_name": t.name,
                "artist_name": t.artists.join(", "),
                "release_name": t.album_name,
                "additional_info": info,
            });
            (t.track_id, metadata)
        })
        .collect())
}

/// `GET /1/user/{user}/playing-now`: what the caller's player said is playing, until it ends.
pub async fn playing_now(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, LbError> {
    let (listener, user) = caller_named(&state, &headers, user).await?;
    let now = now_playing::current(&state.pool, &listener.user_id).await?;
    let listens: Vec<Value> = now
        .into_iter()
        .map(|n| {
            json!({
                "track_metadata": n.track_metadata,
                "user_name": listener.account.name,
                "playing_now": true,
            })
        })
        .collect();
    Ok(Json(json!({"payload": {
        "count": listens.len(),
        "user_id": user,
        "playing_now": true,
        "listens": listens,
    }})))
}
