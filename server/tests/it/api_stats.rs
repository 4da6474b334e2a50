//! The business dashboards' figures (`/api/v1/stats/...`) against figures computed from the
//! listens that were sent, for a date range and a genre; CSV downloads; filter limits.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, Duration, NaiveDate};
use lakehouse::ingest::Listen;
use lakehouse::pipeline::{RunOptions, Stage};
use lakehouse::simulate::{Simulation, simulate};

use crate::support::TestApp;

/// Posts a simulated history through the ingest API and runs the pipeline to the gold marts;
/// returns the listens sent.
async fn with_marts(app: &TestApp) -> Vec<Listen> {
    let tracks = lakehouse::gold::tracks::simulation_tracks(&app.pool)
        .await
        .unwrap();
    // A session that starts late yesterday may run past now: those listens would be refused
    // as played in the future, so they are not sent.
    let now = chrono::Utc::now();
    let listens: Vec<Listen> = simulate(&Simulation::ending_today(30, 21, 8.0, 9), &tracks)
        .into_iter()
        .filter(|l| l.played_at <= now)
        .collect();
    crate::support::post_history(app, &listens).await;
    let summary = lakehouse::pipeline::begin(&app.pool, "test")
        .await
        .unwrap()
        .execute(
            &app.lake,
            &app.pool,
            &RunOptions {
                until: Some(Stage::GoldMarts),
                ..RunOptions::default()
            },
            |_| {},
        )
        .await
        .unwrap();
    assert!(summary.succeeded, "{:?}", summary.error);
    listens
}

/// Each track's primary genre, as silver enriches its listens (the first of its genres).
async fn primary_genres(app: &TestApp) -> HashMap<String, String> {
    sqlx::query_as("SELECT track_id, genres[1] FROM tracks")
        .fetch_all(&app.pool)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

fn is_skip(l: &Listen) -> bool {
    l.ms_played < 30_000
        || matches!(l.end_reason.as_deref(), Some("fwdbtn" | "backbtn"))
        || l.skipped == Some(true)
}

#[tokio::test]
async fn the_dashboards_figures_are_those_of_the_listens_for_any_range_and_genre() {
    let app = TestApp::start().await;
    let listens = with_marts(&app).await;
    let genres = primary_genres(&app).await;
    let last = listens
        .iter()
        .map(|l| l.played_at.date_naive())
        .max()
        .unwrap();
    let from = last - Duration::days(9);
    // The most listened genre, so that the filtered figures are not empty.
    let mut per_genre: BTreeMap<&str, usize> = BTreeMap::new();
    for l in &listens {
        *per_genre.entry(genres[&l.track_id].as_str()).or_default() += 1;
    }
    let genre = per_genre
        .iter()
        .max_by_key(|(_, n)| **n)
        .unwrap()
        .0
        .to_string();

    for genre in [None, Some(genre.as_str())] {
        let kept: Vec<&Listen> = listens
            .iter()
            .filter(|l| (from..=last).contains(&l.played_at.date_naive()))
            .filter(|l| genre.is_none_or(|g| genres[&l.track_id] == g))
            .collect();
        let mut query = format!("from={from}&to={last}");
        if let Some(g) = genre {
            query.push_str(&format!("&genre={g}"));
        }

        // Per day: listens, distinct listeners, skips.
        let mut days: BTreeMap<NaiveDate, (i64, HashSet<&str>, i64)> = BTreeMap::new();
        for l in &kept {
            let day = days.entry(l.played_at.date_naive()).or_default();
            day.0 += 1;
            day.1.insert(&l.user_id);
            day.2 += i64::from(is_skip(l));
        }
        let (status, daily) = app.get_json(&format!("/api/v1/stats/daily?{query}")).await;
        assert_eq!(status, 200, "{daily}");
        let got: Vec<(String, i64, i64)> = daily
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["day"].as_str().unwrap().to_owned(),
                    d["listens"].as_i64().unwrap(),
                    d["listeners"].as_i64().unwrap(),
                )
            })
            .collect();
        let expected: Vec<(String, i64, i64)> = days
            .iter()
            .map(|(d, (n, users, _))| (d.to_string(), *n, users.len() as i64))
            .collect();
        assert_eq!(got, expected, "genre {genre:?}");
        for d in daily.as_array().unwrap() {
            let (n, _, skips) = &days[&d["day"].as_str().unwrap().parse::<NaiveDate>().unwrap()];
            let rate = d["skip_rate"].as_f64().unwrap();
            assert!((rate - *skips as f64 / *n as f64).abs() < 1e-9, "{d}");
        }

        // The top tracks: most listens first, ties to the smaller id.
        let mut per_track: HashMap<&str, i64> = HashMap::new();
        for l in &kept {
            *per_track.entry(&l.track_id).or_default() += 1;
        }
        let mut ranked: Vec<(&str, i64)> = per_track.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        ranked.truncate(10);
        let (status, top) = app
            .get_json(&format!("/api/v1/stats/top?{query}&kind=track"))
            .await;
        assert_eq!(status, 200, "{top}");
        let got: Vec<(String, i64)> = top
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["id"].as_str().unwrap().to_owned(),
                    e["listens"].as_i64().unwrap(),
                )
            })
            .collect();
        let expected: Vec<(String, i64)> =
            ranked.iter().map(|(t, n)| ((*t).to_owned(), *n)).collect();
        assert_eq!(got, expected, "genre {genre:?}");

        // The heatmap sums to the range's listens; the cohorts' first weeks are the weeks of
        // the listeners' first listens.
        let (_, heat) = app
            .get_json(&format!("/api/v1/stats/heatmap?{query}"))
            .await;
        let total: i64 = heat
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["listens"].as_i64().unwrap())
            .sum();
        assert_eq!(total, kept.len() as i64);
    }

    // Every listener's cohort is the week of their first listen.
    let mut first: HashMap<&str, NaiveDate> = HashMap::new();
    for l in &listens {
        let day = l.played_at.date_naive();
        first
            .entry(&l.user_id)
            .and_modify(|d| *d = (*d).min(day))
            .or_insert(day);
    }
    let mut sizes: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    for day in first.values() {
        let monday = *day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
        *sizes.entry(monday).or_default() += 1;
    }
    let start = *sizes.keys().next().unwrap();
    let (_, cohorts) = app
        .get_json(&format!("/api/v1/stats/cohorts?from={start}&to={last}"))
        .await;
    let got: BTreeMap<NaiveDate, i64> = cohorts
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["weeks_after"] == 0)
        .map(|c| {
            (
                c["cohort_week"].as_str().unwrap().parse().unwrap(),
                c["listeners"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, sizes);
    app.finish().await;
}

#[tokio::test]
async fn a_table_downloads_as_csv_and_bad_filters_are_refused() {
    let app = TestApp::start().await;
    with_marts(&app).await;
    let response = app.get("/api/v1/stats/top?kind=genre&format=csv").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = response.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("id,name,detail,listens"));
    assert!(lines.count() > 0, "{text}");

    for query in [
        "from=2026-02-30",
        "from=2026-11-10&to=2026-11-01",
        "from=2020-01-01&to=2026-11-01",
        "genre=%00",
        "format=xml",
        "colour=red",
    ] {
        let (status, body) = app.get_json(&format!("/api/v1/stats/daily?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
    }
    let (status, _) = app.get_json("/api/v1/stats/top?kind=album").await;
    assert_eq!(status, 400);
    app.finish().await;
}
