//! Who may call what: every API route, server function and guarded page against every kind of
//! caller, as a client sees it; logging in and out; slowed repeated failures; and requests
//! another site makes with a visitor's session.

use reqwest::StatusCode;
use reqwest::header::{COOKIE, HeaderMap, HeaderValue, ORIGIN, SET_COOKIE};
use serde_json::{Value, json};
use server::accounts::store::{self, NewAccount};
use server::accounts::tokens::{self, Scope};
use server::accounts::{Account, Role};

use crate::support::{TestApp, browser, log_in};

const PASSWORD: &str = "a long enough password";

async fn account(app: &TestApp, name: &str, role: Role, listener: Option<&str>) -> Account {
    store::create(
        &app.pool,
        &NewAccount {
            name,
            role,
            listener_id: listener,
            password: PASSWORD,
        },
    )
    .await
    .expect("creating an account")
}

/// A script with an API token, which follows no redirect.
fn token_client(token: &str) -> reqwest::Client {
    let mut headers = HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// What a caller may expect of a route.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// Anything but 401, 403 and a redirect to the login page.
    Allowed,
    Unauthenticated,
    Forbidden,
    /// A page's answer to an anonymous visitor: to the login page.
    ToLogin,
    /// A 4xx with a reason for each refused event (listens of another listener).
    Refused,
}
use Expect::{Allowed, Forbidden, Refused, ToLogin, Unauthenticated};

const CALLERS: [&str; 7] = [
    "anonymous",
    "listener",
    "other listener",
    "business",
    "admin",
    "listener token",
    "ingest token",
];

#[tokio::test]
async fn every_route_answers_each_kind_of_caller_as_its_rule_says() {
    let app = TestApp::start().await;
    account(&app, "ana", Role::Listener, Some("user-00001")).await;
    account(&app, "bob", Role::Listener, Some("user-00002")).await;
    account(&app, "bi", Role::Business, None).await;
    let admin = account(&app, "root", Role::Admin, None).await;
    let ana = store::find(&app.pool, "ana").await.unwrap();
    let (_, ana_token) = tokens::create(&app.pool, &ana, "player", Scope::Account)
        .await
        .unwrap();
    let (_, ingest_token) = tokens::create(&app.pool, &admin, "stream", Scope::Ingest)
        .await
        .unwrap();
    let clients = [
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        browser(&app, &log_in(&app, "ana", PASSWORD).await.unwrap()),
        browser(&app, &log_in(&app, "bob", PASSWORD).await.unwrap()),
        browser(&app, &log_in(&app, "bi", PASSWORD).await.unwrap()),
        browser(&app, &log_in(&app, "root", PASSWORD).await.unwrap()),
        token_client(&ana_token),
        token_client(&ingest_token),
    ];
    let track = app.get_json("/api/v1/tracks?per_page=1").await.1["items"][0]["track_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let listen = json!({"user_id": "user-00001", "track_id": track,
                        "played_at": chrono::Utc::now().to_rfc3339(), "ms_played": 100_000});
    let feedback = json!({"kind": "like", "artist": "Someone"});

    type Row = (&'static str, String, Option<Value>, [Expect; 7]);
    let everyone = [Allowed; 7];
    // An ingest token is a valid credential that may only post listens: the API refuses it
    // everything else with 403; server functions and pages, which serve accounts, see nobody.
    let business = [
        Unauthenticated,
        Forbidden,
        Forbidden,
        Allowed,
        Allowed,
        Forbidden,
        Forbidden,
    ];
    let admins = [
        Unauthenticated,
        Forbidden,
        Forbidden,
        Forbidden,
        Allowed,
        Forbidden,
        Forbidden,
    ];
    let admins_fn = [
        Unauthenticated,
        Forbidden,
        Forbidden,
        Forbidden,
        Allowed,
        Forbidden,
        Unauthenticated,
    ];
    let own_listener = [
        Unauthenticated,
        Allowed,
        Forbidden,
        Forbidden,
        Allowed,
        Allowed,
        Forbidden,
    ];
    let own_listener_fn = [
        Unauthenticated,
        Allowed,
        Forbidden,
        Forbidden,
        Allowed,
        Allowed,
        Unauthenticated,
    ];
    let business_fn = [
        Unauthenticated,
        Forbidden,
        Forbidden,
        Allowed,
        Allowed,
        Forbidden,
        Unauthenticated,
    ];
    // Tokens are made and revoked signed in only: a token may list its account's tokens, not
    // make one (which would outlive its own revocation).
    let session_fn = [
        Unauthenticated,
        Allowed,
        Allowed,
        Allowed,
        Allowed,
        Forbidden,
        Unauthenticated,
    ];
    let session_fn_or_token = [
        Unauthenticated,
        Allowed,
        Allowed,
        Allowed,
        Allowed,
        Allowed,
        Unauthenticated,
    ];
    let accounts = [
        Unauthenticated,
        Allowed,
        Allowed,
        Allowed,
        Allowed,
        Allowed,
        Forbidden,
    ];
    let rows: Vec<Row> = vec![
        ("GET", "/api/v1/health".into(), None, everyone),
        ("GET", "/api/v1/tracks".into(), None, everyone),
        ("GET", format!("/api/v1/tracks/{track}"), None, everyone),
        ("GET", "/api/v1/genres".into(), None, everyone),
        (
            "GET",
            "/api/v1/users/user-00001/recommendations".into(),
            None,
            own_listener,
        ),
        (
            "POST",
            "/api/v1/users/user-00001/feedback".into(),
            Some(feedback.clone()),
            own_listener,
        ),
        (
            "POST",
            "/api/v1/listens".into(),
            Some(listen.clone()),
            [
                Unauthenticated,
                Allowed,
                Refused,
                Forbidden,
                Allowed,
                Allowed,
                Allowed,
            ],
        ),
        ("GET", "/api/v1/clusters".into(), None, business),
        ("GET", "/api/v1/clusters/map".into(), None, business),
        ("GET", "/api/v1/segments".into(), None, business),
        ("GET", "/api/v1/models".into(), None, business),
        ("GET", "/api/v1/stats/daily".into(), None, business),
        ("GET", "/api/v1/stats/top?kind=track".into(), None, business),
        ("GET", "/api/v1/stats/genre-mix".into(), None, business),
        ("GET", "/api/v1/stats/heatmap".into(), None, business),
        (
            "GET",
            "/api/v1/stats/weekly-listeners".into(),
            None,
            business,
        ),
        (
            "GET",
            "/api/v1/stats/cohorts?format=csv".into(),
            None,
            business,
        ),
        (
            "GET",
            "/api/dashboard?from=&to=&genre=".into(),
            None,
            business_fn,
        ),
        ("GET", "/api/v1/pipeline/runs".into(), None, admins),
        ("GET", "/api/v1/pipeline/runs/1".into(), None, admins),
        ("GET", "/api/v1/lake/tables".into(), None, admins),
        (
            "GET",
            "/api/v1/lake/tables/bronze/listens".into(),
            None,
            admins,
        ),
        (
            "GET",
            "/api/v1/session".into(),
            None,
            [
                Unauthenticated,
                Allowed,
                Allowed,
                Allowed,
                Allowed,
                Allowed,
                Unauthenticated,
            ],
        ),
        // An account's own tokens: not the ingest token's, which is no account's credential.
        ("GET", "/api/v1/tokens".into(), None, accounts),
        // Made only by a signed-in account: a token cannot make another.
        (
            "POST",
            "/api/v1/tokens".into(),
            Some(json!({"name": "a player"})),
            [
                Unauthenticated,
                Allowed,
                Allowed,
                Allowed,
                Allowed,
                Forbidden,
                Forbidden,
            ],
        ),
        // Players: a listener's token, as ListenBrainz clients send it; no session.
        (
            "GET",
            "/1/user/ana/listens".into(),
            None,
            [
                Unauthenticated,
                Unauthenticated,
                Unauthenticated,
                Unauthenticated,
                Unauthenticated,
                Allowed,
                Unauthenticated,
            ],
        ),
        (
            "GET",
            "/api/search_catalog?text=&genre=&page=1".into(),
            None,
            everyone,
        ),
        ("GET", "/api/list_genres".into(), None, everyone),
        ("GET", "/api/whoami".into(), None, everyone),
        (
            "GET",
            "/api/recommendations_for?user=user-00001".into(),
            None,
            own_listener_fn,
        ),
        (
            "GET",
            "/api/current_model_insights".into(),
            None,
            business_fn,
        ),
        (
            "GET",
            "/api/track_cluster_insights".into(),
            None,
            business_fn,
        ),
        ("GET", "/api/track_map_sample".into(), None, business_fn),
        ("GET", "/api/listener_segments".into(), None, business_fn),
        ("GET", "/api/pipeline_runs".into(), None, admins_fn),
        ("GET", "/api/lake_tables".into(), None, admins_fn),
        ("GET", "/api/accounts".into(), None, admins_fn),
        (
            "POST",
            "/api/add_account".into(),
            Some(json!({"name": "added-by-test", "role": "business", "listener_id": ""})),
            admins_fn,
        ),
        (
            "POST",
            "/api/set_account_disabled".into(),
            Some(json!({"name": "bob", "disabled": false})),
            admins_fn,
        ),
        (
            "POST",
            "/api/set_account_role".into(),
            Some(json!({"name": "bob", "role": "listener", "listener_id": "user-00002"})),
            admins_fn,
        ),
        ("GET", "/api/my_tokens".into(), None, session_fn_or_token),
        (
            "POST",
            "/api/create_my_token".into(),
            Some(json!({"name": "made in the test"})),
            session_fn,
        ),
        (
            "POST",
            "/api/revoke_my_token".into(),
            Some(json!({"token_id": 999_999})),
            session_fn,
        ),
        ("GET", "/".into(), None, everyone),
        ("GET", "/catalog".into(), None, everyone),
        ("GET", "/login".into(), None, everyone),
        (
            "GET",
            "/for-you".into(),
            None,
            [
                ToLogin, Allowed, Allowed, Forbidden, Allowed, Allowed, ToLogin,
            ],
        ),
        (
            "GET",
            "/insights".into(),
            None,
            [
                ToLogin, Forbidden, Forbidden, Allowed, Allowed, Forbidden, ToLogin,
            ],
        ),
        (
            "GET",
            "/admin".into(),
            None,
            [
                ToLogin, Forbidden, Forbidden, Forbidden, Allowed, Forbidden, ToLogin,
            ],
        ),
    ];
    let mut wrong = Vec::new();
    for (method, path, body, expected) in &rows {
        for (i, client) in clients.iter().enumerate() {
            let url = format!("{}{path}", app.base);
            let mut request = match *method {
                "GET" => client.get(&url),
                _ => client.post(&url),
            };
            // Server functions (`/api/NAME`) take forms; the REST API takes JSON.
            request = match body {
                Some(body) if !path.starts_with("/api/v1/") => request.form(body),
                Some(body) => request.json(body),
                None => request,
            };
            let response = request.send().await.unwrap();
            let status = response.status();
            let location = response
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned());
            let ok = match expected[i] {
                Allowed => {
                    status != StatusCode::UNAUTHORIZED
                        && status != StatusCode::FORBIDDEN
                        && !location.as_deref().is_some_and(|l| l.starts_with("/login"))
                }
                Unauthenticated => status == StatusCode::UNAUTHORIZED,
                Forbidden => status == StatusCode::FORBIDDEN,
                ToLogin => {
                    status == StatusCode::SEE_OTHER
                        && location
                            .as_deref()
                            .is_some_and(|l| l.starts_with("/login?next="))
                }
                Refused => {
                    let text = response.text().await.unwrap();
                    status == StatusCode::UNPROCESSABLE_ENTITY
                        && text.contains("may not post listens of user")
                }
            };
            if !ok {
                wrong.push(format!(
                    "{method} {path} as {}: {status} (expected {:?})",
                    CALLERS[i], expected[i]
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    app.finish().await;
}

#[tokio::test]
async fn logging_in_and_out_and_repeated_failures_are_slowed() {
    let app = TestApp::start().await;
    account(&app, "ana", Role::Listener, Some("user-00001")).await;
    let (status, body) = log_in(&app, "ana", "not the password").await.unwrap_err();
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("login_refused"))
    );
    let (status, _) = log_in(&app, "nobody", PASSWORD).await.unwrap_err();
    assert_eq!(status, 401, "an unknown name answers like a wrong password");

    let cookie = log_in(&app, "ana", PASSWORD).await.unwrap();
    let ana = browser(&app, &cookie);
    let me: Value = ana
        .get(format!("{}/api/v1/session", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "listener");
    assert_eq!(me["home"], "/for-you");
    let out = ana
        .delete(format!("{}/api/v1/session", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let after = ana
        .get(format!("{}/api/v1/session", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401, "the cookie no longer opens a session");

    // Five failures in a row, then every attempt must wait, the right password too.
    for _ in 0..5 {
        assert_eq!(log_in(&app, "ana", "wrong").await.unwrap_err().0, 401);
    }
    let (status, body) = log_in(&app, "ana", PASSWORD).await.unwrap_err();
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "too_many_attempts");
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert!(
        log_in(&app, "ana", PASSWORD).await.is_ok(),
        "after the wait"
    );
    app.finish().await;
}

/// Seconds since the session's `last_seen_at`.
async fn seen_secs_ago(app: &TestApp) -> f64 {
    sqlx::query_scalar("SELECT extract(epoch FROM now() - last_seen_at)::float8 FROM sessions")
        .fetch_one(&app.pool)
        .await
        .expect("one session")
}

async fn set_session_times(app: &TestApp, seen_secs_ago: i64, created_secs_ago: i64) {
    sqlx::query(
        "UPDATE sessions SET last_seen_at = now() - make_interval(secs => $1),
                             created_at = now() - make_interval(secs => $2)",
    )
    .bind(seen_secs_ago as f64)
    .bind(created_secs_ago as f64)
    .execute(&app.pool)
    .await
    .expect("dating the session");
}

#[tokio::test]
async fn a_session_is_kept_alive_by_use_and_ends_when_idle_or_too_old() {
    use server::accounts::sessions::{IDLE_LIMIT_SECS, LIFETIME_SECS};
    let app = TestApp::start().await;
    account(&app, "ana", Role::Listener, Some("user-00001")).await;
    let ana = browser(&app, &log_in(&app, "ana", PASSWORD).await.unwrap());
    let me = || async {
        ana.get(format!("{}/api/v1/session", app.base))
            .send()
            .await
            .unwrap()
            .status()
    };

    // Seen half a minute ago: still live, and not written again so soon.
    set_session_times(&app, 30, 30).await;
    assert_eq!(me().await, 200);
    assert!(seen_secs_ago(&app).await >= 29.0, "touched too often");
    // Seen an hour ago: still live, and marked as seen now.
    set_session_times(&app, 3_600, 3_600).await;
    assert_eq!(me().await, 200);
    assert!(
        seen_secs_ago(&app).await < 30.0,
        "a use keeps the session alive"
    );
    // Idle past the limit: ended, and not brought back by the request.
    set_session_times(&app, IDLE_LIMIT_SECS + 60, IDLE_LIMIT_SECS + 60).await;
    assert_eq!(me().await, 401);
    assert!(seen_secs_ago(&app).await > IDLE_LIMIT_SECS as f64);
    // In use, but logged in longer ago than a session may last: ended too.
    set_session_times(&app, 0, LIFETIME_SECS + 60).await;
    assert_eq!(me().await, 401);
    app.finish().await;
}

#[tokio::test]
async fn the_login_form_sets_a_protected_cookie_and_lands_on_the_roles_page() {
    let app = TestApp::start().await;
    account(&app, "bi", Role::Business, None).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = [("name", "bi"), ("password", PASSWORD), ("next", "")];
    let response = client
        .post(format!("{}/auth/login", app.base))
        .header(ORIGIN, &app.base)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/dashboards");
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let wrong = [("name", "bi"), ("password", "nope"), ("next", "/insights")];
    let response = client
        .post(format!("{}/auth/login", app.base))
        .form(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["location"],
        "/login?error=refused&next=/insights"
    );
    app.finish().await;
}

#[tokio::test]
async fn another_site_cannot_use_a_visitors_session() {
    let app = TestApp::start().await;
    account(&app, "ana", Role::Listener, Some("user-00001")).await;
    let cookie = log_in(&app, "ana", PASSWORD).await.unwrap();
    let feedback = json!({"kind": "like", "artist": "Someone"});
    let url = format!("{}/api/v1/users/user-00001/feedback", app.base);
    let from_elsewhere = reqwest::Client::new()
        .post(&url)
        .header(COOKIE, &cookie)
        .header(ORIGIN, "https://evil.example")
        .json(&feedback)
        .send()
        .await
        .unwrap();
    assert_eq!(from_elsewhere.status(), 403);
    let body: Value = from_elsewhere.json().await.unwrap();
    assert_eq!(body["error"]["code"], "cross_site_request");
    let without_origin = reqwest::Client::new()
        .post(&url)
        .header(COOKIE, &cookie)
        .json(&feedback)
        .send()
        .await
        .unwrap();
    assert_eq!(without_origin.status(), 403);
    app.finish().await;
}
