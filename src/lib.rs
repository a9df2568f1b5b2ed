//! sekit: packet-capture analysis for energy and grid device protocols.
//!
//! Layers, data flowing one way: [`capture`] (files → packets), [`net`] (packets → TCP/UDP
//! segments), [`reassembly`] (segments → per-direction stream events), [`output`] (records);
//! [`pipeline`] wires them together for one run over many inputs.
#![forbid(unsafe_code)]

pub mod capture;
pub mod cli;
pub mod filter;
pub mod net;
pub mod output;
pub mod pipeline;
pub mod protocols;
pub mod reassembly;
pub mod replay;
pub mod serve;
pub mod util;
