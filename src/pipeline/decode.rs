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

/// The longest input line read by default (`sedecode --max-line`): 64 MiB.
pub const DEFAULT_MAX_LINE: usize = 64 << 20;

/// Unreadable lines of one input shown as warnings; the rest are counted, and their number is
/// one last warning (a binary file starting with `{` would otherwise bury the summary).
const SHOWN_PER_INPUT: u64 = 100;

/// Counters for the end-of-run summary.
#[derive(Clone, Debug, Default)]
pub struct DecodeCounts {
    pub decoded: u64,
    pub passed: u64,
    /// Input lines that are not records (or frame records without valid hex), including lines
    /// longer than the limit.
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
    /// A record line longer than this many bytes is skipped (read to its end without keeping
    /// it) with a warning.
    pub max_line: usize,
    /// Unreadable lines of the current input.
    input_bad: u64,
    /// Lines that are not records (other programs' JSON lines) go to a sink that passes
    /// records on, as [`Record::Passed`], instead of being warnings (se2csv, se2state).
    pub pass_unread: bool,
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
            max_line: DEFAULT_MAX_LINE,
            input_bad: 0,
            pass_unread: false,
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
    /// UTF-8, not JSON, a field of the wrong type, longer than `max_line`) is a warning naming
    /// `name` and the line number; the run goes on. A read error ends this input
    /// ([`InputError::Read`], after the line before it); a write error is
    /// [`InputError::Write`].
    pub fn records(
        &mut self,
        name: &str,
        input: impl BufRead,
        sink: &mut dyn Sink,
    ) -> Result<(), InputError> {
        self.input_bad = 0;
        let r = self.record_lines(name, input, sink);
        if self.input_bad > SHOWN_PER_INPUT {
            let more = self.input_bad - SHOWN_PER_INPUT;
            (self.warn)(&format!("{name}: {more} more unreadable lines not shown"));
        }
        r
    }

    fn record_lines(
        &mut self,
        name: &str,
        mut input: impl BufRead,
        sink: &mut dyn Sink,
    ) -> Result<(), InputError> {
        let mut line = Vec::new();
        let mut n = 0u64;
        loop {
            let fits = match next_line(&mut input, &mut line, self.max_line) {
                Ok(Some(fits)) => fits,
                Ok(None) => return Ok(()),
                Err(e) => return Err(InputError::Read(name.into(), format!("line {}", n + 1), e)),
            };
            n += 1;
            if !fits {
                let why = format!("longer than {} bytes (--max-line), skipped", self.max_line);
                self.bad_line(name, n, &why);
                continue;
            }
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
                Err(_) if self.pass_unread && sink.passes_on() => {
                    self.passed(name, n, text, sink)
                        .map_err(InputError::Write)?;
                    continue;
                }
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
                Some(p) => self.frame_record(name, n, p, &rec, sink),
                None if sink.passes_on() => self.passed(name, n, text, sink),
                None => Ok(()),
            }
            .map_err(InputError::Write)?;
        }
    }

    /// Hands line `n` on as [`Record::Passed`]. A sink that cannot use it says so with an
    /// error of kind [`io::ErrorKind::InvalidData`]: a warning with the line number, not the
    /// end of the run.
    fn passed(&mut self, name: &str, n: u64, text: &str, sink: &mut dyn Sink) -> io::Result<()> {
        match sink.record(&Record::Passed(text)) {
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                self.bad_line(name, n, &e.to_string());
                Ok(())
            }
            r => {
                self.counts.passed += 1;
                r
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
        self.input_bad += 1;
        if self.input_bad <= SHOWN_PER_INPUT {
            (self.warn)(&format!("{name}: line {n}: {why}"));
        }
    }

    /// Splits a raw byte stream of protocol `p` into frames and decodes them; frames of a
    /// protocol without a decoder, and the bytes that are no frame, become records of their
    /// own. A read error ends this input ([`InputError::Read`], naming the byte offset).
    pub fn raw(
        &mut self,
        name: &str,
        mut input: impl Read,
        p: Protocol,
        sink: &mut dyn Sink,
    ) -> Result<(), InputError> {
        let mut state = p.new_state();
        let mut chunk = vec![0u8; 1 << 16];
        let mut offset = 0u64;
        let mut err = None;
        loop {
            let n = match input.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // What was framed so far is kept; a frame cut by the error is not guessed.
                    let at = format!("offset {offset}");
                    return Err(InputError::Read(name.into(), at, e));
                }
            };
            if n == 0 {
                break;
            }
            state.data(offset, &chunk[..n], &mut |f| {
                self.found(name, p, f, sink, &mut err)
            });
            offset += n as u64;
            if let Some(e) = err.take() {
                return Err(InputError::Write(e));
            }
        }
        state.end(&mut |f| self.found(name, p, f, sink, &mut err));
        err.map_or(Ok(()), |e| Err(InputError::Write(e)))
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
    /// It is not JSON Lines and no protocol was given for a raw stream: reported, the other
    /// inputs go on.
    #[error("{0}: not JSON Lines records; give --proto to decode a raw byte stream")]
    NotRecords(String),
    /// Reading it failed at a line or byte offset: reported, what was decoded before it is
    /// kept, the other inputs go on.
    #[error("{0}: {1}: read error: {2}")]
    Read(String, String, io::Error),
    /// Writing the output failed: the run cannot go on.
    #[error("writing output: {0}")]
    Write(io::Error),
}

/// Reads the next line of `input` into `line` (without its newline), keeping at most `max`
/// bytes: a longer line is read to its end and discarded, and `Some(false)` says so. `None` at
/// the end of the input.
fn next_line(input: &mut impl BufRead, line: &mut Vec<u8>, max: usize) -> io::Result<Option<bool>> {
    line.clear();
    let (mut fits, mut any) = (true, false);
    loop {
        let buf = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(any.then_some(fits));
        }
        any = true;
        let nl = memchr::memchr(b'\n', buf);
        let body = &buf[..nl.unwrap_or(buf.len())];
        if fits && line.len() + body.len() > max {
            fits = false;
            *line = Vec::new();
        }
        if fits {
            line.extend_from_slice(body);
        }
        let used = nl.map_or(buf.len(), |i| i + 1);
        input.consume(used);
        if nl.is_some() {
            return Ok(Some(fits));
        }
    }
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
        let first = input
            .fill_buf()
            .map_err(|e| InputError::Read(name.into(), "offset 0".into(), e))?
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .copied();
        match (first, raw) {
            (None, _) => Ok(()),
            (Some(b'{'), _) => self.records(name, input, sink),
            (Some(_), Some(p)) => self.raw(name, input, p, sink),
            (Some(_), None) => Err(InputError::NotRecords(name.into())),
        }
    }
}
