//! Bronze: raw data exactly as it arrived, with where and when it came from. Nothing is
//! dropped or changed at this layer.

pub mod appender;
pub mod changes;
pub mod listens;
pub mod tracks;
