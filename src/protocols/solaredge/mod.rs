//! SolarEdge inverter ↔ server frames (spec: solaredge.md of the shared references).

pub mod crypto;
pub mod frame;
pub mod state;
