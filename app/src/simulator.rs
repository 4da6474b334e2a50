//! The simulator's stream as `/admin` drives it: simulated listeners playing now, at a chosen
//! rate, through ingest like any player, so that an admin can watch data arrive and the
//! dashboards move. Admins only.
//!
//! The stream belongs to the server; it provides it to these functions as a
//! [`SimulatorControl`] in the request's context.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use crate::hydrated::hydrated_mark;
use crate::types::format_count;

/// The most listens per second the stream may be asked for.
pub const MAX_RATE: u32 = 5_000;

/// The stream as it is now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamState {
    pub running: bool,
    /// Listens per second asked for (of the last start).
    pub rate: u32,
    /// Listens simulated since the last start, and of those the ones committed to bronze.
    pub sent: u64,
    pub accepted: u64,
    /// Why the stream stopped by itself, if it did.
    pub error: Option<String>,
}

#[cfg(feature = "ssr")]
use crate::types::ServerAnswer as Answer;

/// The server's stream, as far as the admin page goes.
#[cfg(feature = "ssr")]
pub trait SimulatorControl: Send + Sync {
    fn state(&self) -> StreamState;
    /// Starts the stream at `rate` listens per second (changing the rate of one going on).
    fn start(&self, rate: u32) -> Answer<StreamState>;
    /// Stops the stream once its last batch is committed.
    fn stop(&self) -> Answer<StreamState>;
}

/// What the server provides in the context of every request.
#[cfg(feature = "ssr")]
pub type Simulator = std::sync::Arc<dyn SimulatorControl>;

#[cfg(feature = "ssr")]
fn control() -> Result<Simulator, ServerFnError> {
    crate::server_fns::require(&[crate::types::Role::Admin])?;
    Ok(expect_context::<Simulator>())
}

/// The stream's state.
#[server(input = GetUrl, endpoint = "simulator")]
pub async fn simulator_state() -> Result<StreamState, ServerFnError> {
    Ok(control()?.state())
}

/// Starts the stream at `rate` listens per second (1 to [`MAX_RATE`]).
#[server(endpoint = "start_simulator")]
pub async fn start_simulator(rate: u32) -> Result<StreamState, ServerFnError> {
    let control = control()?;
    if !(1..=MAX_RATE).contains(&rate) {
        return crate::server_fns::refuse(
            http::StatusCode::BAD_REQUEST,
            "the rate is from 1 to 5,000 listens per second",
        );
    }
    control.start(rate).await.map_err(ServerFnError::new)
}

/// Stops the stream.
#[server(endpoint = "stop_simulator")]
pub async fn stop_simulator() -> Result<StreamState, ServerFnError> {
    control()?.stop().await.map_err(ServerFnError::new)
}

/// The simulator section of `/admin`: the state, refreshed every second while the stream
/// runs, a rate and a start button, and a stop button.
/// An island: `data-hydrated` is `true` once it is hydrated.
#[island]
pub fn SimulatorAdmin() -> impl IntoView {
    let start = ServerAction::<StartSimulator>::new();
    let stop = ServerAction::<StopSimulator>::new();
    let tick = RwSignal::new(0u32);
    let state = Resource::new(
        move || (start.version().get(), stop.version().get(), tick.get()),
        |_| simulator_state(),
    );
    // While the stream runs, its figures are read again every second.
    Effect::new(move |_| {
        let running = state.get().and_then(Result::ok).is_some_and(|s| s.running);
        if running {
            set_timeout(
                move || tick.update(|t| *t += 1),
                std::time::Duration::from_secs(1),
            );
        }
    });
    let refused = move || {
        start
            .value()
            .get()
            .and_then(Result::err)
            .map(|error| view! { <p class="error" role="alert">{error.to_string()}</p> })
    };
    let shown = move || {
        state.get().map(|answer| match answer {
            Ok(s) => view! { <SimulatorFigures state=s /> }.into_any(),
            Err(error) => {
                view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any()
            }
        })
    };
    let hydrated = hydrated_mark();
    view! {
        <section id="simulator" class="admin-simulator" data-hydrated=hydrated>
            <h2>"Simulator"</h2>
            <p class="muted">
                "Simulated listeners playing now, through the same checks and commits as a player's listens."
            </p>
            <ActionForm action=start attr:class="search" attr:id="start-simulator">
                <label for="simulator-rate">"Listens per second"</label>
                <input id="simulator-rate" type="number" name="rate" min="1" max=MAX_RATE.to_string() value="50" required />
                <button type="submit">"Start"</button>
            </ActionForm>
            <ActionForm action=stop attr:id="stop-simulator">
                <button type="submit">"Stop"</button>
            </ActionForm>
            {refused}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>{shown}</Transition>
        </section>
    }
}

#[component]
fn SimulatorFigures(state: StreamState) -> impl IntoView {
    let line = if state.running {
        format!(
            "Running at {} listens/s: {} simulated, {} committed.",
            format_count(i64::from(state.rate)),
            format_count(state.sent as i64),
            format_count(state.accepted as i64)
        )
    } else if state.sent > 0 {
        format!(
            "Stopped: {} simulated, {} committed.",
            format_count(state.sent as i64),
            format_count(state.accepted as i64)
        )
    } else {
        "Not running.".to_owned()
    };
    view! {
        <p id="simulator-state" role="status" data-running=state.running.to_string()>{line}</p>
        {state.error.map(|e| view! { <p class="error" role="alert">{e}</p> })}
    }
}
