//! soundlake's engine: the lake's layers (bronze and silver Delta tables built with DataFusion),
//! the PostgreSQL gold datamart, dataset readers and demo data. No web dependencies: the
//! server and the CLI both drive it.

pub mod bronze;
pub mod catalog;
pub mod demo;
pub mod error;
pub mod gold;
pub mod ingest;
pub mod lake;
pub mod lake_info;
pub mod maintenance;
pub mod ml;
pub mod named_tables;
pub mod partitioned_write;
pub mod pipeline;
pub mod query;
pub mod silver;
pub mod simulate;
pub mod sources;
pub mod text;

pub use error::{LakehouseError, Result};
pub use lake::Lake;
