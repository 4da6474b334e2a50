//! Fresh databases and lakes for each test.

use std::path::{Path, PathBuf};

use lakehouse::Lake;
use lakehouse::gold::admin::{create_database_if_missing, drop_database, parse_url};
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;

/// The PostgreSQL server tests create their databases on.
pub fn server() -> PgConnectOptions {
    let url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    parse_url(&url).expect("TEST_DATABASE_URL is a postgres:// URL")
}

/// A migrated database of its own, and a lake in a temporary folder, for one test.
pub struct TestEnv {
    pub pool: PgPool,
    pub lake: Lake,
    name: String,
    _lake_dir: tempfile::TempDir,
}

impl TestEnv {
    pub async fn new() -> Self {
        let name = format!("soundlake_test_{}", uuid::Uuid::new_v4().simple());
        let server = server();
        create_database_if_missing(&server, &name)
            .await
            .expect("creating a test database");
        let pool = lakehouse::gold::connect(server.clone().database(&name))
            .await
            .expect("connecting");
        lakehouse::gold::migrate(&pool).await.expect("migrating");
        let lake_dir = tempfile::tempdir().expect("a temporary lake folder");
        Self {
            pool,
            lake: Lake::new(lake_dir.path()),
            name,
            _lake_dir: lake_dir,
        }
    }

    /// Closes the pool and drops the database.
    pub async fn finish(self) {
        self.pool.close().await;
        drop_database(&server(), &self.name)
            .await
            .expect("dropping the test database");
    }

    /// Runs `sql` over the lake table `table` (named `layer_name` in the SQL) and returns the
    /// result as a text table.
    pub async fn lake_query(&self, table: lakehouse::lake::TableRef, sql: &str) -> String {
        let delta = self
            .lake
            .existing_table(table)
            .await
            .expect("reading the table")
            .expect("the table exists");
        let batches = self.lake.query_table(table, &delta, sql).await.expect(sql);
        datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .expect("printable")
            .to_string()
    }

    pub async fn scalar(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.pool)
            .await
            .expect(sql)
    }
}

/// Imports a seeded demo catalogue of `tracks` tracks through every layer and returns the
/// tracks the simulator plays from.
pub async fn demo_catalogue(env: &TestEnv, tracks: usize) -> Vec<lakehouse::simulate::SimTrack> {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let catalog = lakehouse::demo::DemoCatalog {
        tracks,
        ..lakehouse::demo::DemoCatalog::default()
    };
    let file =
        lakehouse::catalog::demo_catalog_file(dir.path(), &catalog).expect("the demo catalogue");
    lakehouse::catalog::import_catalog(&env.lake, &env.pool, &[file])
        .await
        .expect("importing the demo catalogue");
    lakehouse::gold::tracks::simulation_tracks(&env.pool)
        .await
        .expect("reading the catalogue")
}

/// The real Spotify Tracks Dataset beside the checkout (`../shared/data/raw/`).
pub fn spotify_114k() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/raw/spotify-tracks-dataset-114k/by_genre");
    assert!(
        path.is_dir(),
        "the real catalogue is expected at {}",
        path.display()
    );
    path
}

pub const TRACKS_HEADER: &str = "track_id,artists,album_name,track_name,popularity,duration_ms,explicit,\
danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,\
valence,tempo,time_signature,track_genre";

/// A Spotify Tracks Dataset row with typical features.
pub fn track_row(id: &str, artists: &str, name: &str, popularity: &str, genre: &str) -> String {
    format!(
        "{id},{artists},Some Album,{name},{popularity},200000,False,0.5,0.6,5,-7.5,1,0.05,0.2,1.5e-05,0.1,0.4,120.0,4,{genre}"
    )
}

/// Writes a catalogue CSV file.
pub fn write_csv(dir: &Path, name: &str, header: &str, rows: &[String]) -> PathBuf {
    let path = dir.join(name);
    let mut text = format!("{header}\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    std::fs::write(&path, text).expect("writing a test CSV");
    path
}

/// One pipeline run to its end.
pub async fn run_pipeline(
    env: &TestEnv,
    options: lakehouse::pipeline::RunOptions,
) -> lakehouse::pipeline::RunSummary {
    lakehouse::pipeline::begin(&env.pool, "test")
        .await
        .unwrap()
        .execute(&env.lake, &env.pool, &options, |_| {})
        .await
        .unwrap()
}

/// The Python with the packages the interoperability tests use (`./dev.sh test` installs them:
/// deltalake, moto's S3 server).
pub fn python() -> String {
    let python = std::env::var("SOUNDLAKE_PYTHON").unwrap_or_else(|_| {
        format!(
            "{}/.cache/soundlake/venv/bin/python",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    assert!(
        std::path::Path::new(&python).exists(),
        "{python} is missing: ./dev.sh test installs the tests' Python packages there (or set SOUNDLAKE_PYTHON)"
    );
    python
}
