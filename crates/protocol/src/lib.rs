//! The Tencent Cloud API 3.0 calling convention as TRRO (version 2022-03-25) speaks it, with no I/O:
//! request signatures (`sign`), the response envelope and error codes (`envelope`, `error`), lenient
//! parameter decoding (`params`) and the wire types generated from the vendor model (`wire`).
//!
//! Everything here is pure: the server crate feeds it bytes and headers, and test tools can reuse it.

pub mod envelope;
pub mod error;
pub mod params;
pub mod sign;
pub mod wire;
