//! soundlake's own SQL functions, beyond DataFusion's: what silver's checks and parsing call
//! (`parse_artists`, `xxhash64`, `id_fault`, `text_fault`) and the marts' ranking aggregate
//! (`top_items`).

mod scalar;
pub mod top_items;

use datafusion::prelude::SessionContext;

/// Registers every soundlake SQL function in `ctx`.
pub fn register(ctx: &SessionContext) {
    scalar::register(ctx);
    ctx.register_udaf(top_items::top_items());
}
