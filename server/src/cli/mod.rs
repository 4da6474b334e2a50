//! Commands of the `soundlake` binary, one file each with its arguments beside its handler.

pub mod sql;
pub mod tokens;
pub mod users;
