//! A length-driven frame splitter shared by the protocols whose frames carry their own length
//! and checksum (SolarEdge, C37.118): parse at the current position; on a valid frame emit it;
//! on `Incomplete` wait for more bytes; on `Bad` skip to the next sync candidate and report the
//! skipped bytes once framing resumes (Suricata-style resync, habit 4). Zero-copy when a frame
//! lies inside one chunk of input; only a frame in progress is buffered.

use super::{Found, Label, Parsed, Protocol, StreamState};
use std::marker::PhantomData;

/// What a protocol's `frame.rs` provides to the splitter.
pub trait Framing: Send + 'static {
    const PROTOCOL: Protocol;
    /// Largest possible frame (bounds the buffer).
    const MAX_FRAME: usize;
    /// Length of the sync pattern: a tail this long minus one may be the start of a frame.
    const SYNC_LEN: usize;
    /// A frame at the start of `buf`: its length and a label of its kind.
    fn parse(buf: &[u8]) -> Parsed<(usize, Label)>;
    /// Index of the next position at or after `from` where a frame could start.
    fn find_sync(buf: &[u8], from: usize) -> Option<usize>;
    /// Stricter checks of a frame start used while probing (false while the bytes present
    /// already rule it out; true when they cannot tell yet).
    fn plausible(_buf: &[u8]) -> bool {
        true
    }
}

pub struct Splitter<F: Framing> {
    buf: Vec<u8>,
    /// Stream offset of `buf[0]` (of the next byte when `buf` is empty).
    pos: u64,
    /// Skipping since this offset, for this reason.
    skipping: Option<(u64, &'static str)>,
    run: u32,
    best_run: u32,
    unit_frames: u32,
    unit_clean: bool,
    clean_units: u32,
    pub frames: u64,
    /// Probe mode: largest frame accepted.
    probe: Option<usize>,
    /// Bytes fed so far.
    seen: u64,
    _f: PhantomData<F>,
}

impl<F: Framing> Default for Splitter<F> {
    fn default() -> Self {
        Splitter {
            buf: Vec::new(),
            pos: 0,
            skipping: None,
            run: 0,
            best_run: 0,
            unit_frames: 0,
            unit_clean: true,
            clean_units: 0,
            frames: 0,
            probe: None,
            seen: 0,
            _f: PhantomData,
        }
    }
}

impl<F: Framing> Splitter<F> {
    fn flush_skip(&mut self, upto: u64, emit: &mut dyn FnMut(Found<'_>)) {
        if let Some((start, reason)) = self.skipping.take() {
            if upto > start {
                emit(Found::Anomaly {
                    offset: start,
                    len: upto - start,
                    reason,
                });
            }
        }
    }

    fn bad(&mut self, at: u64, reason: &'static str) {
        self.run = 0;
        self.unit_clean = false;
        if self.skipping.is_none() {
            self.skipping = Some((at, reason));
        }
    }

    /// Frames `data` (stream offset `base`); returns how many bytes were consumed. The rest is a
    /// frame in progress (or a possible start of one) to keep.
    fn scan(&mut self, data: &[u8], base: u64, emit: &mut dyn FnMut(Found<'_>)) -> usize {
        let mut i = 0;
        let limit = self.probe.unwrap_or(F::MAX_FRAME);
        while i < data.len() {
            let parsed = match F::parse(&data[i..]) {
                // While probing: stricter checks, and no frame longer than the limit however
                // the bytes arrived.
                Parsed::Frame((n, _)) if self.probe.is_some() && n > limit => {
                    Parsed::Bad("frame longer than the protocol allows")
                }
                Parsed::Frame(_) | Parsed::Incomplete(_)
                    if self.probe.is_some() && !F::plausible(&data[i..]) =>
                {
                    Parsed::Bad("implausible frame header")
                }
                other => other,
            };
            match parsed {
                Parsed::Frame((n, kind)) => {
                    let at = base + i as u64;
                    self.flush_skip(at, emit);
                    emit(Found::Frame {
                        offset: at,
                        bytes: &data[i..i + n],
                        kind,
                    });
                    self.frames += 1;
                    self.unit_frames += 1;
                    self.run += 1;
                    self.best_run = self.best_run.max(self.run);
                    i += n;
                }
                Parsed::Incomplete(need) if data.len() - i + need <= limit => break,
                Parsed::Incomplete(_) => {
                    self.bad(base + i as u64, "frame longer than the protocol allows");
                    i = F::find_sync(data, i + 1).unwrap_or(data.len());
                }
                Parsed::Bad(reason) => {
                    self.bad(base + i as u64, reason);
                    match F::find_sync(data, i + 1) {
                        Some(j) => i = j,
                        None => {
                            // Keep a tail that may be the beginning of a sync pattern.
                            let keep = (F::SYNC_LEN - 1).min(data.len() - i - 1);
                            return data.len() - keep;
                        }
                    }
                }
            }
        }
        i
    }

    /// The stream stops here (a gap or its end): the candidate frame waiting for more bytes
    /// will never complete. It is skipped and the rest of the buffer is framed again, so a
    /// false frame start (a sync pattern with a large length) does not hide the frames after it.
    fn drop_pending(&mut self, reason: &'static str, emit: &mut dyn FnMut(Found<'_>)) {
        let buf = std::mem::take(&mut self.buf);
        let base = self.pos;
        let end = base + buf.len() as u64;
        let mut i = 0;
        while i < buf.len() {
            self.bad(base + i as u64, reason);
            let next = F::find_sync(&buf, i + 1).unwrap_or(buf.len());
            i = next + self.scan(&buf[next..], base + next as u64, emit);
        }
        self.flush_skip(end, emit);
        self.pos = end;
        self.run = 0;
    }
}

impl<F: Framing> StreamState for Splitter<F> {
    fn protocol(&self) -> Protocol {
        F::PROTOCOL
    }

    fn data(&mut self, offset: u64, bytes: &[u8], emit: &mut dyn FnMut(Found<'_>)) {
        self.seen += bytes.len() as u64;
        if offset != self.pos + self.buf.len() as u64 {
            // Not contiguous: treat the difference as a gap.
            let end = self.pos + self.buf.len() as u64;
            self.gap(end, offset.saturating_sub(end), emit);
            self.pos = offset;
        }
        if self.buf.is_empty() {
            let used = self.scan(bytes, offset, emit);
            self.buf.extend_from_slice(&bytes[used..]);
            self.pos = offset + used as u64;
        } else {
            let mut buf = std::mem::take(&mut self.buf);
            buf.extend_from_slice(bytes);
            let used = self.scan(&buf, self.pos, emit);
            buf.drain(..used);
            self.pos += used as u64;
            self.buf = buf;
        }
    }

    fn gap(&mut self, offset: u64, len: u64, emit: &mut dyn FnMut(Found<'_>)) {
        self.drop_pending("frame cut by a gap", emit);
        self.unit_clean = false;
        self.pos = offset + len;
    }

    fn end(&mut self, emit: &mut dyn FnMut(Found<'_>)) {
        self.drop_pending("frame truncated at the end of the stream", emit);
        if self.unit_clean && self.unit_frames > 0 {
            self.clean_units += 1;
        }
        self.unit_clean = true;
        self.unit_frames = 0;
    }

    /// Two frames back to back, or a whole datagram/stream made only of valid frames.
    fn confident(&self) -> bool {
        self.best_run >= 2 || self.clean_units >= 1
    }

    fn probe_limit(&mut self, limit: Option<usize>) {
        self.probe = limit;
    }

    /// 4 KiB (or the whole probe window, if smaller) seen without a single valid frame:
    /// the protocols framed here send small frames back to back from the start.
    fn hopeless(&self) -> bool {
        self.probe
            .is_some_and(|w| self.frames == 0 && self.seen >= (w as u64).min(4096))
    }
}
