//! The same SQL on an Apache Ballista cluster: a scheduler that plans the lake's queries and
//! executors that run them, all carrying soundlake's SQL functions, with [`LakeCodec`] to send
//! the lake's tables in a query's plan.
//!
//! A session for a cluster ([`Engine::Ballista`]) sends each query to the scheduler and gets
//! its result back. What a job keeps for its later queries is written by the executors as
//! Parquet in the session's scratch folder ([`Scratch`]), not held in the session's memory,
//! since the executors could not read that.

mod codec;
mod scratch;
mod snapshot_table;
mod stores;

use std::sync::{Arc, LazyLock};

use ballista_core::RuntimeProducer;
use ballista_core::extension::{
    SessionConfigExt, SessionStateExt, ballista_aggregate_functions, ballista_scalar_functions,
};
use ballista_core::registry::BallistaFunctionRegistry;
use datafusion::execution::FunctionRegistry;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};

pub use codec::LakeCodec;
pub use scratch::Scratch;
pub use snapshot_table::SnapshotTable;
pub use stores::LakeStores;

use crate::error::{LakehouseError, Result};
use crate::query::functions;

/// Ballista's scheduler port, when an engine's address names none.
pub const DEFAULT_SCHEDULER_PORT: u16 = 50050;

/// Where the silver and gold SQL runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Engine {
    /// In soundlake's own process (the default).
    #[default]
    Local,
    /// On a Ballista cluster, through its scheduler at `host:port`.
    Ballista { host: String, port: u16 },
}

impl Engine {
    /// `local`, or `ballista://HOST[:PORT]` (the port defaults to 50050).
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = |detail: &str| {
            LakehouseError::Config(format!(
                "engine `{text}`: {detail} (expected `local` or `ballista://HOST:PORT`)"
            ))
        };
        if text == "local" {
            return Ok(Self::Local);
        }
        let address = text
            .strip_prefix("ballista://")
            .ok_or_else(|| invalid("unknown engine"))?
            .trim_end_matches('/');
        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse::<u16>()
                    .map_err(|_| invalid("the port is not a number from 1 to 65535"))?,
            ),
            None => (address, DEFAULT_SCHEDULER_PORT),
        };
        if host.is_empty() || port == 0 || host.contains(['/', '@', '?', '#']) {
            return Err(invalid("no valid host and port"));
        }
        Ok(Self::Ballista {
            host: host.to_owned(),
            port,
        })
    }

    pub fn is_local(&self) -> bool {
        matches!(self, Self::Local)
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Local => f.write_str("local"),
            Self::Ballista { host, port } => write!(f, "ballista://{host}:{port}"),
        }
    }
}

impl std::str::FromStr for Engine {
    type Err = LakehouseError;

    fn from_str(text: &str) -> Result<Self> {
        Self::parse(text)
    }
}

/// A session whose queries run on the cluster whose scheduler is at `host:port`, with
/// `config`'s settings, soundlake's functions, and `scratch` for the results it keeps.
pub fn remote_session(
    config: SessionConfig,
    host: &str,
    port: u16,
    scratch: Scratch,
) -> Result<SessionContext> {
    // Ballista's adaptive planner is off: on the silver build's queries it kept planning new
    // stages and never finished the job.
    let config = config
        .upgrade_for_ballista()
        .with_ballista_adaptive_query_planner(false)
        .with_ballista_logical_extension_codec(Arc::new(LakeCodec::default()))
        .with_extension(Arc::new(scratch));
    let state = datafusion::execution::session_state::SessionStateBuilder::new()
        .with_default_features()
        .with_config(config)
        .build()
        .upgrade_for_ballista(format!("http://{host}:{port}"))
        .map_err(|e| LakehouseError::query("a session on the Ballista cluster", e))?;
    let ctx = SessionContext::new_with_state(state);
    functions::register(&ctx);
    Ok(ctx)
}

/// The process's object stores, shared by its sessions so that each bucket is opened once.
static LAKE_STORES: LazyLock<Arc<LakeStores>> = LazyLock::new(Arc::default);

/// The scheduler's sessions: Ballista's, with soundlake's functions and the lake's object
/// stores (it lists the files of the folders a job keeps its results in).
pub fn scheduler_session(config: SessionConfig) -> datafusion::error::Result<SessionState> {
    let state = ballista_core::utils::default_session_builder(config)?;
    let runtime = RuntimeEnvBuilder::new()
        .with_object_store_registry(Arc::clone(&*LAKE_STORES) as _)
        .build_arc()?;
    let mut state = SessionStateBuilder::new_from_existing(state)
        .with_runtime_env(runtime)
        .build();
    for function in functions::scalar_functions() {
        state.register_udf(Arc::new(function))?;
    }
    for function in functions::aggregate_functions() {
        state.register_udaf(Arc::new(function))?;
    }
    Ok(state)
}

/// The runtime an executor runs its tasks in: its temporary files in `work_dir`, and the
/// lake's files through [`LakeStores`], in a local folder or an object store.
pub fn executor_runtime(work_dir: String) -> RuntimeProducer {
    Arc::new(move |_| {
        RuntimeEnvBuilder::new()
            .with_temp_file_path(work_dir.clone())
            .with_object_store_registry(Arc::clone(&*LAKE_STORES) as _)
            .build_arc()
    })
}

/// The functions an executor runs plans with: DataFusion's, the list functions among them
/// (`array_element`, which Ballista's default registry leaves out), and soundlake's.
pub fn executor_functions() -> BallistaFunctionRegistry {
    let mut registry = BallistaFunctionRegistry::default();
    let scalar = functions::scalar_functions().into_iter().map(Arc::new);
    for function in ballista_scalar_functions().into_iter().chain(scalar) {
        registry
            .scalar_functions
            .insert(function.name().to_owned(), function);
    }
    let aggregate = functions::aggregate_functions().into_iter().map(Arc::new);
    for function in ballista_aggregate_functions().into_iter().chain(aggregate) {
        registry
            .aggregate_functions
            .insert(function.name().to_owned(), function);
    }
    registry
}

#[cfg(test)]
mod tests;
