//! The API's OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` and the
//! types they exchange, so that it cannot drift from the code: served at
//! `/api/v1/openapi.json`, with a page to browse and try it at `/api/v1/docs`. Who may call: anyone.

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, OpenApi as Document, Ref, RefOr, ResponseBuilder, path::Operation,
};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::error::{ApiError, ErrorBody, ErrorDetail};

/// Where the document is served.
pub const DOCUMENT_PATH: &str = "/api/v1/openapi.json";
/// Where the page that browses it is served.
pub const PAGE_PATH: &str = "/api/v1/docs";

/// The parts of the document no handler carries: its title, the credentials, the error body.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "soundlake",
        description = "Listening events in, recommendations and the figures of listening out. \
            Every answer is JSON (`snake_case`) unless its operation says otherwise; every \
            error is `{\"error\": {\"code\", \"message\"}}` with a stable `code`."
    ),
    servers((url = "/api/v1")),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&Credentials),
)]
pub struct ApiDoc;

/// The credentials operations name in their `security`: an API token (or the configured admin
/// token) as a bearer token, or a browser session's cookie.
struct Credentials;

impl Modify for Credentials {
    fn modify(&self, document: &mut Document) {
        let components = document.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.description = Some(
            "An API token (`soundlake tokens create`, or `POST /tokens` signed in), or the \
             configured admin token."
                .into(),
        );
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::accounts::sessions::COOKIE,
            ))),
        );
    }
}

/// The error answers every operation may give, added to each operation so that each one lists
/// every status it can answer with: a refused parameter or body (400, 413, 415), a missing or
/// insufficient credential (401, 403), nothing there (404), too many requests (429), an
/// overloaded server (503), and any other error as `default`, all with the error body.
/// Applied once the handlers' paths are in the document.
pub struct ErrorAnswers;

const ERROR_ANSWERS: [(&str, &str); 8] = [
    (
        "400",
        "The request is not valid: a parameter or the body is refused.",
    ),
    (
        "401",
        "A credential is needed, or the one sent is not valid.",
    ),
    ("403", "The credential may not do this."),
    ("404", "There is no such thing."),
    ("413", "The body is too large."),
    (
        "415",
        "The body is not of a content type this operation takes.",
    ),
    (
        "429",
        "Too many requests from this address; `Retry-After` says when to try again.",
    ),
    (
        "503",
        "The server is busy or stopping; `Retry-After` says when to try again.",
    ),
];

impl Modify for ErrorAnswers {
    fn modify(&self, document: &mut Document) {
        let components = document.components.get_or_insert_with(Default::default);
        let error_body = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build();
        for (status, description) in ERROR_ANSWERS
            .into_iter()
            .chain([("default", "Any other error.")])
        {
            let answer = ResponseBuilder::new()
                .description(description)
                .content("application/json", error_body.clone())
                .build();
            components
                .responses
                .insert(answer_name(status), RefOr::T(answer));
        }
        for item in document.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                add_error_answers(operation);
            }
        }
    }
}

fn answer_name(status: &str) -> String {
    format!("Error{status}")
}

fn add_error_answers(operation: &mut Operation) {
    for status in ERROR_ANSWERS
        .iter()
        .map(|(status, _)| *status)
        .chain(["default"])
    {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(answer_name(status))));
    }
}

/// The document (with the handlers' paths) and the page that browses it.
pub fn routes<S: Clone + Send + Sync + 'static>(document: Document) -> Router<S> {
    Router::new().merge(SwaggerUi::new(PAGE_PATH).url(DOCUMENT_PATH, document))
}

/// Errors answered by axum itself (a method the route does not have, say) carry no JSON body:
/// this gives every error answer of the API the error body, with a code named after its status.
pub async fn errors_as_json(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let reason = status.canonical_reason().unwrap_or("error");
    let mut answer = ApiError::new(status, code_of(status), reason).into_response();
    if let Some(value) = retry_after {
        answer.headers_mut().insert(header::RETRY_AFTER, value);
    }
    if let Some(allow) = response.headers().get(header::ALLOW) {
        answer.headers_mut().insert(header::ALLOW, allow.clone());
    }
    answer
}

/// `method_not_allowed` for 405, and so on; `error` for statuses without a name.
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_ACCEPTABLE => "not_acceptable",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::SERVICE_UNAVAILABLE => "busy",
        s if s.is_server_error() => "internal",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_without_a_json_body_get_the_error_body() {
        let bare = (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET")]).into_response();
        let answer = errors_as_json(bare).await;
        assert_eq!(answer.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(answer.headers()[header::ALLOW], "GET");
        let body = axum::body::to_bytes(answer.into_body(), 4096)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "method_not_allowed");

        let fine = (StatusCode::OK, "text").into_response();
        assert_eq!(errors_as_json(fine).await.status(), StatusCode::OK);
    }

    #[test]
    fn every_operation_lists_the_error_answers() {
        let (_, document) = super::super::router(crate::infra::rate_limit::RateLimit::new(0));
        let json = serde_json::to_value(&document).unwrap();
        let paths = json["paths"].as_object().unwrap();
        assert!(paths.len() >= 25, "{:?}", paths.keys());
        for (path, item) in paths {
            for (method, operation) in item.as_object().unwrap() {
                let answers = operation["responses"].as_object().unwrap();
                for status in ["400", "401", "429", "default"] {
                    assert!(
                        answers.contains_key(status),
                        "{method} {path} lacks {status}"
                    );
                }
                assert!(
                    answers.keys().any(|s| s.starts_with('2')),
                    "{method} {path} names no success"
                );
            }
        }
        assert!(json["components"]["securitySchemes"]["bearer"].is_object());
    }
}
