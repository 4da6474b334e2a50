//! The `soundlake` server: configuration, the gold database (external or embedded), the REST
//! API, the web app's server side, and the commands of the `soundlake` binary.

pub mod accounts;
pub mod api;
pub mod auth;
pub mod bench;
pub mod cli;
pub mod commands;
pub mod config;
pub mod database;
pub mod flight_sql;
pub mod ingest;
pub mod listenbrainz;
pub mod live;
pub mod metrics;
pub mod pipeline;
pub mod pipeline_commands;
pub mod postgres;
pub mod private_file;
pub mod shutdown;
pub mod simulator;
pub mod state;
pub mod stream;
pub mod web;
