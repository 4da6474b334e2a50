//! Who is calling, and what they may do: every request is identified once (a session cookie,
//! an API token or the configured admin token) before any handler runs; handlers and server
//! functions ask the [`Caller`] for the access they need, and pages are guarded by path.

mod caller;
mod identify;
pub mod login;
mod pages;
mod throttle;
mod token_memory;

pub use caller::{Caller, Credential, forbidden, unauthenticated};
pub(crate) use identify::identify_caller;
pub use identify::{AuthState, identify};
pub use login::{create_session, current_session, end_session, routes};
pub use pages::guard_pages;
pub use throttle::AddressThrottle;
pub use token_memory::TokenMemory;
