//! Demo data that needs no dataset: a catalogue whose per-genre audio features follow the
//! statistics of the real Spotify Tracks Dataset, with plausible generated names.

mod catalog;
pub mod genre_profiles;
mod names;

pub use catalog::{DemoCatalog, DemoTrack, write_demo_catalog_csv};
