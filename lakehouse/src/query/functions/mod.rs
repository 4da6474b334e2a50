//! soundlake's own SQL functions, beyond DataFusion's: what silver's checks and parsing call
//! (`parse_artists`, `xxhash64`, `id_fault`, `text_fault`) and the marts' ranking aggregate
//! (`top_items`).

mod scalar;
pub mod top_items;

use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion::prelude::SessionContext;

/// Registers every soundlake SQL function in `ctx`.
pub fn register(ctx: &SessionContext) {
    for function in scalar_functions() {
        ctx.register_udf(function);
    }
    for function in aggregate_functions() {
        ctx.register_udaf(function);
    }
}

/// soundlake's scalar functions.
pub fn scalar_functions() -> Vec<ScalarUDF> {
    scalar::all()
}

/// soundlake's aggregate functions.
pub fn aggregate_functions() -> Vec<AggregateUDF> {
    vec![top_items::top_items()]
}
