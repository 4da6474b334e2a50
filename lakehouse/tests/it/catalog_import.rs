//! Importing small catalogue files: validation, quarantine, batches, the dedupe rule, both
//! schemas, and refusing unknown files.

use std::collections::BTreeMap;

use lakehouse::LakehouseError;
use lakehouse::catalog::import_catalog;
use lakehouse::gold::tracks::get_track;

use crate::support::{TRACKS_HEADER, TestEnv, track_row, write_csv};

#[tokio::test]
async fn bad_rows_are_quarantined_with_their_reason_and_the_raw_row() {
    let env = TestEnv::new().await;
    let dir = tempfile::tempdir().unwrap();
    let rows = vec![
        track_row("good1", "Ana Rivera;Leo Sato", "Fine Song", "50", "pop"),
        track_row("", "Nobody", "No Id", "50", "pop"),
        track_row("bad_pop", "A", "Popular?", "abc", "pop"),
        track_row("bad_range", "A", "Too popular", "101", "pop"),
        track_row("bad_energy", "A", "Energetic", "50", "pop").replace(",0.6,5,", ",1.5,5,"),
        ",,,,,,,,,,,,,,,,,,,".to_owned(),
    ];
    let file = write_csv(dir.path(), "mixed.csv", TRACKS_HEADER, &rows);

    let report = import_catalog(&env.lake, &env.pool, &[file]).await.unwrap();
    assert_eq!(report.bronze_rows, 6, "bronze keeps every row");
    let silver = report.layers.silver.unwrap();
    assert_eq!(silver.tracks, 1);
    assert_eq!(silver.quarantined, 5);
    assert_eq!(
        silver.reasons,
        BTreeMap::from([
            ("missing track_id".to_owned(), 2),
            (
                "popularity is not a whole number from 0 to 100".to_owned(),
                2
            ),
            ("energy is not a number from 0 to 1".to_owned(), 1),
        ])
    );

    // The quarantine table holds the raw text as it arrived, with file and line.
    let formatted = env
        .lake_query(
            lakehouse::silver::tracks::QUARANTINE,
            "SELECT popularity, line_number FROM silver_tracks_quarantine WHERE track_id = 'bad_pop'",
        )
        .await;
    assert!(
        formatted.contains("abc") && formatted.contains("| 4 "),
        "{formatted}"
    );

    let good = get_track(&env.pool, "good1").await.unwrap().unwrap();
    assert_eq!(good.artists, ["Ana Rivera", "Leo Sato"]);
    assert_eq!(good.genres, ["pop"]);
    assert_eq!(good.time_signature, Some(4));
    env.finish().await;
}

#[tokio::test]
async fn a_changed_file_is_a_new_batch_and_the_newest_import_wins() {
    let env = TestEnv::new().await;
    let dir = tempfile::tempdir().unwrap();
    let write = |popularity: &str, genre: &str| {
        write_csv(
            dir.path(),
            "tracks.csv",
            TRACKS_HEADER,
            &[track_row("t1", "A", "Song", popularity, genre)],
        )
    };
    let file = write("10", "pop");
    let first = import_catalog(&env.lake, &env.pool, std::slice::from_ref(&file))
        .await
        .unwrap();
    assert_eq!(first.bronze_version, Some(0));

    write("20", "rock");
    let second = import_catalog(&env.lake, &env.pool, std::slice::from_ref(&file))
        .await
        .unwrap();
    assert!(second.files[0].new, "changed content is a new batch");
    assert_eq!(second.bronze_version, Some(1));
    let track = get_track(&env.pool, "t1").await.unwrap().unwrap();
    assert_eq!(track.popularity, 20, "the copy from the newest import wins");
    assert_eq!(track.genres, ["pop", "rock"], "genres gather every copy");

    write("10", "pop");
    let third = import_catalog(&env.lake, &env.pool, &[file]).await.unwrap();
    assert!(!third.files[0].new, "content seen before is recognised");
    assert_eq!(
        get_track(&env.pool, "t1")
            .await
            .unwrap()
            .unwrap()
            .popularity,
        20
    );
    env.finish().await;
}

#[tokio::test]
async fn a_file_with_an_unknown_header_fails_the_import_and_nothing_is_written() {
    let env = TestEnv::new().await;
    let dir = tempfile::tempdir().unwrap();
    write_csv(
        dir.path(),
        "a_good.csv",
        TRACKS_HEADER,
        &[track_row("t1", "A", "Song", "10", "pop")],
    );
    write_csv(
        dir.path(),
        "b_plays.csv",
        "user,artist,plays",
        &["1,2,3".to_owned()],
    );

    let error = import_catalog(&env.lake, &env.pool, &[dir.path().to_path_buf()])
        .await
        .unwrap_err();
    assert!(
        matches!(error, LakehouseError::UnknownCatalogHeader { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("b_plays.csv"), "{error}");
    assert!(
        env.lake
            .existing_table(lakehouse::bronze::tracks::TABLE)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(env.scalar("SELECT count(*) FROM tracks").await, 0);
    env.finish().await;
}

#[tokio::test]
async fn the_160k_data_csv_schema_is_imported_with_its_python_list_artists() {
    let env = TestEnv::new().await;
    let dir = tempfile::tempdir().unwrap();
    let header = "valence,year,acousticness,artists,danceability,duration_ms,energy,explicit,id,\
instrumentalness,key,liveness,loudness,mode,name,popularity,release_date,speechiness,tempo";
    let rows = [
        "0.0594,1921,0.982,\"['Sergei Rachmaninoff', 'James Levine', \"\"Guns N' Roses\"\"]\",0.279,831667,0.211,0,\
4BJqT0PrAfrxzMOxytFOIz,0.878,10,0.665,-20.096,1,Piano Concerto No. 3,4,1921,0.0366,80.954"
            .to_owned(),
    ];
    let file = write_csv(dir.path(), "data.csv", header, &rows);
    import_catalog(&env.lake, &env.pool, &[file]).await.unwrap();
    let track = get_track(&env.pool, "4BJqT0PrAfrxzMOxytFOIz")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        track.artists,
        ["Sergei Rachmaninoff", "James Levine", "Guns N' Roses"]
    );
    assert_eq!(track.release_year, Some(1921));
    assert_eq!(track.time_signature, None);
    assert!(track.genres.is_empty());
    assert!(!track.explicit);
    env.finish().await;
}

#[tokio::test]
async fn an_emptied_gold_is_reloaded_from_silver_without_touching_the_lake() {
    let env = TestEnv::new().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write_csv(
        dir.path(),
        "t.csv",
        TRACKS_HEADER,
        &[track_row("t1", "A", "Song", "10", "pop")],
    );
    import_catalog(&env.lake, &env.pool, &[file]).await.unwrap();
    sqlx::query("DELETE FROM lake_loads")
        .execute(&env.pool)
        .await
        .unwrap();
    sqlx::query("TRUNCATE tracks, genres")
        .execute(&env.pool)
        .await
        .unwrap();

    let refreshed = lakehouse::catalog::refresh_catalog(&env.lake, &env.pool)
        .await
        .unwrap();
    assert!(!refreshed.silver.unwrap().rebuilt);
    assert_eq!(refreshed.gold_tracks, Some(1));
    assert_eq!(env.scalar("SELECT count(*) FROM tracks").await, 1);
    env.finish().await;
}

#[tokio::test]
async fn readers_keep_reading_the_previous_catalogue_while_a_new_one_is_loaded() {
    let env = TestEnv::new().await;
    crate::support::demo_catalogue(&env, 20_000).await;
    let tracks: i64 = sqlx::query_scalar("SELECT count(*) FROM tracks")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    let silver = lakehouse::silver::tracks::TABLE;
    let delta = env.lake.existing_table(silver).await.unwrap().unwrap();
    let batches = env
        .lake
        .query_table(
            silver,
            &delta,
            &format!("SELECT * FROM {}", silver.sql_name()),
        )
        .await
        .unwrap();

    let loading = {
        let pool = env.pool.clone();
        tokio::spawn(async move {
            lakehouse::gold::tracks_load::load_tracks(&pool, &batches, "silver/tracks", 1).await
        })
    };
    // A reader that gives up after 500 ms of waiting for a lock; before the swap, a load
    // locked the catalogue for its whole duration. A read counts as made during the load when
    // the load's transaction is at work on the next catalogue.
    let (mut reads, mut during_load) = (0, 0);
    loop {
        let finished = loading.is_finished();
        let loading_now: bool = sqlx::query_scalar(
            "SELECT count(*) > 0 FROM pg_stat_activity
             WHERE pid <> pg_backend_pid() AND datname = current_database()
               AND state = 'active' AND query ILIKE '%tracks_next%'",
        )
        .fetch_one(&env.pool)
        .await
        .unwrap();
        let mut tx = env.pool.begin().await.unwrap();
        sqlx::query("SET LOCAL lock_timeout = '500ms'")
            .execute(&mut *tx)
            .await
            .unwrap();
        let (count, genres): (i64, i64) =
            sqlx::query_as("SELECT (SELECT count(*) FROM tracks), (SELECT count(*) FROM genres)")
                .fetch_one(&mut *tx)
                .await
                .unwrap_or_else(|e| panic!("read {reads} waited for the load: {e}"));
        tx.commit().await.unwrap();
        assert_eq!(count, tracks, "a reader sees a whole catalogue");
        assert!(genres > 0);
        reads += 1;
        if finished {
            break;
        }
        during_load += usize::from(loading_now);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(loading.await.unwrap().unwrap(), tracks as u64);
    assert!(during_load > 0, "the catalogue was read while it loaded");
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes WHERE tablename = 'tracks' ORDER BY 1",
    )
    .fetch_all(&env.pool)
    .await
    .unwrap();
    assert_eq!(
        indexes,
        [
            "tracks_genres",
            "tracks_pkey",
            "tracks_popularity",
            "tracks_search_text_trgm"
        ]
    );
    assert!(
        get_track(&env.pool, "no such track")
            .await
            .unwrap()
            .is_none()
    );
    env.finish().await;
}
