//! The app's pages, one module each.

mod catalog;
mod home;

pub use catalog::Catalog;
pub use home::{Home, NotFound};
