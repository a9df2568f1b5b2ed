//! Protocol frames found by content in reassembled streams and datagrams, and their decoding.
//!
//! [`core`] holds the shared vocabulary, [`registry`] the one list of protocols. Each protocol
//! folder has the same shape (docs/ARCHITECTURE.md): `mod.rs` (its [`Descriptor`]), `codes.rs`,
//! `frame.rs` (pure: find one frame at the start of a buffer, borrowing it; `Incomplete` says
//! how many more bytes are needed; `build` and checksums), `decode.rs` (pure: frame → owned
//! message), `session.rs` (state across flows) and `state.rs` only where the generic
//! [`splitter`] does not fit. [`detect`] runs every protocol's stream state in probe mode on
//! each direction until one is sure, then keeps only that one.

pub mod c37118;
pub mod core;
pub mod detect;
pub mod extract;
pub mod pi30;
pub mod registry;
pub mod sel;
pub mod solaredge;
pub mod splitter;
pub mod tracer;
pub mod unwrap;

pub use self::core::{
    DecodeConfig, Decoder, Descriptor, Envelope, Found, Label, Message, Parsed, Protocol,
    StreamState,
};

/// Bytes from hex text in the protocol modules' unit tests; whitespace is ignored.
#[cfg(test)]
pub(crate) fn test_hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
