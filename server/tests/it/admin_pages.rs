//! The admin page's tools: the lake's tables with their history and earlier versions, and the
//! accounts.

use serde_json::Value;
use server::accounts::Role;
use server::accounts::store::{NewAccount, create};
use server::accounts::tokens::{self, Scope};

use crate::support::{TestApp, browser, log_in};

const PASSWORD: &str = "a long enough password";

#[tokio::test]
async fn an_admin_reads_the_lake_back_in_time_and_manages_accounts() {
    let app = TestApp::start().await;
    create(
        &app.pool,
        &NewAccount {
            name: "root",
            role: Role::Admin,
            listener_id: None,
            password: PASSWORD,
        },
    )
    .await
    .unwrap();
    let admin = browser(&app, &log_in(&app, "root", PASSWORD).await.unwrap());
    let get = |path: String| {
        let admin = admin.clone();
        let base = app.base.clone();
        async move {
            let r = admin.get(format!("{base}{path}")).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };

    let (status, tables) = get("/api/lake_tables".into()).await;
    assert_eq!(status, 200, "{tables}");
    let tables: Vec<Value> = serde_json::from_str(&tables).unwrap();
    let tracks = tables
        .iter()
        .find(|t| t["table"] == "silver/tracks")
        .expect("silver/tracks is listed");
    assert!(tracks["rows"].as_i64().unwrap() > 0);
    let (status, first) = get("/api/lake_table?table=silver/tracks&version=0".into()).await;
    assert_eq!(status, 200, "{first}");
    let first: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(first["version"], 0);
    assert_eq!(first["history"][0]["version"], 0);
    let (status, _) = get("/api/lake_table?table=silver/nothing&version=-1".into()).await;
    assert_ne!(status, 200);

    let password: String = admin
        .post(format!("{}/api/add_account", app.base))
        .form(&[
            ("name", "newbie"),
            ("role", "business"),
            ("listener_id", ""),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(log_in(&app, "newbie", &password).await.is_ok());
    let toggled = admin
        .post(format!("{}/api/set_account_disabled", app.base))
        .form(&[("name", "newbie"), ("disabled", "true")])
        .send()
        .await
        .unwrap();
    assert!(toggled.status().is_success());
    assert!(log_in(&app, "newbie", &password).await.is_err(), "disabled");
    let (_, listed) = get("/api/accounts".into()).await;
    let listed: Vec<Value> = serde_json::from_str(&listed).unwrap();
    let newbie = listed.iter().find(|a| a["name"] == "newbie").unwrap();
    assert_eq!(
        (&newbie["role"], &newbie["disabled"]),
        (&Value::from("business"), &Value::from(true))
    );

    // A server function reads at most 64 KiB of body, whoever sends it.
    let oversized = admin
        .post(format!("{}/api/add_account", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "name={}&role=business&listener_id=",
            "a".repeat(100_000)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status().as_u16(), 413);

    // A role changes from the next request on; the last enabled admin keeps theirs.
    let change_role = |name: &'static str, role: &'static str, listener: &'static str| {
        let admin = admin.clone();
        let url = format!("{}/api/set_account_role", app.base);
        async move {
            let r = admin
                .post(url)
                .form(&[("name", name), ("role", role), ("listener_id", listener)])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    // A changed role ends the account's sessions and revokes its account tokens.
    let promoted = create(
        &app.pool,
        &NewAccount {
            name: "promoted",
            role: Role::Listener,
            listener_id: Some("user-00007"),
            password: PASSWORD,
        },
    )
    .await
    .unwrap();
    let (_, player_token) = tokens::create(&app.pool, &promoted, "player", Scope::Account)
        .await
        .unwrap();
    let promoted_session = browser(&app, &log_in(&app, "promoted", PASSWORD).await.unwrap());
    let whoami = |client: reqwest::Client| {
        let url = format!("{}/api/v1/session", app.base);
        async move { client.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(whoami(promoted_session.clone()).await, 200);
    let (status, body) = change_role("promoted", "business", "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(whoami(promoted_session).await, 401, "the session ended");
    let by_token = reqwest::Client::new()
        .get(format!("{}/api/v1/stats/daily", app.base))
        .bearer_auth(&player_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        by_token.status().as_u16(),
        401,
        "the player's token was revoked"
    );

    let (status, body) = change_role("newbie", "listener", "user-00042").await;
    assert_eq!(status, 200, "{body}");
    // Refusals answer with their kind's status and say why.
    let (status, body) = change_role("newbie", "listener", "").await;
    assert_eq!(status, 400, "a listener needs a user id: {body}");
    assert!(body.contains("user id"), "{body}");
    let (status, body) = change_role("root", "business", "").await;
    assert_eq!(status, 409, "the last admin was demoted: {body}");
    assert!(body.contains("no enabled admin"), "{body}");
    let (status, body) = change_role("nobody", "business", "").await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = change_role("newbie", "superuser", "").await;
    assert_eq!(status, 400, "{body}");
    let again = admin
        .post(format!("{}/api/add_account", app.base))
        .form(&[
            ("name", "newbie"),
            ("role", "business"),
            ("listener_id", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 409, "a name is taken once");
    assert!(again.text().await.unwrap().contains("exists already"));
    let (_, listed) = get("/api/accounts".into()).await;
    let listed: Vec<Value> = serde_json::from_str(&listed).unwrap();
    let role_of = |name: &str| {
        let account = listed.iter().find(|a| a["name"] == name).unwrap();
        (account["role"].clone(), account["listener_id"].clone())
    };
    assert_eq!(role_of("newbie"), ("listener".into(), "user-00042".into()));
    assert_eq!(role_of("root"), ("admin".into(), Value::Null));
    let refused = admin
        .post(format!("{}/api/set_account_disabled", app.base))
        .form(&[("name", "root"), ("disabled", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status().as_u16(),
        409,
        "the last admin was disabled"
    );

    let (status, page) = get("/admin?table=silver/tracks&version=0".into()).await;
    assert_eq!(status, 200);
    for part in [
        "id=\"lake\"",
        "id=\"lake-table\"",
        "id=\"accounts\"",
        "newbie",
    ] {
        assert!(page.contains(part), "the page shows {part}");
    }
    app.finish().await;
}

#[tokio::test]
async fn an_admin_starts_and_stops_the_simulators_stream_and_listens_arrive() {
    let app = TestApp::start().await;
    for (name, role, listener) in [
        ("root", Role::Admin, None),
        ("ana", Role::Listener, Some("user-00001")),
    ] {
        create(
            &app.pool,
            &NewAccount {
                name,
                role,
                listener_id: listener,
                password: PASSWORD,
            },
        )
        .await
        .unwrap();
    }
    let admin = browser(&app, &log_in(&app, "root", PASSWORD).await.unwrap());
    let listener = browser(&app, &log_in(&app, "ana", PASSWORD).await.unwrap());
    let post = |client: &reqwest::Client, name: &str, form: &[(&str, &str)]| {
        client
            .post(format!("{}/api/{name}", app.base))
            .form(form)
            .send()
    };

    let refused = post(&listener, "start_simulator", &[("rate", "100")])
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let too_fast = post(&admin, "start_simulator", &[("rate", "1000000")])
        .await
        .unwrap();
    assert_eq!(too_fast.status(), 400);

    let started = post(&admin, "start_simulator", &[("rate", "200")])
        .await
        .unwrap();
    assert_eq!(started.status(), 200);
    let state: Value = started.json().await.unwrap();
    assert_eq!(
        (&state["running"], &state["rate"]),
        (&Value::from(true), &Value::from(200))
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let stopped: Value = post(&admin, "stop_simulator", &[])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stopped["running"], false);
    let accepted = stopped["accepted"].as_u64().unwrap();
    assert!(accepted >= 100, "{stopped}");
    // Everything it reported committed is in bronze, as played now.
    let after = crate::deployment::stored_events(&app.lake).await;
    assert_eq!(after.len() as u64, accepted);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        crate::deployment::stored_events(&app.lake).await.len(),
        after.len(),
        "nothing arrives once stopped"
    );
    let (status, page) = {
        let r = admin
            .get(format!("{}/admin", app.base))
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    };
    assert_eq!(status, 200);
    assert!(
        page.contains("id=\"simulator-state\""),
        "the page shows the simulator"
    );
    app.finish().await;
}
