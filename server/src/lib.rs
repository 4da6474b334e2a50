//! The `soundlake` server: the command line, the HTTP server (REST API, ListenBrainz API,
//! server-rendered pages), the Flight SQL endpoint, and what they run on.

/// Accounts, roles, sessions and API tokens in the gold database.
pub mod accounts;
/// The REST API under `/api/v1`.
pub mod api;
/// Who a request is from, and what it may reach.
pub mod auth;
/// The `soundlake` command line.
pub mod cli;
/// The read-only Arrow Flight SQL endpoint over the lake.
pub mod flight_sql;
/// Configuration, the database, private files, shutdown.
pub mod infra;
/// ListenBrainz's API, for real players.
pub mod listenbrainz;
/// Ingestion, live re-ranking, pipeline runs, the simulator's stream.
pub mod services;
/// The HTTP server: routes, state, metrics.
pub mod web;
