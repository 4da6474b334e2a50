//! Creating and dropping databases: for the embedded cluster, benchmarks and tests, which each
//! want a database of their own on one server.

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, Connection, PgConnection};

use crate::error::{LakehouseError, Result};

fn checked_name(name: &str) -> Result<&str> {
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(name)
    } else {
        Err(LakehouseError::Schema {
            table: "pg_database".into(),
            detail: format!("database name {name:?} must be letters, digits and underscores"),
        })
    }
}

/// Parses a `postgres://` URL.
pub fn parse_url(url: &str) -> Result<PgConnectOptions> {
    Ok(PgConnectOptions::from_str(url)?)
}

/// Creates database `name` on the server `server` connects to, unless it exists.
pub async fn create_database_if_missing(server: &PgConnectOptions, name: &str) -> Result<()> {
    let name = checked_name(name)?;
    let mut conn = PgConnection::connect_with(server).await?;
    // `datname` is of type `name`; the name is bound as text.
    let exists = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1::text) AS "exists!""#,
        name,
    )
    .fetch_one(&mut conn)
    .await?;
    if !exists {
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await?;
    }
    conn.close().await?;
    Ok(())
}

/// Drops database `name` on the server `server` connects to, if it exists, closing any
/// connections to it.
pub async fn drop_database(server: &PgConnectOptions, name: &str) -> Result<()> {
    let name = checked_name(name)?;
    let mut conn = PgConnection::connect_with(server).await?;
    sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    Ok(())
}
