//! The admin page's run button: starts a pipeline run through the REST API (as the signed-in
//! admin), then follows the run's progress over server-sent events.

use leptos::prelude::*;

/// The state the admin page shares with a run it started.
#[derive(Debug, Clone, Copy)]
pub struct RunState {
    /// What the admin should read now: the run started, or finished, or why it could not.
    pub message: RwSignal<Option<String>>,
    /// `true` when `message` reports a failure.
    pub failed: RwSignal<bool>,
    /// The followed run's stages so far, one line each.
    pub progress: RwSignal<Vec<String>>,
    /// `true` from the click until the run finished (or could not start).
    pub running: RwSignal<bool>,
    /// Runs finished while the page was open: the runs table reloads when it moves.
    pub finished: RwSignal<u32>,
}

impl RunState {
    /// A state with nothing started.
    pub fn new() -> Self {
        Self {
            message: RwSignal::new(None),
            failed: RwSignal::new(false),
            progress: RwSignal::new(Vec::new()),
            running: RwSignal::new(false),
            finished: RwSignal::new(0),
        }
    }

    #[cfg(feature = "hydrate")]
    fn report(&self, message: String, failed: bool) {
        self.message.set(Some(message));
        self.failed.set(failed);
    }
}

impl Default for RunState {
    fn default() -> Self {
        Self::new()
    }
}

/// Server build: does nothing (the page is not hydrated yet).
#[cfg(not(feature = "hydrate"))]
pub fn start_run(_full: bool, _state: RunState) {}

/// Server build: nothing is followed.
#[cfg(not(feature = "hydrate"))]
pub fn stop_following() {}

#[cfg(feature = "hydrate")]
pub use follow::{start_run, stop_following};

#[cfg(feature = "hydrate")]
mod follow {
    use std::cell::RefCell;

    use leptos::prelude::*;
    use leptos::task::spawn_local;
    use serde_json::{Value, json};
    use web_sys::{EventSource, MessageEvent};

    use super::RunState;
    use crate::browser::event_stream::EventStream;
    use crate::pipeline::duration;

    /// The progress events of a run (`GET /api/v1/pipeline/runs/{id}/events`).
    const EVENTS: &[&str] = &["run", "stage_started", "stage_finished", "run_finished"];

    thread_local! {
        /// At most one run is followed at a time (the server runs one at a time).
        static FOLLOWED: RefCell<Option<EventStream>> = const { RefCell::new(None) };
    }

    /// Stops following (when the page goes, or the run ended), after the current event
    /// handler has returned.
    pub fn stop_following() {
        spawn_local(async {
            FOLLOWED.with(|f| f.borrow_mut().take());
        });
    }

    /// Posts `POST /api/v1/pipeline/runs` (the session cookie says who asks); then follows
    /// the run it started.
    pub fn start_run(full: bool, state: RunState) {
        state.running.set(true);
        state.progress.set(Vec::new());
        state.message.set(None);
        spawn_local(async move {
            match post_run(full).await {
                Ok((run_id, events)) => {
                    state.report(format!("Run #{run_id} started."), false);
                    follow(run_id, &events, state);
                }
                Err(error) => {
                    state.report(format!("Could not start a run: {error}"), true);
                    state.running.set(false);
                }
            }
        });
    }

    /// The started run's id and the URL of its events.
    async fn post_run(full: bool) -> Result<(i64, String), String> {
        let response = gloo_net::http::Request::post("/api/v1/pipeline/runs")
            .json(&json!({ "full": full }))
            .map_err(|e| e.to_string())?
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let text = crate::browser::live::answer_text(response).await?;
        let body: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        match (body["run_id"].as_i64(), body["events"].as_str()) {
            (Some(id), Some(events)) => Ok((id, events.to_owned())),
            _ => Err("the answer names no run".to_owned()),
        }
    }

    fn follow(run_id: i64, url: &str, state: RunState) {
        let on_event = move |event: MessageEvent| {
            let data: Value = event
                .data()
                .as_string()
                .and_then(|text| serde_json::from_str(&text).ok())
                .unwrap_or(Value::Null);
            on_progress(run_id, &event.type_(), &data, state);
        };
        // The browser reconnects by itself after a dropped connection; once it gives up, the
        // page says so and the table shows how the run went.
        let on_error = move |source: &EventSource| {
            if source.ready_state() == EventSource::CLOSED {
                state.report(
                    format!("Lost the progress of run #{run_id}; the table shows how it went."),
                    true,
                );
                state.running.set(false);
                state.finished.update(|n| *n += 1);
                stop_following();
            }
        };
        match EventStream::open(url, EVENTS, on_event, on_error) {
            Ok(stream) => FOLLOWED.with(|f| *f.borrow_mut() = Some(stream)),
            Err(_) => {
                state.report(
                    format!("Run #{run_id} started; its progress cannot be followed here."),
                    false,
                );
                state.running.set(false);
            }
        }
    }

    /// Seconds between the RFC 3339 times `from` and `to`, when both parse.
    fn seconds_between(from: &Value, to: &Value) -> Option<f64> {
        let parse = |v: &Value| {
            v.as_str()
                .map(js_sys::Date::parse)
                .filter(|t| t.is_finite())
        };
        Some((parse(to)? - parse(from)?) / 1000.0)
    }

    fn on_progress(run_id: i64, kind: &str, data: &Value, state: RunState) {
        let stage = data["stage"].as_str().unwrap_or("stage").replace('_', " ");
        // Progress events carry their seconds; the run's record, its start and end.
        let seconds = data["seconds"]
            .as_f64()
            .or_else(|| seconds_between(&data["started_at"], &data["finished_at"]))
            .map(duration)
            .unwrap_or_default();
        let status = data["status"].as_str().unwrap_or_default();
        let error = data["error"]
            .as_str()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        match kind {
            "stage_started" => state.progress.update(|lines| {
                lines.push(format!(
                    "{stage} ({} of {}) running…",
                    data["position"].as_u64().unwrap_or_default() + 1,
                    data["stages"].as_u64().unwrap_or_default()
                ))
            }),
            "stage_finished" => state.progress.update(|lines| {
                let line = format!("{stage}: {status} in {seconds}{error}");
                match lines.last_mut() {
                    Some(last) if last.starts_with(&stage) && last.ends_with('…') => *last = line,
                    _ => lines.push(line),
                }
            }),
            // The run as recorded when the stream opened: it may have finished already.
            "run" if status == "running" => {}
            "run" | "run_finished" => {
                let failed = status != "succeeded";
                let took = if seconds.is_empty() {
                    String::new()
                } else {
                    format!(" in {seconds}")
                };
                state.report(format!("Run #{run_id} {status}{took}{error}"), failed);
                state.running.set(false);
                state.finished.update(|n| *n += 1);
                stop_following();
            }
            _ => {}
        }
    }
}
