//! A private PostgreSQL cluster under the data folder, started from the machine's installed
//! PostgreSQL binaries when no `DATABASE_URL` is configured.
//!
//! The cluster lives in `<data_dir>/postgres/` and is reused across restarts. It listens on no
//! TCP port at all, only on a Unix socket in `<data_dir>/postgres/socket/`, a folder only its
//! owner may open (mode 700): that folder is what keeps other users of the machine out, so
//! connections through it are trusted. A process that finds the cluster
//! already running (a `soundlake serve` next door) connects to it and leaves it running; the
//! process that started it stops it on shutdown.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

const DATABASE: &str = "soundlake";
const SUPERUSER: &str = "soundlake";
/// The port number in the socket's name (`.s.PGSQL.<port>`); no TCP port is opened.
const PORT: u16 = 54_329;
/// The longest socket path the operating system takes (`sun_path`, with room to spare).
const MAX_SOCKET_PATH: usize = 100;

/// A running private cluster.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin: PathBuf,
    data: PathBuf,
    socket_dir: PathBuf,
    port: u16,
    started_here: bool,
    run_as_postgres: bool,
}

impl EmbeddedPostgres {
    /// Starts (initialising on first use) the cluster under `root`, or attaches to it when it
    /// is already running.
    pub fn start(root: &Path, bin: Option<&Path>) -> Result<Self> {
        let bin = match bin {
            Some(dir) => dir.to_path_buf(),
            None => find_binaries()?,
        };
        std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
        let root = root.canonicalize()?;
        let data = root.join("data");
        let socket_dir = root.join("socket");
        let socket = socket_dir.join(format!(".s.PGSQL.{PORT}"));
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            bail!(
                "the embedded PostgreSQL's socket path {} is longer than {MAX_SOCKET_PATH} bytes; \
                 set SOUNDLAKE_DATA_DIR to a shorter folder",
                socket.display()
            );
        }
        std::fs::create_dir_all(&socket_dir)
            .with_context(|| format!("creating {}", socket_dir.display()))?;
        std::fs::set_permissions(&socket_dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("making {} private", socket_dir.display()))?;
        let run_as_postgres = is_root();
        if run_as_postgres {
            give_to_postgres(&root)?;
        }
        let mut cluster = Self {
            bin,
            data,
            socket_dir,
            port: PORT,
            started_here: false,
            run_as_postgres,
        };
        if !cluster.data.join("PG_VERSION").exists() {
            cluster.init()?;
        }
        if let Some(port) = cluster.running_port() {
            let socket = cluster.socket_dir.join(format!(".s.PGSQL.{port}"));
            if socket.exists() {
                cluster.port = port;
                tracing::info!(port, "attached to the running embedded PostgreSQL");
                return Ok(cluster);
            }
            // A cluster an earlier soundlake started on TCP, perhaps serving it now.
            bail!(
                "the embedded PostgreSQL in {} runs without its private socket (an earlier \
                 soundlake started it): stop the process that uses it, then start again",
                cluster.data.display()
            );
        }
        let log = root.join("postgres.log");
        let options = format!(
            "-p {PORT} -c listen_addresses='' -c unix_socket_directories='{}' \
             -c unix_socket_permissions=0700",
            cluster.socket_dir.display()
        );
        let data = cluster.data.display().to_string();
        let log = log.display().to_string();
        cluster
            .run(
                "pg_ctl",
                &[
                    "-D", &data, "-l", &log, "-o", &options, "-w", "-t", "60", "start",
                ],
            )
            .with_context(|| format!("starting PostgreSQL; its log is {log}"))?;
        cluster.started_here = true;
        tracing::info!(port = cluster.port, "started the embedded PostgreSQL");
        Ok(cluster)
    }

    /// The URL of the server's maintenance database.
    pub fn admin_url(&self) -> String {
        self.url_of("postgres")
    }

    /// The URL of soundlake's database (created by [`crate::infra::database`] when missing).
    pub fn url(&self) -> String {
        self.url_of(DATABASE)
    }

    /// The folder holding the cluster's socket.
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    fn url_of(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@localhost:{}/{database}?host={}",
            self.port,
            app::types::url_encode(&self.socket_dir.display().to_string())
        )
    }

    /// Stops the cluster now, whoever started it (an operator's or a test's outage).
    pub fn shut_down(&self) -> Result<()> {
        let data = self.data.display().to_string();
        self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"])
    }

    /// Stops the cluster if this process started it.
    fn stop(&self) -> Result<()> {
        if self.started_here {
            let data = self.data.display().to_string();
            self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"])?;
            tracing::info!("stopped the embedded PostgreSQL");
        }
        Ok(())
    }

    fn init(&self) -> Result<()> {
        let data = self.data.display().to_string();
        self.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
            ],
        )
        .context("initialising the embedded PostgreSQL cluster")
    }

    /// The port of a postmaster already serving this data folder, if any.
    fn running_port(&self) -> Option<u16> {
        let data = self.data.display().to_string();
        self.run("pg_ctl", &["-D", &data, "status"]).ok()?;
        // postmaster.pid: line 4 is the port.
        let pid_file = std::fs::read_to_string(self.data.join("postmaster.pid")).ok()?;
        pid_file.lines().nth(3)?.trim().parse().ok()
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<()> {
        let program = self.bin.join(program);
        let mut command = if self.run_as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let output = command
            .args(args)
            .current_dir(self.data.parent().unwrap_or(Path::new("/")))
            .output()
            .with_context(|| format!("running {}", program.display()))?;
        if !output.status.success() {
            bail!(
                "{} {} failed ({}): {}",
                program.display(),
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }
}

/// Finds the folder holding `initdb`, `pg_ctl` and `postgres`.
fn find_binaries() -> Result<PathBuf> {
    let has_all = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| dir.join(b).exists())
    };
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .collect();
    // Newest major version first.
    candidates.sort_by_key(|p| {
        std::cmp::Reverse(
            p.parent()
                .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok()),
        )
    });
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }
    candidates.into_iter().find(|dir| has_all(dir)).ok_or_else(|| {
        anyhow::anyhow!(
            "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found in /usr/lib/postgresql/*/bin \
             or on PATH. Install them (Debian: `apt-get install postgresql`), point SOUNDLAKE_PG_BIN at \
             their folder, or set DATABASE_URL to an existing PostgreSQL server."
        )
    })
}

fn is_root() -> bool {
    // The effective uid of this process, read from /proc (no libc binding needed).
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("Uid:"))?;
            line.split_whitespace().nth(2).map(|euid| euid == "0")
        })
        .unwrap_or(false)
}

/// PostgreSQL refuses to run as root: hand the cluster folder to the `postgres` user, and
/// check that the user can reach it.
fn give_to_postgres(root: &Path) -> Result<()> {
    let status = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(root)
        .status()
        .context("running chown (needed to run PostgreSQL as the postgres user)")?;
    if !status.success() {
        bail!(
            "could not give {} to the `postgres` user; as root, PostgreSQL must run as that user",
            root.display()
        );
    }
    let reachable = Command::new("runuser")
        .args(["-u", "postgres", "--", "test", "-w"])
        .arg(root)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !reachable {
        bail!(
            "the `postgres` user cannot reach {} (a parent folder is private, e.g. /root). \
             Set SOUNDLAKE_DATA_DIR to a folder outside it, or set DATABASE_URL.",
            root.display()
        );
    }
    Ok(())
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if let Err(error) = self.stop() {
            tracing::warn!("stopping the embedded PostgreSQL: {error:#}");
        }
    }
}
