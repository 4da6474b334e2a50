//! Machine learning over the lake: track clusters, recommenders with their offline evaluation,
//! and the skip model. Algorithms only: the pipeline's ML stage
//! ([`crate::pipeline::ml_stage`]) reads the lake, runs them and publishes to gold.
//!
//! The recommenders work on [`Interactions`](interactions::Interactions), a user × item matrix
//! of implicit-feedback weights, so the same code evaluates soundlake's own listens and any
//! other user–item–weight table (HetRec Last.fm, say).

pub mod clusters;
pub mod datasets;
pub mod diversity;
pub mod evaluate;
pub mod feedback;
pub mod figures_json;
pub mod interactions;
pub mod metrics;
pub mod models;
pub mod recommend;
pub mod rerank;
pub mod skip_model;
pub mod split;
pub mod steps;

pub use crate::error::MlError;

#[cfg(test)]
mod tests;
