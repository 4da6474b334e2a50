//! The `soundlake serve` and `soundlake pipeline run` processes themselves, started from the
//! built binary: what survives a SIGKILL, how the server stops on SIGTERM, what it does
//! while PostgreSQL is away, and what a flood of unknown listeners costs its memory.

use serde_json::json;

mod database_away;
mod killed_pipeline;
mod sigkill_ingest;
mod sigterm;
mod unknown_listeners;

/// One event as a client writes it.
fn event(client: usize, trial: usize, n: usize) -> String {
    json!({
        "event_id": format!("crash-{trial}-{client}-{n}"),
        "user_id": format!("crash-listener-{client}"),
        "track_id": format!("crash-track-{}", n % 97),
        "played_at": (chrono::Utc::now() - chrono::Duration::minutes((n % 600) as i64))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "ms_played": 30_000 + n % 1000,
    })
    .to_string()
}
