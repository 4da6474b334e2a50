//! `/for-you`: a listener's recommendations, rendered on the server, then followed live by the
//! list's island.

use leptos::ev::MouseEvent;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::MyListening;
use crate::browser::{self, LiveState};
use crate::server_fns::{recommendations_for, whoami};
use crate::tokens::PlayerTokens;
use crate::types::{
    DEFAULT_LISTENER, FOR_YOU_ROWS, Recommendation, RecommendationList, Role, clock_time,
};

/// The listener's page: the signed-in listener's own list (an admin may look at any
/// listener's with `?user=`, default [`DEFAULT_LISTENER`]). The server renders the current
/// model's list; once its island is hydrated, the list follows the live one (server-sent
/// events): a play or feedback re-ranks it within a second, without a reload.
#[component]
pub fn ForYou() -> impl IntoView {
    let query = use_query_map();
    let user = Memo::new(move |_| {
        query.with(|q| {
            q.get("user")
                .map(|u| u.trim().to_owned())
                .unwrap_or_default()
        })
    });
    let first = Resource::new(move || user.get(), recommendations_for);
    let me = Resource::new(|| (), |_| whoami());
    let is_listener = move || {
        me.get()
            .and_then(Result::ok)
            .flatten()
            .is_some_and(|a| a.role == Role::Listener)
    };
    let is_admin = move || {
        me.get()
            .and_then(Result::ok)
            .flatten()
            .is_some_and(|a| a.role == Role::Admin)
    };

    view! {
        <Title text="For you" />
        <section class="for-you">
            <h1>"For you"</h1>
            <Transition fallback=|| ()>
            <Show when=is_admin>
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
            </Show>
            </Transition>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match first.await {
                        Ok(list) => view! { <LiveList first=list /> }.into_any(),
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
            <MyListening user />
            <Transition fallback=|| ()>
                <Show when=is_listener>
                    <PlayerTokens />
                </Show>
            </Transition>
        </section>
    }
}

/// The list, as an island: the server's first, then the newest the stream or feedback
/// brought; `data-live` is `true` while the stream is open and has delivered the list.
#[island]
fn LiveList(first: RecommendationList) -> impl IntoView {
    let state = LiveState::new();
    // The list followed is the one the server answered with: the listener's own.
    #[cfg(feature = "hydrate")]
    {
        let user = first.user_id.clone();
        Effect::new(move |_| browser::follow(&user, state));
    }
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
    let notice = move || {
        state
            .notice
            .get()
            .map(|message| view! { <p class="error" role="alert">{message}</p> })
    };
    view! {
        <div class="live-list" data-live=move || state.live.get().to_string()>
            {notice}
            <p class="stamp">
                <span class="live-dot" aria-hidden="true"></span>
                <time id="recommendations-updated" datetime=move || list.with(|l| l.updated_at.clone())>
                    {stamp}
                </time>
            </p>
            {empty}
            <ol id="recommendations" class="recommendations">{rows}</ol>
        </div>
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
                <a href=format!("/tracks/{}", item.track_id) class="track-name">
                    {item.name}
                </a>
                <span class="track-artists">{item.artists.join(", ")}</span>
                <span class="reason">{item.reason}</span>
            </div>
            <div class="actions">
                <button type="button" class="play" on:click=play>"▶ Play"</button>
                <button type="button" class="like" title="Like" aria-label="Like" on:click=like>
                    <ThumbIcon down=false />
                </button>
                <button type="button" class="dislike" title="Dislike" aria-label="Dislike" on:click=dislike>
                    <ThumbIcon down=true />
                </button>
            </div>
        </li>
    }
}

/// A thumb drawn as SVG (an emoji needs a font the browser may not have).
#[component]
fn ThumbIcon(down: bool) -> impl IntoView {
    let transform = if down { "rotate(180 12 12)" } else { "" };
    view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path
                transform=transform
                d="M2 21h4V9H2v12zm20-11c0-1.1-.9-2-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.4-1.1L13.2 1 6.6 7.6C6.2 8 6 8.5 6 9v10c0 1.1.9 2 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z"
            />
        </svg>
    }
}
