//! Importing exported listening histories, matched to the catalogue.

use lakehouse::bronze::listens::{LISTENS, REJECTED};
use lakehouse::catalog::import_catalog;
use lakehouse::ingest::{IngestWriter, WriterSettings, import_listens};
use lakehouse::lake::count_rows;

use crate::support::{TRACKS_HEADER, TestEnv, track_row, write_csv};

#[tokio::test]
async fn each_export_format_is_matched_by_id_or_name_and_unmatched_plays_are_kept() {
    let env = TestEnv::new().await;
    let dir = tempfile::tempdir().unwrap();
    let catalogue = write_csv(
        dir.path(),
        "catalog.csv",
        TRACKS_HEADER,
        &[
            track_row("id1", "Gen Hoshino", "Comedy", "70", "j-pop"),
            track_row("id2", "Guns N' Roses", "Patience", "80", "rock"),
        ],
    );
    import_catalog(&env.lake, &env.pool, &[catalogue])
        .await
        .unwrap();

    let extended = dir.path().join("Streaming_History_Audio_2024.json");
    std::fs::write(
        &extended,
        r#"[{"ts": "2024-03-01T12:03:00Z", "ms_played": 180000, "master_metadata_track_name": "Comedy",
             "master_metadata_album_artist_name": "Gen Hoshino", "spotify_track_uri": "spotify:track:id1",
             "reason_end": "trackdone", "skipped": false},
            {"ts": "2024-03-01T12:06:00Z", "ms_played": 12000, "master_metadata_track_name": "Unknown Song",
             "master_metadata_album_artist_name": "Nobody", "spotify_track_uri": "spotify:track:zzz",
             "reason_end": "fwdbtn", "skipped": true}]"#,
    )
    .unwrap();
    let basic = dir.path().join("StreamingHistory0.json");
    std::fs::write(
        &basic,
        r#"[{"endTime": "2024-03-02 20:10", "artistName": "guns n roses", "trackName": "PATIENCE", "msPlayed": 150000},
            {"endTime": "yesterday", "artistName": "A", "trackName": "T", "msPlayed": 1}]"#,
    )
    .unwrap();
    let listenbrainz = dir.path().join("listens.jsonl");
    std::fs::write(
        &listenbrainz,
        "{\"listened_at\": 1709294400, \"track_metadata\": {\"artist_name\": \"Gen Hoshino\", \"track_name\": \"Comedy\", \
\"additional_info\": {\"spotify_id\": \"https://open.spotify.com/track/id1\"}}}\n",
    )
    .unwrap();

    let writer = IngestWriter::start(env.lake.clone(), WriterSettings::default());
    let files = [extended, basic, listenbrainz];
    let reports = import_listens(&env.pool, &writer, "ana", &files)
        .await
        .unwrap();
    let summary: Vec<_> = reports
        .iter()
        .map(|r| {
            (
                r.format,
                r.by_spotify_id,
                r.by_name,
                r.unmatched,
                r.rejected,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("spotify_extended", 1, 0, 1, 0),
            ("spotify_basic", 0, 1, 0, 1),
            ("listenbrainz", 1, 0, 0, 0)
        ]
    );
    assert_eq!(
        count_rows(&env.lake, LISTENS).await.unwrap(),
        4,
        "unmatched plays are kept in bronze"
    );
    assert_eq!(count_rows(&env.lake, REJECTED).await.unwrap(), 1);

    // Importing the same files again gives the same event ids (silver keeps one of each).
    import_listens(&env.pool, &writer, "ana", &files)
        .await
        .unwrap();
    let formatted = env
        .lake_query(
            LISTENS,
            "SELECT count(DISTINCT event_id) AS n FROM bronze_listens",
        )
        .await;
    assert!(formatted.contains("| 4 "), "{formatted}");
    env.finish().await;
}
