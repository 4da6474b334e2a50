//! `soundlake`: the command line of the lakehouse music recommender (see `server::cli`).

use anyhow::Result;
use clap::Parser;
use server::cli::{Cli, init_logging};

/// mimalloc keeps freed memory for reuse instead of handing it back to the kernel and taking
/// fresh, zeroed pages for the next query's buffers (DataFusion's and Parquet's large,
/// short-lived buffers).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<()> {
    init_logging();
    Cli::parse().run().await
}
