//! Bronze: raw data exactly as it arrived, with where and when it came from. Nothing is
//! dropped or changed at this layer.

pub mod appender;
pub mod changes;
pub mod durable;
pub mod listens;
pub mod listens_of_user;
pub mod tracks;
