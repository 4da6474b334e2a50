//! The gold database this process uses: `DATABASE_URL`, or the embedded cluster.

use std::str::FromStr;

use anyhow::{Context, Result};
use lakehouse::gold::admin::create_database_if_missing;
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;

use crate::infra::config::Config;
use crate::infra::embedded_postgres::EmbeddedPostgres;

/// A migrated connection pool, and the embedded cluster behind it when there is one (stopped
/// when this is dropped, if this process started it).
pub struct Database {
    pub pool: PgPool,
    /// Where the pool connects, without credentials, for logs.
    pub description: String,
    embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// Connects to `DATABASE_URL`, or starts the embedded cluster, then applies migrations.
    pub async fn open(config: &Config) -> Result<Self> {
        let (url, embedded) = match &config.database_url {
            Some(url) => {
                create_named_database(url).await;
                (url.clone(), None)
            }
            None => {
                let root = config.data_dir.join("postgres");
                let bin = config.pg_bin.clone();
                let cluster = tokio::task::spawn_blocking(move || {
                    EmbeddedPostgres::start(&root, bin.as_deref())
                })
                .await??;
                create_database_if_missing(
                    &PgConnectOptions::from_str(&cluster.admin_url())?,
                    "soundlake",
                )
                .await?;
                (cluster.url(), Some(cluster))
            }
        };
        let options = PgConnectOptions::from_str(&url).context("parsing DATABASE_URL")?;
        let description = format!(
            "postgres://{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("")
        );
        let pool = lakehouse::gold::connect(options)
            .await
            .with_context(|| format!("connecting to {description}"))?;
        lakehouse::gold::migrate(&pool)
            .await
            .context("migrating the gold database")?;
        Ok(Self {
            pool,
            description,
            embedded,
        })
    }

    /// Closes the pool and stops the embedded cluster if this process started it.
    pub async fn close(mut self) {
        self.pool.close().await;
        if let Some(cluster) = self.embedded.take() {
            tokio::task::spawn_blocking(move || drop(cluster))
                .await
                .ok();
        }
    }
}

/// Creates the database `url` names when it is missing and the server lets us (through its
/// `postgres` maintenance database); otherwise the real connection reports the problem.
async fn create_named_database(url: &str) {
    let Ok(options) = PgConnectOptions::from_str(url) else {
        return;
    };
    let Some(name) = options.get_database().map(str::to_owned) else {
        return;
    };
    if let Err(error) = create_database_if_missing(&options.database("postgres"), &name).await {
        tracing::debug!("not creating database {name}: {error}");
    }
}

/// How often [`watch_availability`] checks the database.
const AVAILABILITY_CHECK: std::time::Duration = std::time::Duration::from_secs(2);

/// Checks every couple of seconds that `pool`'s database answers, until `shutdown`; the flag
/// says it did not at the last check (pages show a notice then).
pub fn watch_availability(
    pool: PgPool,
    shutdown: crate::infra::shutdown::Shutdown,
) -> app::server_fns::DatabaseDown {
    use std::sync::atomic::Ordering;
    let down = app::server_fns::DatabaseDown::default();
    let flag = down.0.clone();
    tokio::spawn(async move {
        loop {
            let answered = tokio::time::timeout(
                AVAILABILITY_CHECK,
                sqlx::query_scalar!("SELECT 1").fetch_one(&pool),
            )
            .await
            .is_ok_and(|r| r.is_ok());
            if flag.swap(!answered, Ordering::Relaxed) == answered {
                if answered {
                    tracing::info!("the database answers again");
                } else {
                    tracing::warn!("the database does not answer");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(AVAILABILITY_CHECK) => {}
                _ = shutdown.signalled() => return,
            }
        }
    });
    down
}
