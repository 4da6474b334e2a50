//! The API's extractors: axum's `Path`, `Query` and `Json` whose refusals are the API's JSON
//! error body (axum's own answer in plain text), and the parameter types that parse, so that a
//! handler only ever sees values within their limits.

use axum::extract::FromRequest;
use axum::extract::FromRequestParts;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// `axum::extract::Path`, refused with a JSON error.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// `axum::extract::Query`, refused with a JSON error.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// `axum::Json` as a request body, refused with a JSON error.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::bad_request(rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::bad_request(rejection.body_text())
    }
}

/// A body that is no JSON, or not of the request's shape, is a 400; one of another content
/// type a 415; one too large a 413.
impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        use axum::http::StatusCode;
        match rejection.status() {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                rejection.body_text(),
            ),
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                rejection.body_text(),
            ),
            _ => ApiError::bad_request(rejection.body_text()),
        }
    }
}

/// An identifier taken from a request (a listener's or a track's id, a genre), checked like
/// the ids of a listen: no control character, at most 128 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String")]
pub struct Id(String);

impl Id {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::ops::Deref for Id {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Id {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        if value.is_empty() {
            return Err("an id may not be empty".into());
        }
        match lakehouse::text::id_fault(&value) {
            Some(fault) => Err(format!("the id {fault}")),
            None => Ok(Id(value)),
        }
    }
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A free text taken from a request (an artist's name): no NUL, at most 2,048 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct FreeText(String);

impl FreeText {
    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::ops::Deref for FreeText {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for FreeText {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match lakehouse::text::text_fault(&value) {
            Some(fault) => Err(format!("the text {fault}")),
            None => Ok(FreeText(value)),
        }
    }
}

/// The longest search text, in bytes.
pub const MAX_SEARCH_BYTES: usize = 200;

/// Search text: at most [`MAX_SEARCH_BYTES`], no control character.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct SearchText(String);

impl SearchText {
    pub fn into_string(self) -> String {
        self.0
    }
}

impl TryFrom<String> for SearchText {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        if value.len() > MAX_SEARCH_BYTES {
            return Err(format!(
                "the search text is longer than {MAX_SEARCH_BYTES} bytes"
            ));
        }
        if let Some(c) = value.chars().find(|c| c.is_control()) {
            return Err(format!(
                "the search text holds a control character (U+{:04X})",
                u32::from(c)
            ));
        }
        Ok(SearchText(value))
    }
}

/// The schema of a text parameter: a string of `min` to `max_bytes` bytes (stated as
/// characters, the unit of OpenAPI, at most a quarter of the bytes: four bytes per character at
/// most), with no control character where `control` is `false`.
fn text_schema(
    description: &str,
    min: usize,
    max_bytes: usize,
    control: bool,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let pattern = if control {
        "^[^\\x00]*$"
    } else {
        "^[^\\x00-\\x1F\\x7F-\\x9F]*$"
    };
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .min_length(Some(min))
        .max_length(Some(max_bytes / 4))
        .pattern(Some(pattern))
        .into()
}

impl utoipa::PartialSchema for Id {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        text_schema(
            "An id: 1 to 128 bytes of UTF-8, no control character.",
            1,
            lakehouse::text::MAX_ID_BYTES,
            false,
        )
    }
}

impl utoipa::ToSchema for Id {}

impl utoipa::PartialSchema for FreeText {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        text_schema(
            "A text: at most 2,048 bytes of UTF-8, no NUL.",
            0,
            lakehouse::text::MAX_TEXT_BYTES,
            true,
        )
    }
}

impl utoipa::ToSchema for FreeText {}

impl utoipa::PartialSchema for SearchText {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        text_schema(
            "Search text: at most 200 bytes of UTF-8, no control character.",
            0,
            MAX_SEARCH_BYTES,
            false,
        )
    }
}

impl utoipa::ToSchema for SearchText {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_search_text_refuse_what_gold_cannot_store() {
        assert!(Id::try_from("user-00001".to_owned()).is_ok());
        assert!(Id::try_from("ü✓".to_owned()).is_ok());
        for bad in ["", "a\0b", "a\nb", &"x".repeat(129)] {
            assert!(Id::try_from(bad.to_owned()).is_err(), "{bad:?}");
        }
        assert!(SearchText::try_from("Daft Punk".to_owned()).is_ok());
        assert!(SearchText::try_from("x\0".to_owned()).is_err());
        assert!(SearchText::try_from("x".repeat(201)).is_err());
    }
}
