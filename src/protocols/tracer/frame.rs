//! One MT-5 frame (pi30_tracer.md §8): `[AA 55 ×3] EB 90 ×3 id cmd len data[len] CRC_hi
//! CRC_lo 7F`. The preamble is optional (the master's wake-up); the CRC is MSB-first CRC-16,
//! poly 0x1041, init 0, no reflection, no xorout (check 0xAF1C) over `id cmd len data`, sent
//! big-endian. Any `len` is accepted on any command (a real unit's 0xA0 request has len 1).
//!
//! [`parse`] is the one parse (extent, CRC and end byte); [`build`] and [`fix_checksum`] the
//! inverse; [`TracerFraming`] is what the shared splitter needs.

use super::codes::Cmd;
use crate::protocols::splitter::Framing;
use crate::protocols::{Label, Parsed, Protocol};

/// The MT-5 CRC (pi30_tracer.md §8); the vendor's "augmented" formulation equals it.
pub const ALGORITHM: crc::Algorithm<u16> = crc::Algorithm {
    width: 16,
    poly: 0x1041,
    init: 0x0000,
    refin: false,
    refout: false,
    xorout: 0x0000,
    check: 0xAF1C,
    residue: 0x0000,
};

pub const CRC: crc::Crc<u16> = crc::Crc::<u16>::new(&ALGORITHM);

pub const PREAMBLE: [u8; 6] = [0xAA, 0x55, 0xAA, 0x55, 0xAA, 0x55];
pub const SYNC: [u8; 6] = [0xEB, 0x90, 0xEB, 0x90, 0xEB, 0x90];
pub const END: u8 = 0x7F;
/// Largest frame: preamble, sync, id/cmd/len, 255 data bytes, CRC, end.
pub const MAX_FRAME: usize = 6 + 6 + 3 + 255 + 3;

/// A whole frame borrowed from a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub bytes: &'a [u8],
    pub preamble: bool,
    pub id: u8,
    pub cmd: Cmd,
    pub data: &'a [u8],
    pub crc: u16,
}

impl Frame<'_> {
    pub fn label(&self) -> Label {
        match self.cmd.name() {
            Some(n) => Label::Name(n),
            None => Label::Code(u16::from(self.cmd.0)),
        }
    }
}

/// `Some(true)` when `buf` starts with `pat` (or all of `buf` is a prefix of it), `None`
/// when `buf` is shorter than `pat` but matches so far, `Some(false)` on a mismatch.
fn prefix(buf: &[u8], pat: &[u8]) -> Option<bool> {
    let n = buf.len().min(pat.len());
    if buf[..n] != pat[..n] {
        Some(false)
    } else if n < pat.len() {
        None
    } else {
        Some(true)
    }
}

/// The frame at the start of `buf` (pi30_tracer.md §8).
pub fn parse(buf: &[u8]) -> Parsed<Frame<'_>> {
    let pre = match buf.first() {
        None => return Parsed::Incomplete(6),
        Some(&0xAA) => match prefix(buf, &PREAMBLE) {
            Some(true) => 6,
            Some(false) => return Parsed::Bad("not an MT-5 preamble"),
            None => return Parsed::Incomplete(12 - buf.len()),
        },
        Some(_) => 0,
    };
    match prefix(&buf[pre..], &SYNC) {
        Some(true) => {}
        Some(false) => return Parsed::Bad("no MT-5 sync EB 90 EB 90 EB 90"),
        None => return Parsed::Incomplete(pre + 9 - buf.len()),
    }
    let h = pre + 6;
    let Some(&len) = buf.get(h + 2) else {
        return Parsed::Incomplete(h + 3 - buf.len());
    };
    let total = h + 3 + usize::from(len) + 3;
    if buf.len() < total {
        return Parsed::Incomplete(total - buf.len());
    }
    let body = &buf[h..h + 3 + usize::from(len)];
    let crc = u16::from_be_bytes([buf[total - 3], buf[total - 2]]);
    if buf[total - 1] != END {
        return Parsed::Bad("no MT-5 end byte 0x7F");
    }
    if CRC.checksum(body) != crc {
        return Parsed::Bad("bad MT-5 CRC");
    }
    Parsed::Frame(Frame {
        bytes: &buf[..total],
        preamble: pre > 0,
        id: body[0],
        cmd: Cmd(body[1]),
        data: &body[3..],
        crc,
    })
}

/// A frame (pi30_tracer.md §8) with the preamble when `preamble`; `None` when `data` is longer
/// than 255 bytes.
pub fn build(preamble: bool, id: u8, cmd: u8, data: &[u8]) -> Option<Vec<u8>> {
    let len = u8::try_from(data.len()).ok()?;
    let mut out = Vec::with_capacity(MAX_FRAME);
    if preamble {
        out.extend_from_slice(&PREAMBLE);
    }
    out.extend_from_slice(&SYNC);
    let h = out.len();
    out.extend_from_slice(&[id, cmd, len]);
    out.extend_from_slice(data);
    let crc = CRC.checksum(&out[h..]);
    out.extend_from_slice(&crc.to_be_bytes());
    out.push(END);
    Some(out)
}

/// Recomputes the CRC of one whole frame in place; false when `buf` is not one frame's extent.
pub fn fix_checksum(buf: &mut [u8]) -> bool {
    let pre = if buf.starts_with(&PREAMBLE) { 6 } else { 0 };
    if !buf[pre..].starts_with(&SYNC) || buf.len() < pre + 12 {
        return false;
    }
    let h = pre + 6;
    let total = h + 3 + usize::from(buf[h + 2]) + 3;
    if total != buf.len() || buf[total - 1] != END {
        return false;
    }
    let crc = CRC.checksum(&buf[h..total - 3]);
    buf[total - 3..total - 1].copy_from_slice(&crc.to_be_bytes());
    true
}

/// The shared splitter's view of this module.
pub struct TracerFraming;

impl Framing for TracerFraming {
    const PROTOCOL: Protocol = super::PROTOCOL;
    const MAX_FRAME: usize = MAX_FRAME;
    const SYNC_LEN: usize = 6;

    fn parse(buf: &[u8]) -> Parsed<(usize, Label)> {
        match parse(buf) {
            Parsed::Frame(f) => Parsed::Frame((f.bytes.len(), f.label())),
            Parsed::Incomplete(n) => Parsed::Incomplete(n),
            Parsed::Bad(r) => Parsed::Bad(r),
        }
    }

    /// The next preamble or sync (a prefix of one cut by the end of `buf` included).
    fn find_sync(buf: &[u8], from: usize) -> Option<usize> {
        let mut i = from;
        while i < buf.len() {
            let k = i + memchr::memchr2(0xAA, 0xEB, &buf[i..])?;
            let pat: &[u8] = if buf[k] == 0xAA { &PREAMBLE } else { &SYNC };
            if prefix(&buf[k..], pat) != Some(false) {
                return Some(k);
            }
            i = k + 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value() {
        assert_eq!(CRC.checksum(b"123456789"), 0xAF1C);
    }

    #[test]
    fn find_sync_keeps_a_cut_sync() {
        assert_eq!(TracerFraming::find_sync(b"\x00\xEB\x90\xEB", 0), Some(1));
        assert_eq!(TracerFraming::find_sync(b"\x00\xEB\x91\xAA", 0), Some(3));
        assert_eq!(TracerFraming::find_sync(b"\x00\xEB\x91\xAA\x56", 0), None);
    }

    #[test]
    fn cut_anywhere_is_incomplete() {
        let f = build(true, 0x16, 0xA0, &[]).unwrap();
        for n in 0..f.len() {
            assert!(matches!(parse(&f[..n]), Parsed::Incomplete(_)), "{n}");
        }
        let mut g = f.clone();
        g[13] ^= 1; // the command byte (14 is the length)
        assert!(fix_checksum(&mut g));
        assert_ne!(g, f);
        assert!(matches!(parse(&g), Parsed::Frame(_)));
    }
}
