//! Protocol frames found by content in reassembled streams and datagrams.
//!
//! Each protocol folder has the same shape (habit 1): `frame.rs` (pure: find one frame at the
//! start of a buffer, borrowing it; `Incomplete` says how many more bytes are needed),
//! `state.rs` (per-stream buffering, resync after garbage, gaps and bad checksums, anomaly
//! reports, and the protocol's detection rule) and, for decoding, `decode.rs`.
//! [`detect`] runs every protocol's stream state in probe mode on each direction until one is
//! sure, then keeps only that one.

pub mod c37118;
pub mod decoders;
pub mod detect;
pub mod extract;
pub mod sel;
pub mod solaredge;
pub mod splitter;
pub mod unwrap;

use std::fmt;

/// The protocols sekit finds in captures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    SolarEdge,
    C37118,
    Sel,
}

impl Protocol {
    pub const ALL: [Protocol; 3] = [Protocol::SolarEdge, Protocol::C37118, Protocol::Sel];

    pub fn name(self) -> &'static str {
        match self {
            Protocol::SolarEdge => "solaredge",
            Protocol::C37118 => "c37118",
            Protocol::Sel => "sel",
        }
    }

    pub fn from_name(s: &str) -> Option<Protocol> {
        Protocol::ALL.into_iter().find(|p| p.name() == s)
    }

    /// A fresh per-stream state for this protocol.
    pub fn new_state(self) -> Box<dyn StreamState> {
        match self {
            Protocol::SolarEdge => Box::new(solaredge::state::new_state()),
            Protocol::C37118 => Box::new(c37118::state::new_state()),
            Protocol::Sel => Box::new(sel::state::SelState::default()),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Outcome of looking for a frame at the start of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed<F> {
    /// A complete, valid frame starts at the first byte.
    Frame(F),
    /// The buffer may start a frame; at least this many more bytes are needed to tell.
    Incomplete(usize),
    /// The first byte does not start a valid frame; the reason names the check that failed.
    Bad(&'static str),
}

/// A short label of a frame's kind: a name (`"cfg2"`, `"A5C1"`, `"ascii-line"`) or a numeric
/// function code, printed as `0x0500`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    Name(&'static str),
    Code(u16),
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Label::Name(n) => f.write_str(n),
            Label::Code(c) => write!(f, "0x{c:04x}"),
        }
    }
}

/// What a stream state reports.
#[derive(Debug)]
pub enum Found<'a> {
    /// A frame: stream offset of its first byte, its bytes, and its kind.
    Frame {
        offset: u64,
        bytes: &'a [u8],
        kind: Label,
    },
    /// Bytes that could not be framed: skipped garbage, a frame cut by a gap, a bad checksum,
    /// a truncated frame at the end.
    Anomaly {
        offset: u64,
        len: u64,
        reason: &'static str,
    },
}

/// Per-direction protocol state: consumes stream bytes in order, emits frames and anomalies.
pub trait StreamState: Send {
    fn protocol(&self) -> Protocol;
    /// `bytes` at stream `offset`; contiguous with the previous call unless `gap` came between.
    fn data(&mut self, offset: u64, bytes: &[u8], emit: &mut dyn FnMut(Found<'_>));
    /// `[offset, offset+len)` will never come: a frame in progress is reported, not invented.
    fn gap(&mut self, offset: u64, len: u64, emit: &mut dyn FnMut(Found<'_>));
    /// End of the stream, or of a UDP datagram (frames never span datagrams).
    fn end(&mut self, emit: &mut dyn FnMut(Found<'_>));
    /// The protocol's detection rule is met by what was seen so far (documented per protocol).
    fn confident(&self) -> bool;
    /// Probe mode (detection undecided): reject unlikely frame starts early and accept no frame
    /// longer than `limit`, so probing random data stays cheap and bounded. `None` ends it.
    fn probe_limit(&mut self, _limit: Option<usize>) {}
    /// While probing: this stream has shown enough that does not fit the protocol to stop
    /// looking (keeps the cost of probing random data low).
    fn hopeless(&self) -> bool {
        false
    }
}

/// Bytes from hex text in the protocol modules' unit tests; whitespace is ignored.
#[cfg(test)]
pub(crate) fn test_hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
