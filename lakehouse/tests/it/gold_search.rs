//! Searching gold's catalogue.

use lakehouse::catalog::import_catalog;
use lakehouse::gold::tracks::{TrackSearch, list_genres, search_tracks};

use crate::support::{TRACKS_HEADER, TestEnv, track_row, write_csv};

async fn env_with_tracks() -> TestEnv {
    let env = TestEnv::new().await;
    let dir = tempfile::tempdir().unwrap();
    let rows = vec![
        track_row("t1", "Nora Lindqvist", "Northern Lights", "90", "pop"),
        track_row("t2", "The Velvet Harbors", "Harbor Song", "70", "rock"),
        track_row("t3", "Nora Lindqvist;DJ Orbit", "100% Pure", "80", "pop"),
        track_row("t4", "Kofi Mensah", "Rain_Dance", "60", "jazz"),
        track_row("t4", "Kofi Mensah", "Rain_Dance", "60", "pop"),
    ];
    let file = write_csv(dir.path(), "catalog.csv", TRACKS_HEADER, &rows);
    import_catalog(&env.lake, &env.pool, &[file]).await.unwrap();
    env
}

fn search(text: &str, genre: &str) -> TrackSearch {
    TrackSearch {
        text: Some(text.to_owned()),
        genre: Some(genre.to_owned()),
        limit: 10,
        offset: 0,
    }
}

fn ids(page: &lakehouse::gold::tracks::TrackSearchPage) -> Vec<&str> {
    page.items.iter().map(|t| t.track_id.as_str()).collect()
}

#[tokio::test]
async fn text_matches_name_or_artist_case_insensitively_most_popular_first() {
    let env = env_with_tracks().await;
    let by_artist = search_tracks(&env.pool, &search("nora LIND", ""))
        .await
        .unwrap();
    assert_eq!(by_artist.total, 2);
    assert_eq!(ids(&by_artist), ["t1", "t3"]);
    let by_name = search_tracks(&env.pool, &search("harbor", ""))
        .await
        .unwrap();
    assert_eq!(ids(&by_name), ["t2"]);
    let everything = search_tracks(&env.pool, &search("", "")).await.unwrap();
    assert_eq!(everything.total, 4);
    assert_eq!(ids(&everything), ["t1", "t3", "t2", "t4"]);
    env.finish().await;
}

#[tokio::test]
async fn like_wildcards_typed_by_users_match_literally() {
    let env = env_with_tracks().await;
    assert_eq!(
        ids(&search_tracks(&env.pool, &search("100%", "")).await.unwrap()),
        ["t3"]
    );
    assert_eq!(
        ids(&search_tracks(&env.pool, &search("h_rbor", ""))
            .await
            .unwrap()),
        Vec::<&str>::new()
    );
    assert_eq!(
        ids(&search_tracks(&env.pool, &search("rain_", ""))
            .await
            .unwrap()),
        ["t4"]
    );
    env.finish().await;
}

#[tokio::test]
async fn genre_filter_and_pages_combine_with_text() {
    let env = env_with_tracks().await;
    let pop = search_tracks(&env.pool, &search("", "pop")).await.unwrap();
    assert_eq!(ids(&pop), ["t1", "t3", "t4"]);
    let pop_nora = search_tracks(&env.pool, &search("nora", "pop"))
        .await
        .unwrap();
    assert_eq!(pop_nora.total, 2);
    let second_page = TrackSearch {
        limit: 2,
        offset: 2,
        ..search("", "pop")
    };
    let page = search_tracks(&env.pool, &second_page).await.unwrap();
    assert_eq!(page.total, 3, "the total counts every match, not the page");
    assert_eq!(ids(&page), ["t4"]);
    let genres = list_genres(&env.pool).await.unwrap();
    let counts: Vec<(&str, i32)> = genres
        .iter()
        .map(|g| (g.genre.as_str(), g.track_count))
        .collect();
    assert_eq!(counts, [("jazz", 1), ("pop", 3), ("rock", 1)]);
    env.finish().await;
}
