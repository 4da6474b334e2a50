//! Tests of the recommenders as a whole: reading interactions, the split, each model against
//! random on data with planted structure, reproducibility, lists with filters and reasons.

use std::io::Write;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::MlError;
use super::datasets::CatalogTrack;
use super::datasets::{SimulatedSettings, simulated};
use super::evaluate::{
    EvalOptions, evaluate, evaluate_newest, evaluate_split, evaluate_with_feedback, measure,
    preferred,
};
use super::interactions::{Interactions, InteractionsBuilder, RowAppender};
use super::metrics::Metrics;
use super::models::content::ItemFeatures;
use super::models::hybrid::{exposure, exposure_damping};
use super::models::item_knn::{ItemKnn, ItemKnnParams};
use super::models::spec::{HybridParams, ModelSpec};
use super::models::{History, Recommender, SideInfo, recommend_all};
use super::recommend::{Exclusions, ListMaker, ListPolicy};
use super::split::holdout;

fn file_with(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

#[test]
fn reads_tab_comma_and_whitespace_files_with_or_without_header() {
    for text in [
        "userID\tartistID\tweight\n2\t51\t13883\n2\t52\t11690\n3\t51\t228\n",
        "2,51,13883\n2,52,11690\n3,51,228\n",
        "user item\n2 51\n2 52\n3 51\n",
    ] {
        let data = Interactions::read_delimited(file_with(text).path()).unwrap();
        assert_eq!(
            (data.n_users(), data.n_items(), data.nnz()),
            (2, 2, 3),
            "{text}"
        );
        assert_eq!(data.user_id(0), "2");
        assert_eq!(data.item_id(1), "52");
    }
    let weighted = Interactions::read_delimited(file_with("a,x,2\na,x,3\n").path()).unwrap();
    assert_eq!(weighted.row(0).1, &[5.0], "repeated pairs add up");
}

#[test]
fn rows_appended_per_listener_are_sorted_and_a_sub_matrix_keeps_its_listeners_rows() {
    let items: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
    let mut m = RowAppender::new(items);
    let mut row = vec![(2, 1.0), (0, 3.0)];
    assert_eq!(m.next_user(), 0);
    m.push("u".into(), &mut row);
    assert!(row.is_empty(), "the row is cleared for the next listener");
    m.push("only-skips".into(), &mut row);
    m.push("w".into(), &mut vec![(1, 2.0)]);
    let data = m.build();
    assert_eq!((data.n_users(), data.n_items(), data.nnz()), (3, 3, 3));
    assert_eq!(data.row(0), (&[0, 2][..], &[3.0, 1.0][..]));
    assert_eq!(data.row(1).0.len(), 0);
    let picked = data.select_users(&[2, 0]);
    assert_eq!(picked.user_ids(), ["w", "u"]);
    assert_eq!(picked.row(1), data.row(0));
    assert_eq!(picked.n_items(), 3);
}

#[test]
fn a_bad_line_is_reported_with_its_number() {
    let err = Interactions::read_delimited(file_with("u,i,1\nu,j,lots\n").path()).unwrap_err();
    match err {
        MlError::BadLine { line, reason, .. } => {
            assert_eq!(line, 2);
            assert!(reason.contains("lots"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let err = Interactions::read_delimited(file_with("u,i,1\nu,i,1,9\n").path()).unwrap_err();
    assert!(matches!(err, MlError::BadLine { line: 2, .. }), "{err:?}");
    let err = Interactions::read_delimited(file_with("u,i,1\nu,j,-3\n").path()).unwrap_err();
    assert!(matches!(err, MlError::BadLine { line: 2, .. }), "{err:?}");
}

/// `groups` of listeners, each playing mostly its own block of items (with some noise) and
/// a few globally popular items.
fn planted(users: usize, items: usize, groups: usize, seed: u64) -> Interactions {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut b = InteractionsBuilder::new();
    let block = items / groups;
    for i in 0..items {
        b.add_item(&format!("i{i}"));
    }
    for u in 0..users {
        let g = u % groups;
        for _ in 0..25 {
            let item = if rng.gen_bool(0.85) {
                g * block + rng.gen_range(0..block)
            } else {
                rng.gen_range(0..items)
            };
            b.add(
                &format!("u{u}"),
                &format!("i{item}"),
                rng.gen_range(1..20) as f64,
            );
        }
    }
    b.build()
}

struct Random(u64);

impl Recommender for Random {
    fn score(&self, user: u32, _history: History<'_>, scores: &mut [f32]) {
        let mut rng = ChaCha8Rng::seed_from_u64(self.0 ^ u64::from(user));
        scores.iter_mut().for_each(|s| *s = rng.r#gen());
    }
}

#[test]
fn the_split_is_reproducible_and_holds_out_a_fifth() {
    let data = planted(60, 200, 3, 1);
    let a = holdout(&data, 0.2, 5, 7);
    let b = holdout(&data, 0.2, 5, 7);
    assert_eq!(a.test, b.test);
    let c = holdout(&data, 0.2, 5, 8);
    assert_ne!(a.test, c.test, "another seed gives another split");
    let held: usize = a.test.iter().map(|(_, t)| t.len()).sum();
    assert_eq!(held + a.train.nnz(), data.nnz());
    let share = held as f64 / data.nnz() as f64;
    assert!((0.17..0.23).contains(&share), "{share}");
}

#[test]
fn every_model_beats_random_on_planted_structure() {
    let data = planted(300, 400, 4, 3);
    let split = holdout(&data, 0.2, 5, 42);
    let random = measure(&Random(9), &split, 10).ndcg;
    // Item features that reveal each item's block: the content model can find it.
    let features = ItemFeatures {
        vectors: (0..data.n_items())
            .map(|i| {
                let block: usize = data.item_id(i as u32)[1..].parse::<usize>().unwrap() / 100;
                let mut v = vec![-1.0; 4];
                v[block] = 1.0;
                Some(v)
            })
            .collect(),
    };
    for spec in [
        ModelSpec::ItemKnn(ItemKnnParams::default()),
        ModelSpec::UserKnn(Default::default()),
        ModelSpec::Als(Default::default()),
        ModelSpec::Ease(Default::default()),
        ModelSpec::Content,
    ] {
        let model = spec.fit(&split.train, SideInfo::features(Some(&features)));
        let ndcg = measure(model.as_ref(), &split, 10).ndcg;
        assert!(
            ndcg > 2.0 * random,
            "{}: {ndcg} vs random {random}",
            spec.name()
        );
    }
    // Popularity has no structure to find here, but still knows nothing is unpopular.
    let popularity = ModelSpec::Popularity.fit(&split.train, SideInfo::default());
    assert!(measure(popularity.as_ref(), &split, 10).ndcg > random * 0.5);
}

#[test]
fn selection_runs_on_a_sample_of_listeners_reproducible_by_seed() {
    let data = planted(200, 300, 3, 5);
    let options = EvalOptions {
        max_listeners: 80,
        ..EvalOptions::default()
    };
    let a = evaluate(&data, None, &options).unwrap();
    let b = evaluate(&data, None, &options).unwrap();
    assert_eq!((a.users, a.all_users), (80, 200));
    assert!(a.test_users > 0 && a.test_users <= 80);
    assert_eq!(a.chosen, b.chosen);
    let ndcgs = |e: &super::evaluate::Evaluation| -> Vec<f64> {
        e.models.iter().map(|m| m.test.ndcg).collect()
    };
    assert_eq!(ndcgs(&a), ndcgs(&b));
    let whole = evaluate(&data, None, &EvalOptions::default()).unwrap();
    assert_eq!((whole.users, whole.all_users), (200, 200));
}

#[test]
fn the_evaluation_is_reproducible_and_selects_on_validation() {
    let data = planted(200, 300, 3, 5);
    let options = EvalOptions {
        min_coverage: 0.0,
        ndcg_tolerance: 0.0,
        ..EvalOptions::default()
    };
    let a = evaluate(&data, None, &options).unwrap();
    let b = evaluate(&data, None, &options).unwrap();
    let figures = |e: &super::evaluate::Evaluation| -> Vec<(String, f64, f64)> {
        e.models
            .iter()
            .map(|m| (m.model.to_owned(), m.validation_ndcg, m.test.ndcg))
            .collect()
    };
    assert_eq!(figures(&a), figures(&b));
    assert_eq!(a.chosen, b.chosen);
    let best_validation = a
        .models
        .iter()
        .map(|m| m.validation_ndcg)
        .fold(f64::MIN, f64::max);
    assert_eq!(a.chosen_result().unwrap().validation_ndcg, best_validation);
    assert!(a.models.iter().any(|m| m.model == "hybrid"));
    assert!(
        !a.models.iter().any(|m| m.model == "content"),
        "no features, no content model"
    );

    // A coverage floor nothing reaches: the model that spreads widest wins.
    let strict = EvalOptions {
        min_coverage: 1.1,
        ..EvalOptions::default()
    };
    let c = evaluate(&data, None, &strict).unwrap();
    let widest = c
        .models
        .iter()
        .map(|m| m.validation_coverage)
        .fold(f64::MIN, f64::max);
    assert_eq!(c.chosen_result().unwrap().validation_coverage, widest);
}

/// A simulated history with feedback, small enough for a unit test.
fn small_simulation() -> super::datasets::SimulatedDataset {
    simulated(&SimulatedSettings {
        tracks: 1_500,
        users: 400,
        days: 30,
        listens_per_day: 10.0,
        seed: 7,
        later_days: 6,
    })
}

#[test]
fn feedback_as_training_signal_is_measured_on_the_same_held_out_items_and_does_no_harm() {
    let sim = small_simulation();
    let (likes, dislikes) = sim.feedback.counts();
    assert!(
        likes > 100 && dislikes > 100,
        "{likes} likes, {dislikes} dislikes"
    );
    let options = EvalOptions::default();
    let without = evaluate_with_feedback(
        &sim.interactions,
        &sim.feedback.skips_only(),
        Some(&sim.features),
        &options,
    )
    .unwrap();
    let with = evaluate_with_feedback(
        &sim.interactions,
        &sim.feedback,
        Some(&sim.features),
        &options,
    )
    .unwrap();
    // The same listeners and held-out items: only the training signal differs.
    assert_eq!(with.test_users, without.test_users);
    // The liked-tracks model competes only where there are likes.
    let has_liked = |e: &super::evaluate::Evaluation| e.models.iter().any(|m| m.model == "liked");
    assert!(has_liked(&with) && !has_liked(&without));
    let ndcg = |e: &super::evaluate::Evaluation| e.chosen_result().unwrap().test.ndcg;
    assert!(
        ndcg(&with) > ndcg(&without) - 0.01,
        "NDCG@10 with feedback {:.4}, without {:.4}",
        ndcg(&with),
        ndcg(&without)
    );
}

#[test]
fn the_pipeline_measures_what_listeners_went_on_to_discover() {
    let sim = small_simulation();
    let (options, features) = (EvalOptions::default(), Some(&sim.features));
    let newest = evaluate_newest(
        &sim.interactions,
        &sim.first_plays,
        &sim.feedback,
        features,
        &options,
    )
    .unwrap();
    let random =
        evaluate_with_feedback(&sim.interactions, &sim.feedback, features, &options).unwrap();
    // The same listeners, measured on the tracks they discovered last: harder to foresee than
    // a random share of what they play.
    assert_eq!(newest.test_users, random.test_users);
    let ndcg = |e: &super::evaluate::Evaluation| e.chosen_result().unwrap().test.ndcg;
    assert!(
        ndcg(&newest) < ndcg(&random),
        "newest {:.4}, random {:.4}",
        ndcg(&newest),
        ndcg(&random)
    );
}

#[test]
fn a_split_by_time_is_tuned_on_the_same_split_at_an_earlier_moment() {
    let sim = small_simulation();
    let (test, validation) = (&sim.later.test, &sim.later.validation);
    assert!(validation.cutoff < test.cutoff);
    assert!(validation.split.train.nnz() < test.split.train.nnz());
    let options = EvalOptions::default();
    let features = Some(&sim.features);
    let tuning = Some((validation.split.clone(), &validation.feedback));
    let by_time = evaluate_split(
        test.split.clone(),
        &test.feedback,
        tuning,
        features,
        &options,
    )
    .unwrap();
    let at_random =
        evaluate_split(test.split.clone(), &test.feedback, None, features, &options).unwrap();
    // Measured on the same listeners' later plays, tuned on different splits.
    assert_eq!(by_time.test_users, test.split.test.len());
    assert_eq!(at_random.test_users, by_time.test_users);
    let validation_ndcg = |e: &super::evaluate::Evaluation| {
        e.models
            .iter()
            .map(|m| (m.model, m.validation_ndcg))
            .collect::<Vec<_>>()
    };
    assert_ne!(validation_ndcg(&by_time), validation_ndcg(&at_random));
    assert!(by_time.models.iter().any(|m| m.model == "liked"));
}

#[test]
fn exposure_damping_spreads_the_lists_over_more_of_the_catalogue() {
    // Two lists: item 2 heads both (exposure 2 per 2 lists, 1,000 per 1,000), item 0 is
    // second in one (1 / log2(3) per 2 lists).
    let damped = exposure_damping(&exposure([vec![2, 0], vec![2]], 3), 1.0);
    let second = 500.0 / 3f32.log2();
    for (got, want) in damped.iter().zip([1.0 / (1.0 + second), 1.0, 1.0 / 1001.0]) {
        assert!((got - want).abs() < 1e-6, "{damped:?}");
    }

    let data = planted(300, 400, 4, 11);
    let split = holdout(&data, 0.2, 5, 42);
    let item_knn = ModelSpec::ItemKnn(ItemKnnParams::default());
    let hybrid = |exposure_exponent, protected_head| {
        let params = HybridParams {
            components: vec![(item_knn.clone(), 1.0)],
            popularity_exponent: 0.0,
            exposure_exponent,
            protected_head,
            head_popularity_exponent: 0.0,
        };
        measure(
            ModelSpec::Hybrid(params)
                .fit(&split.train, SideInfo::default())
                .as_ref(),
            &split,
            10,
        )
    };
    let plain = hybrid(0.0, 0);
    for (damped, how) in [
        (hybrid(0.3, 0), "exposure damping"),
        (hybrid(0.3, 3), "exposure damping below a head of 3"),
    ] {
        assert!(
            damped.coverage > plain.coverage * 1.2,
            "coverage {} with {how}, {} without",
            damped.coverage,
            plain.coverage
        );
        assert!(
            damped.ndcg > 0.5 * plain.ndcg,
            "NDCG {} with {how}, {} without",
            damped.ndcg,
            plain.ndcg
        );
    }
}

#[test]
fn a_protected_head_keeps_the_first_places_of_the_undamped_blend() {
    let data = planted(300, 400, 4, 12);
    let item_knn = ModelSpec::ItemKnn(ItemKnnParams::default());
    let hybrid = |exposure_exponent, protected_head| {
        ModelSpec::Hybrid(HybridParams {
            components: vec![(item_knn.clone(), 1.0)],
            popularity_exponent: 0.0,
            exposure_exponent,
            protected_head,
            head_popularity_exponent: 0.0,
        })
        .fit(&data, SideInfo::default())
    };
    let users: Vec<u32> = (0..data.n_users() as u32).collect();
    let lists = |model: &dyn Recommender| -> Vec<Vec<u32>> {
        recommend_all(model, &data, &users, 10)
            .into_iter()
            .map(|l| l.into_iter().map(|(i, _)| i).collect())
            .collect()
    };
    let plain = lists(hybrid(0.0, 0).as_ref());
    let headed = lists(hybrid(0.3, 4).as_ref());
    let damped = lists(hybrid(0.3, 0).as_ref());
    for (p, h) in plain.iter().zip(&headed) {
        assert_eq!(
            p[..4],
            h[..4],
            "the head is the undamped blend's first four"
        );
    }
    let distinct = |lists: &[Vec<u32>]| {
        lists
            .iter()
            .flatten()
            .collect::<std::collections::HashSet<_>>()
            .len()
    };
    assert!(
        distinct(&headed) > distinct(&plain),
        "below the head, the damping spreads the lists: {} vs {} items",
        distinct(&headed),
        distinct(&plain)
    );
    assert_ne!(headed, damped, "without a head the first places change too");
}

fn validation(ndcg: f64, ndcg_std_error: f64, coverage: f64) -> Metrics {
    Metrics {
        ndcg,
        ndcg_std_error,
        coverage,
        ..Metrics::default()
    }
}

#[test]
fn selection_prefers_coverage_among_settings_within_one_standard_error() {
    let settings = [
        validation(0.250, 0.006, 0.10),
        validation(0.246, 0.006, 0.17),
        validation(0.245, 0.006, 0.16),
        validation(0.240, 0.006, 0.40),
    ];
    let by = |ndcg_tolerance, min_coverage| {
        let options = EvalOptions {
            ndcg_tolerance,
            min_coverage,
            ..EvalOptions::default()
        };
        preferred(&settings, &options)
    };
    // 0.246 and 0.245 are within one standard error of 0.250; 0.240 is not.
    assert_eq!(by(1.0, 0.0), Some(1));
    assert_eq!(by(0.0, 0.0), Some(0), "NDCG alone");
    assert_eq!(by(2.0, 0.0), Some(3));
    // A floor first: of those reaching it, the best NDCG sets the bar.
    assert_eq!(by(0.0, 0.165), Some(1));
    assert_eq!(by(1.0, 0.5), Some(3), "none reaches the floor: the widest");
    assert_eq!(preferred(&[], &EvalOptions::default()), None);
}

#[test]
fn too_little_data_is_a_clear_error() {
    let mut b = InteractionsBuilder::new();
    b.add("u", "i", 1.0);
    let err = evaluate(&b.build(), None, &EvalOptions::default()).unwrap_err();
    assert!(matches!(err, MlError::NotEnoughData(_)), "{err:?}");
}

fn catalog_track(id: &str, artist: &str, genre: &str) -> CatalogTrack {
    CatalogTrack {
        track_id: id.into(),
        name: format!("Song {id}"),
        primary_artist: artist.into(),
        primary_genre: genre.into(),
        genres: vec![genre.into()],
        features: [0.5; 9],
    }
}

#[test]
fn lists_leave_out_heard_and_disliked_cap_artists_and_give_reasons() {
    // Items 0-5 by artist A (rock), 6-9 by B (jazz). Listeners who played 0 and 1 also
    // played 2-5; our listener played 0, 1 and 6.
    let tracks: Vec<CatalogTrack> = (0..10)
        .map(|i| {
            let (artist, genre) = if i < 6 { ("A", "rock") } else { ("B", "jazz") };
            catalog_track(&format!("t{i}"), artist, genre)
        })
        .collect();
    let mut b = InteractionsBuilder::new();
    for t in &tracks {
        b.add_item(&t.track_id);
    }
    for u in 0..5 {
        for i in 0..6 {
            b.add(&format!("fan{u}"), &format!("t{i}"), 3.0);
        }
        b.add(&format!("fan{u}"), "t7", 1.0);
    }
    for t in ["t0", "t1", "t6", "t8", "t9"] {
        b.add("me", t, 2.0);
    }
    b.add("newcomer", "t7", 1.0);
    let data = b.build();
    let me = data.user_ids().iter().position(|u| u == "me").unwrap() as u32;
    let model = ModelSpec::ItemKnn(ItemKnnParams::default()).fit(&data, SideInfo::default());
    let neighbours = ItemKnn::fit(&data, &ItemKnnParams::default());
    let policy = ListPolicy {
        size: 10,
        max_per_artist: 2,
        ..ListPolicy::default()
    };
    let maker = ListMaker::new(model.as_ref(), &data, &tracks, &neighbours, None, policy);
    let exclusions = Exclusions {
        tracks: [2u32].into(),
        ..Default::default()
    };
    let list = maker.list_for(me, &exclusions);
    let ids: Vec<&str> = list
        .iter()
        .map(|r| tracks[r.item as usize].track_id.as_str())
        .collect();
    for heard in ["t0", "t1", "t6", "t8", "t9"] {
        assert!(!ids.contains(&heard), "{heard} was heard: {ids:?}");
    }
    assert!(!ids.contains(&"t2"), "t2 was disliked: {ids:?}");
    let by_a = list
        .iter()
        .filter(|r| tracks[r.item as usize].primary_artist == "A")
        .count();
    assert_eq!(by_a, 2, "at most two by one artist: {ids:?}");
    assert!(
        list[0].reason.starts_with("because you listened to Song t"),
        "{:?}",
        list[0]
    );
    // A newcomer with one listen gets the cold-start list: popular in their genre first.
    let newcomer = data
        .user_ids()
        .iter()
        .position(|u| u == "newcomer")
        .unwrap() as u32;
    let cold = maker.list_for(newcomer, &Exclusions::default());
    assert!(!cold.is_empty());
    assert_eq!(cold[0].reason, "popular in jazz", "{cold:?}");
    assert!(cold.iter().all(|r| r.item != 7), "t7 was heard");
}
