//! What the server runs on: its configuration, the gold database (external or an embedded
//! PostgreSQL cluster), files only soundlake's user may read, the shutdown signal, and the
//! figures it exposes to monitoring.

pub mod config;
pub mod database;
pub mod embedded_postgres;
pub mod metrics;
pub mod private_file;
pub mod rate_limit;
pub mod shutdown;
