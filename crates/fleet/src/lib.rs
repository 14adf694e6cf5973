//! The fleet tools: programs that drive a Teleoscope server over HTTP as devices and operators do.
//! `simulate` runs field/remote device pairs reporting realistic sessions (`teleoscope simulate`, and
//! the fleet of `teleoscope demo`); `bench` is the benchmark (`teleoscope bench`). Both call through
//! `client` (TC3-signed calls over HTTP, also the signer of the server's integration tests) and draw
//! from `rng`. They are clients of the server, so the server library itself carries no HTTP client.

pub mod bench;
pub mod client;
pub mod rng;
pub mod simulate;
