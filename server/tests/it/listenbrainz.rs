//! The ListenBrainz API as players use it: ListenBrainz's own Python client (liblistenbrainz,
//! from PyPI) against a running server, and the errors ListenBrainz gives for bad payloads.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use server::accounts::store::{NewAccount, create};
use server::accounts::tokens::{self, Scope};
use server::accounts::{Account, Role};

use crate::api_recommendations::{next_list, with_model};
use crate::support::{ADMIN_TOKEN, TestApp, track_ids};

const LISTENER: &str = "user-00007";

/// A listener account linked to `LISTENER`, and an API token of theirs.
async fn listener_with_token(app: &TestApp, name: &str) -> (Account, String) {
    let account = create(
        &app.pool,
        &NewAccount {
            name,
            role: Role::Listener,
            listener_id: Some(LISTENER),
            password: "a long enough password",
        },
    )
    .await
    .expect("an account");
    let (_, token) = tokens::create(&app.pool, &account, "my player", Scope::Account)
        .await
        .expect("a token");
    (account, token)
}

/// The Python with the packages the interoperability tests drive soundlake with.
pub(crate) fn python() -> String {
    let python = std::env::var("SOUNDLAKE_PYTHON").unwrap_or_else(|_| {
        format!(
            "{}/.cache/soundlake/venv/bin/python",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    assert!(
        std::path::Path::new(&python).exists(),
        "{python} is missing: ./dev.sh test installs the test's Python packages there (or set SOUNDLAKE_PYTHON)"
    );
    python
}

async fn submit(app: &TestApp, token: &str, body: &Value) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/1/submit-listens", app.base))
        .header("Authorization", format!("Token {token}"))
        .body(body.to_string())
        .send()
        .await
        .expect("answered");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

async fn bronze_rows(app: &TestApp) -> (i64, i64) {
    use lakehouse::bronze::listens::{LISTENS, REJECTED};
    use lakehouse::lake::count_rows;
    (
        count_rows(&app.lake, LISTENS).await.unwrap(),
        count_rows(&app.lake, REJECTED).await.unwrap(),
    )
}

/// (artist, title, track id) of catalogue tracks the listener is unlikely to have played.
async fn catalogue_tracks(app: &TestApp, count: i64) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT artists[1], name, track_id FROM tracks ORDER BY popularity, track_id LIMIT $1",
    )
    .bind(count)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn listenbrainz_s_python_client_submits_reads_back_and_reaches_silver_and_the_list() {
    let python = python();
    let app = TestApp::start().await;
    with_model(&app).await;
    let (account, token) = listener_with_token(&app, "player-owner").await;
    let tracks = catalogue_tracks(&app, 5).await;

    let output = tokio::process::Command::new(&python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/it/listenbrainz_player.py"
        ))
        .env("SOUNDLAKE_URL", &app.base)
        .env("LB_TOKEN", &token)
        .env("LB_USER", &account.name)
        .env("LB_TRACKS", json!(tracks).to_string())
        .output()
        .await
        .expect("running the client");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read: Value = serde_json::from_slice(&output.stdout).expect("the client's JSON");
    assert_eq!(read["invalid_token_refused"], true);
    // The listener's simulated history is read back too (named from the catalogue); among
    // them, the player's own listens come back newest first, as sent.
    let mut expected: Vec<&str> = vec![tracks[0].1.as_str()];
    expected.extend(tracks[2..5].iter().map(|t| t.1.as_str()));
    expected.push("A Song Nobody Catalogued");
    let listens = read["listens"].as_array().unwrap();
    let sent: Vec<&Value> = listens
        .iter()
        .filter(|l| expected.contains(&l["title"].as_str().unwrap()))
        .collect();
    let titles: Vec<&str> = sent.iter().map(|l| l["title"].as_str().unwrap()).collect();
    assert_eq!(titles, expected, "newest first: {read}");
    assert_eq!(sent[1]["release"], "An Album");
    assert!(
        listens
            .iter()
            .all(|l| l["artist"].as_str().is_some_and(|a| !a.is_empty())),
        "every listen is named: {read}"
    );
    assert_eq!(read["playing_now"]["title"], tracks[1].1.as_str());
    // The listener's own page shows what is playing, linked to the catalogue's track.
    let cookie = crate::support::log_in(&app, &account.name, "a long enough password")
        .await
        .unwrap();
    let overview: Value = crate::support::browser(&app, &cookie)
        .get(format!("{}/api/listener_overview?user=", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(overview["now_playing"]["track_name"], tracks[1].1.as_str());
    assert_eq!(overview["now_playing"]["track_id"], tracks[1].2.as_str());

    // The listens go through the pipeline like any other: the four matched ones reach silver,
    // the uncatalogued one waits in the quarantine, and the listener's list is rebuilt.
    let before: i64 = sqlx::query_scalar("SELECT max(model_version) FROM model_versions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    crate::support::run_pipeline(&app).await;
    let silver = lake_count(
        &app,
        lakehouse::silver::listens::TABLE,
        &format!("SELECT count(*) FROM silver_listens WHERE user_id = '{LISTENER}' AND context_source = 'listenbrainz'"),
    )
    .await;
    assert_eq!(silver, 4);
    let quarantined = lake_count(
        &app,
        lakehouse::silver::listens::QUARANTINE,
        "SELECT count(*) FROM silver_listens_quarantine WHERE track_id LIKE 'unmatched:Unknown Band%'",
    )
    .await;
    assert_eq!(quarantined, 1);
    let after: i64 = sqlx::query_scalar("SELECT max(model_version) FROM model_versions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(after > before, "a new model version");
    let listed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM recommendations WHERE user_id = $1 AND model_version = $2",
    )
    .bind(LISTENER)
    .bind(after)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(listed > 0);
    app.finish().await;
}

#[tokio::test]
async fn a_single_listen_moves_the_listener_s_live_list_within_a_second() {
    let app = TestApp::start().await;
    with_model(&app).await;
    let (_, token) = listener_with_token(&app, "live-player").await;
    let mut events = app
        .get(&format!("/api/v1/users/{LISTENER}/recommendations/events"))
        .await;
    let mut buffer = String::new();
    let first = next_list(&mut events, &mut buffer, |_| true).await;
    let top = track_ids(&first)[0].clone();
    let (artist, title): (String, String) =
        sqlx::query_as("SELECT artists[1], name FROM tracks WHERE track_id = $1")
            .bind(&top)
            .fetch_one(&app.pool)
            .await
            .unwrap();

    let sent = Instant::now();
    let (status, body) = submit(
        &app,
        &token,
        &json!({"listen_type": "single", "payload": [{
            "listened_at": chrono::Utc::now().timestamp(),
            "track_metadata": {"artist_name": artist, "track_name": title,
                "additional_info": {"spotify_id": format!("https://open.spotify.com/track/{top}")}},
        }]}),
    )
    .await;
    assert_eq!((status, &body), (200, &json!({"status": "ok"})));
    let moved = tokio::time::timeout(
        Duration::from_secs(1),
        next_list(&mut events, &mut buffer, |list| {
            !track_ids(list).contains(&top)
        }),
    )
    .await
    .expect("the list moved within a second");
    assert_ne!(track_ids(&moved), track_ids(&first));
    println!(
        "the live list moved {:?} after the submission",
        sent.elapsed()
    );
    app.finish().await;
}

#[tokio::test]
async fn bad_submissions_get_listenbrainz_s_errors_and_store_nothing() {
    let app = TestApp::start().await;
    let (account, token) = listener_with_token(&app, "careless-player").await;
    let now = chrono::Utc::now().timestamp();
    let good =
        json!({"listened_at": now, "track_metadata": {"artist_name": "A", "track_name": "T"}});
    let (status, _) = submit(
        &app,
        &token,
        &json!({"listen_type": "single", "payload": [good]}),
    )
    .await;
    assert_eq!(status, 200);
    let stored = bronze_rows(&app).await;

    let many: Vec<Value> = (0..1001).map(|_| good.clone()).collect();
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"payload": [good]}),
            "Invalid JSON document submitted.",
        ),
        (
            json!({"listen_type": "loud", "payload": [good]}),
            "JSON document requires a valid listen_type key.",
        ),
        (
            json!({"listen_type": "single", "payload": [{"track_metadata": {"artist_name": "A", "track_name": "T"}}]}),
            "JSON document must contain the key listened_at at the top level.",
        ),
        (
            json!({"listen_type": "single", "payload": [{"listened_at": "later", "track_metadata": {"artist_name": "A", "track_name": "T"}}]}),
            "JSON document must contain an int value for listened_at.",
        ),
        (
            json!({"listen_type": "import", "payload": [good, {"listened_at": now, "track_metadata": {"track_name": "T"}}]}),
            "JSON document does not contain required field track_metadata.artist_name.",
        ),
        (
            json!({"listen_type": "playing_now", "payload": [good]}),
            "JSON document must not contain listened_at while submitting playing_now.",
        ),
        (
            json!({"listen_type": "import", "payload": many}),
            "Too many listens. You may not submit more than 1000 listens at once.",
        ),
    ];
    for (body, message) in cases {
        let (status, answer) = submit(&app, &token, &body).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer, json!({"code": 400, "error": message}));
    }
    let (status, answer) = submit(
        &app,
        "sl_unknown",
        &json!({"listen_type": "single", "payload": [good]}),
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (401, Some("Invalid authorization token."))
    );
    // The admin token is no listener's: a player's listens need a listener.
    let (status, _) = submit(
        &app,
        ADMIN_TOKEN,
        &json!({"listen_type": "single", "payload": [good]}),
    )
    .await;
    assert_eq!(status, 401);
    let huge = "x".repeat(11 * 1024);
    let (status, answer) = submit(
        &app,
        &token,
        &json!({"listen_type": "single", "payload": [{"listened_at": now, "track_metadata": {"artist_name": huge, "track_name": "T"}}]}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .starts_with("JSON document is too large")
    );
    assert_eq!(bronze_rows(&app).await, stored, "nothing was stored");

    // Reading: only one's own listens, and ListenBrainz's parameter errors.
    let read = |path: String| {
        let client = app.client.clone();
        let token = token.clone();
        async move {
            let r = client
                .get(path)
                .header("Authorization", format!("Token {token}"))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, mine) = read(format!("{}/1/user/{}/listens", app.base, account.name)).await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["payload"]["count"], 1);

    // Pages: the newest by default; forward from `min_ts` when it is the only bound; a bound
    // at the end of time is no error.
    let older: Vec<Value> = [300, 200, 100]
        .iter()
        .map(|ago| json!({"listened_at": now - ago, "track_metadata": {"artist_name": "A", "track_name": format!("T{ago}")}}))
        .collect();
    let (status, _) = submit(
        &app,
        &token,
        &json!({"listen_type": "import", "payload": older}),
    )
    .await;
    assert_eq!(status, 200);
    let at = |page: &Value| -> Vec<i64> {
        page["payload"]["listens"]
            .as_array()
            .unwrap_or_else(|| panic!("a page of listens: {page}"))
            .iter()
            .map(|l| l["listened_at"].as_i64().unwrap())
            .collect()
    };
    let (_, newest) = read(format!(
        "{}/1/user/{}/listens?count=2",
        app.base, account.name
    ))
    .await;
    assert_eq!(at(&newest), [now, now - 100]);
    let (_, forward) = read(format!(
        "{}/1/user/{}/listens?count=2&min_ts={}",
        app.base,
        account.name,
        now - 1000
    ))
    .await;
    assert_eq!(at(&forward), [now - 200, now - 300]);
    let (status, none) = read(format!(
        "{}/1/user/{}/listens?min_ts={}",
        app.base,
        account.name,
        chrono::DateTime::<chrono::Utc>::MAX_UTC.timestamp()
    ))
    .await;
    assert_eq!((status, at(&none).len()), (200, 0), "{none}");
    let (status, other) = read(format!("{}/1/user/someone-else/listens", app.base)).await;
    assert_eq!(
        (status, &other["error"]),
        (404, &json!("Cannot find user: someone-else"))
    );
    let (status, bad) = read(format!(
        "{}/1/user/{}/listens?count=-1",
        app.base, account.name
    ))
    .await;
    assert_eq!(
        (status, &bad["error"]),
        (400, &json!("Number of items requested should be positive"))
    );
    let (status, bad) = read(format!(
        "{}/1/user/{}/listens?max_ts=5&min_ts=9",
        app.base, account.name
    ))
    .await;
    assert_eq!(
        (status, &bad["error"]),
        (400, &json!("max_ts should be greater than min_ts"))
    );
    let (status, valid) = read(format!("{}/1/validate-token", app.base)).await;
    assert_eq!((status, &valid["user_name"]), (200, &json!(account.name)));
    let invalid = app
        .client
        .get(format!("{}/1/validate-token?token=sl_nothing", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), 200);
    assert_eq!(invalid.json::<Value>().await.unwrap()["valid"], false);
    app.finish().await;
}

async fn lake_count(app: &TestApp, table: lakehouse::lake::TableRef, sql: &str) -> i64 {
    let delta = app
        .lake
        .existing_table(table)
        .await
        .unwrap()
        .expect("the table");
    let batches = app.lake.query_table(table, &delta, sql).await.unwrap();
    batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<datafusion::arrow::array::Int64Array>()
        .unwrap()
        .value(0)
}

#[tokio::test]
async fn a_listener_makes_a_player_token_on_their_page_and_revokes_it() {
    let app = TestApp::start().await;
    listener_with_token(&app, "page-owner").await;
    let cookie = crate::support::log_in(&app, "page-owner", "a long enough password")
        .await
        .unwrap();
    let page = crate::support::browser(&app, &cookie);
    let secret: String = page
        .post(format!("{}/api/create_my_token", app.base))
        .form(&[("name", "Navidrome")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let validate = |token: String| {
        let client = app.client.clone();
        let base = app.base.clone();
        async move {
            client
                .get(format!("{base}/1/validate-token"))
                .header("Authorization", format!("Token {token}"))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let answer = validate(secret.clone()).await;
    assert_eq!(
        (&answer["valid"], &answer["user_name"]),
        (&json!(true), &json!("page-owner"))
    );

    let listed: Vec<Value> = page
        .get(format!("{}/api/my_tokens", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0]["name"], "Navidrome");
    assert!(listed.iter().all(|t| t.get("secret").is_none()));
    let revoked: bool = page
        .post(format!("{}/api/revoke_my_token", app.base))
        .form(&[("token_id", listed[0]["token_id"].to_string())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(revoked);
    assert_eq!(validate(secret).await["valid"], false);

    // The same through the REST API, with the session.
    let created = page
        .post(format!("{}/api/v1/tokens", app.base))
        .json(&json!({"name": "a script"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert!(created["secret"].as_str().unwrap().starts_with("sl_"));
    let gone = page
        .delete(format!(
            "{}/api/v1/tokens/{}",
            app.base, created["token_id"]
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 204);
    app.finish().await;
}
