//! The protocols' shared vocabulary: what a protocol is ([`Protocol`], described by a
//! [`Descriptor`]), what framing reports ([`Parsed`], [`Found`], [`Label`]), the per-direction
//! [`StreamState`], and what decoding produces ([`Decoder`], [`Message`]) for a frame seen at
//! an [`Envelope`].

use crate::capture::Timestamp;
use crate::net::Transport;
use crate::reassembly::Dir;
use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::path::PathBuf;

/// A protocol sekit knows: a reference to its [`Descriptor`]. Compared by identity; printed
/// by name. The registry (`protocols::registry`) lists them all.
#[derive(Clone, Copy)]
pub struct Protocol(pub &'static Descriptor);

/// Everything the rest of the toolkit needs of a protocol: one `static` per protocol folder
/// (its `mod.rs`), listed once in the registry.
pub struct Descriptor {
    /// Name on the command line and in records (`"c37118"`).
    pub name: &'static str,
    /// What users call it (`"IEEE C37.118.2 synchrophasors"`).
    pub title: &'static str,
    /// A fresh per-direction stream state (framing, resync, detection rule).
    pub new_state: fn() -> Box<dyn StreamState>,
    /// A decoder for the whole input (state across flows), if the protocol decodes.
    pub new_decoder: Option<NewDecoder>,
    /// Recomputes the checksum(s) of one complete frame in place (after a replay rewrote a
    /// field); false when the bytes are not a frame of this protocol.
    pub fix_checksum: Option<fn(&mut [u8]) -> bool>,
}

/// Builds a protocol's decoder; fails with a message when the configuration does not suit it
/// (an unreadable key file).
pub type NewDecoder = fn(&DecodeConfig) -> Result<Box<dyn Decoder>, String>;

impl Protocol {
    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// A fresh per-stream state for this protocol.
    pub fn new_state(self) -> Box<dyn StreamState> {
        (self.0.new_state)()
    }

    /// Whether the protocol has a decoder.
    pub fn decodes(self) -> bool {
        self.0.new_decoder.is_some()
    }
}

impl PartialEq for Protocol {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for Protocol {}

impl Hash for Protocol {
    fn hash<H: Hasher>(&self, h: &mut H) {
        std::ptr::hash(self.0, h)
    }
}

impl fmt::Debug for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Settings every decoder is built with: secrets (`--key`: key files or hex, as the protocol
/// reads them) and a directory where a decoder may keep state between runs (`--state`).
#[derive(Clone, Debug, Default)]
pub struct DecodeConfig {
    pub keys: Vec<String>,
    pub state_dir: Option<PathBuf>,
    /// Write passwords in clear (`--reveal-secrets`; SEL logins, docs/SEL.md).
    pub reveal_secrets: bool,
}

/// Where a frame (or anything found in a stream) was seen: the provenance every record
/// carries (docs/FORMAT.md). Fields are absent where the source has no such notion (a raw byte
/// stream has only a file and an offset).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Envelope<'a> {
    /// Capture time of the packet that completed the frame.
    pub ts: Option<Timestamp>,
    pub file: Option<Cow<'a, str>>,
    /// Packet number in the file, counted from 1 as Wireshark does.
    pub pkt: Option<u64>,
    /// Connection (or UDP flow) number.
    pub conn: Option<u64>,
    pub transport: Option<Transport>,
    pub src: Option<IpAddr>,
    pub sport: Option<u16>,
    pub dst: Option<IpAddr>,
    pub dport: Option<u16>,
    pub dir: Option<Dir>,
    /// Stream offset of the first byte.
    pub offset: Option<u64>,
    pub len: Option<u64>,
}

/// A decoded message: owned, typed, and walkable through serde's data model (any serializer
/// visits its fields: JSON Lines, CSV, a state document). Every `Serialize` type qualifies,
/// including `serde_json::Value` (a record read back from JSON).
pub trait Message: erased_serde::Serialize + fmt::Debug + Send + Any {
    /// The concrete type, for sinks that know a protocol's own message type.
    fn as_any(&self) -> &dyn Any;
    /// Appends the message's members as JSON continuing an object already open (see
    /// [`crate::util::json::Continue`]); the fast path of JSON Lines output, serialized with
    /// the concrete type rather than through the erased interface.
    fn continue_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()>;
}

impl<T: serde::Serialize + fmt::Debug + Send + Any> Message for T {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn continue_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let mut ser =
            serde_json::Serializer::with_formatter(out, crate::util::json::Continue::default());
        self.serialize(&mut ser)
    }
}

erased_serde::serialize_trait_object!(Message);

/// Decodes the frames of one protocol for a whole input: state (configurations, keys) spans
/// connections and files.
pub trait Decoder: Send {
    /// The decoded form of one complete frame seen at `env`.
    fn decode(&mut self, env: &Envelope<'_>, frame: &[u8]) -> Box<dyn Message>;
    /// Frames that could not be decrypted so far.
    fn locked(&self) -> u64 {
        0
    }
    /// Problems to report at the end (state files that could not be read or written, …).
    fn take_warnings(&mut self) -> Vec<String> {
        Vec::new()
    }
    /// The concrete decoder, for protocol-specific reports (e.g. SolarEdge key recovery).
    fn as_any_mut(&mut self) -> &mut dyn Any;
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
    /// Frames found so far whose own check (CRC, checksum) verified: what the rule "a valid
    /// frame in each direction" counts (docs/PROTOCOLS.md). Frames kept although their check
    /// failed (PI30 `bad-crc`) and unchecked text (SEL lines, prompts) are not counted.
    fn checked_frames(&self) -> u64 {
        0
    }
    /// Bytes this state holds, its own size included (buffers by capacity): what the memory
    /// budget of the reassembly counts for it (docs/REASSEMBLY.md, "Memory budget").
    fn footprint(&self) -> usize {
        std::mem::size_of_val(self)
    }
}
