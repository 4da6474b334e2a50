//! The ML stage of a pipeline run over a simulated history: a model version with every
//! family's metrics, lists that respect what listeners heard and disliked, similar tracks,
//! clusters and segments; reruns without new listens change nothing.

use std::collections::{HashMap, HashSet};

use lakehouse::ingest::{IngestWriter, WriterSettings};
use lakehouse::ml::datasets::{PLAY_WEIGHT, SKIP_WEIGHT, is_skip};
use lakehouse::pipeline::{RunOptions, RunSummary, Stage};
use lakehouse::simulate::{Simulation, simulate};

use crate::support::{TestEnv, demo_catalogue};

async fn run(env: &TestEnv, options: RunOptions) -> RunSummary {
    crate::support::run_pipeline(env, options).await
}

fn ml_detail(summary: &RunSummary) -> String {
    let (_, result, _) = summary
        .stages
        .iter()
        .find(|(s, _, _)| *s == Stage::Ml)
        .expect("the ML stage ran");
    result
        .as_ref()
        .expect("the ML stage succeeded")
        .detail
        .clone()
}

/// The same listens played again: new events, so new listens.
fn replayed(listens: &[lakehouse::ingest::Listen]) -> Vec<lakehouse::ingest::Listen> {
    listens
        .iter()
        .enumerate()
        .map(|(i, l)| lakehouse::ingest::Listen {
            event_id: format!("more-{i}"),
            ..l.clone()
        })
        .collect()
}

#[tokio::test]
async fn a_run_publishes_a_model_version_that_respects_what_listeners_heard() {
    let env = TestEnv::new().await;
    let tracks = demo_catalogue(&env, 400).await;
    let listens = simulate(&Simulation::ending_today(60, 20, 10.0, 5), &tracks);
    // What each listener played, net of skips, as the stage counts it.
    let mut weights: HashMap<(String, String), f64> = HashMap::new();
    for l in &listens {
        let w = if is_skip(l.ms_played, l.end_reason.as_deref(), l.skipped) {
            SKIP_WEIGHT
        } else {
            PLAY_WEIGHT
        };
        *weights
            .entry((l.user_id.clone(), l.track_id.clone()))
            .or_default() += w;
    }
    let heard: HashSet<(String, String)> = weights.keys().cloned().collect();
    let writer = IngestWriter::start(env.lake.clone(), WriterSettings::default());
    writer.submit(listens.clone(), Vec::new()).await.unwrap();

    let summary = run(&env, RunOptions::default()).await;
    let detail = ml_detail(&summary);
    assert!(detail.contains("model version 1"), "{detail}");
    assert!(detail.contains("track clusters"), "{detail}");

    // One current version, with every family's figures and exactly one chosen.
    let metrics: Vec<(String, bool, f64, f64)> = sqlx::query_as(
        "SELECT m.model, m.chosen, m.ndcg, m.coverage FROM model_metrics m
         JOIN model_versions v USING (model_version) WHERE v.is_current ORDER BY m.model",
    )
    .fetch_all(&env.pool)
    .await
    .unwrap();
    let names: Vec<&str> = metrics.iter().map(|m| m.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "als",
            "content",
            "ease",
            "hybrid",
            "item_knn",
            "popularity",
            "rp3beta",
            "user_knn"
        ]
    );
    assert_eq!(metrics.iter().filter(|m| m.1).count(), 1);
    assert!(
        metrics
            .iter()
            .all(|m| (0.0..=1.0).contains(&m.2) && m.3 > 0.0),
        "{metrics:?}"
    );

    // Every listener has a full list of tracks they never played, with reasons.
    let recs: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT user_id, track_id, reason FROM recommendations ORDER BY user_id, rank",
    )
    .fetch_all(&env.pool)
    .await
    .unwrap();
    let users: HashSet<&str> = recs.iter().map(|r| r.0.as_str()).collect();
    let listeners: HashSet<&str> = listens.iter().map(|l| l.user_id.as_str()).collect();
    assert_eq!(users, listeners);
    assert_eq!(recs.len(), 50 * listeners.len());
    for (user, track, reason) in &recs {
        assert!(
            !heard.contains(&(user.clone(), track.clone())),
            "{user} heard {track}"
        );
        assert!(
            [
                "because you listened to ",
                "matches your taste: ",
                "popular in ",
                "popular on soundlake",
            ]
            .iter()
            .any(|p| reason.starts_with(p)),
            "{reason}"
        );
    }
    assert!(
        recs.iter()
            .any(|r| r.2.starts_with("because you listened to ")),
        "collaborative reasons appear"
    );

    // Similar tracks, the clusters over the whole catalogue, and listener segments.
    assert!(env.scalar("SELECT count(*) FROM similar_tracks").await > 1_000);
    assert_eq!(env.scalar("SELECT count(*) FROM track_map").await, 400);
    let clusters = env.scalar("SELECT count(*) FROM track_clusters").await;
    assert!((2..=12).contains(&clusters), "{clusters}");
    assert_eq!(
        env.scalar("SELECT sum(size)::bigint FROM track_clusters")
            .await,
        400
    );
    assert_eq!(
        env.scalar("SELECT count(*) FROM user_segment_members")
            .await,
        listeners.len() as i64
    );

    // Nothing new: the stage leaves the model alone.
    let again = run(&env, RunOptions::default()).await;
    assert!(
        ml_detail(&again).contains("model unchanged"),
        "{}",
        ml_detail(&again)
    );
    assert_eq!(env.scalar("SELECT count(*) FROM model_versions").await, 1);

    // A few more listens: the model the evaluation chose is retrained, not re-evaluated, and
    // the new version carries that evaluation's figures.
    writer
        .submit(replayed(&listens[..30]), Vec::new())
        .await
        .unwrap();
    let third = run(&env, RunOptions::default()).await;
    let detail = ml_detail(&third);
    assert!(detail.contains("model version 2"), "{detail}");
    assert!(
        detail.contains("retrained as the last evaluation chose"),
        "{detail}"
    );
    assert_eq!(
        env.scalar("SELECT count(*) FROM model_versions WHERE evaluated")
            .await,
        1
    );
    assert_eq!(
        env.scalar("SELECT count(*) FROM model_metrics m JOIN model_versions v USING (model_version) WHERE v.is_current").await,
        8
    );
    env.finish().await;
}

#[tokio::test]
async fn disliked_tracks_and_artists_leave_the_next_version_and_likes_train_it() {
    let env = TestEnv::new().await;
    let tracks = demo_catalogue(&env, 300).await;
    let listens = simulate(&Simulation::ending_today(40, 15, 10.0, 8), &tracks);
    let writer = IngestWriter::start(env.lake.clone(), WriterSettings::default());
    writer.submit(listens.clone(), Vec::new()).await.unwrap();
    run(&env, RunOptions::default()).await;
    let pairs = "SELECT interactions FROM model_versions WHERE is_current";
    let pairs_before = env.scalar(pairs).await;

    let top: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT r.user_id, r.track_id, t.artists[1] FROM recommendations r
         JOIN tracks t USING (track_id) WHERE r.rank <= 2 ORDER BY r.user_id, r.rank LIMIT 2",
    )
    .fetch_all(&env.pool)
    .await
    .unwrap();
    let (user, track, _) = &top[0];
    let (_, _, artist) = &top[1];
    // What the listener played, net of skips; two tracks they never played; one they liked
    // enough to play in full.
    let mut weights: HashMap<&str, f64> = HashMap::new();
    for l in listens.iter().filter(|l| &l.user_id == user) {
        let skip = is_skip(l.ms_played, l.end_reason.as_deref(), l.skipped);
        *weights.entry(l.track_id.as_str()).or_default() +=
            if skip { SKIP_WEIGHT } else { PLAY_WEIGHT };
    }
    let played = weights
        .iter()
        .filter(|(_, w)| **w > 0.0)
        .map(|(t, _)| t.to_string())
        .min()
        .expect("the listener played a track in full");
    let unplayed: Vec<String> = tracks
        .iter()
        .map(|t| t.track_id.clone())
        .filter(|t| !weights.contains_key(t.as_str()) && t != track)
        .take(2)
        .collect();
    for (kind, target_type, target) in [
        ("dislike", "track", track),
        ("do_not_recommend", "artist", artist),
        ("like", "track", &unplayed[0]),
        ("like", "track", &unplayed[1]),
        ("dislike", "track", &played),
    ] {
        sqlx::query(
            "INSERT INTO feedback (user_id, target_type, target_id, kind) VALUES ($1, $2, $3, $4)",
        )
        .bind(user)
        .bind(target_type)
        .bind(target)
        .bind(kind)
        .execute(&env.pool)
        .await
        .unwrap();
    }
    run(
        &env,
        RunOptions {
            full: true,
            ..RunOptions::default()
        },
    )
    .await;
    let after: Vec<(String, String)> = sqlx::query_as(
        "SELECT r.track_id, t.artists[1] FROM recommendations r
         JOIN model_versions v ON v.model_version = r.model_version AND v.is_current
         JOIN tracks t USING (track_id) WHERE r.user_id = $1",
    )
    .bind(user)
    .fetch_all(&env.pool)
    .await
    .unwrap();
    assert_eq!(after.len(), 50);
    assert!(
        after.iter().all(|(t, a)| t != track && a != artist),
        "{after:?}"
    );
    // The two likes became pairs the model learnt from (and, heard, are not recommended); a
    // dislike hides a track from the lists and leaves what was played as it was.
    assert_eq!(env.scalar(pairs).await, pairs_before + 2);
    assert!(
        after.iter().all(|(t, _)| !unplayed.contains(t)),
        "{after:?}"
    );
    assert_eq!(env.scalar("SELECT count(*) FROM model_versions").await, 2);
    assert_eq!(
        env.scalar("SELECT count(DISTINCT model_version) FROM recommendations")
            .await,
        1,
        "only the current version's lists are kept"
    );
    env.finish().await;
}

fn few_len(history: &[lakehouse::ingest::Listen]) -> usize {
    history.len() / 50
}

/// `listens` again as new events (ids of their own), played the same way.
fn renamed(listens: &[lakehouse::ingest::Listen], prefix: &str) -> Vec<lakehouse::ingest::Listen> {
    listens
        .iter()
        .enumerate()
        .map(|(i, l)| lakehouse::ingest::Listen {
            event_id: format!("{prefix}-{i}"),
            ..l.clone()
        })
        .collect()
}

#[tokio::test]
async fn the_schedule_retrains_once_silver_has_grown_by_its_share_and_a_manual_run_always_does() {
    use lakehouse::pipeline::cadence::Retrain;

    let env = TestEnv::new().await;
    let tracks = demo_catalogue(&env, 300).await;
    let writer = IngestWriter::start(env.lake.clone(), WriterSettings::default());
    let history = simulate(&Simulation::ending_today(30, 14, 8.0, 9), &tracks);
    writer.submit(history.clone(), Vec::new()).await.unwrap();
    let scheduled = RunOptions {
        retrain: Retrain::scheduled(),
        ..RunOptions::default()
    };
    let first = ml_detail(&run(&env, scheduled.clone()).await);
    assert!(first.contains("model version 1"), "no model yet: {first}");

    let later = simulate(&Simulation::ending_today(30, 3, 8.0, 10), &tracks);
    let (few, many) = later.split_at(history.len() / 50);
    let few = renamed(few, "few");
    writer.submit(few, Vec::new()).await.unwrap();
    let waited = ml_detail(&run(&env, scheduled.clone()).await);
    assert!(waited.contains("retraining waits"), "2% more: {waited}");

    let manual = ml_detail(&run(&env, RunOptions::default()).await);
    assert!(manual.contains("model version 2"), "a manual run: {manual}");

    let many = renamed(many, "many");
    assert!(
        many.len() * 10 > history.len() + few_len(&history),
        "enough for 10%"
    );
    writer.submit(many, Vec::new()).await.unwrap();
    let grown = ml_detail(&run(&env, scheduled).await);
    assert!(grown.contains("model version 3"), "10% more: {grown}");
    env.finish().await;
}

/// The current model version's specification and lists, as text.
async fn current_model(env: &TestEnv) -> (String, Vec<String>) {
    let spec: String = sqlx::query_scalar("SELECT spec::text FROM model_versions WHERE is_current")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    let lists: Vec<String> = sqlx::query_scalar(
        "SELECT concat_ws(' ', user_id, rank, track_id, score, reason) FROM recommendations
         ORDER BY user_id, rank",
    )
    .fetch_all(&env.pool)
    .await
    .unwrap();
    (spec, lists)
}

/// A fresh lake with `listens` of the same simulated history, run through the pipeline.
async fn trained_on_history(seed: u64) -> (TestEnv, Vec<lakehouse::ingest::Listen>, RunSummary) {
    let env = TestEnv::new().await;
    let tracks = demo_catalogue(&env, 300).await;
    let listens = simulate(&Simulation::ending_today(40, 15, 10.0, seed), &tracks);
    let writer = IngestWriter::start(env.lake.clone(), WriterSettings::default());
    writer.submit(listens.clone(), Vec::new()).await.unwrap();
    let summary = run(&env, RunOptions::default()).await;
    assert!(summary.succeeded, "{:?}", summary.error);
    (env, listens, summary)
}

#[tokio::test]
async fn the_same_listens_give_the_same_model_and_lists_and_a_failed_publish_keeps_the_last() {
    let (a, listens, summary) = trained_on_history(9).await;
    let (b, _, _) = trained_on_history(9).await;
    let model = current_model(&a).await;
    assert!(!model.1.is_empty());
    assert_eq!(
        model,
        current_model(&b).await,
        "same input, same model and lists"
    );
    b.finish().await;

    // Every step of the stage is timed.
    let (_, outcome, _) = summary
        .stages
        .iter()
        .find(|(s, _, _)| *s == Stage::Ml)
        .unwrap();
    let steps: Vec<&str> = outcome
        .as_ref()
        .unwrap()
        .steps
        .iter()
        .map(|s| s.step)
        .collect();
    assert_eq!(
        steps,
        [
            "clusters",
            "interactions",
            "evaluation",
            "training",
            "similar tracks",
            "skip model",
            "segments",
            "lists",
            "publish"
        ]
    );

    // New listens, and a publish that fails after writing its first lists: the model that
    // served before still serves, whole.
    let writer = IngestWriter::start(a.lake.clone(), WriterSettings::default());
    writer
        .submit(replayed(&listens[..200]), Vec::new())
        .await
        .unwrap();
    let failing = RunOptions {
        fail_stage: Some(Stage::Ml),
        ..RunOptions::default()
    };
    let failed = run(&a, failing).await;
    assert!(!failed.succeeded);
    let error = failed.error.unwrap_or_default();
    assert!(error.contains("after the first chunk of lists"), "{error}");
    assert_eq!(current_model(&a).await, model);
    assert_eq!(a.scalar("SELECT count(*) FROM model_versions").await, 1);

    // The next run publishes the new version.
    let next = run(&a, RunOptions::default()).await;
    assert!(next.succeeded, "{:?}", next.error);
    assert_eq!(a.scalar("SELECT count(*) FROM model_versions").await, 2);
    assert_ne!(current_model(&a).await.1, model.1);
    a.finish().await;
}
