//! SEL relay protocols on TCP: binary Fast Meter / Fast Operate / Fast Message and the ASCII
//! command side, inside Telnet (spec: sel.md of the shared references).

pub mod frame;
pub mod state;
