//! IEEE C37.118.2 synchrophasor frames (spec: c37118.md of the shared references).
//!
//! - [`codes`]: frame types, command codes, unit and STAT names;
//! - [`frame`]: one frame (parse → borrowed [`frame::Frame`]; [`frame::build`] → bytes with
//!   FRAMESIZE and CHK) and the splitter's framing;
//! - [`decode`]: pure decoding, frame (+ configuration) → owned [`decode::Decoded`];
//! - [`session`]: configurations per IDCODE across flows, CFG-3 continuation;
//! - [`state`]: the per-stream splitter.

pub mod codes;
pub mod decode;
pub mod frame;
pub mod session;
pub mod state;

#[cfg(test)]
mod testdata;
