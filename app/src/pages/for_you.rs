//! `/for-you`: a listener's recommendations, rendered on the server, then followed live.

use leptos::ev::MouseEvent;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::browser::{self, LiveState};
use crate::server_fns::recommendations_for;
use crate::types::{
    DEFAULT_LISTENER, FOR_YOU_ROWS, Recommendation, RecommendationList, clock_time,
};

/// The listener's page. The server renders the current model's list for `?user=` (default
/// [`DEFAULT_LISTENER`]); once hydrated, the page follows the live list (server-sent events):
/// a play or feedback re-ranks it within a second, without a reload.
#[component]
pub fn ForYou() -> impl IntoView {
    let query = use_query_map();
    let user = Memo::new(move |_| {
        query.with(|q| {
            q.get("user")
                .map(|u| u.trim().to_owned())
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| DEFAULT_LISTENER.to_owned())
        })
    });
    let first = Resource::new(move || user.get(), recommendations_for);
    let state = LiveState::new();

    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        state.live.set(false);
        browser::follow(&user.get(), state);
    });

    view! {
        <Title text="For you" />
        <section class="for-you" data-live=move || state.live.get().to_string()>
            <h1>"For you"</h1>
            <form class="search" method="get" action="/for-you">
                <input
                    id="for-you-user"
                    type="text"
                    name="user"
                    placeholder=DEFAULT_LISTENER
                    aria-label="Listener id"
                    autocomplete="off"
                    value=move || user.get()
                />
                <button type="submit">"Show"</button>
            </form>
            {move || {
                state
                    .notice
                    .get()
                    .map(|message| view! { <p class="error" role="alert">{message}</p> })
            }}
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match first.await {
                        Ok(list) => view! { <Listing first=list state /> }.into_any(),
                        Err(error) => {
                            view! {
                                <p class="error" role="alert">
                                    {format!("Could not load recommendations: {error}")}
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

/// The list: the server's first, then the newest the stream or feedback brought.
#[component]
fn Listing(first: RecommendationList, state: LiveState) -> impl IntoView {
    let list = Memo::new(move |_| {
        state
            .latest
            .get()
            .filter(|l| l.user_id == first.user_id)
            .unwrap_or_else(|| first.clone())
    });
    let stamp = move || {
        list.with(|l| {
            let mut parts = vec![format!("updated {} UTC", clock_time(&l.updated_at))];
            if let Some(version) = l.model_version {
                parts.push(format!("model version {version}"));
            }
            if l.reranked {
                parts.push("re-ranked as you listen".to_owned());
            }
            parts.join(" · ")
        })
    };
    let rows = move || {
        let (user, items) = list.with(|l| {
            let items: Vec<Recommendation> = l.items.iter().take(FOR_YOU_ROWS).cloned().collect();
            (l.user_id.clone(), items)
        });
        items
            .into_iter()
            .map(|item| view! { <RecommendationRow item user=user.clone() state /> })
            .collect_view()
    };
    let empty = move || {
        list.with(|l| match (l.model_version, l.items.is_empty()) {
            (None, _) => Some("No recommendations yet: the pipeline has not trained a model."),
            (Some(_), true) => Some("Nothing to recommend yet: the catalogue has no plays."),
            (Some(_), false) => None,
        })
        .map(|message| view! { <p class="muted empty">{message}</p> })
    };
    view! {
        <p class="stamp">
            <span class="live-dot" aria-hidden="true"></span>
            <time id="recommendations-updated" datetime=move || list.with(|l| l.updated_at.clone())>
                {stamp}
            </time>
        </p>
        {empty}
        <ol id="recommendations" class="recommendations">{rows}</ol>
    }
}

/// One recommendation with its buttons.
#[component]
fn RecommendationRow(item: Recommendation, user: String, state: LiveState) -> impl IntoView {
    let track = item.track_id.clone();
    let play = {
        let (user, track) = (user.clone(), track.clone());
        move |_: MouseEvent| browser::play(user.clone(), track.clone(), state)
    };
    let like = {
        let (user, track) = (user.clone(), track.clone());
        move |_: MouseEvent| browser::feedback(user.clone(), "like", track.clone(), state)
    };
    let dislike =
        move |_: MouseEvent| browser::feedback(user.clone(), "dislike", track.clone(), state);
    view! {
        <li class="recommendation" data-track-id=item.track_id>
            <span class="rank">{item.rank}</span>
            <div class="what">
                <span class="track-name">{item.name}</span>
                <span class="track-artists">{item.artists.join(", ")}</span>
                <span class="reason">{item.reason}</span>
            </div>
            <div class="actions">
                <button type="button" class="play" on:click=play>"▶ Play"</button>
                <button type="button" class="like" title="Like" aria-label="Like" on:click=like>
                    "👍"
                </button>
                <button type="button" class="dislike" title="Dislike" aria-label="Dislike" on:click=dislike>
                    "👎"
                </button>
            </div>
        </li>
    }
}
