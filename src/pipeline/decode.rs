//! The decode stage: frame records (seextract's JSON Lines) or a raw byte stream of one
//! protocol → typed messages from each protocol's decoder → a [`Sink`]. One decoder per
//! protocol for the whole input, so state (C37.118 configurations, SolarEdge keys) spans
//! connections, files and inputs.

use crate::output::jsonl::{read_record, InRecord};
use crate::output::sinks::{Record, Sink};
use crate::protocols::{registry, DecodeConfig, Decoder, Envelope, Found, Protocol};
use crate::util::hex;
use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::io::{self, BufRead, Read};

/// Counters for the end-of-run summary.
#[derive(Clone, Debug, Default)]
pub struct DecodeCounts {
    pub decoded: u64,
    pub passed: u64,
    /// Input lines that are not records (or frame records without valid hex).
    pub bad_lines: u64,
    /// Raw-stream bytes that could not be framed (runs of them).
    pub anomalies: u64,
}

/// Decoders of every registered protocol that decodes, and the counters.
pub struct DecodeStage {
    decoders: FxHashMap<Protocol, Box<dyn Decoder>>,
    pub counts: DecodeCounts,
    /// Called with each warning about the input (file and line, reason).
    pub warn: Box<dyn FnMut(&str)>,
}

impl DecodeStage {
    /// Builds every decoder with `cfg`; fails if one rejects it (an unreadable key file).
    pub fn new(cfg: &DecodeConfig) -> Result<DecodeStage, String> {
        let mut decoders = FxHashMap::default();
        for p in registry::all() {
            if let Some(new) = p.0.new_decoder {
                decoders.insert(p, new(cfg)?);
            }
        }
        Ok(DecodeStage {
            decoders,
            counts: DecodeCounts::default(),
            warn: Box::new(|w| eprintln!("{w}")),
        })
    }

    /// The decoder of `p`, if it has one.
    pub fn decoder(&mut self, p: Protocol) -> Option<&mut dyn Decoder> {
        Some(self.decoders.get_mut(&p)?.as_mut())
    }

    /// Frames that could not be decrypted, over every decoder.
    pub fn locked(&self) -> u64 {
        self.decoders.values().map(|d| d.locked()).sum()
    }

    /// Warnings the decoders collected (state files and the like).
    pub fn take_warnings(&mut self) -> Vec<String> {
        let mut all = Vec::new();
        for p in registry::all() {
            if let Some(d) = self.decoders.get_mut(&p) {
                all.extend(d.take_warnings());
            }
        }
        all
    }

    fn decode(
        &mut self,
        p: Protocol,
        env: &Envelope<'_>,
        frame: &[u8],
        sink: &mut dyn Sink,
    ) -> io::Result<bool> {
        let Some(d) = self.decoders.get_mut(&p) else {
            return Ok(false);
        };
        let msg = d.decode(env, frame);
        self.counts.decoded += 1;
        sink.record(&Record::Decoded {
            env,
            proto: p,
            msg: msg.as_ref(),
        })?;
        Ok(true)
    }

    /// Decodes JSON Lines records from `input`: frame records of a protocol the sink wants are
    /// decoded, every other record is handed on as it is. A line that is not a record (not
    /// UTF-8, not JSON, a field of the wrong type) is a warning naming `name` and the line
    /// number; the run goes on.
    pub fn records(
        &mut self,
        name: &str,
        mut input: impl BufRead,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        let mut line = Vec::new();
        let mut n = 0u64;
        loop {
            line.clear();
            if input.read_until(b'\n', &mut line)? == 0 {
                return Ok(());
            }
            n += 1;
            let text = match std::str::from_utf8(&line) {
                Ok(t) => t.trim_end(),
                Err(e) => {
                    self.bad_line(name, n, &format!("not UTF-8 text ({e})"));
                    continue;
                }
            };
            if text.is_empty() {
                continue;
            }
            let rec = match read_record(text) {
                Ok(r) => r,
                Err(e) => {
                    self.bad_line(name, n, &e.to_string());
                    continue;
                }
            };
            let proto = match &*rec.ty {
                "frame" => rec.proto.as_deref().and_then(registry::find),
                _ => None,
            }
            .filter(|&p| sink.wants(p) && self.decoders.contains_key(&p));
            match proto {
                Some(p) => self.frame_record(name, n, p, &rec, sink)?,
                None if sink.passes_on() => {
                    self.counts.passed += 1;
                    sink.record(&Record::Passed(text))?;
                }
                None => {}
            }
        }
    }

    fn frame_record(
        &mut self,
        name: &str,
        n: u64,
        p: Protocol,
        rec: &InRecord<'_>,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        match rec.hex.as_deref().and_then(|h| hex::decode(h.as_bytes())) {
            Some(frame) => self.decode(p, &rec.env, &frame, sink).map(|_| ()),
            None => {
                self.bad_line(name, n, "frame record without valid hex");
                Ok(())
            }
        }
    }

    fn bad_line(&mut self, name: &str, n: u64, why: &str) {
        self.counts.bad_lines += 1;
        (self.warn)(&format!("{name}: line {n}: {why}"));
    }

    /// Splits a raw byte stream of protocol `p` into frames and decodes them; frames of a
    /// protocol without a decoder, and the bytes that are no frame, become records of their
    /// own.
    pub fn raw(
        &mut self,
        name: &str,
        mut input: impl Read,
        p: Protocol,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        let mut state = p.new_state();
        let mut chunk = vec![0u8; 1 << 16];
        let mut offset = 0u64;
        let mut err = None;
        loop {
            let n = input.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            state.data(offset, &chunk[..n], &mut |f| {
                self.found(name, p, f, sink, &mut err)
            });
            offset += n as u64;
            if let Some(e) = err.take() {
                return Err(e);
            }
        }
        state.end(&mut |f| self.found(name, p, f, sink, &mut err));
        err.map_or(Ok(()), Err)
    }

    /// A frame or anomaly of a raw stream; the first output error is kept in `err`.
    fn found(
        &mut self,
        name: &str,
        p: Protocol,
        f: Found<'_>,
        sink: &mut dyn Sink,
        err: &mut Option<io::Error>,
    ) {
        if err.is_none() {
            *err = self.found_record(name, p, f, sink).err();
        }
    }

    fn found_record(
        &mut self,
        name: &str,
        p: Protocol,
        f: Found<'_>,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        let (offset, len) = match f {
            Found::Frame { offset, bytes, .. } => (offset, bytes.len() as u64),
            Found::Anomaly { offset, len, .. } => (offset, len),
        };
        let env = Envelope {
            file: Some(Cow::Borrowed(name)),
            offset: Some(offset),
            len: Some(len),
            ..Envelope::default()
        };
        match f {
            Found::Frame { bytes, kind, .. } => {
                if sink.wants(p) && self.decode(p, &env, bytes, sink)? {
                    return Ok(());
                }
                if !sink.passes_on() {
                    return Ok(());
                }
                self.counts.passed += 1;
                sink.record(&Record::Frame {
                    env: &env,
                    proto: p,
                    kind,
                    bytes,
                })
            }
            Found::Anomaly { reason, .. } => {
                self.counts.anomalies += 1;
                sink.record(&Record::Anomaly {
                    env: &env,
                    proto: p,
                    reason,
                })
            }
        }
    }
}

/// Why an input could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// It could not be opened: reported, the other inputs go on.
    #[error("{0}: {1}")]
    Open(String, io::Error),
    /// It is not JSON Lines and no protocol was given for a raw stream.
    #[error("{0}: not JSON Lines records; give --proto to decode a raw byte stream")]
    NotRecords(String),
    /// Reading it or writing the output failed.
    #[error("{0}: {1}")]
    Io(String, io::Error),
}

impl DecodeStage {
    /// Decodes one input (a file, or `-` for standard input): JSON Lines records when its first
    /// non-blank byte is `{`, otherwise a raw byte stream of `raw`.
    pub fn input(
        &mut self,
        name: &str,
        raw: Option<Protocol>,
        sink: &mut dyn Sink,
    ) -> Result<(), InputError> {
        let mut input: Box<dyn BufRead> = if name == "-" {
            Box::new(io::BufReader::with_capacity(1 << 16, io::stdin()))
        } else {
            let f = std::fs::File::open(name).map_err(|e| InputError::Open(name.into(), e))?;
            Box::new(io::BufReader::with_capacity(1 << 16, f))
        };
        let io_err = |e| InputError::Io(name.into(), e);
        let first = input
            .fill_buf()
            .map_err(io_err)?
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .copied();
        match (first, raw) {
            (None, _) => Ok(()),
            (Some(b'{'), _) => self.records(name, input, sink).map_err(io_err),
            (Some(_), Some(p)) => self.raw(name, input, p, sink).map_err(io_err),
            (Some(_), None) => Err(InputError::NotRecords(name.into())),
        }
    }
}
