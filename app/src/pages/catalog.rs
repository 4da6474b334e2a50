//! `/catalog`: search the track catalogue by text and genre.

use std::time::Duration;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::hydrated::hydrated_mark;
use crate::server_fns::{list_genres, search_catalog};
use crate::types::{TrackPage, TrackSummary, format_count, format_duration};

/// The catalogue page. Its first render happens on the server (from `?q=`, `?genre=` and
/// `?page=`); once its island is hydrated, typing updates the results without reloading the
/// page.
#[component]
pub fn Catalog() -> impl IntoView {
    let query = use_query_map();
    let (text, genre, page) = query.with_untracked(|q| {
        (
            q.get("q").unwrap_or_default(),
            q.get("genre").unwrap_or_default(),
            q.get("page")
                .and_then(|p| p.parse::<u32>().ok())
                .unwrap_or(1)
                .max(1),
        )
    });
    view! {
        <Title text="Catalogue" />
        <CatalogSearch initial_text=text initial_genre=genre initial_page=page />
    }
}

/// The search form and its results, as an island; `data-hydrated` is `true` once it is.
#[island]
fn CatalogSearch(initial_text: String, initial_genre: String, initial_page: u32) -> impl IntoView {
    let text = RwSignal::new(initial_text.clone());
    let search = RwSignal::new(initial_text);
    let genre = RwSignal::new(initial_genre);
    let page = RwSignal::new(initial_page);
    let hydrated = hydrated_mark();

    let mut settle = debounce(Duration::from_millis(200), move |value: String| {
        search.set(value);
        page.set(1);
    });
    let results = Resource::new(
        move || (search.get(), genre.get(), page.get()),
        |(text, genre, page)| search_catalog(text, genre, page),
    );
    let genres = Resource::new(|| (), |_| list_genres());

    view! {
        <section class="catalog" data-hydrated=hydrated>
            <h1>"Catalogue"</h1>
            <form class="search" method="get" action="/catalog" on:submit=|ev| ev.prevent_default()>
                <input
                    id="catalog-search"
                    type="search"
                    name="q"
                    placeholder="Search tracks, artists, albums"
                    autocomplete="off"
                    prop:value=move || text.get()
                    on:input=move |ev| {
                        let value = event_target_value(&ev);
                        text.set(value.clone());
                        settle(value);
                    }
                />
                <Suspense fallback=|| view! { <select disabled=true aria-label="Genre"><option>"All genres"</option></select> }>
                    {move || Suspend::new(async move {
                        let options = genres.await.unwrap_or_default();
                        view! {
                            <select
                                id="catalog-genre"
                                name="genre"
                                aria-label="Genre"
                                on:change=move |ev| {
                                    genre.set(event_target_value(&ev));
                                    page.set(1);
                                }
                            >
                                <option value="">"All genres"</option>
                                {options
                                    .into_iter()
                                    .map(|g| {
                                        let value = g.genre.clone();
                                        let selected = move || genre.get() == value;
                                        view! {
                                            <option value=g.genre.clone() selected=selected>
                                                {format!("{} ({})", g.genre, format_count(g.track_count.into()))}
                                            </option>
                                        }
                                    })
                                    .collect_view()}
                            </select>
                        }
                    })}
                </Suspense>
                <noscript>
                    <button type="submit">"Search"</button>
                </noscript>
            </form>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match results.await {
                        Ok(found) => view! { <Results found page /> }.into_any(),
                        Err(error) => {
                            view! { <p class="error" role="alert">{format!("Search failed: {error}")}</p> }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

/// The count, the result table and the pager.
#[component]
fn Results(found: TrackPage, page: RwSignal<u32>) -> impl IntoView {
    let pages = found.pages();
    let current = found.page;
    let count = match found.total {
        1 => "1 track".to_owned(),
        n => format!("{} tracks", format_count(n)),
    };
    let rows = found
        .items
        .into_iter()
        .map(|track| view! { <TrackRow track /> })
        .collect_view();
    view! {
        <p id="catalog-count" class="count">{count}</p>
        <table id="catalog-results" class="tracks">
            <thead>
                <tr>
                    <th>"Track"</th>
                    <th>"Artists"</th>
                    <th>"Album"</th>
                    <th>"Genres"</th>
                    <th class="num">"Popularity"</th>
                    <th class="num">"Length"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <nav class="pager">
            <button id="catalog-prev" disabled={current <= 1} on:click=move |_| page.update(|p| *p = p.saturating_sub(1).max(1))>
                "← Previous"
            </button>
            <span>{format!("Page {current} of {}", format_count(pages.into()))}</span>
            <button id="catalog-next" disabled={current >= pages} on:click=move |_| page.update(|p| *p += 1)>
                "Next →"
            </button>
        </nav>
    }
}

#[component]
fn TrackRow(track: TrackSummary) -> impl IntoView {
    let genres = track
        .genres
        .into_iter()
        .map(|g| view! { <span class="chip">{g}</span> })
        .collect_view();
    view! {
        <tr class="track-row" data-track-id=track.track_id.clone()>
            <td class="track-name">
                <a href=format!("/tracks/{}", track.track_id)>{track.name}</a>
                {track.explicit.then(|| view! { <span class="explicit" title="Explicit">"E"</span> })}
            </td>
            <td class="track-artists">{track.artists.join(", ")}</td>
            <td class="track-album">{track.album_name.unwrap_or_default()}</td>
            <td class="genres">{genres}</td>
            <td class="num">
                <span class="bar" style=format!("--value: {}%", track.popularity)></span>
                {track.popularity}
            </td>
            <td class="num">{format_duration(track.duration_ms)}</td>
        </tr>
    }
}
