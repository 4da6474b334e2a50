//! Commands of the `soundlake` binary, one file each with its arguments beside its handler.

pub mod tokens;
pub mod users;
