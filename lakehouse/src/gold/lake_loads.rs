//! Bookkeeping of which lake table version each gold table holds.

use sqlx::{PgConnection, PgPool};

use crate::error::Result;

/// The lake version a gold target was last loaded from, if it was ever loaded.
pub async fn loaded_version(pool: &PgPool, target: &str) -> Result<Option<i64>> {
    let version = sqlx::query_scalar!(
        "SELECT source_version FROM lake_loads WHERE target = $1",
        target,
    )
    .fetch_optional(pool)
    .await?;
    Ok(version)
}

/// Records, inside the load's own transaction, that `target` now holds `source_table` at
/// `source_version`.
pub async fn record_load(
    conn: &mut PgConnection,
    target: &str,
    source_table: &str,
    source_version: i64,
    rows_loaded: i64,
) -> Result<()> {
    sqlx::query!(
        "INSERT INTO lake_loads (target, source_table, source_version, rows_loaded, loaded_at)
         VALUES ($1, $2, $3, $4, now())
         ON CONFLICT (target) DO UPDATE
         SET source_table = EXCLUDED.source_table, source_version = EXCLUDED.source_version,
             rows_loaded = EXCLUDED.rows_loaded, loaded_at = EXCLUDED.loaded_at",
        target,
        source_table,
        source_version,
        rows_loaded,
    )
    .execute(conn)
    .await?;
    Ok(())
}
