//! Per-direction PI30 stream state (pi30_tracer.md §7 "Framer"). The generic length-driven
//! splitter does not fit: PI30 has no length (frames end at CR), may come inside the Eybond
//! wrapper ([`crate::protocols::unwrap::eybond`]) and carries NUL padding after a CR
//! (USB-HID gateways, §1).
//!
//! Pipeline: Eybond removal (a no-op on a transparent bridge's stream), then framing on CR:
//! a frame is request-class text (`[A-Z][A-Za-z0-9.]*`) or `(` + printable text, two CRC
//! bytes, CR ([`super::frame::parse`]). NULs after a CR are dropped silently. A frame whose CRC
//! matches none of the rules of §2 is reported twice: as an anomaly (`bad PI30 CRC`) and as a
//! frame of kind `bad-crc`, so that it is still shown (the decoder says `chk_ok: false`).
//! Anything else is skipped up to the next byte that can start a frame and reported as one
//! anomaly. Frame and anomaly offsets are raw stream offsets (Eybond headers included).
//!
//! Detection rule: two frames with a good CRC back to back (NUL padding between them is
//! allowed), or a whole stream made only of good frames. While probing, a direction without a
//! good frame in its first [`PROBE_BYTES`] raw bytes is hopeless (PI30 frames are short and
//! a bridge's stream shows one within a poll; a stream picked up mid-frame shows the next).

use super::frame::{self, parse, CR};
use crate::protocols::unwrap::eybond::Eybond;
use crate::protocols::unwrap::{Unwrapped, Unwrapper};
use crate::protocols::{Found, Parsed, Protocol, StreamState};

/// While probing, raw bytes of a direction that must show a good frame.
pub const PROBE_BYTES: u64 = 1024;

/// Per-direction PI30 state; see the module docs.
#[derive(Default)]
pub struct Pi30State {
    eb: Eybond,
    dec: Unwrapped,
    /// Raw offset of the next byte expected.
    raw_pos: u64,
    /// Skipped bytes not yet reported: raw start and reason.
    garbage: Option<(u64, &'static str)>,
    /// The last frame ended with CR: NULs here are padding.
    after_cr: bool,
    run: u32,
    best_run: u32,
    /// Frames with a good CRC.
    pub good: u64,
    /// Good frames in this unit (stream), and whether nothing else came.
    unit_good: u64,
    unit_clean: bool,
    clean_units: u32,
    fed: u64,
    probing: bool,
}

impl Pi30State {
    pub fn new() -> Self {
        Pi30State {
            unit_clean: true,
            ..Default::default()
        }
    }

    fn flush_garbage(&mut self, upto: u64, emit: &mut dyn FnMut(Found<'_>)) {
        if let Some((start, reason)) = self.garbage.take() {
            if upto > start {
                emit(Found::Anomaly {
                    offset: start,
                    len: upto - start,
                    reason,
                });
            }
        }
    }

    fn garbage_from(&mut self, raw: u64, reason: &'static str) {
        self.run = 0;
        self.unit_clean = false;
        self.after_cr = false;
        if self.garbage.is_none() {
            self.garbage = Some((raw, reason));
        }
    }

    /// Frames `buf` (pending unwrapped bytes, mapped through `self.dec`); returns how many
    /// were consumed. With `fin`, everything is consumed (a frame in progress is truncated).
    fn scan(&mut self, buf: &[u8], fin: bool, emit: &mut dyn FnMut(Found<'_>)) -> usize {
        let mut i = 0;
        while i < buf.len() {
            if buf[i] == 0 && self.after_cr {
                i += 1;
                continue;
            }
            match parse(&buf[i..]) {
                Parsed::Frame(f) => {
                    let (at, n) = (self.dec.raw_of(i), f.bytes.len());
                    self.flush_garbage(at, emit);
                    if f.check.ok() {
                        self.good += 1;
                        self.unit_good += 1;
                        self.run += 1;
                        self.best_run = self.best_run.max(self.run);
                    } else {
                        let end = self.dec.raw_of(i + n);
                        emit(Found::Anomaly {
                            offset: at,
                            len: end - at,
                            reason: "bad PI30 CRC",
                        });
                        self.run = 0;
                        self.unit_clean = false;
                    }
                    emit(Found::Frame {
                        offset: at,
                        bytes: f.bytes,
                        kind: f.label(),
                    });
                    self.after_cr = f.bytes.last() == Some(&CR);
                    i += n;
                }
                Parsed::Incomplete(_) if !fin => break,
                Parsed::Incomplete(_) => {
                    let at = self.dec.raw_of(i);
                    self.garbage_from(at, "PI30 frame truncated");
                    i = buf.len();
                }
                Parsed::Bad(reason) => {
                    let at = self.dec.raw_of(i);
                    self.garbage_from(at, reason);
                    i += 1 + buf[i + 1..]
                        .iter()
                        .position(|&b| frame::starts(b))
                        .unwrap_or(buf.len() - i - 1);
                }
            }
        }
        i
    }

    fn run_pending(&mut self, fin: bool, emit: &mut dyn FnMut(Found<'_>)) {
        let buf = self.dec.lend();
        let used = self.scan(&buf, fin, emit);
        self.dec.give_back(buf, used);
    }

    /// Flushes everything pending (a gap or the end).
    fn finish(&mut self, emit: &mut dyn FnMut(Found<'_>)) {
        self.run_pending(true, emit);
        let upto = self.raw_pos;
        self.flush_garbage(upto, emit);
        self.after_cr = false;
        self.run = 0;
    }

    /// Contiguous raw bytes at `offset`: Eybond removal, then framing.
    fn feed(&mut self, offset: u64, bytes: &[u8], emit: &mut dyn FnMut(Found<'_>)) {
        self.fed += bytes.len() as u64;
        self.raw_pos = offset + bytes.len() as u64;
        if self.dec.is_empty() && self.eb.is_transparent(bytes) {
            // Nothing pending and no wrapper: framed where it lies.
            self.dec.begin_in_place(offset, bytes.len());
            let used = self.scan(bytes, false, emit);
            self.dec.end_in_place(used, &bytes[used..]);
            return;
        }
        self.dec.reserve(bytes.len());
        self.eb.feed(offset, bytes, &mut self.dec);
        self.run_pending(false, emit);
    }
}

impl StreamState for Pi30State {
    fn protocol(&self) -> Protocol {
        super::PROTOCOL
    }

    fn data(&mut self, offset: u64, bytes: &[u8], emit: &mut dyn FnMut(Found<'_>)) {
        if bytes.is_empty() {
            return;
        }
        if offset != self.raw_pos {
            let len = offset.saturating_sub(self.raw_pos);
            self.gap(offset - len, len, emit);
        }
        if self.hopeless() {
            // A hopeless probe reads no further (the detector drops it).
            self.fed += bytes.len() as u64;
            self.raw_pos = offset + bytes.len() as u64;
            return;
        }
        // While probing, the first PROBE_BYTES are framed on their own, so that the verdict
        // is taken at the same stream position however the stream is segmented.
        let first = if self.probing && self.fed < PROBE_BYTES {
            bytes.len().min((PROBE_BYTES - self.fed) as usize)
        } else {
            bytes.len()
        };
        self.feed(offset, &bytes[..first], emit);
        if first < bytes.len() {
            if self.hopeless() {
                // A hopeless probe reads no further (the detector drops it).
                self.fed += (bytes.len() - first) as u64;
                self.raw_pos = offset + bytes.len() as u64;
            } else {
                self.feed(offset + first as u64, &bytes[first..], emit);
            }
        }
    }

    fn gap(&mut self, offset: u64, len: u64, emit: &mut dyn FnMut(Found<'_>)) {
        self.finish(emit);
        self.eb.gap();
        self.raw_pos = offset + len;
        self.unit_clean = false;
    }

    fn end(&mut self, emit: &mut dyn FnMut(Found<'_>)) {
        self.finish(emit);
        self.eb.end();
        if self.unit_clean && self.unit_good > 0 {
            self.clean_units += 1;
        }
        self.unit_clean = true;
        self.unit_good = 0;
    }

    fn confident(&self) -> bool {
        !self.hopeless() && (self.best_run >= 2 || self.clean_units >= 1)
    }

    fn probe_limit(&mut self, limit: Option<usize>) {
        self.probing = limit.is_some();
    }

    /// While probing: no good frame in the first [`PROBE_BYTES`] raw bytes.
    fn hopeless(&self) -> bool {
        self.probing && self.fed >= PROBE_BYTES && self.good == 0
    }
}
