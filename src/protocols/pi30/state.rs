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
                    i = resync(buf, i + 1);
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

/// Start of the run of bytes of `class` ending at `end`, not below `lo`.
fn run_back(buf: &[u8], end: usize, lo: usize, class: fn(u8) -> bool) -> usize {
    let mut r = end;
    while r > lo && class(buf[r - 1]) {
        r -= 1;
    }
    r
}

/// The first position at or after `from` where [`parse`] may not say `Bad` (every position
/// skipped is one it would reject), found without parsing at every start byte: a frame ends at
/// the first CR after its start, and its text (after the first byte) is a run of its class
/// reaching two bytes before that CR. So only the run just before each CR (found with memchr)
/// is looked at, which keeps random data and text cheap.
fn resync(buf: &[u8], mut from: usize) -> usize {
    use frame::{reply_byte, request_byte, MAX_REPLY_TEXT, MAX_REQUEST_TEXT};
    let len = buf.len();
    while from < len {
        let Some(k) = memchr::memchr(CR, &buf[from..]) else {
            // No CR yet: a frame start still waiting for its end has printable bytes up to
            // two bytes before the end of the buffer.
            let j = len.saturating_sub(2).max(from);
            let lo = from.max(len.saturating_sub(frame::MAX_FRAME + 3));
            let r = run_back(buf, j, lo, reply_byte);
            return (r..len).find(|&s| frame::starts(buf[s])).unwrap_or(len);
        };
        let c = from + k;
        let j = c.saturating_sub(2).max(from);
        let r_rep = run_back(
            buf,
            j,
            from.max(j.saturating_sub(MAX_REPLY_TEXT)),
            reply_byte,
        );
        let r_req = run_back(
            buf,
            j,
            from.max(j.saturating_sub(MAX_REQUEST_TEXT)),
            request_byte,
        );
        // At least two bytes of text before the CRC.
        let hit = (r_rep..c.saturating_sub(3))
            .find(|&s| buf[s] == b'(' || (s >= r_req && buf[s].is_ascii_uppercase()));
        if let Some(s) = hit {
            return s;
        }
        from = c + 1;
    }
    len
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

    /// Frames with a good CRC (`bad-crc` frames are shown but are no evidence).
    fn checked_frames(&self) -> u64 {
        self.good
    }

    fn probe_limit(&mut self, limit: Option<usize>) {
        self.probing = limit.is_some();
    }

    /// While probing: no good frame in the first [`PROBE_BYTES`] raw bytes.
    fn hopeless(&self) -> bool {
        self.probing && self.fed >= PROBE_BYTES && self.good == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `resync` skips only positions `parse` rejects: it equals the first position not `Bad`.
    #[test]
    fn resync_skips_only_bad_positions() {
        let alphabet = b"(QPIGS0123. \r\x00\xB7\x0A~";
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for n in 0..4000 {
            let len = n % 97;
            let buf: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    alphabet[(x % alphabet.len() as u64) as usize]
                })
                .collect();
            for from in 0..=len {
                let naive = (from..len)
                    .find(|&s| !matches!(parse(&buf[s..]), Parsed::Bad(_)))
                    .unwrap_or(len);
                let fast = resync(&buf, from);
                assert!(fast <= naive, "{buf:?} from {from}: {fast} > {naive}");
                assert!(
                    (from..fast).all(|s| matches!(parse(&buf[s..]), Parsed::Bad(_))),
                    "{buf:?} from {from}: skipped a frame start before {fast}"
                );
            }
        }
    }
}
