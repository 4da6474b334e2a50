//! The business dashboards over the gold marts: their filter, what they show, and the server
//! function that reads it.

pub mod charts;

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

/// The longest range the dashboards show, in days.
pub const MAX_RANGE_DAYS: i64 = 366;
/// The range shown when none is asked for: the last four weeks with listens.
pub const DEFAULT_RANGE_DAYS: i64 = 28;
/// Entries per top list.
pub const TOP_ENTRIES: i64 = 10;
/// Genres drawn on their own in the genre mix; the rest are `other`.
pub const MIX_GENRES: i64 = 8;

/// The filter every chart and table follows (dates as `YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardFilter {
    pub from: String,
    pub to: String,
    /// One genre, or every genre.
    pub genre: Option<String>,
}

/// Listening on one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DayPoint {
    pub day: String,
    pub listens: i64,
    pub listeners: i64,
    pub skip_rate: f64,
    pub hours_played: f64,
}

/// One entry of a top list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TopEntry {
    pub id: String,
    pub name: String,
    pub detail: Option<String>,
    pub listens: i64,
}

/// Listens of one genre (or `other`) on one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GenreDay {
    pub day: String,
    pub genre: String,
    pub listens: i64,
}

/// Listens in one hour of one weekday (0 = Sunday), UTC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HeatCell {
    pub weekday: i16,
    pub hour: i16,
    pub listens: i64,
}

/// How many of a week's new listeners listened `weeks_after` weeks later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CohortCell {
    pub cohort_week: String,
    pub weeks_after: i32,
    pub listeners: i64,
}

/// New and returning listeners of one week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WeekListeners {
    pub week: String,
    pub new: i64,
    pub returning: i64,
}

/// Everything the dashboards page shows for a filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    /// The filter as applied (defaults filled in).
    pub filter: DashboardFilter,
    /// The first and last day with listens, if any.
    pub days_with_listens: Option<(String, String)>,
    /// Every genre of the catalogue, for the filter's choice.
    pub genres: Vec<String>,
    pub daily: Vec<DayPoint>,
    pub top_tracks: Vec<TopEntry>,
    pub top_artists: Vec<TopEntry>,
    pub top_genres: Vec<TopEntry>,
    pub genre_mix: Vec<GenreDay>,
    pub heatmap: Vec<HeatCell>,
    pub weekly: Vec<WeekListeners>,
    pub cohorts: Vec<CohortCell>,
}

/// Why a filter was refused.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError(pub String);

/// Parses a filter as given (empty strings: not given), filling in the defaults: the last
/// [`DEFAULT_RANGE_DAYS`] days up to `last_day` (the newest day with listens, else today).
#[cfg(feature = "ssr")]
pub fn parse_filter(
    from: &str,
    to: &str,
    genre: &str,
    last_day: Option<chrono::NaiveDate>,
) -> Result<lakehouse::gold::stats::StatsFilter, FilterError> {
    use chrono::{Duration, NaiveDate};

    let date = |name: &str, text: &str| -> Result<Option<NaiveDate>, FilterError> {
        if text.is_empty() {
            return Ok(None);
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| FilterError(format!("{name} must be a date, YYYY-MM-DD")))
    };
    let last = last_day.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let to = date("to", to)?.unwrap_or(last);
    let from = date("from", from)?.unwrap_or(to - Duration::days(DEFAULT_RANGE_DAYS - 1));
    if from > to {
        return Err(FilterError("from must not be after to".into()));
    }
    if (to - from).num_days() >= MAX_RANGE_DAYS {
        return Err(FilterError(format!(
            "a range may span at most {MAX_RANGE_DAYS} days"
        )));
    }
    let genre = match genre {
        "" => None,
        g if g.len() > 128 || g.chars().any(char::is_control) => {
            return Err(FilterError("genre is no genre name".into()));
        }
        g => Some(g.to_owned()),
    };
    Ok(lakehouse::gold::stats::StatsFilter { from, to, genre })
}

/// A date as the dashboards write it.
#[cfg(feature = "ssr")]
fn day(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

#[cfg(feature = "ssr")]
mod from_gold {
    use lakehouse::gold::stats;

    use super::*;

    impl From<stats::DayActivity> for DayPoint {
        fn from(d: stats::DayActivity) -> Self {
            DayPoint {
                day: day(d.day),
                listens: d.listens,
                listeners: d.listeners,
                skip_rate: d.skip_rate,
                hours_played: d.hours_played,
            }
        }
    }

    impl From<stats::TopEntry> for TopEntry {
        fn from(e: stats::TopEntry) -> Self {
            TopEntry {
                id: e.id,
                name: e.name,
                detail: e.detail,
                listens: e.listens,
            }
        }
    }

    impl From<stats::GenreDay> for GenreDay {
        fn from(g: stats::GenreDay) -> Self {
            GenreDay {
                day: day(g.day),
                genre: g.genre,
                listens: g.listens,
            }
        }
    }

    impl From<stats::HeatCell> for HeatCell {
        fn from(c: stats::HeatCell) -> Self {
            HeatCell {
                weekday: c.weekday,
                hour: c.hour,
                listens: c.listens,
            }
        }
    }

    impl From<stats::WeekListeners> for WeekListeners {
        fn from(w: stats::WeekListeners) -> Self {
            WeekListeners {
                week: day(w.week),
                new: w.new,
                returning: w.returning,
            }
        }
    }

    impl From<stats::CohortCell> for CohortCell {
        fn from(c: stats::CohortCell) -> Self {
            CohortCell {
                cohort_week: day(c.cohort_week),
                weeks_after: c.weeks_after,
                listeners: c.listeners,
            }
        }
    }
}

/// Converts gold's rows into the dashboards' types.
#[cfg(feature = "ssr")]
pub fn converted<G, T: From<G>>(rows: Vec<G>) -> Vec<T> {
    rows.into_iter().map(T::from).collect()
}

/// Reads everything the dashboards show for `filter`.
#[cfg(feature = "ssr")]
pub async fn read(
    pool: &sqlx::PgPool,
    filter: &lakehouse::gold::stats::StatsFilter,
) -> Result<Dashboard, lakehouse::LakehouseError> {
    use lakehouse::gold::stats::{self, TopKind};

    Ok(Dashboard {
        filter: DashboardFilter {
            from: day(filter.from),
            to: day(filter.to),
            genre: filter.genre.clone(),
        },
        days_with_listens: stats::listening_days(pool)
            .await?
            .map(|(first, last)| (day(first), day(last))),
        genres: lakehouse::gold::tracks::list_genres(pool)
            .await?
            .into_iter()
            .map(|g| g.genre)
            .collect(),
        daily: converted(stats::daily_activity(pool, filter).await?),
        top_tracks: converted(stats::top(pool, filter, TopKind::Track, TOP_ENTRIES).await?),
        top_artists: converted(stats::top(pool, filter, TopKind::Artist, TOP_ENTRIES).await?),
        top_genres: converted(stats::top(pool, filter, TopKind::Genre, TOP_ENTRIES).await?),
        genre_mix: converted(stats::genre_mix(pool, filter, MIX_GENRES).await?),
        heatmap: converted(stats::heatmap(pool, filter).await?),
        weekly: converted(stats::weekly_listeners(pool, filter).await?),
        cohorts: converted(stats::cohorts(pool, filter).await?),
    })
}

/// The dashboards for a filter (empty strings: the defaults); business users and admins.
#[server(input = GetUrl, endpoint = "dashboard")]
pub async fn read_dashboard(
    from: String,
    to: String,
    genre: String,
) -> Result<Dashboard, ServerFnError> {
    use crate::types::Role;

    crate::server_fns::require(&[Role::Business, Role::Admin])?;
    let pool = expect_context::<sqlx::PgPool>();
    let last = lakehouse::gold::stats::listening_days(&pool)
        .await?
        .map(|(_, last)| last);
    let filter = parse_filter(&from, &to, &genre, last).map_err(|e| {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::BAD_REQUEST);
        }
        ServerFnError::new(e.0)
    })?;
    Ok(read(&pool, &filter).await?)
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn a_filter_defaults_to_the_last_four_weeks_with_listens_and_refuses_bad_ranges() {
        let last = NaiveDate::from_ymd_opt(2026, 11, 30);
        let f = parse_filter("", "", "", last).unwrap();
        assert_eq!(f.to, last.unwrap());
        assert_eq!(f.from, NaiveDate::from_ymd_opt(2026, 11, 3).unwrap());
        assert_eq!(f.genre, None);
        let f = parse_filter("2026-11-01", "2026-11-07", "pop", last).unwrap();
        assert_eq!(f.genre.as_deref(), Some("pop"));
        for (from, to, genre) in [
            ("2026-11-08", "2026-11-07", ""),
            ("2020-01-01", "2026-11-07", ""),
            ("yesterday", "", ""),
            ("", "", "a\0b"),
        ] {
            assert!(
                parse_filter(from, to, genre, last).is_err(),
                "{from} {to} {genre:?}"
            );
        }
    }
}
