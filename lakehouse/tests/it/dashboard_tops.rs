//! The dashboards' top lists of tracks and artists, found from each day's leaders, against
//! every entry of the range ranked in SQL: equal when the leaders decide, and when they cannot.

use chrono::NaiveDate;
use lakehouse::gold::stats::{StatsFilter, TopKind, top, top_from_leaders};
use sqlx::PgPool;

use crate::support::TestEnv;

const FIRST_DAY: &str = "2026-11-01";
const DAYS: i64 = 28;

fn range(genre: Option<&str>) -> StatsFilter {
    let from: NaiveDate = FIRST_DAY.parse().unwrap();
    StatsFilter {
        from,
        to: from + chrono::Duration::days(DAYS - 1),
        genre: genre.map(str::to_owned),
    }
}

/// Listens of a track on a day (0: the first) in a genre.
struct Plays {
    day: i32,
    track: String,
    genre: &'static str,
    listens: i64,
}

/// Fills the track and artist marts as the pipeline does: a row per day, entry and genre, and
/// each day's leaders over every genre (`gold/sql/*_day_leaders.sql`). Each track has its own
/// artist.
async fn fill_marts(pool: &PgPool, plays: &[Plays]) {
    let days: Vec<i32> = plays.iter().map(|p| p.day).collect();
    let tracks: Vec<&str> = plays.iter().map(|p| p.track.as_str()).collect();
    let genres: Vec<&str> = plays.iter().map(|p| p.genre).collect();
    let listens: Vec<i64> = plays.iter().map(|p| p.listens).collect();
    let statements = [
        "INSERT INTO track_daily (day, track_id, genre, listens, skips)
         SELECT $1::date + day, track, genre, sum(listens), 0
         FROM unnest($2::int[], $3::text[], $4::text[], $5::bigint[])
             AS p (day, track, genre, listens)
         GROUP BY day, track, genre",
        "INSERT INTO artist_daily (day, artist, genre, listens)
         SELECT day, 'artist of ' || track_id, genre, listens FROM track_daily",
        "INSERT INTO track_day_leaders
         SELECT day, place, track_id, listens, tracks_that_day
         FROM (
             SELECT day, track_id, listens,
                 row_number() OVER (PARTITION BY day ORDER BY listens DESC, track_id) AS place,
                 count(*) OVER (PARTITION BY day) AS tracks_that_day
             FROM (SELECT day, track_id, sum(listens) AS listens
                   FROM track_daily GROUP BY day, track_id) AS per_day
         ) AS ranked
         WHERE place <= 2000",
        "INSERT INTO artist_day_leaders
         SELECT day, place, 'artist of ' || track_id, listens, tracks_that_day
         FROM track_day_leaders",
    ];
    for (n, sql) in statements.into_iter().enumerate() {
        let query = sqlx::query(sql);
        let query = if n == 0 {
            query
                .bind(FIRST_DAY)
                .bind(&days)
                .bind(&tracks)
                .bind(&genres)
                .bind(&listens)
        } else {
            query
        };
        query.execute(pool).await.unwrap();
    }
}

/// The top list ranked over every entry, straight from the mart.
async fn every_entry_ranked(
    pool: &PgPool,
    kind: TopKind,
    filter: &StatsFilter,
    limit: i64,
) -> Vec<(String, i64)> {
    let (table, key) = match kind {
        TopKind::Track => ("track_daily", "track_id"),
        TopKind::Artist => ("artist_daily", "artist"),
        TopKind::Genre => unreachable!("genres are always ranked in full"),
    };
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {key}, sum(listens)::bigint FROM {table}
         WHERE day BETWEEN $1 AND $2 AND ($3::text IS NULL OR genre = $3)
         GROUP BY {key} ORDER BY 2 DESC, 1 LIMIT $4"
    )))
    .bind(filter.from)
    .bind(filter.to)
    .bind(filter.genre.as_deref())
    .bind(limit)
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn assert_tops_match(pool: &PgPool, filter: &StatsFilter, limit: i64) {
    for kind in [TopKind::Track, TopKind::Artist] {
        let shown: Vec<(String, i64)> = top(pool, filter, kind, limit)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.id, e.listens))
            .collect();
        let expected = every_entry_ranked(pool, kind, filter, limit).await;
        assert!(!expected.is_empty(), "{kind:?}: the mart holds no listens");
        assert_eq!(shown, expected, "{kind:?} top {limit} of {filter:?}");
    }
}

#[tokio::test]
async fn a_skewed_history_gives_the_exact_top_lists_for_every_genre_and_one() {
    let env = TestEnv::new().await;
    // 300 tracks in three genres, popularity falling with rank, varying from day to day.
    let mut plays = Vec::new();
    for day in 0..DAYS {
        for rank in 1..=300i64 {
            plays.push(Plays {
                day: day as i32,
                track: format!("t{rank:03}"),
                genre: ["pop", "rock", "jazz"][(rank % 3) as usize],
                listens: 5000 / rank + (day * 7 + rank * 13) % 11,
            });
        }
    }
    fill_marts(&env.pool, &plays).await;
    for limit in [1, 10, 25] {
        for kind in [TopKind::Track, TopKind::Artist] {
            let decided = top_from_leaders(&env.pool, &range(None), kind, limit)
                .await
                .unwrap();
            assert!(decided.is_some(), "the leaders decide {kind:?} top {limit}");
        }
        assert_tops_match(&env.pool, &range(None), limit).await;
        assert_tops_match(&env.pool, &range(Some("rock")), limit).await;
    }
    env.finish().await;
}

#[tokio::test]
async fn an_entry_that_never_leads_a_day_can_still_top_the_range() {
    let env = TestEnv::new().await;
    // Each day, 40 tracks heard once in a burst of 10 listens lead the day; one steady track
    // has 9 every day, never a leader, and the most listens over the range.
    let mut plays = Vec::new();
    for day in 0..DAYS as i32 {
        for burst in 0..40 {
            plays.push(Plays {
                day,
                track: format!("burst-{day}-{burst}"),
                genre: "pop",
                listens: 10,
            });
        }
        plays.push(Plays {
            day,
            track: "steady".to_owned(),
            genre: "pop",
            listens: 9,
        });
    }
    fill_marts(&env.pool, &plays).await;
    let decided = top_from_leaders(&env.pool, &range(None), TopKind::Track, 1)
        .await
        .unwrap();
    assert_eq!(decided, None, "the leaders cannot decide it");
    let shown = top(&env.pool, &range(None), TopKind::Track, 1)
        .await
        .unwrap();
    assert_eq!(shown.len(), 1);
    assert_eq!(
        (shown[0].id.as_str(), shown[0].listens),
        ("steady", 9 * DAYS)
    );
    assert_tops_match(&env.pool, &range(None), 1).await;
    assert_tops_match(&env.pool, &range(Some("pop")), 2).await;
    env.finish().await;
}

#[tokio::test]
async fn a_track_listened_in_two_genres_counts_all_its_listens() {
    let env = TestEnv::new().await;
    // Each day, 30 tracks have 10 listens; one track has 6 enriched with each of two genres
    // (its genre changed in the catalogue): 12 that day, the most of every track.
    let mut plays = Vec::new();
    for day in 0..DAYS as i32 {
        for n in 0..30 {
            plays.push(Plays {
                day,
                track: format!("single-{n}"),
                genre: "pop",
                listens: 10,
            });
        }
        for genre in ["pop", "rock"] {
            plays.push(Plays {
                day,
                track: "two-genres".to_owned(),
                genre,
                listens: 6,
            });
        }
    }
    fill_marts(&env.pool, &plays).await;
    let decided = top_from_leaders(&env.pool, &range(None), TopKind::Track, 1)
        .await
        .unwrap()
        .expect("the leaders decide");
    assert_eq!(
        (decided[0].id.as_str(), decided[0].listens),
        ("two-genres", 12 * DAYS)
    );
    assert_tops_match(&env.pool, &range(None), 5).await;
    assert_tops_match(&env.pool, &range(Some("rock")), 5).await;
    env.finish().await;
}
