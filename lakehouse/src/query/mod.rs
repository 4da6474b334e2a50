//! DataFusion plumbing: sessions with soundlake's settings, running SQL and collecting or
//! materialising its result, soundlake's own SQL functions, and sessions on a Ballista
//! cluster.

pub mod cluster;
mod collect;
pub mod functions;
mod session;

pub use collect::{
    Params, collect_or_empty, collect_sql, collect_sql_with, materialize,
    materialize_sorted_shares, materialize_with, register_batches,
};
pub use session::{
    DELTA_WRITERS_PER_CORE, SESSION_DEFAULTS, new_session, session_config, target_partitions,
};
