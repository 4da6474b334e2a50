//! Integration tests of the engine against real Delta tables on disk and a real PostgreSQL
//! (`TEST_DATABASE_URL`, default the local server on 127.0.0.1:5432), each test on a fresh
//! database of its own.

mod catalog_import;
mod dashboard_tops;
mod gold_search;
mod hostile_text;
mod ingest_writer;
mod listen_import;
mod ml;
mod named_tables;
mod object_store;
mod pipeline;
mod real_data;
mod s3_server;
mod silver_parts;
mod simulate_backfill;
mod support;
