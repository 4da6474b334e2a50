//! The listen event: its JSON form, and the rules an event must pass to be accepted.

use std::collections::HashMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::Value;

use crate::text::id_fault;

/// `end_reason` values soundlake knows (Spotify's `reason_end` vocabulary).
pub const END_REASONS: [&str; 12] = [
    "trackdone",
    "fwdbtn",
    "backbtn",
    "endplay",
    "logout",
    "remote",
    "clickrow",
    "playbtn",
    "trackerror",
    "unexpected-exit",
    "unexpected-exit-while-paused",
    "unknown",
];

const FIELDS: [&str; 8] = [
    "event_id",
    "user_id",
    "track_id",
    "played_at",
    "ms_played",
    "end_reason",
    "skipped",
    "context",
];
const CONTEXT_FIELDS: [&str; 2] = ["source", "device"];
const MAX_MS_PLAYED: i64 = 24 * 60 * 60 * 1000;

/// A validated listen.
#[derive(Debug, Clone, PartialEq)]
pub struct Listen {
    pub event_id: String,
    /// `true` when the client sent no `event_id` and soundlake assigned one.
    pub event_id_assigned: bool,
    pub user_id: String,
    pub track_id: String,
    pub played_at: DateTime<Utc>,
    pub ms_played: i64,
    pub end_reason: Option<String>,
    pub skipped: Option<bool>,
    pub context_source: Option<String>,
    pub context_device: Option<String>,
    /// The event exactly as received (JSON text).
    pub raw: String,
}

/// Why an event was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Rejection {
    pub reason: String,
}

impl Rejection {
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }
}

/// What validation checks against: the clock, and track lengths where the track is known.
#[derive(Debug, Clone)]
pub struct ListenRules {
    pub now: DateTime<Utc>,
    /// How far in the future `played_at` may be (clock skew between devices).
    pub future_slack: Duration,
    /// Track lengths in ms; `ms_played` may exceed a known length by `length_slack_ms`.
    pub track_lengths: std::sync::Arc<HashMap<String, i64>>,
    pub length_slack_ms: i64,
}

impl ListenRules {
    /// Rules at `now` with no known tracks.
    pub fn at(now: DateTime<Utc>) -> Self {
        Self {
            now,
            future_slack: Duration::minutes(5),
            track_lengths: Default::default(),
            length_slack_ms: 30_000,
        }
    }
}

fn reject<T>(reason: impl Into<String>) -> Result<T, Rejection> {
    Err(Rejection::new(reason))
}

fn text_field(
    object: &serde_json::Map<String, Value>,
    name: &str,
    required: bool,
) -> Result<Option<String>, Rejection> {
    match object.get(name) {
        None | Some(Value::Null) if required => reject(format!("{name} is missing")),
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => reject(format!("{name} is empty")),
        Some(Value::String(s)) => match id_fault(s) {
            Some(fault) => reject(format!("{name} {fault}")),
            None => Ok(Some(s.clone())),
        },
        Some(_) => reject(format!("{name} must be a string")),
    }
}

/// Validates one event (a JSON value) against `rules`.
pub fn parse_listen(value: &Value, rules: &ListenRules) -> Result<Listen, Rejection> {
    validate(value, value.to_string(), rules)
}

/// Validates one event given as JSON text against `rules`; the listen keeps the text exactly
/// as sent.
pub fn parse_listen_text(raw: &str, rules: &ListenRules) -> Result<Listen, Rejection> {
    let value: Value =
        serde_json::from_str(raw).or_else(|e| reject(format!("not valid JSON: {e}")))?;
    validate(&value, raw.to_owned(), rules)
}

/// Validates `value`, whose text as sent is `raw`.
fn validate(value: &Value, raw: String, rules: &ListenRules) -> Result<Listen, Rejection> {
    let Value::Object(object) = value else {
        return reject("an event must be a JSON object");
    };
    if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return reject(format!(
            "unknown field {unknown:?}; known fields: {}",
            FIELDS.join(", ")
        ));
    }
    let event_id = text_field(object, "event_id", false)?;
    let user_id = text_field(object, "user_id", true)?.unwrap_or_default();
    let track_id = text_field(object, "track_id", true)?.unwrap_or_default();

    let played_at = match object.get("played_at") {
        None | Some(Value::Null) => return reject("played_at is missing"),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .or_else(|_| reject(format!("played_at {s:?} is not an RFC 3339 timestamp")))?,
        Some(_) => return reject("played_at must be an RFC 3339 timestamp string"),
    };
    if played_at > rules.now + rules.future_slack {
        return reject(format!(
            "played_at {} is in the future",
            played_at.to_rfc3339()
        ));
    }
    let earliest = Utc
        .with_ymd_and_hms(2000, 1, 1, 0, 0, 0)
        .single()
        .expect("a valid date");
    if played_at < earliest {
        return reject(format!(
            "played_at {} is before 2000",
            played_at.to_rfc3339()
        ));
    }

    let ms_played = match object.get("ms_played") {
        None | Some(Value::Null) => return reject("ms_played is missing"),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(ms) => ms,
            None => return reject("ms_played must be a whole number of milliseconds"),
        },
        Some(_) => return reject("ms_played must be a number"),
    };
    if !(0..=MAX_MS_PLAYED).contains(&ms_played) {
        return reject(format!(
            "ms_played {ms_played} is outside 0 to {MAX_MS_PLAYED}"
        ));
    }
    if let Some(length) = rules.track_lengths.get(&track_id)
        && ms_played > length + rules.length_slack_ms
    {
        return reject(format!(
            "ms_played {ms_played} is longer than the track ({length} ms)"
        ));
    }

    let end_reason = match object.get("end_reason") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if END_REASONS.contains(&s.as_str()) => Some(s.clone()),
        Some(other) => {
            return reject(format!(
                "end_reason {other} is not one of {}",
                END_REASONS.join(", ")
            ));
        }
    };
    let skipped = match object.get("skipped") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return reject("skipped must be true or false"),
    };
    let (context_source, context_device) = match object.get("context") {
        None | Some(Value::Null) => (None, None),
        Some(Value::Object(context)) => {
            if let Some(unknown) = context
                .keys()
                .find(|k| !CONTEXT_FIELDS.contains(&k.as_str()))
            {
                return reject(format!(
                    "unknown context field {unknown:?}; known: source, device"
                ));
            }
            (
                text_field(context, "source", false)?,
                text_field(context, "device", false)?,
            )
        }
        Some(_) => return reject("context must be an object"),
    };

    let (event_id, event_id_assigned) = match event_id {
        Some(id) => (id, false),
        None => (uuid::Uuid::new_v4().to_string(), true),
    };
    Ok(Listen {
        event_id,
        event_id_assigned,
        user_id,
        track_id,
        played_at,
        ms_played,
        end_reason,
        skipped,
        context_source,
        context_device,
        raw,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rules() -> ListenRules {
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap();
        let lengths = HashMap::from([("t1".to_owned(), 200_000)]);
        ListenRules {
            track_lengths: std::sync::Arc::new(lengths),
            ..ListenRules::at(now)
        }
    }

    fn good() -> Value {
        json!({"event_id": "e1", "user_id": "u1", "track_id": "t1",
               "played_at": "2026-11-26T11:00:00Z", "ms_played": 180000,
               "end_reason": "trackdone", "skipped": false,
               "context": {"source": "playlist", "device": "phone"}})
    }

    fn reason(value: Value) -> String {
        parse_listen(&value, &rules()).unwrap_err().reason
    }

    fn with(field: &str, value: Value) -> Value {
        let mut event = good();
        event[field] = value;
        event
    }

    #[test]
    fn a_complete_event_is_accepted_as_sent() {
        let listen = parse_listen(&good(), &rules()).unwrap();
        assert_eq!(listen.event_id, "e1");
        assert!(!listen.event_id_assigned);
        assert_eq!(listen.ms_played, 180_000);
        assert_eq!(listen.context_device.as_deref(), Some("phone"));
        assert_eq!(serde_json::from_str::<Value>(&listen.raw).unwrap(), good());
    }

    #[test]
    fn a_missing_event_id_is_assigned() {
        let mut event = good();
        event.as_object_mut().unwrap().remove("event_id");
        let listen = parse_listen(&event, &rules()).unwrap();
        assert!(listen.event_id_assigned);
        assert_eq!(listen.event_id.len(), 36);
    }

    #[test]
    fn each_bad_field_gets_its_own_reason() {
        let cases = [
            (with("user_id", json!(null)), "user_id is missing"),
            (with("user_id", json!(7)), "user_id must be a string"),
            (with("track_id", json!("")), "track_id is empty"),
            (
                with("played_at", json!("yesterday")),
                "is not an RFC 3339 timestamp",
            ),
            (
                with("played_at", json!("2026-11-27T12:00:00Z")),
                "is in the future",
            ),
            (
                with("played_at", json!("1999-12-31T23:59:59Z")),
                "is before 2000",
            ),
            (with("ms_played", json!(-1)), "ms_played -1 is outside"),
            (with("ms_played", json!(1.5)), "whole number"),
            (
                with("ms_played", json!("100")),
                "ms_played must be a number",
            ),
            (with("ms_played", json!(400_000)), "longer than the track"),
            (
                with("end_reason", json!("bored")),
                "end_reason \"bored\" is not one of",
            ),
            (
                with("skipped", json!("yes")),
                "skipped must be true or false",
            ),
            (
                with("context", json!({"mood": "happy"})),
                "unknown context field \"mood\"",
            ),
            (with("colour", json!("blue")), "unknown field \"colour\""),
            (
                with("user_id", json!("bad\u{0}id")),
                "user_id holds a NUL character",
            ),
            (
                with("event_id", json!("e\u{1b}[31m")),
                "event_id holds a control character (U+001B)",
            ),
            (
                with("context", json!({"device": "x".repeat(129)})),
                "device is longer than 128 bytes",
            ),
            (json!([1, 2]), "must be a JSON object"),
        ];
        for (event, expected) in cases {
            let reason = reason(event);
            assert!(
                reason.contains(expected),
                "{reason:?} should say {expected:?}"
            );
        }
    }

    #[test]
    fn an_unknown_track_is_accepted_for_silver_to_judge() {
        let event = with("track_id", json!("not-in-the-catalogue"));
        assert!(parse_listen(&with("ms_played", json!(400_000)), &rules()).is_err());
        let mut unknown = event;
        unknown["ms_played"] = json!(400_000);
        assert!(parse_listen(&unknown, &rules()).is_ok());
    }
}
