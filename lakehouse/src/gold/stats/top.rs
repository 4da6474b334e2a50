//! The dashboards' top lists: the most listened tracks, artists or genres of a date range and
//! genre. Over every genre, tracks and artists are many, so their lists are first looked for
//! among each day's leaders, which gold keeps (`track_day_leaders`, `artist_day_leaders`);
//! every track (artist) of the range is ranked only when the leaders cannot decide the list
//! (see `top_tracks_from_leaders.sql`). One genre's are few enough to rank in full.
//!
//! The queries are checked at compile time (`query_file_as!`): their output names are the
//! rows' fields with the macros' nullability overrides (`"listens!"`), so an ORDER BY names
//! them quoted.

use sqlx::PgPool;

use super::StatsFilter;
use crate::error::Result;

/// One entry of a top list.
#[derive(Debug, Clone, PartialEq)]
pub struct TopEntry {
    /// The track id, the artist or the genre.
    pub id: String,
    /// What people read: the track's name, else the id.
    pub name: String,
    /// A track's artists, joined.
    pub detail: Option<String>,
    pub listens: i64,
}

/// What a top list ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopKind {
    Track,
    Artist,
    Genre,
}

impl TopKind {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "track" => Some(TopKind::Track),
            "artist" => Some(TopKind::Artist),
            "genre" => Some(TopKind::Genre),
            _ => None,
        }
    }
}

/// Each day's leaders looked at per place of the list: the more, the likelier they decide.
const LEADERS_PER_PLACE: i64 = 20;
/// The leaders gold keeps per day (`track_day_leaders.sql`, `artist_day_leaders.sql`).
const LEADERS_KEPT: i64 = 2_000;

/// The `limit` most listened tracks, artists or genres of the range (ties to the smaller id).
pub async fn top(
    pool: &PgPool,
    filter: &StatsFilter,
    kind: TopKind,
    limit: i64,
) -> Result<Vec<TopEntry>> {
    match top_from_leaders(pool, filter, kind, limit).await? {
        Some(list) => Ok(list),
        None => top_ranked_in_full(pool, filter, kind, limit).await,
    }
}

/// The top list found among each day's leaders, or `None` when they cannot decide it, and
/// for one genre's list or a list of genres, which are ranked in full.
pub async fn top_from_leaders(
    pool: &PgPool,
    filter: &StatsFilter,
    kind: TopKind,
    limit: i64,
) -> Result<Option<Vec<TopEntry>>> {
    let leaders = limit.saturating_mul(LEADERS_PER_PLACE).min(LEADERS_KEPT);
    // As in `top_ranked_in_full`: the macro needs the file's name as a literal.
    macro_rules! leading {
        ($file:literal) => {
            sqlx::query_file_as!(LeadersRow, $file, filter.from, filter.to, limit, leaders)
                .fetch_all(pool)
                .await?
        };
    }
    let rows = match (kind, &filter.genre) {
        (TopKind::Track, None) => leading!("src/gold/stats/top_tracks_from_leaders.sql"),
        (TopKind::Artist, None) => leading!("src/gold/stats/top_artists_from_leaders.sql"),
        _ => return Ok(None),
    };
    let listens: Vec<i64> = rows.iter().map(|row| row.listens).collect();
    let most_for_others = rows.first().map_or(0, |row| row.most_for_others);
    if !leaders_decide(&listens, most_for_others, limit) {
        return Ok(None);
    }
    Ok(Some(
        rows.into_iter()
            .map(|row| TopEntry {
                id: row.id,
                name: row.name,
                detail: row.detail,
                listens: row.listens,
            })
            .collect(),
    ))
}

/// A row of `top_*_from_leaders.sql`: an entry, and the most listens any entry outside the
/// days' leaders can have in the range.
struct LeadersRow {
    id: String,
    name: String,
    detail: Option<String>,
    listens: i64,
    most_for_others: i64,
}

/// Whether the list found among the days' leaders (`listens`, most first) is the exact top
/// list, given that no other entry has more than `most_for_others` listens in the range: no
/// other entry had a listen at all, or the list is full and its last entry has more.
fn leaders_decide(listens: &[i64], most_for_others: i64, limit: i64) -> bool {
    most_for_others == 0
        || (listens.len() as i64 == limit && listens.last().is_some_and(|&l| l > most_for_others))
}

/// The same list as [`top`], found by ranking every track, artist or genre of the range.
pub async fn top_ranked_in_full(
    pool: &PgPool,
    filter: &StatsFilter,
    kind: TopKind,
    limit: i64,
) -> Result<Vec<TopEntry>> {
    // One compile-time-checked query per file; the macro needs the file's name as a literal.
    macro_rules! ranked {
        ($file:literal, $($arg:expr),+) => {
            sqlx::query_file_as!(TopEntry, $file, filter.from, filter.to, $($arg),+)
                .fetch_all(pool)
                .await?
        };
    }
    Ok(match (kind, filter.genre.as_deref()) {
        (TopKind::Track, None) => ranked!("src/gold/stats/top_tracks.sql", limit),
        (TopKind::Artist, None) => ranked!("src/gold/stats/top_artists.sql", limit),
        (TopKind::Genre, None) => ranked!("src/gold/stats/top_genres.sql", limit),
        (TopKind::Track, Some(genre)) => {
            ranked!("src/gold/stats/top_tracks_of_genre.sql", genre, limit)
        }
        (TopKind::Artist, Some(genre)) => {
            ranked!("src/gold/stats/top_artists_of_genre.sql", genre, limit)
        }
        (TopKind::Genre, Some(genre)) => {
            ranked!("src/gold/stats/top_genres_of_genre.sql", genre, limit)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::leaders_decide;

    #[test]
    fn leaders_decide_when_no_other_entry_was_listened() {
        assert!(leaders_decide(&[], 0, 10));
        assert!(leaders_decide(&[5, 3], 0, 10));
    }

    #[test]
    fn leaders_decide_when_the_full_list_ends_above_every_other_entry() {
        assert!(leaders_decide(&[90, 40, 21], 20, 3));
    }

    #[test]
    fn leaders_do_not_decide_a_tie_or_a_short_list() {
        assert!(!leaders_decide(&[90, 40, 20], 20, 3));
        assert!(!leaders_decide(&[90, 40, 19], 20, 3));
        assert!(!leaders_decide(&[90, 40], 20, 3));
    }
}
