//! The PostgreSQL gold datamart: migrations, loads from silver, and the queries that serve it.

pub mod admin;
pub mod clusters;
mod copy_text;
pub mod fingerprint;
pub mod lake_loads;
pub mod listener;
pub mod marts;
pub mod model_publish;
pub mod now_playing;
pub mod recommendations;
pub mod stats;
pub mod tracks;
pub mod tracks_load;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::error::Result;

/// The gold schema's migrations (`migrations/` at the workspace root), forward-only.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// Connects to the gold database with the pool settings soundlake uses everywhere.
pub async fn connect(options: PgConnectOptions) -> Result<PgPool> {
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect_with(options)
        .await?;
    Ok(pool)
}

/// Brings the gold schema up to date.
pub async fn migrate(pool: &PgPool) -> Result<()> {
    MIGRATOR.run(pool).await?;
    Ok(())
}
