//! Capture input: pcap and pcapng files (optionally gzip-compressed), directories and stdin.
//!
//! Everything below this module produces [`Packet`]s that remember where they came from: the
//! file name and the 1-based packet number Wireshark shows for that file.

mod reader;
mod source;
pub mod watch;

pub use reader::{file_id, CaptureReader, ReaderConfig};
pub use source::{expand_inputs, expand_inputs_recursive, Input, MAX_DEPTH};

use std::fmt;

/// A capture timestamp: seconds since the UNIX epoch and nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    pub sec: i64,
    pub nsec: u32,
}

impl Timestamp {
    pub fn new(sec: i64, nsec: u32) -> Self {
        Timestamp { sec, nsec }
    }

    /// Seconds as a float (loses sub-microsecond precision for current dates).
    pub fn as_f64(&self) -> f64 {
        self.sec as f64 + f64::from(self.nsec) * 1e-9
    }

    /// The `f64` nearest to the time's decimal value: what parsing its printed text gives
    /// (exact to the last bit, unlike [`Timestamp::as_f64`]).
    pub fn nearest_f64(&self) -> f64 {
        self.to_string().parse().unwrap_or(f64::NAN)
    }

    /// Whole seconds elapsed from `earlier` to `self` (0 if `earlier` is later).
    pub fn secs_since(&self, earlier: Timestamp) -> i64 {
        let d = (self.sec - earlier.sec) - i64::from(self.nsec < earlier.nsec);
        d.max(0)
    }
}

/// Formats as a decimal number of seconds: six decimals when the value is a whole number of
/// microseconds, nine otherwise. The text is a valid JSON number.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nsec.is_multiple_of(1000) {
            write!(f, "{}.{:06}", self.sec, self.nsec / 1000)
        } else {
            write!(f, "{}.{:09}", self.sec, self.nsec)
        }
    }
}

/// One captured packet, borrowed from the reader's buffer.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    pub ts: Timestamp,
    /// Link-layer type (LINKTYPE_* value) of the packet's interface.
    pub linktype: u32,
    /// Captured bytes (may be shorter than `orig_len` when the snapshot length cut it).
    pub data: &'a [u8],
    /// Length of the packet on the wire.
    pub orig_len: u32,
    /// Name of the file (or `-` for stdin) the packet comes from.
    pub file: &'a str,
    /// 1-based packet number within that file, as Wireshark numbers frames.
    pub index: u64,
}

/// Something wrong with an input: which file, where, and why.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: offset {offset}: {reason}")]
    Format {
        file: String,
        offset: u64,
        reason: String,
    },
    /// The file has no complete header yet (empty, or cut inside its header): a capture still
    /// being created may cure that, unlike a wrong magic number.
    #[error("{file}: offset 0: {reason}")]
    Incomplete { file: String, reason: String },
}

impl CaptureError {
    /// See [`CaptureError::Incomplete`].
    pub fn header_incomplete(&self) -> bool {
        matches!(self, CaptureError::Incomplete { .. })
    }

    /// The reason alone (the message without file and offset).
    pub fn reason(&self) -> String {
        match self {
            CaptureError::Format { reason, .. } | CaptureError::Incomplete { reason, .. } => {
                reason.clone()
            }
            CaptureError::Io { source, .. } => source.to_string(),
        }
    }

    pub(crate) fn incomplete(file: &str, reason: impl Into<String>) -> Self {
        CaptureError::Incomplete {
            file: file.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn format(file: &str, offset: u64, reason: impl Into<String>) -> Self {
        CaptureError::Format {
            file: file.to_string(),
            offset,
            reason: reason.into(),
        }
    }
}
