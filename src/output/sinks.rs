//! Sinks: where the decode stage's records go. Each consumer is one implementation of [`Sink`]
//! over typed records; none of them edits JSON text or decodes anything itself.

use super::jsonl::{anomaly_record, decoded_record, frame_record};
use super::semonitor::Semonitor;
use crate::protocols::solaredge::session::Message as SeMessage;
use crate::protocols::{solaredge, Envelope, Label, Message, Protocol};
use std::io::{self, Write};

/// One record of the decode stage.
pub enum Record<'a> {
    /// A frame and its decoded form.
    Decoded {
        env: &'a Envelope<'a>,
        proto: Protocol,
        msg: &'a dyn Message,
    },
    /// A frame of a raw stream that is not decoded (its protocol has no decoder).
    Frame {
        env: &'a Envelope<'a>,
        proto: Protocol,
        kind: Label,
        bytes: &'a [u8],
    },
    /// Bytes of a raw stream that could not be framed.
    Anomaly {
        env: &'a Envelope<'a>,
        proto: Protocol,
        reason: &'a str,
    },
    /// A record of the input that is not decoded here, as its text (without the newline).
    Passed(&'a str),
}

/// A consumer of decoded records.
pub trait Sink {
    /// Whether frames of `p` are to be decoded for this sink (others are passed on as they
    /// are, or dropped by a sink that does not pass records on).
    fn wants(&self, p: Protocol) -> bool {
        p.decodes()
    }
    /// Whether the sink writes the records it is given that are not decoded.
    fn passes_on(&self) -> bool {
        false
    }
    fn record(&mut self, r: &Record<'_>) -> io::Result<()>;
    /// End of input: write what is buffered.
    fn finish(&mut self) -> io::Result<()>;
}

/// JSON Lines records (docs/FORMAT.md): decoded records, and every other record unchanged.
pub struct Jsonl<W: Write> {
    out: W,
    buf: Vec<u8>,
}

impl<W: Write> Jsonl<W> {
    pub fn new(out: W) -> Self {
        Jsonl {
            out,
            buf: Vec::with_capacity(1 << 16),
        }
    }
}

impl<W: Write> Sink for Jsonl<W> {
    fn passes_on(&self) -> bool {
        true
    }

    fn record(&mut self, r: &Record<'_>) -> io::Result<()> {
        let o = &mut self.buf;
        match *r {
            Record::Decoded { env, msg, .. } => decoded_record(o, env, msg),
            // Frames of a raw stream carry no kind: the stream's own offsets say it all.
            Record::Frame {
                env, proto, bytes, ..
            } => frame_record(o, proto, env, None, bytes),
            Record::Anomaly { env, proto, reason } => anomaly_record(o, proto, env, Some(reason)),
            Record::Passed(text) => {
                o.extend_from_slice(text.as_bytes());
                o.push(b'\n');
            }
        }
        if o.len() >= 1 << 16 {
            self.out.write_all(o)?;
            o.clear();
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.flush()
    }
}

/// jbuehl's semonitor.py lines: one per non-empty SolarEdge 0x0500 telemetry frame (plain or
/// decrypted); nothing else.
pub struct SemonitorLines<W: Write> {
    out: W,
    fmt: Semonitor,
}

impl<W: Write> SemonitorLines<W> {
    pub fn new(out: W, fmt: Semonitor) -> Self {
        SemonitorLines { out, fmt }
    }
}

impl<W: Write> Sink for SemonitorLines<W> {
    fn wants(&self, p: Protocol) -> bool {
        p == solaredge::PROTOCOL
    }

    fn record(&mut self, r: &Record<'_>) -> io::Result<()> {
        let Record::Decoded { msg, .. } = r else {
            return Ok(());
        };
        let payload = msg
            .as_any()
            .downcast_ref::<SeMessage>()
            .and_then(SeMessage::telemetry_payload);
        if let Some(line) = payload.and_then(|p| self.fmt.line(p)) {
            self.out.write_all(line.as_bytes())?;
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Decodes for the side effects only (SolarEdge key recovery): frames of `proto` are decoded,
/// nothing is written.
pub struct Discard(pub Protocol);

impl Sink for Discard {
    fn wants(&self, p: Protocol) -> bool {
        p == self.0
    }

    fn record(&mut self, _: &Record<'_>) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}
