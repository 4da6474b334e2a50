//! Listening events into bronze: validation of each event, and a group-committing writer that
//! acknowledges an event only once it is committed to `bronze/listens`.

mod bronze_rows;
mod import;
mod listen;
mod writer;

pub use import::{CatalogueIndex, ListenImportReport, MatchedBy, import_listens, listen_of};
pub use listen::{END_REASONS, Listen, ListenRules, Rejection, parse_listen, parse_listen_text};
pub use writer::{IngestError, IngestReceipt, IngestWriter, WriterSettings};
