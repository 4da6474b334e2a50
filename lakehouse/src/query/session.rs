//! DataFusion sessions with soundlake's settings, which `DATAFUSION_*` environment variables
//! can change.

use std::sync::LazyLock;

use datafusion::prelude::{SessionConfig, SessionContext};

/// DataFusion settings soundlake's sessions start from:
/// - strings are plain `Utf8` (not views), so query results can be written back to Delta and
///   read by other engines without surprises;
/// - a join whose smaller side has up to 2 million rows or 256 MiB (the track catalogue, the
///   few repeated event ids) builds one hash table from it, instead of redistributing both
///   sides across the cores (which costs the larger side, 10 million listens say, a copy).
pub const SESSION_DEFAULTS: [(&str, &str); 4] = [
    (
        "datafusion.execution.parquet.schema_force_view_types",
        "false",
    ),
    (
        "datafusion.sql_parser.map_string_types_to_utf8view",
        "false",
    ),
    (
        "datafusion.optimizer.hash_join_single_partition_threshold",
        "268435456",
    ),
    (
        "datafusion.optimizer.hash_join_single_partition_threshold_rows",
        "2000000",
    ),
];

/// The session settings every session starts from, read from the environment once.
static BASE_SESSION_CONFIG: LazyLock<BaseSessionConfig> = LazyLock::new(BaseSessionConfig::read);

/// DataFusion's settings from `DATAFUSION_*` variables, with [`SESSION_DEFAULTS`] for those
/// the environment does not set.
struct BaseSessionConfig {
    config: SessionConfig,
    /// `false` when a variable was malformed and the environment is ignored.
    environment_read: bool,
}

impl BaseSessionConfig {
    fn read() -> Self {
        let (mut config, environment_read) = match SessionConfig::from_env() {
            Ok(config) => (config, true),
            Err(e) => {
                tracing::warn!("DataFusion settings from the environment ignored: {e}");
                (SessionConfig::new(), false)
            }
        };
        for (key, value) in SESSION_DEFAULTS {
            set_unless_in_env(&mut config, environment_read, key, value);
        }
        Self {
            config,
            environment_read,
        }
    }
}

/// Sets `key` in `config`, unless the environment (when it was read) sets it.
fn set_unless_in_env(config: &mut SessionConfig, environment_read: bool, key: &str, value: &str) {
    let variable = key.to_uppercase().replace('.', "_");
    if !(environment_read && std::env::var_os(variable).is_some()) {
        config
            .options_mut()
            .set(key, value)
            .expect("a known setting");
    }
}

/// A session with [`SESSION_DEFAULTS`] and `settings` (DataFusion keys and values) on top.
/// The environment still has the last word.
pub fn new_session(settings: &[(&str, &str)]) -> SessionContext {
    SessionContext::new_with_config(session_config(settings))
}

/// The settings of [`new_session`]'s sessions.
pub fn session_config(settings: &[(&str, &str)]) -> SessionConfig {
    let base = &*BASE_SESSION_CONFIG;
    let mut config = base.config.clone();
    for (key, value) in settings {
        set_unless_in_env(&mut config, base.environment_read, key, value);
    }
    config
}

/// How many partitions the session runs in parallel (one per core by default).
pub fn target_partitions(ctx: &SessionContext) -> usize {
    ctx.state().config().target_partitions().max(1)
}

/// How many Delta writers per core a partitioned write of an ordered result runs, each fed its
/// own range of the rows (see [`super::materialize_sorted_shares`] and [`crate::partitioned_write`]).
/// With one per core, a core idles whenever the other's writer still has days left; several
/// per core keep both busy to the end.
pub const DELTA_WRITERS_PER_CORE: usize = 4;
