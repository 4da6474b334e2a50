//! Readers for external datasets. Each reader keeps values as the text it found: typing and
//! validation happen in silver, so bronze can keep every row exactly as it arrived.

pub mod catalog_csv;
pub mod listen_exports;
pub mod python_list;
