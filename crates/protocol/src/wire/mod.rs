//! Wire types: one request and one response struct per action, generated from the vendor model
//! (`tools/gen_wire.py` reads `shared/vendor-model/trro-2022-03-25/api.json`). Field names keep the
//! vendor's spelling so the JSON maps one to one.

mod float;
#[allow(non_snake_case)]
mod generated;

pub use float::Float;
pub use generated::*;
