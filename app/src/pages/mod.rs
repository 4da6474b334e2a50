//! The app's pages, one module each.

mod admin;
mod catalog;
mod dashboards;
mod for_you;
mod home;
mod insights;
mod login;
mod my_listening;
mod track;

pub use admin::Admin;
pub use catalog::Catalog;
pub use dashboards::Dashboards;
pub use for_you::ForYou;
pub use home::{Home, NotFound};
pub use insights::Insights;
pub use login::Login;
pub use my_listening::MyListening;
pub use track::TrackPage;
