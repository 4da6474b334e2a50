//! `soundlake cluster ...`: the processes of an Apache Ballista cluster that runs pipeline
//! runs' silver and gold marts SQL (`soundlake pipeline run --engine ballista://HOST:PORT`).
//! Both carry soundlake's SQL functions and its codec for the lake's tables, which Ballista's
//! own binaries do not. Neither authenticates its callers: keep their ports on a private
//! network.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Result, anyhow, bail};
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use clap::{Args, Subcommand};
use lakehouse::query::cluster::{
    Engine, LakeCodec, executor_functions, executor_runtime, scheduler_session,
};

#[derive(Debug, Args)]
pub struct ClusterArgs {
    #[command(subcommand)]
    what: ClusterCommand,
}

#[derive(Debug, Subcommand)]
enum ClusterCommand {
    /// Start a scheduler: it plans the queries of pipeline runs and hands their tasks to the
    /// executors.
    Scheduler {
        /// The address it listens on.
        #[arg(long, default_value = "127.0.0.1:50050")]
        bind: SocketAddr,
    },
    /// Start an executor: it registers with the scheduler and runs the tasks it is given,
    /// reading and writing the lake's files in a folder every member reaches by the same path,
    /// or on the object store (whose `AWS_*` settings it takes from its environment).
    Executor(ExecutorArgs),
}

#[derive(Debug, Args)]
struct ExecutorArgs {
    /// The scheduler, as `ballista://HOST:PORT`.
    #[arg(long, default_value = "ballista://127.0.0.1:50050")]
    scheduler: Engine,
    /// The address its services listen on, and that the others reach it at.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// The port of its Arrow Flight service, from which its results are read.
    #[arg(long, default_value_t = 50051)]
    port: u16,
    /// The port of its gRPC service.
    #[arg(long, default_value_t = 50052)]
    grpc_port: u16,
    /// Tasks it runs at once (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    tasks: Option<u16>,
    /// Where it keeps the data it passes between a query's stages (default: a temporary
    /// folder).
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

pub async fn run(args: ClusterArgs) -> Result<()> {
    match args.what {
        ClusterCommand::Scheduler { bind } => scheduler(bind).await,
        ClusterCommand::Executor(args) => executor(args).await,
    }
}

/// Runs an executor of the scheduler `args` names until the process is stopped.
async fn executor(args: ExecutorArgs) -> Result<()> {
    let Engine::Ballista {
        host: scheduler_host,
        port: scheduler_port,
    } = args.scheduler
    else {
        bail!("--scheduler takes a scheduler's address, ballista://HOST:PORT");
    };
    // Ballista's own default is a temporary folder too; this one lasts as long as the process.
    let temporary = tempfile::Builder::new()
        .prefix("soundlake-executor-")
        .tempdir()?;
    let work_dir = match args.work_dir {
        Some(dir) => dir.display().to_string(),
        None => temporary.path().display().to_string(),
    };
    let defaults = ExecutorProcessConfig::default();
    let config = ExecutorProcessConfig {
        bind_host: args.host.to_string(),
        external_host: Some(args.host.to_string()),
        port: args.port,
        grpc_port: args.grpc_port,
        scheduler_host,
        scheduler_port,
        vcores: args.tasks.map_or(defaults.vcores, usize::from),
        work_dir: Some(work_dir.clone()),
        override_runtime_producer: Some(executor_runtime(work_dir)),
        override_function_registry: Some(Arc::new(executor_functions())),
        override_logical_codec: Some(Arc::new(LakeCodec::default())),
        ..defaults
    };
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| anyhow!("the executor stopped: {e}"))
}

/// Runs a scheduler on `bind` until the process is stopped.
async fn scheduler(bind: SocketAddr) -> Result<()> {
    let config = SchedulerConfig {
        bind_host: bind.ip().to_string(),
        bind_port: bind.port(),
        external_host: bind.ip().to_string(),
        override_session_builder: Some(Arc::new(scheduler_session)),
        override_logical_codec: Some(Arc::new(LakeCodec::default())),
        ..Default::default()
    };
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| anyhow!("starting the scheduler: {e}"))?;
    tracing::info!(%bind, "Ballista scheduler listening");
    start_server(cluster, bind, Arc::new(config))
        .await
        .map_err(|e| anyhow!("the scheduler stopped: {e}"))
}
