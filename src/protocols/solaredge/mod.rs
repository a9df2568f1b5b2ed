//! SolarEdge inverter ↔ server frames (spec: solaredge.md of the shared references).

pub mod codes;
pub mod crypto;
pub mod decode;
pub mod frame;
pub mod session;
pub mod state;
pub mod telemetry;
pub mod value;
