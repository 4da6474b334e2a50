//! Logging in and out: a form for browsers (`POST /auth/login`, `POST /auth/logout`, answered
//! with redirects, so the login page works before the WebAssembly loads) and the same as JSON
//! for scripts (`/api/v1/session`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use app::types::url_encode;
use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};

use super::caller::{Caller, unauthenticated};
use super::identify::{AuthState, session_cookie};
use crate::accounts::name::AccountName;
use crate::accounts::sessions::{self, COOKIE, LIFETIME_SECS};
use crate::accounts::store::{self, Login};
use crate::accounts::{Account, Role};
use crate::error::ApiError;
use crate::extract::Json;

/// The browser's login and logout forms.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AuthState: axum::extract::FromRef<S>,
{
    Router::new()
        .route("/auth/login", post(login_form))
        .route("/auth/logout", post(logout_form))
}

/// The longest name or password read from a login request.
const MAX_FIELD_BYTES: usize = 512;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginFields {
    name: String,
    password: String,
    /// Where to go after logging in (a path of this site).
    #[serde(default)]
    next: Option<String>,
}

/// The signed-in account, as the session API answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionAnswer {
    name: String,
    role: Role,
    listener_id: Option<String>,
    /// The page this role starts on.
    home: &'static str,
}

impl From<&Account> for SessionAnswer {
    fn from(account: &Account) -> Self {
        Self {
            name: account.name.clone(),
            role: account.role,
            listener_id: account.listener_id.clone(),
            home: account.role.home_page(),
        }
    }
}

/// How a login attempt ended, for either kind of answer.
enum Outcome {
    /// Logged in: the account and the new session's secret.
    In(Account, String),
    Refused,
    Wait(u64),
}

/// The client's address, when the server was started with connection info (an unknown
/// address counts as one).
pub struct ClientAddress(IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(a)| a.ip()),
        ))
    }
}

async fn attempt(
    auth: &AuthState,
    address: IpAddr,
    fields: &LoginFields,
) -> Result<Outcome, ApiError> {
    if let Some(wait) = auth.throttle.wait(address) {
        return Ok(Outcome::Wait(wait.as_secs().max(1)));
    }
    // A name that no account could have (a NUL, say, which PostgreSQL cannot compare) is
    // refused here as a wrong name would be.
    let name = (fields.name.len() <= MAX_FIELD_BYTES && fields.password.len() <= MAX_FIELD_BYTES)
        .then(|| AccountName::parse(fields.name.trim()).ok())
        .flatten();
    let Some(name) = name else {
        auth.throttle.failed(address);
        return Ok(Outcome::Refused);
    };
    let login = store::login(&auth.pool, name.as_str(), &fields.password)
        .await
        .map_err(ApiError::internal)?;
    match login {
        Login::Accepted(account) => {
            let secret = sessions::start(&auth.pool, &account)
                .await
                .map_err(ApiError::internal)?;
            Ok(Outcome::In(account, secret))
        }
        Login::Refused => {
            auth.throttle.failed(address);
            Ok(Outcome::Refused)
        }
        Login::Wait(seconds) => Ok(Outcome::Wait(seconds)),
    }
}

/// `Set-Cookie` for a session (`secret`), or to clear it (`None`). `Secure` when the request
/// came over HTTPS (directly or through a proxy that says so).
fn session_cookie_header(headers: &HeaderMap, secret: Option<&str>) -> HeaderValue {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
        || headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("https://"));
    let secure = if https { "; Secure" } else { "" };
    let cookie = match secret {
        Some(secret) => format!(
            "{COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={LIFETIME_SECS}{secure}"
        ),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&cookie).expect("a cookie of ASCII characters")
}

/// A path of this site to go to after logging in; anything else (another site, `//host`)
/// goes to the role's page.
fn safe_next(next: Option<&str>, role: Role) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && path.len() <= 512
                && !path.starts_with("/login") =>
        {
            path.to_owned()
        }
        _ => role.home_page().to_owned(),
    }
}

/// Back to the login page with why (`refused`, or `wait` and the seconds to wait): codes,
/// not text, so that nobody can make the page say what they like.
fn login_page_with(error: &str, next: Option<&str>) -> Redirect {
    let mut target = format!("/login?error={error}");
    if let Some(next) = next {
        target.push_str(&format!("&next={}", url_encode(next)));
    }
    Redirect::to(&target)
}

/// `POST /auth/login` (a form): to the page asked for, or back to the login page with why.
async fn login_form(
    State(auth): State<AuthState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    axum::Form(fields): axum::Form<LoginFields>,
) -> Response {
    let next = fields.next.as_deref().filter(|n| n.len() <= 512);
    match attempt(&auth, address, &fields).await {
        Ok(Outcome::In(account, secret)) => {
            let mut response = Redirect::to(&safe_next(next, account.role)).into_response();
            response.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie_header(&headers, Some(&secret)),
            );
            response
        }
        Ok(Outcome::Refused) => login_page_with("refused", next).into_response(),
        Ok(Outcome::Wait(seconds)) => {
            login_page_with(&format!("wait&retry={seconds}"), next).into_response()
        }
        Err(error) => error.into_response(),
    }
}

/// `POST /auth/logout`: ends the session and goes to the login page.
async fn logout_form(State(auth): State<AuthState>, headers: HeaderMap) -> Response {
    if let Some(secret) = session_cookie(&headers)
        && let Err(e) = sessions::end(&auth.pool, secret).await
    {
        return ApiError::internal(e).into_response();
    }
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie_header(&headers, None));
    response
}

/// `POST /api/v1/session` with `{"name", "password"}`: 200 with the account and a session
/// cookie; 401 when refused; 429 with `Retry-After` after too many failures. Who: anyone.
#[utoipa::path(
    post,
    path = "/session",
    tag = "accounts",
    request_body = LoginFields,
    responses(
        (status = 200, description = "Signed in; the session cookie is set.", body = SessionAnswer),
    ),
)]
pub async fn create_session(
    State(auth): State<AuthState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Json(fields): Json<LoginFields>,
) -> Result<Response, ApiError> {
    match attempt(&auth, address, &fields).await? {
        Outcome::In(account, secret) => {
            let mut response = axum::Json(SessionAnswer::from(&account)).into_response();
            response.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie_header(&headers, Some(&secret)),
            );
            Ok(response)
        }
        Outcome::Refused => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "login_refused",
            "wrong name or password",
        )),
        Outcome::Wait(seconds) => Err(ApiError {
            retry_after: Some(seconds),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!("too many failed attempts: try again in {seconds} s"),
            )
        }),
    }
}

/// `GET /api/v1/session`: the account the request acts as. Who: any account.
#[utoipa::path(
    get,
    path = "/session",
    tag = "accounts",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "The caller's account.", body = SessionAnswer)),
)]
pub async fn current_session(caller: Caller) -> Result<axum::Json<SessionAnswer>, ApiError> {
    caller
        .account()
        .map(|account| axum::Json(SessionAnswer::from(account)))
        .ok_or_else(unauthenticated)
}

/// `DELETE /api/v1/session`: ends the session (204 whether or not there was one). Who: anyone.
#[utoipa::path(
    delete,
    path = "/session",
    tag = "accounts",
    responses((status = 204, description = "No session is left; the cookie is cleared.")),
)]
pub async fn end_session(State(auth): State<AuthState>, headers: HeaderMap) -> Response {
    if let Some(secret) = session_cookie(&headers)
        && let Err(e) = sessions::end(&auth.pool, secret).await
    {
        return ApiError::internal(e).into_response();
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie_header(&headers, None));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_of_this_site_are_followed_after_login() {
        assert_eq!(safe_next(Some("/admin?x=1"), Role::Admin), "/admin?x=1");
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil",
            "/login",
        ] {
            assert_eq!(safe_next(Some(bad), Role::Listener), "/for-you", "{bad}");
        }
        assert_eq!(safe_next(None, Role::Business), "/dashboards");
    }
}
