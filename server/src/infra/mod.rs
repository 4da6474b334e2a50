//! What the server runs on: its configuration, the gold database (external or an embedded
//! PostgreSQL cluster), files only soundlake's user may read, and the shutdown signal.

pub mod config;
pub mod database;
pub mod embedded_postgres;
pub mod private_file;
pub mod shutdown;
