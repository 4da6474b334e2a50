//! Configuration: documented defaults, an optional TOML file, then environment variables.
//!
//! | setting | env | TOML key | default |
//! |---|---|---|---|
//! | data folder (lake, embedded PostgreSQL) | `SOUNDLAKE_DATA_DIR` | `data_dir` | `./soundlake-data` |
//! | external PostgreSQL (unset: embedded) | `DATABASE_URL` | `database_url` | unset |
//! | listen address | `SOUNDLAKE_ADDR` | `addr` | `127.0.0.1:3000` |
//! | built site (wasm, js, css) | `SOUNDLAKE_SITE_ROOT` | `site_root` | `./target/site` |
//! | PostgreSQL binaries for the embedded cluster | `SOUNDLAKE_PG_BIN` | `pg_bin` | found on the machine |
//! | demo catalogue size | `SOUNDLAKE_DEMO_TRACKS` | `demo_tracks` | `20000` |
//! | admin token for pipeline and lake endpoints | `SOUNDLAKE_ADMIN_TOKEN` | `admin_token` | generated, kept in `<data_dir>/admin-token` |
//! | seconds between scheduled pipeline runs (0: off) | `SOUNDLAKE_PIPELINE_INTERVAL` | `pipeline_interval` | `60` |
//! | API requests per second per client address (0: no limit) | `SOUNDLAKE_RATE_LIMIT` | `rate_limit` | `1000` |
//! | Arrow Flight SQL address (unset: off) | `SOUNDLAKE_FLIGHT_SQL_ADDR` | `flight_sql_addr` | unset |
//! | the lake on an object store (`s3://bucket/prefix`) | `SOUNDLAKE_LAKE_URL` | `lake_url` | unset: `<data_dir>/lake` |
//! | the object store's settings | `AWS_*` (read by delta-rs) | `[lake_options]` | none |
//! | where pipeline runs' silver and gold SQL runs (`local` or `ballista://HOST:PORT`) | `SOUNDLAKE_ENGINE` | `engine` | `local` |
//!
//! The TOML file is `soundlake.toml` in the working folder when present, or the file named by
//! `--config` / `SOUNDLAKE_CONFIG`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use lakehouse::Lake;
use lakehouse::query::cluster::Engine;
use serde::Deserialize;

/// The settings every subcommand shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub addr: SocketAddr,
    pub site_root: PathBuf,
    pub pg_bin: Option<PathBuf>,
    pub demo_tracks: usize,
    /// The admin credential; `None` means generated on first start and kept in the data folder.
    pub admin_token: Option<String>,
    /// Seconds between scheduled pipeline runs; 0 turns the schedule off.
    pub pipeline_interval: u64,
    /// API requests per second one client address may make, with bursts of twice as many
    /// (0: no limit).
    pub rate_limit: u32,
    /// Where the read-only Arrow Flight SQL endpoint over the lake listens (`None`: off).
    pub flight_sql_addr: Option<SocketAddr>,
    /// The lake on an object store (`None`: the `lake` folder of `data_dir`).
    pub lake_url: Option<String>,
    /// The object store's settings, as delta-rs names them (`AWS_ENDPOINT_URL`, ...).
    pub lake_options: BTreeMap<String, String>,
    /// Where pipeline runs' silver and gold marts SQL runs.
    pub engine: Engine,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("soundlake-data"),
            database_url: None,
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            site_root: PathBuf::from("target/site"),
            pg_bin: None,
            demo_tracks: 20_000,
            admin_token: None,
            pipeline_interval: 60,
            rate_limit: 1_000,
            flight_sql_addr: None,
            lake_url: None,
            lake_options: BTreeMap::new(),
            engine: Engine::Local,
        }
    }
}

/// The optional TOML file: every key may be left out.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    addr: Option<SocketAddr>,
    site_root: Option<PathBuf>,
    pg_bin: Option<PathBuf>,
    demo_tracks: Option<usize>,
    admin_token: Option<String>,
    pipeline_interval: Option<u64>,
    rate_limit: Option<u32>,
    flight_sql_addr: Option<SocketAddr>,
    lake_url: Option<String>,
    lake_options: Option<BTreeMap<String, String>>,
    engine: Option<String>,
}

impl Config {
    /// Loads the configuration from `file` (or `soundlake.toml` if present) and the process
    /// environment.
    pub fn load(file: Option<&Path>) -> Result<Self> {
        Self::from_sources(file, |key| std::env::var(key).ok())
    }

    /// Loads the configuration from `file` and the variables `env` returns.
    pub fn from_sources(file: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let mut config = Config::default();
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| env("SOUNDLAKE_CONFIG").map(PathBuf::from))
            .or_else(|| Some(PathBuf::from("soundlake.toml")).filter(|p| p.exists()));
        if let Some(path) = file {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading configuration file {}", path.display()))?;
            let parsed: FileConfig = toml::from_str(&text)
                .with_context(|| format!("parsing configuration file {}", path.display()))?;
            config.apply_file(parsed)?;
        }
        config.apply_env(env)?;
        Ok(config)
    }

    fn apply_file(&mut self, file: FileConfig) -> Result<()> {
        if let Some(v) = file.data_dir {
            self.data_dir = v;
        }
        if file.database_url.is_some() {
            self.database_url = file.database_url;
        }
        if let Some(v) = file.addr {
            self.addr = v;
        }
        if let Some(v) = file.site_root {
            self.site_root = v;
        }
        if file.pg_bin.is_some() {
            self.pg_bin = file.pg_bin;
        }
        if let Some(v) = file.demo_tracks {
            self.demo_tracks = v;
        }
        if file.admin_token.is_some() {
            self.admin_token = file.admin_token;
        }
        if let Some(v) = file.pipeline_interval {
            self.pipeline_interval = v;
        }
        if let Some(v) = file.rate_limit {
            self.rate_limit = v;
        }
        if file.flight_sql_addr.is_some() {
            self.flight_sql_addr = file.flight_sql_addr;
        }
        if file.lake_url.is_some() {
            self.lake_url = file.lake_url;
        }
        if let Some(v) = file.lake_options {
            self.lake_options = v;
        }
        if let Some(v) = file.engine {
            self.engine = v.parse()?;
        }
        Ok(())
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<()> {
        let env = |key: &str| env(key).filter(|v| !v.trim().is_empty());
        if let Some(v) = env("SOUNDLAKE_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = env("DATABASE_URL") {
            self.database_url = Some(v);
        }
        if let Some(v) = env("SOUNDLAKE_ADDR") {
            self.addr = v
                .parse()
                .with_context(|| format!("SOUNDLAKE_ADDR={v} is not host:port"))?;
        }
        if let Some(v) = env("SOUNDLAKE_SITE_ROOT") {
            self.site_root = PathBuf::from(v);
        }
        if let Some(v) = env("SOUNDLAKE_PG_BIN") {
            self.pg_bin = Some(PathBuf::from(v));
        }
        if let Some(v) = env("SOUNDLAKE_DEMO_TRACKS") {
            self.demo_tracks = v
                .parse()
                .with_context(|| format!("SOUNDLAKE_DEMO_TRACKS={v} is not a count"))?;
        }
        if let Some(v) = env("SOUNDLAKE_ADMIN_TOKEN") {
            self.admin_token = Some(v);
        }
        if let Some(v) = env("SOUNDLAKE_RATE_LIMIT") {
            self.rate_limit = v.parse().with_context(|| {
                format!("SOUNDLAKE_RATE_LIMIT={v} is not a number of requests per second")
            })?;
        }
        if let Some(v) = env("SOUNDLAKE_LAKE_URL") {
            self.lake_url = Some(v);
        }
        if let Some(v) = env("SOUNDLAKE_FLIGHT_SQL_ADDR") {
            self.flight_sql_addr = Some(
                v.parse()
                    .with_context(|| format!("SOUNDLAKE_FLIGHT_SQL_ADDR={v} is not host:port"))?,
            );
        }
        if let Some(v) = env("SOUNDLAKE_ENGINE") {
            self.engine = v.parse().context("SOUNDLAKE_ENGINE")?;
        }
        if let Some(v) = env("SOUNDLAKE_PIPELINE_INTERVAL") {
            self.pipeline_interval = v.parse().with_context(|| {
                format!("SOUNDLAKE_PIPELINE_INTERVAL={v} is not a number of seconds")
            })?;
        }
        Ok(())
    }

    /// The admin token: the configured one (at least [`MIN_ADMIN_TOKEN_CHARS`] characters),
    /// else the one kept in `<data_dir>/admin-token` (generated on first use, in a file only
    /// its owner may read).
    pub fn admin_token(&self) -> Result<String> {
        if let Some(token) = &self.admin_token {
            let token = token.trim();
            if token.chars().count() < MIN_ADMIN_TOKEN_CHARS {
                anyhow::bail!(
                    "SOUNDLAKE_ADMIN_TOKEN must have at least {MIN_ADMIN_TOKEN_CHARS} characters \
                     (leave it unset to have one generated)"
                );
            }
            return Ok(token.to_owned());
        }
        let path = self.data_dir.join("admin-token");
        if let Ok(token) = std::fs::read_to_string(&path)
            && token.trim().chars().count() >= MIN_ADMIN_TOKEN_CHARS
        {
            return Ok(token.trim().to_owned());
        }
        let _ = std::fs::remove_file(&path);
        let token = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        crate::infra::private_file::create(&path, &token)?;
        Ok(token)
    }

    /// Where the lake's tables live when no `lake_url` is set.
    pub fn lake_dir(&self) -> PathBuf {
        self.data_dir.join("lake")
    }

    /// The lake for a command that writes to it: as [`Config::lake`], refused when its object
    /// store would not keep concurrent commits apart.
    pub async fn writable_lake(&self) -> Result<Lake> {
        let lake = self.lake()?;
        lake.check_conditional_writes().await?;
        Ok(lake)
    }

    /// The lake: at `lake_url` with `lake_options`, else in [`Config::lake_dir`].
    pub fn lake(&self) -> Result<Lake> {
        match &self.lake_url {
            Some(url) => Ok(Lake::at(
                url,
                self.lake_options
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            )?),
            None => Ok(Lake::new(self.lake_dir())),
        }
    }
}

/// The shortest admin token accepted.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 24;

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |key| map.get(key).cloned()
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let config = Config::from_sources(None, env(&[])).unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(config.addr.to_string(), "127.0.0.1:3000");
    }

    #[test]
    fn environment_overrides_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("soundlake.toml");
        std::fs::write(
            &file,
            "data_dir = \"/from/file\"\naddr = \"0.0.0.0:8080\"\n",
        )
        .unwrap();
        let config =
            Config::from_sources(Some(&file), env(&[("SOUNDLAKE_DATA_DIR", "/from/env")])).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/from/env"));
        assert_eq!(config.addr.to_string(), "0.0.0.0:8080");
        assert_eq!(config.lake_dir(), PathBuf::from("/from/env/lake"));
    }

    #[test]
    fn a_short_admin_token_is_refused_and_none_set_gives_a_kept_one() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_str().unwrap();
        let short = "x".repeat(MIN_ADMIN_TOKEN_CHARS - 1);
        let padded = format!("  {short}  ");
        for token in [short.as_str(), padded.as_str(), "secret"] {
            let config = Config::from_sources(
                None,
                env(&[
                    ("SOUNDLAKE_DATA_DIR", data),
                    ("SOUNDLAKE_ADMIN_TOKEN", token),
                ]),
            )
            .unwrap();
            let err = config.admin_token().unwrap_err();
            assert!(err.to_string().contains("at least"), "{token:?}: {err}");
        }
        let file = dir.path().join("soundlake.toml");
        std::fs::write(&file, "admin_token = \"\"\n").unwrap();
        let config =
            Config::from_sources(Some(&file), env(&[("SOUNDLAKE_DATA_DIR", data)])).unwrap();
        assert!(config.admin_token().is_err(), "an empty token in the file");

        let unset = Config::from_sources(None, env(&[("SOUNDLAKE_DATA_DIR", data)])).unwrap();
        let generated = unset.admin_token().unwrap();
        assert!(generated.chars().count() >= MIN_ADMIN_TOKEN_CHARS);
        assert_eq!(
            unset.admin_token().unwrap(),
            generated,
            "kept for the next start"
        );
    }

    #[test]
    fn bad_values_are_reported_with_their_name() {
        let err = Config::from_sources(None, env(&[("SOUNDLAKE_ADDR", "nowhere")])).unwrap_err();
        assert!(err.to_string().contains("SOUNDLAKE_ADDR"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "colour = \"blue\"\n").unwrap();
        let err = Config::from_sources(Some(&file), env(&[])).unwrap_err();
        assert!(format!("{err:#}").contains("colour"), "{err:#}");
    }
}
