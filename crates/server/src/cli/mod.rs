//! The commands besides `serve`: key management and the demo.

pub mod bench;
pub mod demo;
pub mod import;
pub mod keys;
pub mod simulate;
