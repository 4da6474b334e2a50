//! The `soundlake` server: the command line, the HTTP server (REST API, ListenBrainz API,
//! server-rendered pages), the Flight SQL endpoint, and what they run on.
// The pages' view types (nested HTML and islands) are deeper than rustc's default limit.
#![recursion_limit = "256"]

/// Accounts, roles, sessions and API tokens in the gold database.
pub mod accounts;
/// The REST API under `/api/v1`.
pub mod api;
/// Who a request is from, and what it may reach.
pub mod auth;
/// The `soundlake` command line.
pub mod cli;
/// Errors as the HTTP API answers them: a status and a JSON body with a stable code.
pub mod error;
/// Request extractors that parse what a client sends and refuse it with the API's errors.
pub mod extract;
/// The read-only Arrow Flight SQL endpoint over the lake.
pub mod flight_sql;
/// Configuration, the database, private files, shutdown.
pub mod infra;
/// ListenBrainz's API, for real players.
pub mod listenbrainz;
/// Ingestion, live re-ranking, pipeline runs, the simulator's stream.
pub mod services;
/// What every request handler can reach: the database, the lake, the services.
pub mod state;
/// The HTTP server: routes and metrics.
pub mod web;
