//! What the islands do in the browser: follow a listener's list over server-sent events
//! and post plays and feedback to the REST API; start and follow pipeline runs (`runs`). The
//! server build keeps only inert stand-ins for the buttons' actions (the buttons do nothing
//! until the page is hydrated).

use leptos::prelude::*;

#[cfg(feature = "hydrate")]
mod event_stream;
mod runs;
pub use runs::{RunState, start_run, stop_following};

use crate::types::RecommendationList;

/// How long a play from `/for-you` counts as listened: 45 s, past the 30 s under which a
/// play is a skip, and within any track's length plus the ingest API's 30 s of slack.
pub const PLAY_MS: u32 = 45_000;

/// The state `/for-you` shares with its live stream and its buttons.
#[derive(Debug, Clone, Copy)]
pub struct LiveState {
    /// `true` while the stream is open and has delivered the listener's list.
    pub live: RwSignal<bool>,
    /// The newest list from the stream or from feedback (`None` until one arrives).
    pub latest: RwSignal<Option<RecommendationList>>,
    /// A message for the listener when something failed.
    pub notice: RwSignal<Option<String>>,
}

impl LiveState {
    /// A state with nothing received yet.
    pub fn new() -> Self {
        Self {
            live: RwSignal::new(false),
            latest: RwSignal::new(None),
            notice: RwSignal::new(None),
        }
    }
}

impl Default for LiveState {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "hydrate")]
pub use live::{feedback, follow, play};

/// Server build: does nothing (the page is not hydrated yet).
#[cfg(not(feature = "hydrate"))]
pub fn play(_user: String, _track_id: String, _state: LiveState) {}

/// Server build: does nothing (the page is not hydrated yet).
#[cfg(not(feature = "hydrate"))]
pub fn feedback(_user: String, _kind: &'static str, _track_id: String, _state: LiveState) {}

/// Draws `option` (an ECharts option, as JSON) with ECharts (loaded by the page's shell) into
/// `element`, `height` pixels high and as wide as its container, in ECharts' dark theme.
#[cfg(feature = "hydrate")]
pub fn draw_chart(element: &web_sys::Element, height: u32, option: &str) {
    let option = match js_sys::JSON::parse(option) {
        Ok(option) => option,
        Err(_) => {
            leptos::logging::warn!("chart {}: its option is not JSON", element.id());
            return;
        }
    };
    let size = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&size, &"height".into(), &height.into());
    match echarts::init(element, "dark", &size) {
        Ok(chart) => chart.set_option(&option),
        Err(error) => leptos::logging::warn!("chart {}: ECharts: {error:?}", element.id()),
    }
}

/// The two calls of ECharts' API the charts use.
#[cfg(feature = "hydrate")]
mod echarts {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        /// A chart ECharts draws into an element.
        pub type Chart;

        #[wasm_bindgen(catch, js_namespace = echarts, js_name = init)]
        pub fn init(
            element: &web_sys::Element,
            theme: &str,
            size: &JsValue,
        ) -> Result<Chart, JsValue>;

        #[wasm_bindgen(method, js_name = setOption)]
        pub fn set_option(this: &Chart, option: &JsValue);
    }
}

#[cfg(feature = "hydrate")]
mod live {
    use leptos::prelude::*;
    use leptos::task::spawn_local;
    use send_wrapper::SendWrapper;
    use serde_json::{Value, json};
    use web_sys::MessageEvent;

    use super::event_stream::EventStream;
    use super::{LiveState, PLAY_MS};
    use crate::types::{FOR_YOU_ROWS, RecommendationList};

    /// The server-sent event that carries a listener's list.
    const EVENTS: &[&str] = &["recommendations"];

    /// Follows `user`'s list on `/api/v1/users/{user}/recommendations/events`: each
    /// `recommendations` event replaces `state.latest` and sets `state.live`; an error clears
    /// `state.live` while the browser reconnects. The stream closes when the current owner
    /// (the effect that calls this) is cleaned up.
    pub fn follow(user: &str, state: LiveState) {
        let url = format!("/api/v1/users/{}/recommendations/events", encode(user));
        let on_list = move |event: MessageEvent| {
            let Some(text) = event.data().as_string() else {
                return;
            };
            match serde_json::from_str::<RecommendationList>(&text) {
                Ok(list) => {
                    state.latest.set(Some(list));
                    state.live.set(true);
                }
                Err(error) => state
                    .notice
                    .set(Some(format!("Could not read an update: {error}"))),
            }
        };
        match EventStream::open(&url, EVENTS, on_list, move |_| state.live.set(false)) {
            Ok(stream) => {
                let stream = SendWrapper::new(stream);
                on_cleanup(move || drop(stream));
            }
            Err(_) => state
                .notice
                .set(Some("Live updates are not available here.".into())),
        }
    }

    /// Posts a play of `track_id` by `user`, now. The stream brings the re-ranked list; when it
    /// is not open, the list is fetched once.
    pub fn play(user: String, track_id: String, state: LiveState) {
        spawn_local(async move {
            let body = json!({
                "user_id": user,
                "track_id": track_id,
                "played_at": String::from(js_sys::Date::new_0().to_iso_string()),
                "ms_played": PLAY_MS,
            });
            if let Err(error) = post_json("/api/v1/listens", &body).await {
                state
                    .notice
                    .set(Some(format!("Could not record the play: {error}")));
                return;
            }
            state.notice.set(None);
            if !state.live.get_untracked() {
                let url = format!(
                    "/api/v1/users/{}/recommendations?limit={FOR_YOU_ROWS}",
                    encode(&user)
                );
                match get_list(&url).await {
                    Ok(list) => state.latest.set(Some(list)),
                    Err(error) => state
                        .notice
                        .set(Some(format!("Could not refresh the list: {error}"))),
                }
            }
        });
    }

    /// Posts `kind` (`like`, `dislike`) feedback on `track_id`; the answer is the new list.
    pub fn feedback(user: String, kind: &'static str, track_id: String, state: LiveState) {
        spawn_local(async move {
            let url = format!("/api/v1/users/{}/feedback", encode(&user));
            let body = json!({ "kind": kind, "track_id": track_id });
            let answer = post_json(&url, &body).await.and_then(|text| {
                serde_json::from_str::<RecommendationList>(&text).map_err(|e| e.to_string())
            });
            match answer {
                Ok(list) => {
                    state.notice.set(None);
                    state.latest.set(Some(list));
                }
                Err(error) => state
                    .notice
                    .set(Some(format!("Could not save your feedback: {error}"))),
            }
        });
    }

    /// `user` as one path segment.
    fn encode(user: &str) -> String {
        String::from(js_sys::encode_uri_component(user))
    }

    /// Posts `body` as JSON; the answer's text, or the API's error message.
    async fn post_json(url: &str, body: &Value) -> Result<String, String> {
        let request = gloo_net::http::Request::post(url)
            .json(body)
            .map_err(|e| e.to_string())?;
        answer_text(request.send().await.map_err(|e| e.to_string())?).await
    }

    async fn get_list(url: &str) -> Result<RecommendationList, String> {
        let response = gloo_net::http::Request::get(url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let text = answer_text(response).await?;
        serde_json::from_str(&text).map_err(|e| e.to_string())
    }

    /// The body of a successful answer; else the message of the API's
    /// `{"error": {"message": ..}}`, or the status.
    pub(super) async fn answer_text(response: gloo_net::http::Response) -> Result<String, String> {
        let text = response.text().await.map_err(|e| e.to_string())?;
        if response.ok() {
            return Ok(text);
        }
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned));
        Err(message.unwrap_or_else(|| format!("HTTP {}", response.status())))
    }
}
