//! Black-box tests of the server: the HTTP API and pages as a client sees them, against a real
//! PostgreSQL (`TEST_DATABASE_URL`, default 127.0.0.1:5432), each test on its own database.

mod access;
mod admin_pages;
mod api_contract;
mod api_limits;
mod api_listens;
mod api_pipeline;
mod api_recommendations;
mod api_stats;
mod api_tracks;
mod checked_queries;
mod cluster;
mod deployment;
mod embedded_postgres;
mod flight_sql;
mod hosts;
mod instances;
mod listenbrainz;
mod listener_pages;
mod live_bounds;
mod ml_memory;
mod pages;
mod process;
mod protection;
// The lakehouse tests' S3 server (moto's), shared by path rather than copied.
#[path = "../../../lakehouse/tests/it/s3_server.rs"]
mod s3_server;
mod support;
