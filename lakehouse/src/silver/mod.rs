//! Silver: typed, validated, deduplicated tables built from bronze with DataFusion SQL. The SQL
//! lives in `silver/sql/*.sql`.

mod functions;
pub mod listens;
pub mod tracks;
