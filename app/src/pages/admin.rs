//! `/admin`: the pipeline as an admin sees it: the newest runs with their stages, and a
//! button that starts a run and follows its progress; the lake's tables, each with its
//! history and any earlier version (time travel); the accounts; the simulator's stream.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::accounts::AccountsAdmin;
use crate::browser::{RunState, start_run, stop_following};
use crate::hydrated::hydrated_mark;
use crate::lake::LakeTables;
use crate::pipeline::{PipelineRun, PipelineStage, duration};
use crate::server_fns::pipeline_runs;
use crate::simulator::SimulatorAdmin;
use crate::types::clock_time;

/// The admin page, rendered on the server; its pipeline, accounts and simulator sections are
/// islands (the lake's is links only).
#[component]
pub fn Admin() -> impl IntoView {
    view! {
        <Title text="Pipeline" />
        <section class="admin">
            <h1>"Pipeline"</h1>
            <PipelinePanel />
            <LakeTables />
            <AccountsAdmin />
            <SimulatorAdmin />
        </section>
    }
}

/// The run button and the runs table, as an island: the table is rendered on the server and
/// reloaded whenever a run the page follows finishes. `data-hydrated` is `true` once hydrated.
#[island]
fn PipelinePanel() -> impl IntoView {
    let state = RunState::new();
    let runs = Resource::new(move || state.finished.get(), |_| pipeline_runs());
    let hydrated = hydrated_mark();
    view! {
        <div id="pipeline" data-hydrated=hydrated>
            <RunForm state />
            <h2>"Recent runs"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match runs.await {
                        Ok(runs) if runs.is_empty() => {
                            view! { <p class="muted">"No run yet."</p> }.into_any()
                        }
                        Ok(runs) => view! { <RunsTable runs /> }.into_any(),
                        Err(error) => {
                            view! {
                                <p class="error" role="alert">
                                    {format!("Could not load the runs: {error}")}
                                </p>
                            }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </div>
    }
}

/// The "full rebuild" switch and the button; then the run's progress.
#[component]
fn RunForm(state: RunState) -> impl IntoView {
    // A run followed from this page is no longer followed once the page goes.
    on_cleanup(stop_following);
    let full = NodeRef::<leptos::html::Input>::new();
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        let full = full.get().is_some_and(|f| f.checked());
        start_run(full, state);
    };
    view! {
        <form id="run-pipeline" class="search" on:submit=submit>
            <label class="muted">
                <input node_ref=full id="full-rebuild" type="checkbox" />
                " rebuild silver from all of bronze"
            </label>
            <button type="submit" disabled=move || state.running.get()>
                "Run the pipeline now"
            </button>
        </form>
        {move || {
            state
                .message
                .get()
                .map(|message| {
                    let class = if state.failed.get() { "error" } else { "run-message" };
                    view! { <p id="run-message" class=class role="status">{message}</p> }
                })
        }}
        <ul id="run-progress" class="muted">
            {move || {
                state.progress.get().into_iter().map(|line| view! { <li>{line}</li> }).collect_view()
            }}
        </ul>
    }
}

#[component]
fn RunsTable(runs: Vec<PipelineRun>) -> impl IntoView {
    view! {
        <table id="pipeline-runs" class="figures">
            <thead>
                <tr>
                    <th>"Run"</th>
                    <th>"Trigger"</th>
                    <th>"Status"</th>
                    <th>"Started (UTC)"</th>
                    <th class="num">"Took"</th>
                    <th>"Stages"</th>
                </tr>
            </thead>
            <tbody>
                {runs.into_iter().map(|run| view! { <RunRow run /> }.into_any()).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn RunRow(run: PipelineRun) -> impl IntoView {
    let took = run.seconds.map(duration).unwrap_or_else(|| "…".to_owned());
    let badge = format!("badge status-{}", run.status);
    let status = run.status.clone();
    view! {
        <tr data-run-id=run.run_id data-status=status>
            <td class="num">{format!("#{}", run.run_id)}</td>
            <td>{run.trigger}</td>
            <td>
                <span class=badge>{run.status}</span>
                {run.error.map(|e| view! { <div class="error note">{e}</div> })}
            </td>
            <td>{format!("{} {}", &run.started_at[..run.started_at.len().min(10)], clock_time(&run.started_at))}</td>
            <td class="num">{took}</td>
            <td>
                <ul class="stages">
                    {run.stages.into_iter().map(|stage| view! { <StageLine stage /> }.into_any()).collect_view()}
                </ul>
            </td>
        </tr>
    }
}

#[component]
fn StageLine(stage: PipelineStage) -> impl IntoView {
    let rows = stage.rows();
    let took = stage.seconds.map(duration).unwrap_or_default();
    let class = format!("stage status-{}", stage.status);
    view! {
        <li class=class>
            <span class="stage-name">{stage.stage.replace('_', " ")}</span>
            " · " {stage.status} {(!took.is_empty()).then(|| format!(" · {took}"))}
            {(!rows.is_empty()).then(|| format!(" · {rows}"))}
            {stage.error.map(|e| view! { <div class="error note">{e}</div> })}
        </li>
    }
}
