//! Wire types: one request and one response struct per action. The vendor's actions are generated
//! from the vendor model (`tools/gen_wire.py` reads `vendor/trro-2022-03-25/api.json`);
//! the device API and the extension actions the console uses, this product's own, are hand-written
//! in `device` and `extension`. Field names keep the vendor's spelling so the JSON maps one to one.

#[allow(non_snake_case)]
mod device;
#[allow(non_snake_case)]
mod extension;
mod float;
#[allow(non_snake_case)]
mod generated;

pub use device::*;
pub use extension::*;
pub use float::Float;
pub use generated::*;
