//! `/tracks/{id}`: a track's audio features, its sound cluster, the tracks like it on both
//! bases, and a Play button for the signed-in listener.

use leptos::ev::MouseEvent;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::browser::{self, LiveState};
use crate::listening::{SimilarTrack, TrackPageData, track_page};

/// A track's page, rendered on the server; anyone may read it.
#[component]
pub fn TrackPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let data = Resource::new(move || id.get(), track_page);
    view! {
        <Title text="Track" />
        <section class="track-page">
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(Some(data)) => view! { <Track data /> }.into_any(),
                        Ok(None) => {
                            #[cfg(feature = "ssr")]
                            if let Some(response) =
                                use_context::<leptos_axum::ResponseOptions>()
                            {
                                response.set_status(http::StatusCode::NOT_FOUND);
                            }
                            view! {
                                <h1>"Not found"</h1>
                                <p>"The catalogue has no such track. " <A href="/catalog">"Search it"</A></p>
                            }
                                .into_any()
                        }
                        Err(error) => {
                            view! {
                                <p class="error" role="alert">
                                    {format!("Could not load the track: {error}")}
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

#[component]
fn Track(data: TrackPageData) -> impl IntoView {
    let TrackPageData {
        track,
        cluster,
        by_listeners,
        by_sound,
        listener_id,
    } = data;
    let features = [
        ("danceability", track.danceability),
        ("energy", track.energy),
        ("valence", track.valence),
        ("acousticness", track.acousticness),
        ("instrumentalness", track.instrumentalness),
        ("speechiness", track.speechiness),
        ("liveness", track.liveness),
    ]
    .into_iter()
    .map(|(name, value)| {
        view! {
            <tr>
                <td>{name}</td>
                <td class="num">{format!("{value:.2}")}</td>
                <td>
                    <meter min="0" max="1" value=value aria-label=name></meter>
                </td>
            </tr>
        }
    })
    .collect_view();
    let play =
        listener_id.map(|user| view! { <PlayButton user track_id=track.track_id.clone() /> });
    view! {
        <Title text=track.name.clone() />
        <h1 id="track-name">{track.name.clone()}</h1>
        <p class="muted">
            {track.artists.join(", ")} {track.album_name.map(|a| format!(" · {a}"))}
            {format!(" · {}", track.genres.join(", "))}
        </p>
        {play}
        <p id="track-cluster">
            {match cluster {
                Some(label) => format!("Sound cluster: {label}"),
                None => "Not clustered yet.".to_owned(),
            }}
        </p>
        <div class="tops">
            <div>
                <h2>"Audio features"</h2>
                <table class="figures">
                    <tbody>
                        {features}
                        <tr><td>"tempo"</td><td class="num">{format!("{:.0} BPM", track.tempo)}</td><td></td></tr>
                        <tr><td>"loudness"</td><td class="num">{format!("{:.1} dB", track.loudness)}</td><td></td></tr>
                        <tr><td>"popularity"</td><td class="num">{track.popularity}</td><td></td></tr>
                    </tbody>
                </table>
            </div>
            <SimilarList id="similar-listeners" title="Played by the same listeners" tracks=by_listeners />
            <SimilarList id="similar-sound" title="Sounds like it" tracks=by_sound />
        </div>
    }
}

/// The Play button of the signed-in listener, as an island: a play of the track, now.
#[island]
fn PlayButton(user: String, track_id: String) -> impl IntoView {
    let state = LiveState::new();
    let played = RwSignal::new(false);
    let on_click = move |_: MouseEvent| {
        browser::play(user.clone(), track_id.clone(), state);
        played.set(true);
    };
    view! {
        <p>
            <button type="button" class="play button" on:click=on_click>"▶ Play"</button>
            {move || played.get().then(|| view! { <span class="muted">" Played: your list follows."</span> })}
        </p>
        {move || state.notice.get().map(|n| view! { <p class="error" role="alert">{n}</p> })}
    }
}

#[component]
fn SimilarList(id: &'static str, title: &'static str, tracks: Vec<SimilarTrack>) -> impl IntoView {
    let empty = tracks.is_empty();
    let items = tracks
        .into_iter()
        .map(|t| {
            view! {
                <li data-track-id=t.track_id.clone()>
                    <A href=format!("/tracks/{}", t.track_id)>{t.name}</A>
                    <span class="muted">" · " {t.artists.join(", ")}</span>
                </li>
            }
        })
        .collect_view();
    view! {
        <div>
            <h2>{title}</h2>
            <ol id=id class="similar">{items}</ol>
            {empty.then(|| view! { <p class="muted">"None yet: the next model run finds them."</p> })}
        </div>
    }
}
