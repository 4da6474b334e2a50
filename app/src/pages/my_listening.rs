//! The part of `/for-you` under the list: the listener's tops for a period, their latest
//! listens, and the taste segment they are in and how they compare to its centre.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::listening::{ListenerOverview, SegmentView, TopItem, read_listener_overview};
use crate::types::{clock_time, format_count};

/// The periods of the tops, as the address names them, and their titles.
const PERIODS: [(&str, &str); 3] = [("7d", "7 days"), ("30d", "30 days"), ("all", "All time")];

/// The overview of the listener `user` (empty: the signed-in listener).
#[component]
pub fn MyListening(user: Memo<String>) -> impl IntoView {
    let query = use_query_map();
    let period = Memo::new(move |_| {
        query.with(|q| {
            q.get("period")
                .filter(|p| PERIODS.iter().any(|(id, _)| id == p))
                .unwrap_or_else(|| "30d".to_owned())
        })
    });
    let overview = Resource::new(move || user.get(), read_listener_overview);
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(overview) => view! { <Overview overview period /> }.into_any(),
                    Err(error) => {
                        view! {
                            <p class="error" role="alert">
                                {format!("Could not load your listening: {error}")}
                            </p>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn Overview(overview: ListenerOverview, period: Memo<String>) -> impl IntoView {
    let ListenerOverview {
        user_id,
        now_playing,
        tops,
        recent,
        segment,
    } = overview;
    let links = PERIODS
        .iter()
        .map(|(id, title)| {
            let user = user_id.clone();
            let href = format!("/for-you?user={}&period={id}", user);
            view! {
                <A href=href attr:class=move || if period.get() == *id { "chosen" } else { "" }>
                    {*title}
                </A>
            }
        })
        .collect_view();
    let columns = move || {
        let chosen = period.get();
        [
            ("track", "Tracks"),
            ("artist", "Artists"),
            ("genre", "Genres"),
        ]
        .into_iter()
        .map(|(kind, title)| {
            let items: Vec<TopItem> = tops
                .iter()
                .filter(|t| t.period == chosen && t.kind == kind)
                .cloned()
                .collect();
            view! { <TopColumn kind title items /> }
        })
        .collect_view()
    };
    let now_playing = now_playing.map(|n| {
        let track = match n.track_id {
            Some(id) => view! { <A href=format!("/tracks/{id}")>{n.track_name}</A> }.into_any(),
            None => view! { <span>{n.track_name}</span> }.into_any(),
        };
        view! {
            <p id="now-playing" class="now-playing">
                <span class="muted">"Now playing: "</span>
                {track}
                " · "
                {n.artist_name}
            </p>
        }
    });
    view! {
        {now_playing}
        <section id="my-tops" class="my-listening">
            <h2>"Your tops"</h2>
            <nav class="periods" aria-label="Period">{links}</nav>
            <div class="tops">{columns}</div>
        </section>
        <section id="my-recent" class="my-listening">
            <h2>"Your latest listens"</h2>
            <RecentTable recent />
        </section>
        <section id="my-segment" class="my-listening">
            <h2>"Your taste"</h2>
            {match segment {
                Some(segment) => view! { <SegmentReport segment /> }.into_any(),
                None => {
                    view! {
                        <p class="muted">"Not placed in a taste segment yet: the next model will."</p>
                    }
                        .into_any()
                }
            }}
        </section>
    }
}

#[component]
fn TopColumn(kind: &'static str, title: &'static str, items: Vec<TopItem>) -> impl IntoView {
    let empty = items.is_empty();
    let rows = items
        .into_iter()
        .map(|t| {
            let name = if kind == "track" {
                view! { <A href=format!("/tracks/{}", t.item)>{t.name}</A> }.into_any()
            } else {
                view! { <span>{t.name}</span> }.into_any()
            };
            view! {
                <tr>
                    <td class="num">{t.rank}</td>
                    <td>{name}</td>
                    <td class="num">{format_count(t.listens)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="top" data-kind=kind>
            <h3>{title}</h3>
            <table class="figures">
                <tbody>{rows}</tbody>
            </table>
            {empty.then(|| view! { <p class="muted">"Nothing played in this period."</p> })}
        </div>
    }
}

#[component]
fn RecentTable(recent: Vec<crate::listening::RecentListen>) -> impl IntoView {
    if recent.is_empty() {
        return view! { <p class="muted">"No listens in the week before the last pipeline run."</p> }
            .into_any();
    }
    let rows = recent
        .into_iter()
        .map(|r| {
            view! {
                <tr data-track-id=r.track_id.clone()>
                    <td>{r.played_at.get(..10).unwrap_or_default().to_owned()} " " {clock_time(&r.played_at)}</td>
                    <td><A href=format!("/tracks/{}", r.track_id)>{r.name}</A></td>
                    <td class="muted">{r.artists.join(", ")}</td>
                    <td class="num">{format!("{}:{:02}", r.ms_played / 60_000, (r.ms_played / 1000) % 60)}</td>
                    <td>{if r.is_skip { "skipped" } else { "" }}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="figures">
            <thead>
                <tr>
                    <th>"Played (UTC)"</th>
                    <th>"Track"</th>
                    <th>"Artists"</th>
                    <th class="num">"Played for"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <p class="muted note">"As of the last pipeline run."</p>
    }
    .into_any()
}

#[component]
fn SegmentReport(segment: SegmentView) -> impl IntoView {
    let rows = segment
        .features
        .into_iter()
        .map(|f| {
            let difference = f.mine - f.centre;
            let note = if difference.abs() < 0.05 * f.centre.abs().max(0.1) {
                "like the segment"
            } else if difference > 0.0 {
                "more than the segment"
            } else {
                "less than the segment"
            };
            view! {
                <tr>
                    <td>{f.feature}</td>
                    <td class="num">{format!("{:.2}", f.mine)}</td>
                    <td class="num">{format!("{:.2}", f.centre)}</td>
                    <td class="muted">{note}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p id="segment-label">
            "You are in the segment " <strong>{segment.label}</strong> ", with "
            {format_count(i64::from(segment.size))} " listeners: what you play sounds like what they play."
        </p>
        <table class="figures narrow">
            <thead>
                <tr>
                    <th>"Feature"</th>
                    <th class="num">"You"</th>
                    <th class="num">"Segment"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
