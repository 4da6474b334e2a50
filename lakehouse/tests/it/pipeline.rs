//! Pipeline runs over a known simulated history: silver counts, skips and partitions, marts
//! against figures computed independently from the input, reruns, failures, exclusivity, and
//! the lake read by another engine.

use std::collections::{BTreeSet, HashMap};

use chrono::{Datelike, TimeZone, Utc};
use lakehouse::LakehouseError;
use lakehouse::gold::marts::{self, MartsFailure};
use lakehouse::ingest::{IngestWriter, Listen, WriterSettings};
use lakehouse::lake_info;
use lakehouse::pipeline::{self, RunOptions, RunSummary, Stage};
use lakehouse::silver;
use lakehouse::simulate::{Simulation, simulate};

use crate::support::{TRACKS_HEADER, TestEnv, demo_catalogue, track_row, write_csv};

/// A demo catalogue in gold and the simulated history over it (not yet written).
async fn history(env: &TestEnv, users: usize, days: u32) -> Vec<Listen> {
    let tracks = demo_catalogue(env, 400).await;
    simulate(&Simulation::ending_today(users, days, 8.0, 11), &tracks)
}

async fn write(env: &TestEnv, listens: Vec<Listen>) {
    let writer = IngestWriter::start(env.lake.clone(), WriterSettings::default());
    writer.submit(listens, Vec::new()).await.unwrap();
}

async fn run(env: &TestEnv, options: RunOptions) -> RunSummary {
    crate::support::run_pipeline(env, options).await
}

fn stage_outcome(summary: &RunSummary, stage: Stage) -> lakehouse::pipeline::StageOutcome {
    let (_, result, _) = summary
        .stages
        .iter()
        .find(|(s, _, _)| *s == stage)
        .unwrap_or_else(|| panic!("{stage} ran"));
    result
        .clone()
        .unwrap_or_else(|e| panic!("{stage} failed: {e}"))
}

fn is_skip(l: &Listen) -> bool {
    l.ms_played < 30_000
        || matches!(l.end_reason.as_deref(), Some("fwdbtn" | "backbtn"))
        || l.skipped == Some(true)
}

/// A text table without its padding.
fn squash(table: &str) -> String {
    table.replace(' ', "")
}

fn variant(of: &Listen, event_id: &str) -> Listen {
    Listen {
        event_id: event_id.to_owned(),
        ..of.clone()
    }
}

#[tokio::test]
async fn silver_keeps_one_row_per_event_quarantines_bad_listens_and_reruns_change_nothing() {
    let env = TestEnv::new().await;
    let listens = history(&env, 30, 10).await;
    assert!(listens.len() > 1_000, "{}", listens.len());
    let mut input = listens.clone();
    // Copies of 40 events (a client retrying), three listens of tracks the catalogue lacks,
    // one from 1995 and one far longer than its track.
    input.extend(listens[..40].iter().cloned());
    for (i, listen) in listens.iter().take(3).enumerate() {
        input.push(Listen {
            track_id: format!("no-such-track-{i}"),
            ..variant(listen, &format!("unknown-{i}"))
        });
    }
    input.push(Listen {
        played_at: Utc.with_ymd_and_hms(1995, 6, 1, 12, 0, 0).unwrap(),
        ..variant(&listens[5], "from-1995")
    });
    input.push(Listen {
        ms_played: 10 * 3_600_000,
        ..variant(&listens[6], "ten-hours")
    });
    write(&env, input).await;

    let first = run(&env, RunOptions::default()).await;
    assert!(first.succeeded, "{:?}", first.error);
    let silver_stage = stage_outcome(&first, Stage::SilverListens);
    assert_eq!(silver_stage.rows_in as usize, listens.len() + 40 + 5);
    assert_eq!(silver_stage.rows_out as usize, listens.len());
    assert_eq!(silver_stage.rows_rejected, 5);
    assert!(
        silver_stage.detail.contains("40 duplicates"),
        "{}",
        silver_stage.detail
    );

    let reasons = env
        .lake_query(
            silver::listens::QUARANTINE,
            "SELECT reason, count(*) AS n FROM silver_listens_quarantine GROUP BY reason ORDER BY reason",
        )
        .await;
    let reasons = squash(&reasons);
    assert!(
        reasons.contains("|ms_playedisfarlongerthanthetrack|1|"),
        "{reasons}"
    );
    assert!(
        reasons.contains("|played_atisbeforetheyear2000|1|"),
        "{reasons}"
    );
    assert!(reasons.contains("|unknowntrack|3|"), "{reasons}");

    let skips = listens.iter().filter(|l| is_skip(l)).count();
    let counted = env
        .lake_query(
            silver::listens::TABLE,
            "SELECT count(*) AS listens, count(DISTINCT event_id) AS events,
                    sum(CASE WHEN is_skip THEN 1 ELSE 0 END) AS skips
             FROM silver_listens",
        )
        .await;
    let expected = format!("|{}|{}|{}|", listens.len(), listens.len(), skips);
    assert!(
        squash(&counted).contains(&expected),
        "{counted} vs {expected}"
    );
    let skip_rate = skips as f64 / listens.len() as f64;
    assert!((0.05..0.6).contains(&skip_rate), "skip rate {skip_rate}");

    // Hive-style partitions, one per UTC day played.
    let days: BTreeSet<String> = listens
        .iter()
        .map(|l| {
            let d = l.played_at.date_naive();
            format!("year={}/month={}/day={}", d.year(), d.month(), d.day())
        })
        .collect();
    let info = lake_info::describe(&env.lake, silver::listens::TABLE, None, 5)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.partition_columns, ["year", "month", "day"]);
    assert_eq!(info.partitions, days.len());
    assert_eq!(info.rows as usize, listens.len());
    for day in &days {
        assert!(
            env.lake
                .local_table_dir(silver::listens::TABLE)
                .unwrap()
                .join(day)
                .is_dir(),
            "{day} is a folder"
        );
    }

    // A second run over the same bronze changes nothing.
    let version = info.version;
    let second = run(&env, RunOptions::default()).await;
    assert!(second.succeeded);
    assert!(!stage_outcome(&second, Stage::SilverListens).did_work);
    assert!(!stage_outcome(&second, Stage::GoldMarts).did_work);
    let after = lake_info::describe(&env.lake, silver::listens::TABLE, None, 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((after.version, after.rows), (version, info.rows));

    // Later copies of events silver already holds are dropped; new events are added.
    let mut later = listens[100..110].to_vec();
    later.push(variant(&listens[200], "brand-new"));
    write(&env, later).await;
    let third = run(&env, RunOptions::default()).await;
    let stage = stage_outcome(&third, Stage::SilverListens);
    assert_eq!((stage.rows_in, stage.rows_out), (11, 1));
    assert!(stage.detail.contains("10 duplicates"), "{}", stage.detail);
    env.finish().await;
}

#[tokio::test]
async fn listens_of_a_track_imported_later_leave_the_quarantine_for_silver() {
    let env = TestEnv::new().await;
    let listens = history(&env, 5, 3).await;
    let mut input = listens.clone();
    // Listens of a track the catalogue does not have yet: three fine ones, and one far longer
    // than the track turns out to be (200 s).
    for (i, listen) in listens.iter().take(3).enumerate() {
        input.push(Listen {
            track_id: "late-track".into(),
            ms_played: 100_000,
            ..variant(listen, &format!("late-{i}"))
        });
    }
    input.push(Listen {
        track_id: "late-track".into(),
        ms_played: 1_000_000,
        ..variant(&listens[3], "late-too-long")
    });
    write(&env, input).await;
    let first = run(&env, RunOptions::default()).await;
    assert!(first.succeeded, "{:?}", first.error);
    let quarantined = "SELECT event_id, reason FROM silver_listens_quarantine ORDER BY event_id";
    let before = squash(
        &env.lake_query(silver::listens::QUARANTINE, quarantined)
            .await,
    );
    for id in ["late-0", "late-1", "late-2", "late-too-long"] {
        assert!(before.contains(&format!("|{id}|unknowntrack|")), "{before}");
    }

    // The catalogue gains the track; the next run releases its listens.
    let dir = tempfile::tempdir().unwrap();
    let file = write_csv(
        dir.path(),
        "late.csv",
        TRACKS_HEADER,
        &[track_row(
            "late-track",
            "Late Artist",
            "Late Song",
            "40",
            "jazz",
        )],
    );
    lakehouse::catalog::import_catalog(&env.lake, &env.pool, &[file])
        .await
        .unwrap();
    let second = run(&env, RunOptions::default()).await;
    assert!(second.succeeded, "{:?}", second.error);
    let stage = stage_outcome(&second, Stage::SilverListens);
    assert!(stage.did_work, "{}", stage.detail);
    assert_eq!(stage.rows_out, 3, "{}", stage.detail);
    assert!(
        stage.detail.contains("4 quarantined listens"),
        "{}",
        stage.detail
    );

    let late = "SELECT event_id, track_name, primary_genre FROM silver_listens
        WHERE track_id = 'late-track' ORDER BY event_id";
    let released = squash(&env.lake_query(silver::listens::TABLE, late).await);
    for id in ["late-0", "late-1", "late-2"] {
        assert!(
            released.contains(&format!("|{id}|LateSong|jazz|")),
            "{released}"
        );
    }
    assert!(!released.contains("late-too-long"), "{released}");
    let after = squash(
        &env.lake_query(silver::listens::QUARANTINE, quarantined)
            .await,
    );
    assert!(!after.contains("unknowntrack"), "{after}");
    assert!(
        after.contains("|late-too-long|ms_playedisfarlongerthanthetrack|"),
        "{after}"
    );
    let silver_rows = "SELECT count(*) AS n FROM silver_listens";
    let counted = squash(&env.lake_query(silver::listens::TABLE, silver_rows).await);
    assert!(
        counted.contains(&format!("|{}|", listens.len() + 3)),
        "{counted}"
    );
    let popularity: i64 = env
        .scalar("SELECT listens FROM track_popularity WHERE track_id = 'late-track'")
        .await;
    assert_eq!(popularity, 3);

    // Nothing left to release: another run changes neither table.
    let third = run(&env, RunOptions::default()).await;
    assert!(third.succeeded, "{:?}", third.error);
    assert!(!stage_outcome(&third, Stage::SilverListens).did_work);
    assert_eq!(
        squash(
            &env.lake_query(silver::listens::QUARANTINE, quarantined)
                .await
        ),
        after
    );
    assert_eq!(
        squash(&env.lake_query(silver::listens::TABLE, silver_rows).await),
        counted
    );
    env.finish().await;
}

/// Figures computed from the input listens, without SQL.
struct Expected {
    per_user: HashMap<String, (usize, usize)>,
    per_day: HashMap<chrono::NaiveDate, (usize, BTreeSet<String>)>,
    /// Each listener's ten most played tracks (skips left out), all time and in the 7 days
    /// up to the newest listen: (track, plays), most played first, ties by track id.
    top_tracks: HashMap<(String, &'static str), Vec<(String, usize)>>,
}

fn expected(listens: &[Listen]) -> Expected {
    let mut per_user: HashMap<String, (usize, usize)> = HashMap::new();
    let mut per_day: HashMap<chrono::NaiveDate, (usize, BTreeSet<String>)> = HashMap::new();
    let mut plays: HashMap<(String, &'static str), HashMap<String, usize>> = HashMap::new();
    let as_of = listens.iter().map(|l| l.played_at).max().unwrap();
    for l in listens {
        let u = per_user.entry(l.user_id.clone()).or_default();
        u.0 += 1;
        u.1 += usize::from(is_skip(l));
        let d = per_day.entry(l.played_at.date_naive()).or_default();
        d.0 += 1;
        d.1.insert(l.user_id.clone());
        if is_skip(l) {
            continue;
        }
        let mut periods = vec!["all"];
        if l.played_at > as_of - chrono::Duration::days(7) {
            periods.push("7d");
        }
        for period in periods {
            *plays
                .entry((l.user_id.clone(), period))
                .or_default()
                .entry(l.track_id.clone())
                .or_default() += 1;
        }
    }
    let top_tracks = plays
        .into_iter()
        .map(|(key, counts)| {
            let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
            counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            counts.truncate(10);
            (key, counts)
        })
        .collect();
    Expected {
        per_user,
        per_day,
        top_tracks,
    }
}

#[tokio::test]
async fn marts_agree_with_figures_computed_from_the_input() {
    let env = TestEnv::new().await;
    let listens = history(&env, 25, 14).await;
    write(&env, listens.clone()).await;
    let summary = run(&env, RunOptions::default()).await;
    assert!(summary.succeeded, "{:?}", summary.error);
    let expected = expected(&listens);

    let users: i64 = env.scalar("SELECT count(*) FROM users").await;
    assert_eq!(users as usize, expected.per_user.len());
    let mut sample: Vec<&String> = expected.per_user.keys().collect();
    sample.sort();
    for user in sample.iter().step_by(4) {
        let (listens_n, skips): (i64, i64) =
            sqlx::query_as("SELECT listens, skips FROM users WHERE user_id = $1")
                .bind(user)
                .fetch_one(&env.pool)
                .await
                .unwrap();
        assert_eq!(
            (listens_n as usize, skips as usize),
            expected.per_user[*user],
            "{user}"
        );
        for period in ["all", "7d"] {
            let tops: Vec<(i16, String, i64)> = sqlx::query_as(
                "SELECT rank, item, listens FROM user_tops
                 WHERE user_id = $1 AND period = $2 AND kind = 'track' ORDER BY rank",
            )
            .bind(user)
            .bind(period)
            .fetch_all(&env.pool)
            .await
            .unwrap();
            let want: Vec<(i16, String, i64)> = expected
                .top_tracks
                .get(&((*user).clone(), period))
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .enumerate()
                .map(|(i, (track, n))| (i as i16 + 1, track.clone(), *n as i64))
                .collect();
            assert_eq!(tops, want, "{user}, {period}");
        }
    }
    for (day, (n, listeners)) in &expected.per_day {
        let (listens_n, listeners_n): (i64, i64) =
            sqlx::query_as("SELECT listens, listeners FROM daily_activity WHERE day = $1")
                .bind(day)
                .fetch_one(&env.pool)
                .await
                .unwrap();
        assert_eq!(
            (listens_n as usize, listeners_n as usize),
            (*n, listeners.len()),
            "{day}"
        );
    }
    let hours: i64 = env
        .scalar("SELECT sum(listens)::bigint FROM hour_weekday_activity")
        .await;
    assert_eq!(hours as usize, listens.len());
    let popularity: i64 = env
        .scalar("SELECT sum(listens)::bigint FROM track_popularity")
        .await;
    assert_eq!(popularity as usize, listens.len());
    let genres: i64 = env
        .scalar("SELECT sum(listens)::bigint FROM genre_daily")
        .await;
    assert_eq!(genres as usize, listens.len());
    env.finish().await;
}

/// Every mart as text, in a stable order.
async fn gold_dump(env: &TestEnv) -> String {
    let mut dump = String::new();
    for (mart, _) in lakehouse::gold::marts::MARTS {
        let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT m::text FROM {mart} AS m ORDER BY m::text"
        )))
        .fetch_all(&env.pool)
        .await
        .unwrap();
        dump.push_str(&format!("{mart}: {}\n{}\n", rows.len(), rows.join("\n")));
    }
    dump
}

/// A simulated history whose first half has been run through the pipeline: the whole
/// history and gold as the first half left it.
async fn first_half_in_gold(env: &TestEnv) -> (Vec<Listen>, String) {
    let listens = history(env, 20, 10).await;
    write(env, listens[..listens.len() / 2].to_vec()).await;
    assert!(run(env, RunOptions::default()).await.succeeded);
    (listens, gold_dump(env).await)
}

#[tokio::test]
async fn a_failed_stage_leaves_gold_as_it_was_and_the_next_run_catches_up() {
    let env = TestEnv::new().await;
    let (listens, before) = first_half_in_gold(&env).await;
    write(&env, listens[listens.len() / 2..].to_vec()).await;
    let failing = RunOptions {
        fail_stage: Some(Stage::GoldMarts),
        ..RunOptions::default()
    };
    let failed = run(&env, failing).await;
    assert!(!failed.succeeded);
    assert!(
        failed
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("injected failure"),
        "{:?}",
        failed.error
    );
    assert_eq!(gold_dump(&env).await, before, "gold is unchanged");
    let record = pipeline::get_run(&env.pool, failed.run_id).await.unwrap();
    assert_eq!(record.status, "failed");
    let marts = record
        .stages
        .iter()
        .find(|s| s.stage == "gold_marts")
        .unwrap();
    assert_eq!(marts.status, "failed");
    assert!(
        marts
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("injected")
    );
    assert!(
        !record.stages.iter().any(|s| s.stage == "lake_maintenance"),
        "stages after a failure do not run"
    );

    let next = run(&env, RunOptions::default()).await;
    assert!(next.succeeded, "{:?}", next.error);
    let caught_up = gold_dump(&env).await;

    // The same history in one clean run gives the same gold.
    let clean = TestEnv::new().await;
    history(&clean, 20, 10).await;
    write(&clean, listens.clone()).await;
    assert!(run(&clean, RunOptions::default()).await.succeeded);
    assert_eq!(caught_up, gold_dump(&clean).await);
    clean.finish().await;
    env.finish().await;
}

#[tokio::test]
async fn a_mart_failing_while_another_loads_leaves_gold_as_it_was() {
    let env = TestEnv::new().await;
    let (listens, before) = first_half_in_gold(&env).await;
    write(&env, listens[listens.len() / 2..].to_vec()).await;
    let silver_only = RunOptions {
        until: Some(Stage::SilverListens),
        ..RunOptions::default()
    };
    assert!(run(&env, silver_only).await.succeeded);
    let error = marts::refresh(&env.lake, &env.pool, false, MartsFailure::MidCompute)
        .await
        .unwrap_err();
    assert!(
        matches!(error, LakehouseError::InjectedFailure(_)),
        "the failing mart's error is reported, not the publisher's: {error}"
    );
    assert_eq!(gold_dump(&env).await, before, "gold is unchanged");

    let published = marts::refresh(&env.lake, &env.pool, false, MartsFailure::None)
        .await
        .unwrap();
    assert!(published.published);
    assert_ne!(gold_dump(&env).await, before, "the next refresh publishes");
    env.finish().await;
}

#[tokio::test]
async fn one_run_at_a_time() {
    let env = TestEnv::new().await;
    let first = pipeline::begin(&env.pool, "test").await.unwrap();
    let refused = pipeline::begin(&env.pool, "test").await.unwrap_err();
    assert!(
        matches!(refused, lakehouse::LakehouseError::RunInProgress(id) if id == first.run_id),
        "{refused}"
    );
    let summary = first
        .execute(&env.lake, &env.pool, &RunOptions::default(), |_| {})
        .await
        .unwrap();
    assert!(summary.succeeded);
    let again = pipeline::begin(&env.pool, "test").await.unwrap();
    assert!(again.run_id > summary.run_id);
    env.finish().await;
}

#[tokio::test]
async fn maintenance_compacts_small_files_and_time_travel_still_reads_old_versions() {
    let env = TestEnv::new().await;
    let listens = history(&env, 10, 5).await;
    let writer = IngestWriter::start(env.lake.clone(), WriterSettings::default());
    for chunk in listens.chunks(listens.len().div_ceil(6)) {
        writer.submit(chunk.to_vec(), Vec::new()).await.unwrap();
    }
    let bronze = lakehouse::bronze::listens::LISTENS;
    let before = lake_info::describe(&env.lake, bronze, None, 1)
        .await
        .unwrap()
        .unwrap();
    assert!(before.files >= 6, "{}", before.files);
    let summary = run(
        &env,
        RunOptions {
            force_maintenance: true,
            ..RunOptions::default()
        },
    )
    .await;
    let maintenance = stage_outcome(&summary, Stage::LakeMaintenance);
    assert!(maintenance.did_work, "{}", maintenance.detail);
    let after = lake_info::describe(&env.lake, bronze, None, 3)
        .await
        .unwrap()
        .unwrap();
    assert!(
        after.files < before.files,
        "{} → {}",
        before.files,
        after.files
    );
    assert_eq!(after.rows, before.rows);
    assert_eq!(after.history[0].operation.as_deref(), Some("OPTIMIZE"));
    let earlier = lake_info::describe(&env.lake, bronze, Some(before.version), 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((earlier.files, earlier.rows), (before.files, before.rows));

    // Past the retention period, vacuum deletes the files only earlier versions refer to:
    // such a version is gone (not found), not a failure.
    env.lake
        .table(bronze)
        .await
        .unwrap()
        .vacuum()
        .with_retention_period(chrono::Duration::zero())
        .with_enforce_retention_duration(false)
        .await
        .unwrap();
    let vacuumed = lake_info::describe(&env.lake, bronze, Some(before.version), 1).await;
    assert!(
        matches!(&vacuumed, Err(lakehouse::LakehouseError::NotFound(m)) if m.contains("no longer kept")),
        "{vacuumed:?}"
    );
    let latest = lake_info::describe(&env.lake, bronze, Some(after.version), 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.rows, before.rows);
    env.finish().await;
}

#[tokio::test]
async fn python_deltalake_reads_the_same_silver_rows_and_partitions() {
    let python = crate::support::python();
    let env = TestEnv::new().await;
    let listens = history(&env, 15, 8).await;
    write(&env, listens.clone()).await;
    assert!(run(&env, RunOptions::default()).await.succeeded);

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/read_delta.py");
    for table in [
        silver::listens::TABLE,
        silver::listens::QUARANTINE,
        silver::tracks::TABLE,
    ] {
        let ours = lake_info::describe(&env.lake, table, None, 1)
            .await
            .unwrap()
            .unwrap();
        let output = std::process::Command::new(&python)
            .arg(script)
            .arg(env.lake.local_table_dir(table).unwrap())
            .output()
            .expect("running Python");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let theirs: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(theirs["version"], ours.version, "{table}");
        assert_eq!(theirs["rows"], ours.rows, "{table}");
        assert_eq!(
            theirs["partition_columns"],
            serde_json::json!(ours.partition_columns)
        );
        if table == silver::listens::TABLE {
            assert_eq!(
                theirs["partitions"].as_array().unwrap().len(),
                ours.partitions
            );
        }
    }
    env.finish().await;
}
