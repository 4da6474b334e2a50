//! Tests on the real data beside the checkout (`../shared/data/raw/`, see `SOURCES.md` there).
//! `./dev.sh test` skips this module, saying so, where the data is missing, except under CI.
//!
//! The Spotify Tracks Dataset (114,000 rows in 114 genre files) through every layer: figures
//! checked by hand against the files: 114,000 rows; 89,741 distinct track ids; one row
//! (k-pop.csv, track 1kR4gIb7nGxHPI3D2ifs59) with empty artists, album and name, so 89,740
//! tracks reach silver and gold; 114 genres; 113,549 distinct (track, genre) pairs.

use std::collections::BTreeMap;

use lakehouse::catalog::import_catalog;
use lakehouse::demo::genre_profiles::{self, STATS};
use lakehouse::gold::tracks::get_track;

use crate::support::{TestEnv, spotify_114k};

#[tokio::test]
async fn the_real_catalogue_lands_in_every_layer_and_a_second_import_changes_nothing() {
    let env = TestEnv::new().await;
    let path = spotify_114k();

    let first = import_catalog(&env.lake, &env.pool, std::slice::from_ref(&path))
        .await
        .unwrap();
    assert_eq!(first.files.len(), 114);
    assert!(first.files.iter().all(|f| f.new && f.rows == 1_000));
    assert_eq!(first.bronze_rows, 114_000);
    let silver = first.layers.silver.clone().expect("silver was built");
    assert!(silver.rebuilt);
    assert_eq!(silver.tracks, 89_740);
    assert_eq!(silver.quarantined, 1);
    assert_eq!(
        silver.reasons,
        BTreeMap::from([("missing track name".to_owned(), 1)])
    );
    assert_eq!(first.layers.gold_tracks, Some(89_740));
    assert_eq!(env.scalar("SELECT count(*) FROM tracks").await, 89_740);
    assert_eq!(env.scalar("SELECT count(*) FROM genres").await, 114);
    // Distinct (track, genre) pairs among the valid rows: some files list a track twice.
    assert_eq!(
        env.scalar("SELECT sum(track_count)::bigint FROM genres")
            .await,
        113_549
    );

    // A track listed under four genres keeps all four.
    let comedy = get_track(&env.pool, "5SuOikwiRyPMVoIQDJUgSV")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(comedy.name, "Comedy");
    assert_eq!(comedy.artists, ["Gen Hoshino"]);
    assert_eq!(
        comedy.genres,
        ["acoustic", "j-pop", "singer-songwriter", "songwriter"]
    );
    assert!((comedy.instrumentalness - 1.01e-06).abs() < 1e-12);
    // Copies that disagree: alt-rock.csv says popularity 55, world-music.csv 54; the most
    // popular copy of one import wins.
    let disagreeing = get_track(&env.pool, "5d9RSSwDvlTyuwfmeafUah")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(disagreeing.popularity, 55);
    assert_eq!(disagreeing.genres, ["alt-rock", "world-music"]);
    // The quarantined row is not served.
    assert!(
        get_track(&env.pool, "1kR4gIb7nGxHPI3D2ifs59")
            .await
            .unwrap()
            .is_none()
    );

    let bronze_version = first.bronze_version;
    let second = import_catalog(&env.lake, &env.pool, &[path]).await.unwrap();
    assert!(
        second.files.iter().all(|f| !f.new),
        "every file is recognised by its content"
    );
    assert_eq!(second.bronze_rows, 0);
    assert_eq!(second.bronze_version, None);
    let silver_again = second.layers.silver.expect("silver exists");
    assert!(
        !silver_again.rebuilt,
        "silver is not rebuilt from unchanged bronze"
    );
    assert_eq!(silver_again.tracks_version, silver.tracks_version);
    assert_eq!(second.layers.gold_tracks, None, "gold is not reloaded");
    let bronze = env
        .lake
        .existing_table(lakehouse::bronze::tracks::TABLE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bronze.version().map(|v| v as i64), bronze_version);
    assert_eq!(env.scalar("SELECT count(*) FROM tracks").await, 89_740);

    env.finish().await;
}

/// HetRec 2011 Last.fm 2K beside the checkout, read as any user–item–weight file is.
#[test]
fn hetrec_reads_as_a_user_item_weight_table() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/raw/hetrec2011-lastfm-2k/user_artists.dat");
    let data = lakehouse::ml::interactions::Interactions::read_delimited(&path)
        .unwrap_or_else(|e| panic!("HetRec at {}: {e}", path.display()));
    // The counts of the dataset's readme.
    assert_eq!(data.n_users(), 1_892);
    assert_eq!(data.n_items(), 17_632);
    assert_eq!(data.nnz(), 92_834);
    let split = lakehouse::ml::split::holdout(&data, 0.2, 5, 42);
    let held: usize = split.test.iter().map(|(_, items)| items.len()).sum();
    assert_eq!(held + split.train.nnz(), 92_834);
    assert!(
        split.test.len() > 1_850,
        "{} listeners evaluated",
        split.test.len()
    );
}

/// The demo's genre profiles are what `soundlake demo genre-profiles` computes from the dataset:
/// written out, the same file, but for a value whose rounding falls the other way by one unit
/// of its last decimal (the sums are added in another order).
#[tokio::test]
async fn the_demo_genre_profiles_are_computed_from_the_dataset() {
    let computed = genre_profiles::compute(&spotify_114k()).await.unwrap();
    let written = genre_profiles::to_csv(&computed);
    let embedded = genre_profiles::to_csv(genre_profiles::genre_profiles());
    let (written, embedded): (Vec<&str>, Vec<&str>) =
        (written.lines().collect(), embedded.lines().collect());
    assert_eq!(written.len(), 115, "a header and 114 genres");
    assert_eq!(written.len(), embedded.len());
    assert_eq!(written[0], embedded[0]);
    let mut exact = 0;
    for (line, expected) in written.iter().zip(&embedded).skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let expected: Vec<&str> = expected.split(',').collect();
        assert_eq!(fields[0], expected[0], "genres in the same order");
        for (column, (got, want)) in fields.iter().zip(&expected).enumerate().skip(1) {
            let decimals = STATS.get((column - 1) / 4).map_or(3, |(_, d)| *d);
            let unit = 10f64.powi(-(decimals as i32));
            let (g, w): (f64, f64) = (got.parse().unwrap(), want.parse().unwrap());
            assert!(
                (g - w).abs() <= unit * 1.01,
                "{} column {column}: computed {got}, kept {want}",
                fields[0]
            );
            exact += usize::from(got == want);
        }
    }
    assert!(
        exact >= 6_700,
        "{exact} of 6,726 values written exactly as kept"
    );
}
