//! The commands besides `serve` that work on the store directly: key management, the import, and
//! the migration from SQLite to PostgreSQL.
//! The ones that talk to a server over HTTP (`simulate`, `bench`) are in `teleoscope-fleet`.

pub mod import;
pub mod keys;
pub mod migrate;
