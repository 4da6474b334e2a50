//! What the server keeps running beside its requests: ingestion's group-committing writer,
//! live re-ranking of recommendations, pipeline runs and their schedule, and the simulator's
//! stream started from `/admin`.

pub mod ingest;
pub mod live;
pub mod runs;
pub mod simulator;
