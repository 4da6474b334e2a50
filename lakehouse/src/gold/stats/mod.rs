//! The business dashboards' queries over the gold marts: listening per day, the top tracks,
//! artists and genres, the genre mix, the hour × weekday heatmap and the cohort table, each
//! for a date range and, optionally, one genre.

use chrono::NaiveDate;
use sqlx::PgPool;

use crate::error::Result;

mod top;

pub use top::{TopEntry, TopKind, top, top_from_leaders, top_ranked_in_full};

/// What the dashboards show: the days `from` to `to` (inclusive), every genre or one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsFilter {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub genre: Option<String>,
}

/// The first and last day with listens in gold, if any.
pub async fn listening_days(pool: &PgPool) -> Result<Option<(NaiveDate, NaiveDate)>> {
    let row =
        sqlx::query!(r#"SELECT min(day) AS "first?", max(day) AS "last?" FROM daily_activity"#)
            .fetch_one(pool)
            .await?;
    Ok(row.first.zip(row.last))
}

/// Listening on one day.
#[derive(Debug, Clone, PartialEq)]
pub struct DayActivity {
    pub day: NaiveDate,
    pub listens: i64,
    pub listeners: i64,
    pub skip_rate: f64,
    pub hours_played: f64,
}

/// Listens, listeners, skip rate and hours per day (of the genre, with one).
pub async fn daily_activity(pool: &PgPool, filter: &StatsFilter) -> Result<Vec<DayActivity>> {
    let rows = match &filter.genre {
        None => {
            sqlx::query_as!(
                DayActivity,
                "SELECT day, listens, listeners, skip_rate, hours_played
                 FROM daily_activity
                 WHERE day BETWEEN $1 AND $2
                 ORDER BY day",
                filter.from,
                filter.to,
            )
            .fetch_all(pool)
            .await?
        }
        Some(genre) => {
            sqlx::query_as!(
                DayActivity,
                r#"SELECT day, listens, listeners,
                          skips::float8 / greatest(listens, 1) AS "skip_rate!", hours_played
                   FROM genre_daily
                   WHERE genre = $3 AND day BETWEEN $1 AND $2
                   ORDER BY day"#,
                filter.from,
                filter.to,
                genre,
            )
            .fetch_all(pool)
            .await?
        }
    };
    Ok(rows)
}

/// Listens of one genre on one day.
#[derive(Debug, Clone, PartialEq)]
pub struct GenreDay {
    pub day: NaiveDate,
    pub genre: String,
    pub listens: i64,
}

/// Listens per day of the range's `genres` most listened genres (just the filter's genre, with
/// one), the rest summed as `other`.
pub async fn genre_mix(pool: &PgPool, filter: &StatsFilter, genres: i64) -> Result<Vec<GenreDay>> {
    // The output names carry the macro's `!`, so GROUP BY and ORDER BY name them quoted.
    Ok(sqlx::query_as!(
        GenreDay,
        r#"WITH shown AS (
               SELECT genre
               FROM genre_daily
               WHERE day BETWEEN $1 AND $2 AND ($3::text IS NULL OR genre = $3)
               GROUP BY genre
               ORDER BY sum(listens) DESC, genre
               LIMIT $4
           )
           SELECT g.day AS "day!", coalesce(s.genre, 'other') AS "genre!",
                  sum(g.listens)::bigint AS "listens!"
           FROM genre_daily AS g
           LEFT JOIN shown AS s USING (genre)
           WHERE g.day BETWEEN $1 AND $2 AND ($3::text IS NULL OR g.genre = $3)
           GROUP BY 1, 2
           ORDER BY 1, 2"#,
        filter.from,
        filter.to,
        filter.genre.as_deref(),
        genres,
    )
    .fetch_all(pool)
    .await?)
}

/// Listens in one hour of one weekday (0 = Sunday), UTC, summed over the range.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatCell {
    pub weekday: i16,
    pub hour: i16,
    pub listens: i64,
}

/// The hour × weekday heatmap of the range.
pub async fn heatmap(pool: &PgPool, filter: &StatsFilter) -> Result<Vec<HeatCell>> {
    let rows = match &filter.genre {
        None => {
            sqlx::query_as!(
                HeatCell,
                r#"SELECT extract(dow FROM day)::smallint AS "weekday!", hour,
                          sum(listens)::bigint AS "listens!"
                   FROM hourly_activity
                   WHERE day BETWEEN $1 AND $2
                   GROUP BY 1, 2
                   ORDER BY 1, 2"#,
                filter.from,
                filter.to,
            )
            .fetch_all(pool)
            .await?
        }
        Some(genre) => {
            sqlx::query_as!(
                HeatCell,
                r#"SELECT extract(dow FROM day)::smallint AS "weekday!", hour,
                          sum(listens)::bigint AS "listens!"
                   FROM genre_hourly_activity
                   WHERE genre = $3 AND day BETWEEN $1 AND $2
                   GROUP BY 1, 2
                   ORDER BY 1, 2"#,
                filter.from,
                filter.to,
                genre,
            )
            .fetch_all(pool)
            .await?
        }
    };
    Ok(rows)
}

/// How many of a week's new listeners listened `weeks_after` weeks later (0: the cohort's
/// size).
#[derive(Debug, Clone, PartialEq)]
pub struct CohortCell {
    pub cohort_week: NaiveDate,
    pub weeks_after: i32,
    pub listeners: i64,
}

/// The cohorts whose first week falls in the range, with every week after it that gold holds.
pub async fn cohorts(pool: &PgPool, filter: &StatsFilter) -> Result<Vec<CohortCell>> {
    Ok(sqlx::query_as!(
        CohortCell,
        "SELECT cohort_week, weeks_after, listeners
         FROM cohort_retention
         WHERE genre = coalesce($3::text, '')
           AND cohort_week BETWEEN date_trunc('week', $1::date)::date AND $2
         ORDER BY cohort_week, weeks_after",
        filter.from,
        filter.to,
        filter.genre.as_deref(),
    )
    .fetch_all(pool)
    .await?)
}

/// New and returning listeners of one week (Monday, UTC).
#[derive(Debug, Clone, PartialEq)]
pub struct WeekListeners {
    pub week: NaiveDate,
    pub new: i64,
    pub returning: i64,
}

/// New and returning listeners per week of the range, from the cohort table: a week's new
/// listeners are its cohort's size, its returning ones the earlier cohorts' listeners in it.
pub async fn weekly_listeners(pool: &PgPool, filter: &StatsFilter) -> Result<Vec<WeekListeners>> {
    Ok(sqlx::query_as!(
        WeekListeners,
        r#"SELECT (cohort_week + 7 * weeks_after) AS "week!",
                  coalesce(sum(listeners) FILTER (WHERE weeks_after = 0), 0)::bigint AS "new!",
                  coalesce(sum(listeners) FILTER (WHERE weeks_after > 0), 0)::bigint
                      AS "returning!"
           FROM cohort_retention
           WHERE genre = coalesce($3::text, '')
             AND cohort_week + 7 * weeks_after BETWEEN date_trunc('week', $1::date)::date AND $2
           GROUP BY 1
           ORDER BY 1"#,
        filter.from,
        filter.to,
        filter.genre.as_deref(),
    )
    .fetch_all(pool)
    .await?)
}
