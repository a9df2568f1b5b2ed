//! IEEE C37.118.2 synchrophasor frames (spec: c37118.md of the shared references).

pub mod codes;
pub mod decode;
pub mod frame;
pub mod state;
