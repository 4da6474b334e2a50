//! A `POST /1/submit-listens` body, checked by ListenBrainz's rules in ListenBrainz's order,
//! with its error messages, so that players see the answers they were written against.

use serde_json::{Map, Value};

/// The largest listen, and the largest body per listen it carries.
pub const MAX_LISTEN_SIZE: usize = 10_240;
/// Listens one request may carry.
pub const MAX_LISTENS_PER_REQUEST: usize = 1_000;
/// The largest body.
pub const MAX_PAYLOAD_SIZE: usize = MAX_LISTEN_SIZE * MAX_LISTENS_PER_REQUEST;
const MAX_TAGS: usize = 50;
const MAX_TAG_CHARS: usize = 64;
const MAX_DURATION_SECONDS: i64 = 2_073_600;
/// The earliest `listened_at` ListenBrainz takes.
const LISTEN_MINIMUM_TS: i64 = 1_033_430_400;
/// How far in the future a `listened_at` may be (players' clocks differ).
pub const ALLOWED_SKEW_SECONDS: i64 = 3_600;
const SINGLE_MBIDS: [&str; 4] = [
    "recording_mbid",
    "release_mbid",
    "release_group_mbid",
    "track_mbid",
];
const LIST_MBIDS: [&str; 2] = ["artist_mbids", "work_mbids"];

/// What a submission is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenType {
    /// One listen, just played.
    Single,
    /// What is playing now: not a listen.
    PlayingNow,
    /// Listens from a history.
    Import,
}

/// One listen that passed the checks.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmittedListen {
    /// Seconds since the epoch (absent for `playing_now`).
    pub listened_at: Option<i64>,
    /// Names trimmed; an empty release name and empty MBIDs dropped.
    pub track_metadata: Map<String, Value>,
}

impl SubmittedListen {
    /// The listen as ListenBrainz writes it.
    pub fn to_json(&self) -> Value {
        let mut listen = Map::new();
        if let Some(at) = self.listened_at {
            listen.insert("listened_at".into(), at.into());
        }
        listen.insert(
            "track_metadata".into(),
            Value::Object(self.track_metadata.clone()),
        );
        Value::Object(listen)
    }

    /// The track's length in seconds, when the player said.
    pub fn duration_seconds(&self) -> Option<i64> {
        let info = self.track_metadata.get("additional_info")?;
        info.get("duration").and_then(Value::as_i64).or_else(|| {
            info.get("duration_ms")
                .and_then(Value::as_i64)
                .map(|ms| ms / 1000)
        })
    }
}

/// A checked submission.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub listen_type: ListenType,
    pub listens: Vec<SubmittedListen>,
}

/// Checks `body`, received at `now` (seconds since the epoch); the error is the message
/// ListenBrainz answers with (status 400).
pub fn parse(body: &[u8], now: i64) -> Result<Submission, String> {
    if body.len() > MAX_PAYLOAD_SIZE {
        return Err(format!(
            "Payload too large. Payload cannot exceed {MAX_PAYLOAD_SIZE} bytes"
        ));
    }
    let document: Value =
        serde_json::from_slice(body).map_err(|e| format!("Cannot parse JSON document: {e}"))?;
    let Value::Object(document) = document else {
        return Err(
            "Invalid JSON document submitted. Top level of JSON document should be a json object."
                .into(),
        );
    };
    let (Some(payload), Some(listen_type)) = (document.get("payload"), document.get("listen_type"))
    else {
        return Err("Invalid JSON document submitted.".into());
    };
    let Value::Array(payload) = payload else {
        return Err("The payload in the JSON document should be a list of listens.".into());
    };
    if payload.is_empty() {
        return Err("JSON document does not contain any listens".into());
    }
    if payload.len() > MAX_LISTENS_PER_REQUEST {
        return Err(format!(
            "Too many listens. You may not submit more than {MAX_LISTENS_PER_REQUEST} listens at once."
        ));
    }
    if body.len() > payload.len() * MAX_LISTEN_SIZE {
        return Err(format!(
            "JSON document is too large. Each listens may not be larger than {MAX_LISTEN_SIZE} bytes."
        ));
    }
    let listen_type = match listen_type.as_str() {
        Some("single") => ListenType::Single,
        Some("playing_now") => ListenType::PlayingNow,
        Some("import") => ListenType::Import,
        _ => return Err("JSON document requires a valid listen_type key.".into()),
    };
    if listen_type != ListenType::Import && payload.len() > 1 {
        return Err("JSON document contains more than listen for a single/playing_now. It should contain only one.".into());
    }
    let listens = payload
        .iter()
        .map(|listen| check_listen(listen, listen_type, now))
        .collect::<Result<_, _>>()?;
    Ok(Submission {
        listen_type,
        listens,
    })
}

fn check_listen(
    listen: &Value,
    listen_type: ListenType,
    now: i64,
) -> Result<SubmittedListen, String> {
    let listen = match listen {
        Value::Null => return Err("Listen is empty and cannot be validated.".into()),
        Value::Object(listen) => listen,
        _ => return Err("Each listen must be a JSON object.".into()),
    };
    const NO_METADATA: &str = "JSON document must contain the key track_metadata at the top level.";
    let listened_at = if listen_type == ListenType::PlayingNow {
        if listen.contains_key("listened_at") {
            return Err(
                "JSON document must not contain listened_at while submitting playing_now.".into(),
            );
        }
        if !listen.contains_key("track_metadata") {
            return Err(NO_METADATA.into());
        }
        if listen.len() > 1 {
            return Err("JSON document may only contain track_metadata as top level key when submitting playing_now.".into());
        }
        None
    } else {
        let Some(at) = listen.get("listened_at") else {
            return Err("JSON document must contain the key listened_at at the top level.".into());
        };
        let at = as_int(at).ok_or("JSON document must contain an int value for listened_at.")?;
        if at >= now + ALLOWED_SKEW_SECONDS {
            return Err("Value for key listened_at is too high.".into());
        }
        if at < LISTEN_MINIMUM_TS {
            // The message is ListenBrainz's, figure included.
            return Err("Value for key listened_at is too low. listened_at timestamp should be greater than 1033410600 (2002-10-01 00:00:00 UTC).".into());
        }
        if !listen.contains_key("track_metadata") {
            return Err(NO_METADATA.into());
        }
        if listen.len() > 2 {
            return Err(
                "JSON document may only contain listened_at and track_metadata top level keys"
                    .into(),
            );
        }
        Some(at)
    };
    let metadata = match &listen["track_metadata"] {
        Value::Null => {
            return Err("JSON document may not have track_metadata with null value.".into());
        }
        Value::Object(metadata) => metadata,
        _ => return Err("track_metadata must be a JSON object.".into()),
    };
    let mut metadata = metadata.clone();
    for key in ["track_name", "artist_name", "release_name"] {
        match metadata.get(key) {
            None if key == "release_name" => {}
            None => {
                return Err(format!(
                    "JSON document does not contain required field track_metadata.{key}."
                ));
            }
            Some(Value::String(text)) => {
                let trimmed = text.trim();
                if trimmed.is_empty() {
                    if key == "release_name" {
                        metadata.remove(key);
                        continue;
                    }
                    return Err(format!("field track_metadata.{key} is empty."));
                }
                let trimmed = trimmed.to_owned();
                metadata.insert(key.into(), Value::String(trimmed));
            }
            Some(_) => return Err(format!("track_metadata.{key} must be a single string.")),
        }
    }
    if let Some(info) = metadata.get_mut("additional_info") {
        match info {
            Value::Object(info) => check_additional_info(info)?,
            Value::Null => {}
            _ => return Err("track_metadata.additional_info must be a JSON object.".into()),
        }
    }
    if let Some(null) = find_null_character(&Value::Object(metadata.clone())) {
        return Err(format!("{null} contains a unicode null"));
    }
    Ok(SubmittedListen {
        listened_at,
        track_metadata: metadata,
    })
}

fn check_additional_info(info: &mut Map<String, Value>) -> Result<(), String> {
    if let Some(Value::Array(tags)) = info.get("tags") {
        if tags.len() > MAX_TAGS {
            return Err(format!(
                "JSON document may not contain more than {MAX_TAGS} items in track_metadata.additional_info.tags."
            ));
        }
        if tags.iter().any(|t| {
            t.as_str()
                .is_some_and(|t| t.chars().count() > MAX_TAG_CHARS)
        }) {
            return Err(format!(
                "JSON document may not contain track_metadata.additional_info.tags longer than {MAX_TAG_CHARS} characters."
            ));
        }
    }
    if info.contains_key("duration") && info.contains_key("duration_ms") {
        return Err("JSON document should not contain both duration and duration_ms.".into());
    }
    for (key, limit) in [
        ("duration", MAX_DURATION_SECONDS),
        ("duration_ms", MAX_DURATION_SECONDS * 1000),
    ] {
        let Some(value) = info.get(key) else { continue };
        let value = as_int(value)
            .filter(|v| *v > 0)
            .ok_or_else(|| format!("Value for {key} is invalid, should be a positive integer."))?;
        if value > limit {
            return Err(format!(
                "Value for {key} is too large, max permitted value is {limit}"
            ));
        }
        info.insert(key.into(), value.into());
    }
    for key in SINGLE_MBIDS {
        match info.get(key) {
            None => {}
            Some(Value::Null) => {
                info.remove(key);
            }
            Some(Value::String(mbid)) if mbid.is_empty() => {
                info.remove(key);
            }
            Some(Value::String(mbid)) if is_uuid(mbid) => {}
            Some(_) => return Err(format!("{key} MBID format invalid.")),
        }
    }
    for key in LIST_MBIDS {
        match info.get(key) {
            None => {}
            Some(Value::Null) => {
                info.remove(key);
            }
            Some(Value::Array(mbids)) if mbids.iter().all(|m| m.as_str().is_some_and(is_uuid)) => {}
            Some(_) => return Err(format!("{key} MBID format invalid.")),
        }
    }
    Ok(())
}

/// An integer as Python's `int()` reads one from JSON: integers, floats (truncated), integer
/// strings and booleans.
fn as_int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.abs() < 9e18)
                .map(|f| f.trunc() as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

fn is_uuid(text: &str) -> bool {
    uuid::Uuid::try_parse(text).is_ok()
}

/// The first string (key or value) holding U+0000.
fn find_null_character(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if s.contains('\0') => Some(s.replace('\0', "\\u0000")),
        Value::Array(items) => items.iter().find_map(find_null_character),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                Some(k.replace('\0', "\\u0000"))
            } else {
                find_null_character(v)
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: i64 = 1_780_000_000;

    fn submit(body: Value) -> Result<Submission, String> {
        parse(body.to_string().as_bytes(), NOW)
    }

    fn single(listen: Value) -> Result<Submission, String> {
        submit(json!({"listen_type": "single", "payload": [listen]}))
    }

    fn track() -> Value {
        json!({"artist_name": " Ana Rivera ", "track_name": "Fine Song", "release_name": ""})
    }

    #[test]
    fn a_good_single_listen_is_kept_with_its_names_trimmed() {
        let submission =
            single(json!({"listened_at": NOW - 60, "track_metadata": track()})).unwrap();
        assert_eq!(submission.listen_type, ListenType::Single);
        let listen = &submission.listens[0];
        assert_eq!(listen.listened_at, Some(NOW - 60));
        assert_eq!(listen.track_metadata["artist_name"], "Ana Rivera");
        assert!(!listen.track_metadata.contains_key("release_name"));
    }

    #[test]
    fn listened_at_is_read_as_python_reads_an_int() {
        for (sent, read) in [
            (json!("1780000000"), 1_780_000_000),
            (json!(1_779_999_999.7), 1_779_999_999),
        ] {
            let s = single(json!({"listened_at": sent, "track_metadata": track()})).unwrap();
            assert_eq!(s.listens[0].listened_at, Some(read));
        }
    }

    #[test]
    fn each_bad_submission_gets_listenbrainz_s_message() {
        let cases: Vec<(Value, &str)> = vec![
            (
                json!([]),
                "Top level of JSON document should be a json object",
            ),
            (json!({"payload": []}), "Invalid JSON document submitted."),
            (
                json!({"listen_type": "single", "payload": {}}),
                "should be a list of listens",
            ),
            (
                json!({"listen_type": "single", "payload": []}),
                "does not contain any listens",
            ),
            (
                json!({"listen_type": "loud", "payload": [{}]}),
                "requires a valid listen_type key",
            ),
            (
                json!({"listen_type": "single", "payload": [{}, {}]}),
                "more than listen for a single/playing_now",
            ),
            (
                json!({"listen_type": "single", "payload": [null]}),
                "Listen is empty",
            ),
            (
                json!({"listen_type": "single", "payload": [{"track_metadata": track()}]}),
                "must contain the key listened_at",
            ),
            (
                json!({"listen_type": "single", "payload": [{"listened_at": "soon", "track_metadata": track()}]}),
                "an int value for listened_at",
            ),
            (
                json!({"listen_type": "single", "payload": [{"listened_at": NOW + 7200, "track_metadata": track()}]}),
                "listened_at is too high",
            ),
            (
                json!({"listen_type": "single", "payload": [{"listened_at": 1000, "track_metadata": track()}]}),
                "listened_at is too low",
            ),
            (
                json!({"listen_type": "playing_now", "payload": [{"listened_at": NOW, "track_metadata": track()}]}),
                "must not contain listened_at while submitting playing_now",
            ),
            (
                json!({"listen_type": "import", "payload": [{"listened_at": NOW, "track_metadata": {"track_name": "x"}}]}),
                "required field track_metadata.artist_name",
            ),
            (
                json!({"listen_type": "import", "payload": [{"listened_at": NOW, "track_metadata": {"track_name": 5, "artist_name": "a"}}]}),
                "track_metadata.track_name must be a single string",
            ),
            (
                json!({"listen_type": "import", "payload": [{"listened_at": NOW, "track_metadata": {"track_name": "  ", "artist_name": "a"}}]}),
                "field track_metadata.track_name is empty",
            ),
            (
                json!({"listen_type": "import", "payload": [{"listened_at": NOW, "track_metadata": {"track_name": "t", "artist_name": "a\u{0}b"}}]}),
                "contains a unicode null",
            ),
            (
                json!({"listen_type": "import", "payload": [{"listened_at": NOW, "track_metadata": {"track_name": "t", "artist_name": "a", "additional_info": {"duration_ms": -5}}}]}),
                "Value for duration_ms is invalid",
            ),
            (
                json!({"listen_type": "import", "payload": [{"listened_at": NOW, "track_metadata": {"track_name": "t", "artist_name": "a", "additional_info": {"recording_mbid": "nope"}}}]}),
                "recording_mbid MBID format invalid",
            ),
            (
                json!({"listen_type": "import", "payload": [{"listened_at": NOW, "track_metadata": null}]}),
                "track_metadata with null value",
            ),
        ];
        for (body, message) in cases {
            let error = submit(body.clone()).expect_err(&body.to_string());
            assert!(error.contains(message), "{body}: {error}");
        }
        assert!(
            parse(b"{nope", NOW)
                .unwrap_err()
                .starts_with("Cannot parse JSON document")
        );
    }

    #[test]
    fn sizes_and_counts_are_capped_as_listenbrainz_caps_them() {
        let many: Vec<Value> = (0..1001)
            .map(|_| json!({"listened_at": NOW, "track_metadata": track()}))
            .collect();
        let error = submit(json!({"listen_type": "import", "payload": many})).unwrap_err();
        assert!(error.starts_with("Too many listens"), "{error}");
        let long = "x".repeat(MAX_LISTEN_SIZE + 10);
        let error = single(
            json!({"listened_at": NOW, "track_metadata": {"track_name": long, "artist_name": "a"}}),
        )
        .unwrap_err();
        assert!(error.starts_with("JSON document is too large"), "{error}");
        let error = parse(&vec![b' '; MAX_PAYLOAD_SIZE + 1], NOW).unwrap_err();
        assert!(error.starts_with("Payload too large"), "{error}");
    }
}
