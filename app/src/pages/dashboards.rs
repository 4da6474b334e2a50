//! `/dashboards`: listening over the gold marts for business users: listens and listeners per
//! day, the top tracks, artists and genres, the genre mix, when people listen, and how new
//! listeners come back. A date range and a genre, kept in the address, filter every chart
//! and table; each table downloads as CSV.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::charts::{EChart, EChartsScript};
use crate::dashboard::charts::{daily_activity, genre_mix, heatmap, weekly_listeners};
use crate::dashboard::{CohortCell, Dashboard, DashboardFilter, TopEntry, read_dashboard};
use crate::types::{format_count, format_percent, url_encode};

/// The dashboards page, rendered on the server from gold; the charts are islands, drawn once
/// hydrated.
#[component]
pub fn Dashboards() -> impl IntoView {
    let query = use_query_map();
    let asked = Memo::new(move |_| {
        query.with(|q| {
            let get = |name: &str| q.get(name).unwrap_or_default();
            (get("from"), get("to"), get("genre"))
        })
    });
    let data = Resource::new(
        move || asked.get(),
        |(from, to, genre)| read_dashboard(from, to, genre),
    );
    view! {
        <Title text="Dashboards" />
        <EChartsScript />
        <section class="dashboards">
            <h1>"Listening"</h1>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(dashboard) => view! { <Panels dashboard /> }.into_any(),
                        Err(error) => {
                            view! {
                                <p class="error" role="alert">
                                    {format!("Could not load the dashboards: {error}")}
                                </p>
                            }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The query string of a filter, for links (CSV downloads).
fn query_of(filter: &DashboardFilter) -> String {
    let mut query = format!("from={}&to={}", filter.from, filter.to);
    if let Some(genre) = &filter.genre {
        query.push_str(&format!("&genre={}", url_encode(genre)));
    }
    query
}

#[component]
fn Panels(dashboard: Dashboard) -> impl IntoView {
    let Dashboard {
        filter,
        days_with_listens,
        genres,
        daily,
        top_tracks,
        top_artists,
        top_genres,
        genre_mix: mix,
        heatmap: cells,
        weekly,
        cohorts,
    } = dashboard;
    let query = query_of(&filter);
    let csv = move |name: &str| format!("/api/v1/stats/{name}?{query}&format=csv");
    let listens: i64 = daily.iter().map(|d| d.listens).sum();
    let skips: f64 = daily.iter().map(|d| d.skip_rate * d.listens as f64).sum();
    let peak = daily.iter().map(|d| d.listeners).max().unwrap_or(0);
    let summary = format!(
        "{} listens from {} to {}{}: at most {} listeners a day, {} of listens skipped.",
        format_count(listens),
        filter.from,
        filter.to,
        filter
            .genre
            .as_ref()
            .map(|g| format!(" in {g}"))
            .unwrap_or_default(),
        format_count(peak),
        format_percent(if listens > 0 {
            skips / listens as f64
        } else {
            0.0
        }),
    );
    let held = days_with_listens.map_or_else(
        || "Gold holds no listens yet.".to_owned(),
        |(first, last)| format!("Gold holds listens from {first} to {last}."),
    );
    view! {
        <FilterForm filter=filter.clone() genres />
        <p id="dashboard-summary" class="muted">{summary} " " {held}</p>

        <h2>"Listens and listeners per day"</h2>
        <EChart
            id="daily-activity"
            chart=daily_activity(&daily)
            height=280
            label="Listens, listeners and skip rate per day".into()
        />
        <p class="downloads"><a href=csv("daily")>"Download CSV"</a></p>

        <div class="tops">
            <TopTable id="top-tracks" title="Top tracks" entries=top_tracks csv=csv("top") + "&kind=track" />
            <TopTable id="top-artists" title="Top artists" entries=top_artists csv=csv("top") + "&kind=artist" />
            <TopTable id="top-genres" title="Top genres" entries=top_genres csv=csv("top") + "&kind=genre" />
        </div>

        <h2>"Genre mix"</h2>
        <EChart
            id="genre-mix"
            chart=genre_mix(&mix)
            height=300
            label="Listens per day of the most listened genres, stacked".into()
        />
        <p class="downloads"><a href=csv("genre-mix")>"Download CSV"</a></p>

        <h2>"When people listen"</h2>
        <EChart
            id="listening-heatmap"
            chart=heatmap(&cells)
            height=300
            label="Listens per hour and weekday, UTC".into()
        />
        <p class="downloads"><a href=csv("heatmap")>"Download CSV"</a></p>

        <h2>"New and returning listeners"</h2>
        <EChart
            id="weekly-listeners"
            chart=weekly_listeners(&weekly)
            height=260
            label="New and returning listeners per week".into()
        />
        <p class="downloads"><a href=csv("weekly-listeners")>"Download CSV"</a></p>
        <h3>"Retention of each week's new listeners"</h3>
        <CohortTable cohorts />
        <p class="downloads"><a href=csv("cohorts")>"Download CSV"</a></p>
    }
}

/// The filter: a plain form (GET), so the view is in the address and works without the browser's module.
#[component]
fn FilterForm(filter: DashboardFilter, genres: Vec<String>) -> impl IntoView {
    let chosen = filter.genre.clone().unwrap_or_default();
    let options = genres
        .into_iter()
        .map(|genre| {
            let selected = genre == chosen;
            view! { <option value=genre.clone() selected=selected>{genre.clone()}</option> }
        })
        .collect_view();
    view! {
        <form id="dashboard-filter" class="search" method="get" action="/dashboards">
            <label>
                "From " <input id="filter-from" type="date" name="from" value=filter.from required />
            </label>
            <label>
                "to " <input id="filter-to" type="date" name="to" value=filter.to required />
            </label>
            <label>
                "Genre "
                <select id="filter-genre" name="genre">
                    <option value="" selected=chosen.is_empty()>"All genres"</option>
                    {options}
                </select>
            </label>
            <button type="submit">"Apply"</button>
        </form>
    }
}

#[component]
fn TopTable(
    id: &'static str,
    title: &'static str,
    entries: Vec<TopEntry>,
    csv: String,
) -> impl IntoView {
    let empty = entries.is_empty();
    let rows = entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            view! {
                <tr data-id=e.id.clone()>
                    <td class="num">{i + 1}</td>
                    <td>
                        <span class="track-name">{e.name}</span>
                        {e.detail.map(|d| view! { <span class="muted">" · " {d}</span> })}
                    </td>
                    <td class="num">{format_count(e.listens)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="top">
            <h2>{title}</h2>
            <table id=id class="figures">
                <thead>
                    <tr>
                        <th class="num">"#"</th>
                        <th>"Name"</th>
                        <th class="num">"Listens"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            {empty.then(|| view! { <p class="muted">"No listens in this range."</p> })}
            <p class="downloads"><a href=csv>"Download CSV"</a></p>
        </div>
    }
}

/// The cohort table: a row per week's new listeners, a column per week after, each cell the
/// share who listened that week.
#[component]
fn CohortTable(cohorts: Vec<CohortCell>) -> impl IntoView {
    let mut weeks: Vec<String> = cohorts.iter().map(|c| c.cohort_week.clone()).collect();
    weeks.dedup();
    let span = cohorts.iter().map(|c| c.weeks_after).max().unwrap_or(0);
    let header = (0..=span)
        .map(|w| view! { <th class="num">{format!("week {w}")}</th> })
        .collect_view();
    let rows = weeks
        .into_iter()
        .map(|week| {
            let of_week: Vec<&CohortCell> =
                cohorts.iter().filter(|c| c.cohort_week == week).collect();
            let size = of_week
                .iter()
                .find(|c| c.weeks_after == 0)
                .map_or(0, |c| c.listeners);
            let cells = (0..=span)
                .map(|w| {
                    let listeners = of_week
                        .iter()
                        .find(|c| c.weeks_after == w)
                        .map_or(0, |c| c.listeners);
                    let share = if size > 0 {
                        listeners as f64 / size as f64
                    } else {
                        0.0
                    };
                    let shade = format!("background: rgba(61, 220, 151, {:.2})", share * 0.5);
                    view! {
                        <td class="num" style=shade title=format!("{listeners} listeners")>
                            {format_percent(share)}
                        </td>
                    }
                })
                .collect_view();
            view! {
                <tr data-cohort=week.clone()>
                    <td>{week.clone()}</td>
                    <td class="num">{format_count(size)}</td>
                    {cells}
                </tr>
            }
        })
        .collect_view();
    view! {
        <table id="cohorts" class="figures">
            <thead>
                <tr>
                    <th>"First week"</th>
                    <th class="num">"New listeners"</th>
                    {header}
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
