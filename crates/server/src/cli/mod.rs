//! The commands besides `serve` that work on the store directly: key management and the import.
//! The ones that talk to a server over HTTP (`simulate`, `bench`) are in `teleoscope-fleet`.

pub mod import;
pub mod keys;
