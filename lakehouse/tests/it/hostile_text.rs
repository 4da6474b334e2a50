//! Text no layer may choke on: events and catalogue rows with arbitrary strings (control
//! characters, NUL, very long values) go through ingest, silver and gold; every run succeeds
//! and every event ends in silver, in the quarantine with a reason, or refused at the edge
//! with one. A lake whose silver already holds listens gold cannot store recovers on its next
//! run.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{Duration, Utc};
use datafusion::arrow::array::{Array, AsArray, RecordBatch, StringArray};
use datafusion::arrow::compute::{cast, concat_batches};
use lakehouse::bronze::listens::RejectedListen;
use lakehouse::ingest::{IngestWriter, Listen, ListenRules, WriterSettings, parse_listen};
use lakehouse::lake::TableRef;
use lakehouse::pipeline::RunOptions;
use lakehouse::silver;
use lakehouse::simulate::{Simulation, simulate};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

use crate::support::{TRACKS_HEADER, TestEnv, demo_catalogue, track_row, write_csv};

/// Characters that have broken text pipelines: NUL, other C0 and C1 controls, DEL, a line
/// separator, a byte-order mark, quotes and escapes of SQL, CSV and COPY, and any char.
fn hostile_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::char::range('a', 'z'),
        1 => Just('\0'),
        1 => prop::sample::select(vec!['\t', '\n', '\r', '\u{1b}', '\u{7f}', '\u{85}', '\u{9f}']),
        1 => prop::sample::select(vec!['\'', '"', '\\', ',', ';', '{', '}', '\u{2028}', '\u{feff}']),
        2 => any::<char>(),
    ]
}

fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::collection::vec(hostile_char(), 1..24),
        1 => prop::collection::vec(hostile_char(), 120..140),
    ]
    .prop_map(|chars| chars.into_iter().collect())
}

/// One generated event: its fields, whether it uses a catalogue track, and whether it goes
/// past the edge's checks (written straight to bronze, as an older version or a direct
/// writer could have).
#[derive(Debug, Clone)]
struct Generated {
    event_id: Option<String>,
    user_id: String,
    track: Result<usize, String>,
    source: Option<String>,
    device: Option<String>,
    end_reason: Option<String>,
    minutes_ago: i64,
    ms_played: i64,
    past_the_edge: bool,
}

fn generated() -> impl Strategy<Value = Generated> {
    (
        prop::option::of(hostile_text()),
        hostile_text(),
        prop_oneof![3 => (0usize..400).prop_map(Ok), 1 => hostile_text().prop_map(Err)],
        prop::option::of(hostile_text()),
        prop::option::of(hostile_text()),
        prop::option::of(hostile_text()),
        0i64..20_000,
        0i64..400_000,
        prop::bool::weighted(0.3),
    )
        .prop_map(
            |(
                event_id,
                user_id,
                track,
                source,
                device,
                end_reason,
                minutes_ago,
                ms_played,
                past,
            )| {
                Generated {
                    event_id,
                    user_id,
                    track,
                    source,
                    device,
                    end_reason,
                    minutes_ago,
                    ms_played,
                    past_the_edge: past,
                }
            },
        )
}

fn event_json(g: &Generated, track_ids: &[String], now: chrono::DateTime<Utc>) -> Value {
    let track_id = match &g.track {
        Ok(i) => track_ids[i % track_ids.len()].clone(),
        Err(text) => text.clone(),
    };
    let mut event = json!({
        "user_id": g.user_id,
        "track_id": track_id,
        "played_at": (now - Duration::minutes(g.minutes_ago)).to_rfc3339(),
        "ms_played": g.ms_played,
        "context": {"source": g.source, "device": g.device},
    });
    if let Some(id) = &g.event_id {
        event["event_id"] = json!(id);
    }
    if let Some(reason) = &g.end_reason {
        event["end_reason"] = json!(reason);
    }
    event
}

/// A listen written as is, past the edge's checks.
fn unchecked_listen(event: &Value, n: usize) -> Listen {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    Listen {
        event_id: text(&event["event_id"]).unwrap_or_else(|| format!("unchecked-{n}")),
        event_id_assigned: false,
        user_id: text(&event["user_id"]).unwrap(),
        track_id: text(&event["track_id"]).unwrap(),
        played_at: chrono::DateTime::parse_from_rfc3339(event["played_at"].as_str().unwrap())
            .unwrap()
            .with_timezone(&Utc),
        ms_played: event["ms_played"].as_i64().unwrap(),
        end_reason: text(&event["end_reason"]),
        skipped: None,
        context_source: text(&event["context"]["source"]),
        context_device: text(&event["context"]["device"]),
        raw: event.to_string(),
    }
}

/// Every value of the first column of `sql`'s result over `table`.
async fn column_values(env: &TestEnv, table: TableRef, sql: &str) -> Vec<Option<String>> {
    let Some(delta) = env.lake.existing_table(table).await.unwrap() else {
        return Vec::new();
    };
    let batches = env.lake.query_table(table, &delta, sql).await.unwrap();
    let mut values = Vec::new();
    for batch in &batches {
        let column = cast(
            batch.column(0),
            &datafusion::arrow::datatypes::DataType::Utf8,
        )
        .unwrap();
        let column = column.as_string::<i32>();
        values.extend(
            (0..column.len()).map(|i| column.is_valid(i).then(|| column.value(i).to_owned())),
        );
    }
    values
}

#[test]
fn arbitrary_text_never_breaks_a_run_and_every_event_is_accounted_for() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let env = runtime.block_on(TestEnv::new());
    let tracks = runtime.block_on(demo_catalogue(&env, 400));
    let track_ids: Vec<String> = tracks.iter().map(|t| t.track_id.clone()).collect();
    let writer = runtime
        .block_on(async { IngestWriter::start(env.lake.clone(), WriterSettings::default()) });
    let mut runner = TestRunner::new(Config {
        cases: 6,
        failure_persistence: None,
        ..Config::default()
    });
    let cases = std::cell::Cell::new(0);
    let result = runner.run(&prop::collection::vec(generated(), 1..60), |events| {
        cases.set(cases.get() + 1);
        let case = cases.get();
        runtime.block_on(async {
            let now = Utc::now();
            let rules = ListenRules::at(now);
            let (mut listens, mut refused) = (Vec::new(), Vec::new());
            for (n, g) in events.iter().enumerate() {
                let event = event_json(g, &track_ids, now);
                if g.past_the_edge {
                    listens.push(unchecked_listen(&event, case * 1000 + n));
                    continue;
                }
                match parse_listen(&event, &rules) {
                    Ok(listen) => listens.push(listen),
                    Err(rejection) => {
                        assert!(!rejection.reason.is_empty());
                        refused.push(RejectedListen::new(
                            "test",
                            n as i64,
                            rejection.reason,
                            &event.to_string(),
                        ));
                    }
                }
            }
            let accepted: Vec<String> = listens.iter().map(|l| l.event_id.clone()).collect();
            writer.submit(listens, refused).await.unwrap();

            // The whole run, the model's stage included.
            let summary = crate::support::run_pipeline(&env, RunOptions::default()).await;
            prop_assert!(summary.succeeded, "case {case}: {:?}", summary.error);

            let in_silver: HashSet<Option<String>> = column_values(
                &env,
                silver::listens::TABLE,
                "SELECT event_id FROM silver_listens",
            )
            .await
            .into_iter()
            .collect();
            let quarantined: HashSet<Option<String>> = column_values(
                &env,
                silver::listens::QUARANTINE,
                "SELECT event_id FROM silver_listens_quarantine WHERE reason IS NOT NULL AND reason <> ''",
            )
            .await
            .into_iter()
            .collect();
            for id in accepted {
                let id = Some(id);
                prop_assert!(
                    in_silver.contains(&id) || quarantined.contains(&id),
                    "case {case}: event {id:?} is neither in silver nor in the quarantine"
                );
            }
            Ok(())
        })
    });
    runtime.block_on(env.finish());
    result.unwrap();
}

/// Deletes the records of the current checks from a table's log, as a lake written before
/// they existed would be.
fn forget_checks(env: &TestEnv, table: TableRef, app_id: &str) {
    let log = env.lake.local_table_dir(table).unwrap().join("_delta_log");
    for entry in std::fs::read_dir(&log).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            let kept: Vec<&str> = text.lines().filter(|l| !l.contains(app_id)).collect();
            std::fs::write(&path, kept.join("\n") + "\n").unwrap();
        }
    }
}

#[tokio::test]
async fn a_lake_whose_silver_holds_unstorable_listens_recovers_on_its_next_run() {
    let env = TestEnv::new().await;
    let tracks = demo_catalogue(&env, 300).await;
    let listens = simulate(&Simulation::ending_today(20, 5, 6.0, 3), &tracks);
    let writer = IngestWriter::start(env.lake.clone(), WriterSettings::default());
    writer.submit(listens, Vec::new()).await.unwrap();
    let first = crate::support::run_pipeline(&env, RunOptions::default()).await;
    assert!(first.succeeded, "{:?}", first.error);
    let users_before = env.scalar("SELECT count(*) FROM users").await;

    // Two listens such as an older soundlake let through, appended to silver itself.
    let delta = env
        .lake
        .existing_table(silver::listens::TABLE)
        .await
        .unwrap()
        .unwrap();
    let sample = env
        .lake
        .query_table(
            silver::listens::TABLE,
            &delta,
            "SELECT * FROM silver_listens LIMIT 2",
        )
        .await
        .unwrap();
    let schema = delta.snapshot().unwrap().snapshot().arrow_schema();
    let sample = concat_batches(&sample[0].schema(), &sample).unwrap();
    let columns: Vec<Arc<dyn Array>> = schema
        .fields()
        .iter()
        .map(|field| {
            let column = match field.name().as_str() {
                "event_id" => Arc::new(StringArray::from(vec!["stored-nul", "stored-esc"])) as _,
                "user_id" => Arc::new(StringArray::from(vec!["bad\0user", "bad\u{1b}user"])) as _,
                name => sample.column_by_name(name).unwrap().clone(),
            };
            cast(&column, field.data_type()).unwrap()
        })
        .collect();
    let bad = RecordBatch::try_new(schema.clone(), columns).unwrap();
    delta.write(vec![bad]).await.unwrap();
    forget_checks(
        &env,
        silver::listens::TABLE,
        "soundlake.silver.listens.checks",
    );
    forget_checks(
        &env,
        silver::listens::QUARANTINE,
        "soundlake.silver.listens.checks",
    );
    let stored = column_values(
        &env,
        silver::listens::TABLE,
        "SELECT count(*) FROM silver_listens",
    )
    .await;

    let next = crate::support::run_pipeline(&env, RunOptions::default()).await;
    assert!(next.succeeded, "{:?}", next.error);
    let reasons = column_values(
        &env,
        silver::listens::QUARANTINE,
        "SELECT event_id || ': ' || reason FROM silver_listens_quarantine ORDER BY event_id",
    )
    .await;
    assert_eq!(
        reasons,
        vec![
            Some("stored-esc: user_id holds a control character (U+001B)".to_owned()),
            Some("stored-nul: user_id holds a NUL character (U+0000)".to_owned()),
        ]
    );
    let after = column_values(
        &env,
        silver::listens::TABLE,
        "SELECT count(*) FROM silver_listens",
    )
    .await;
    let (stored, after): (i64, i64) = (
        stored[0].as_deref().unwrap().parse().unwrap(),
        after[0].as_deref().unwrap().parse().unwrap(),
    );
    assert_eq!(after, stored - 2, "the other listens stay in silver");
    assert_eq!(env.scalar("SELECT count(*) FROM users").await, users_before);

    // Checked once: a further run reads nothing again and changes nothing.
    let version = env
        .lake
        .existing_table(silver::listens::TABLE)
        .await
        .unwrap()
        .unwrap()
        .version();
    let third = crate::support::run_pipeline(&env, RunOptions::default()).await;
    assert!(third.succeeded, "{:?}", third.error);
    let again = env
        .lake
        .existing_table(silver::listens::TABLE)
        .await
        .unwrap()
        .unwrap()
        .version();
    assert_eq!(again, version);
    env.finish().await;
}

/// `text` as one CSV field, quoted with its quotes doubled, as a careful writer writes it.
fn csv_field(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

#[test]
fn arbitrary_catalogue_text_never_breaks_an_import_and_every_row_is_accounted_for() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let env = runtime.block_on(TestEnv::new());
    let dir = tempfile::tempdir().unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 4,
        failure_persistence: None,
        ..Config::default()
    });
    let cases = std::cell::Cell::new(0);
    let row = (
        hostile_text(),
        hostile_text(),
        hostile_text(),
        hostile_text(),
        hostile_text(),
    );
    let result = runner.run(&prop::collection::vec(row, 1..30), |rows| {
        cases.set(cases.get() + 1);
        let case = cases.get();
        runtime.block_on(async {
            // Arbitrary text inside each id, which is kept unique so that each row is found.
            let ids: Vec<String> = (0..rows.len())
                .map(|n| format!("c{case}-{n}-{}-end", rows[n].0))
                .collect();
            let lines: Vec<String> = rows
                .iter()
                .zip(&ids)
                .map(|((_, artists, album, name, genre), id)| {
                    format!(
                        "{},{},{},{},50,200000,False,0.5,0.6,5,-7.5,1,0.05,0.2,1.5e-05,0.1,0.4,120.0,4,{}",
                        csv_field(id),
                        csv_field(artists),
                        csv_field(album),
                        csv_field(name),
                        csv_field(genre)
                    )
                })
                .collect();
            let path = write_csv(dir.path(), &format!("case-{case}.csv"), TRACKS_HEADER, &lines);
            let imported = lakehouse::catalog::import_catalog(&env.lake, &env.pool, &[path]).await;
            prop_assert!(imported.is_ok(), "case {case}: {imported:?}");

            let in_gold: HashSet<String> = sqlx::query_scalar("SELECT track_id FROM tracks")
                .fetch_all(&env.pool)
                .await
                .unwrap()
                .into_iter()
                .collect();
            let quarantined: HashSet<String> = column_values(
                &env,
                silver::tracks::QUARANTINE,
                "SELECT track_id FROM silver_tracks_quarantine WHERE reason <> ''",
            )
            .await
            .into_iter()
            .flatten()
            .collect();
            for id in &ids {
                prop_assert!(
                    in_gold.contains(id) || quarantined.contains(id),
                    "case {case}: row {id:?} is neither in gold nor in the quarantine"
                );
            }
            Ok(())
        })
    });
    runtime.block_on(env.finish());
    result.unwrap();
}

#[tokio::test]
async fn catalogue_rows_with_unstorable_text_are_quarantined_and_the_rest_reach_gold() {
    let env = TestEnv::new().await;
    let dir = tempfile::tempdir().unwrap();
    let long_genre = "g".repeat(200);
    let rows = vec![
        track_row("good1", "Artist", "Fine Song", "50", "pop"),
        track_row("nul-name", "Artist", "Bad\0Song", "50", "pop"),
        track_row("esc\u{1b}id", "Artist", "Escaped", "50", "pop"),
        track_row("long-genre", "Artist", "Long Genre", "50", &long_genre),
        track_row("nul-artist", "Art\0ist", "Song", "50", "pop"),
        track_row("good2", "Artist; Other", "Tab\tin name", "60", "rock"),
    ];
    let path = write_csv(dir.path(), "hostile.csv", TRACKS_HEADER, &rows);
    lakehouse::catalog::import_catalog(&env.lake, &env.pool, &[path])
        .await
        .expect("the import succeeds");
    let ids: Vec<String> = sqlx::query_scalar("SELECT track_id FROM tracks ORDER BY track_id")
        .fetch_all(&env.pool)
        .await
        .unwrap();
    assert_eq!(ids, ["good1", "good2"]);
    let reasons = column_values(
        &env,
        silver::tracks::QUARANTINE,
        "SELECT reason FROM silver_tracks_quarantine ORDER BY line_number",
    )
    .await;
    assert_eq!(
        reasons,
        vec![
            Some("track name holds a NUL character (U+0000)".to_owned()),
            Some("track_id holds a control character (U+001B)".to_owned()),
            Some("genre is longer than 128 bytes".to_owned()),
            Some("artists holds a NUL character (U+0000)".to_owned()),
        ]
    );
    env.finish().await;
}
