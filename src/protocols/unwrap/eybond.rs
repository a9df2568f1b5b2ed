//! Eybond WiFi-dongle wrapper around PI30 (pi30_tracer.md §7, brilthor/voltronic-wifi-bridge
//! `Protocol.md`): every message is an 8-byte header `counter(2) 00 01 len(2) FF 04` (`01 04`
//! for sets), `len` counting the bytes after the length field, then `len - 2` bytes of PI30
//! (`CMD CRC CR` or `(… CRC CR`). Either side may send first.
//!
//! The first bytes of a direction decide: an Eybond header makes the direction wrapped (headers
//! removed, each body passed on at its raw offsets); anything else makes it transparent for
//! good (the raw serial stream of a bridge). A direction is decided as soon as its third byte
//! is not 0x00 (no PI30 text byte is), so a short transparent stream is never held back. In a
//! wrapped direction, a header that is not valid (after a gap, or garbage) is searched for
//! byte by byte; the bytes skipped are passed on as data for the framer to report.

use super::{Unwrapped, Unwrapper};

/// Header length (pi30_tracer.md §7).
pub const HEADER_LEN: usize = 8;
/// Largest `len` accepted (a PI30 frame is at most a few hundred bytes).
pub const MAX_LEN: u16 = 1024;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Mode {
    /// Undecided: the first bytes are collected.
    #[default]
    Sniff,
    Wrapped,
    Transparent,
}

/// Whether `h` is an Eybond header; returns the body length.
pub fn header(h: &[u8]) -> Option<usize> {
    let [_, _, 0x00, 0x01, l0, l1, 0xFF | 0x01, 0x04] = *h else {
        return None;
    };
    let len = u16::from_be_bytes([l0, l1]);
    (3..=MAX_LEN).contains(&len).then_some(usize::from(len) - 2)
}

/// Builds one Eybond message around a PI30 frame (for tests and samples); `set` uses `01 04`.
pub fn wrap(counter: u16, set: bool, pi30: &[u8]) -> Vec<u8> {
    let len = u16::try_from(pi30.len() + 2).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(pi30.len() + HEADER_LEN);
    out.extend_from_slice(&counter.to_be_bytes());
    out.extend_from_slice(&[0x00, 0x01]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&[if set { 0x01 } else { 0xFF }, 0x04]);
    out.extend_from_slice(pi30);
    out
}

/// Eybond removal for one direction (see the module docs).
#[derive(Default)]
pub struct Eybond {
    mode: Mode,
    /// Header bytes collected and the raw offset of the first.
    hdr: [u8; HEADER_LEN],
    hdr_len: usize,
    hdr_raw: u64,
    /// Body bytes still to pass on.
    body_left: usize,
    /// Messages unwrapped.
    pub messages: u64,
}

impl Eybond {
    /// Whether the direction turned out to be wrapped.
    pub fn wrapped(&self) -> bool {
        self.mode == Mode::Wrapped
    }

    /// The collected header bytes are data after all: passed on, the mode kept.
    fn give_back(&mut self, out: &mut Unwrapped) {
        out.push(&self.hdr[..self.hdr_len], self.hdr_raw);
        self.hdr_len = 0;
    }

    /// Adds one header byte; judges the header once complete.
    fn header_byte(&mut self, b: u8, at: u64, out: &mut Unwrapped) {
        if self.hdr_len == 0 {
            self.hdr_raw = at;
        }
        self.hdr[self.hdr_len] = b;
        self.hdr_len += 1;
        if self.mode == Mode::Sniff && self.hdr_len == 3 && b != 0x00 {
            self.mode = Mode::Transparent;
            return self.give_back(out);
        }
        if self.hdr_len < HEADER_LEN {
            return;
        }
        match header(&self.hdr) {
            Some(n) => {
                self.mode = Mode::Wrapped;
                self.body_left = n;
                self.hdr_len = 0;
                self.messages += 1;
            }
            None if self.mode == Mode::Sniff => {
                self.mode = Mode::Transparent;
                self.give_back(out);
            }
            None => {
                // Slide by one byte: the first is data.
                out.push(&self.hdr[..1], self.hdr_raw);
                self.hdr.copy_within(1.., 0);
                self.hdr_len -= 1;
                self.hdr_raw += 1;
            }
        }
    }
}

impl Unwrapper for Eybond {
    fn feed(&mut self, offset: u64, raw: &[u8], out: &mut Unwrapped) {
        let mut i = 0;
        while i < raw.len() {
            let at = offset + i as u64;
            if self.mode == Mode::Transparent {
                out.push(&raw[i..], at);
                return;
            }
            if self.body_left > 0 {
                let n = self.body_left.min(raw.len() - i);
                out.push(&raw[i..i + n], at);
                self.body_left -= n;
                i += n;
                continue;
            }
            self.header_byte(raw[i], at, out);
            i += 1;
        }
    }

    fn is_transparent(&self, _raw: &[u8]) -> bool {
        self.mode == Mode::Transparent
    }

    fn gap(&mut self) {
        self.hdr_len = 0;
        self.body_left = 0;
    }

    fn end(&mut self) {
        self.gap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]]) -> (Vec<u8>, Vec<u64>, bool) {
        let (mut e, mut out) = (Eybond::default(), Unwrapped::default());
        let mut off = 0;
        for c in chunks {
            e.feed(off, c, &mut out);
            off += c.len() as u64;
        }
        let raws = (0..out.pending().len()).map(|p| out.raw_of(p)).collect();
        (out.pending().to_vec(), raws, e.wrapped())
    }

    #[test]
    fn headers_removed_and_offsets_kept() {
        let a = wrap(1, false, b"QPI\xBE\xAC\r");
        let b = wrap(2, true, b"POP02\xE2\x0B\r");
        assert_eq!(&a[..8], [0, 1, 0, 1, 0, 8, 0xFF, 4]);
        let all = [a.clone(), b.clone()].concat();
        let (dec, raws, wrapped) = run(&[&all]);
        assert!(wrapped);
        assert_eq!(dec, b"QPI\xBE\xAC\rPOP02\xE2\x0B\r");
        assert_eq!(raws[0], 8);
        assert_eq!(raws[6], a.len() as u64 + 8);
        // Cut at every byte: the same.
        let bytes: Vec<&[u8]> = all.chunks(1).collect();
        assert_eq!(run(&bytes).0, dec);
    }

    #[test]
    fn transparent_streams_pass_unchanged() {
        let (dec, raws, wrapped) = run(&[b"QM", b"OD\x49\xC1\r"]);
        assert!(!wrapped);
        assert_eq!(dec, b"QMOD\x49\xC1\r");
        assert_eq!(raws, (0..7).collect::<Vec<u64>>());
        // A third byte 0x00 but no header: given back once eight bytes are seen.
        let (dec, _, wrapped) = run(&[b"\x01\x02\x00\x05\x06\x07\x08\x09\x0a"]);
        assert!(!wrapped);
        assert_eq!(dec, b"\x01\x02\x00\x05\x06\x07\x08\x09\x0a");
    }
}
