//! Telnet removal (sel.md §4 "Telnet IAC"): IAC commands are removed before any framing,
//! length or checksum.
//!
//! - `FF FB/FC/FD/FE xx` (option negotiation) is removed;
//! - a subnegotiation `FF FA … FF F0` is removed; one longer than [`MAX_SB`] bytes is not
//!   plausible and is given back as data;
//! - the 2-byte commands `FF F0..F9` are removed;
//! - `FF FF` becomes `FF` (0xFF inside binary data is doubled on the wire);
//! - `FF` followed by a byte below `F0` is not Telnet and both bytes are kept.
//!
//! Sequences may be split across [`Unwrapper::feed`] calls. At a gap or at the end of the
//! stream, a sequence in progress is dropped.

use super::{Unwrapped, Unwrapper};

/// Longest Telnet subnegotiation kept out of the data.
pub const MAX_SB: usize = 512;

/// Interpret As Command.
const IAC: u8 = 0xFF;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Tn {
    #[default]
    Data,
    /// After `FF`.
    Iac,
    /// After `FF FB..FE`: the option byte follows.
    Opt,
    /// Inside `FF FA …`.
    Sb,
    /// Inside a subnegotiation, after `FF`.
    SbIac,
}

/// Telnet decoder of one direction (sel.md §4).
#[derive(Default)]
pub struct Telnet {
    st: Tn,
    /// Raw offset of the pending `FF`.
    iac_raw: u64,
    /// Raw bytes of the subnegotiation in progress, from its `FF FA`.
    sb: Vec<u8>,
    sb_raw: u64,
}

impl Telnet {
    /// Heap bytes held (the subnegotiation buffer by capacity).
    pub fn heap_bytes(&self) -> usize {
        self.sb.capacity()
    }

    /// Drops a sequence in progress.
    fn reset(&mut self) {
        self.st = Tn::Data;
        self.sb.clear();
    }
}

impl Unwrapper for Telnet {
    fn feed(&mut self, off: u64, raw: &[u8], dec: &mut Unwrapped) {
        let mut i = 0;
        while i < raw.len() {
            let at = off + i as u64;
            match self.st {
                Tn::Data => match memchr::memchr(IAC, &raw[i..]) {
                    None => {
                        dec.push(&raw[i..], at);
                        return;
                    }
                    Some(k) => {
                        dec.push(&raw[i..i + k], at);
                        self.iac_raw = at + k as u64;
                        self.st = Tn::Iac;
                        i += k + 1;
                    }
                },
                Tn::Iac => {
                    let b = raw[i];
                    i += 1;
                    self.st = match b {
                        IAC => {
                            dec.push(&[IAC], self.iac_raw);
                            Tn::Data
                        }
                        0xFB..=0xFE => Tn::Opt,
                        0xFA => {
                            self.sb.clear();
                            self.sb.extend_from_slice(&[IAC, 0xFA]);
                            self.sb_raw = self.iac_raw;
                            Tn::Sb
                        }
                        0xF0..=0xF9 => Tn::Data,
                        _ => {
                            dec.push(&[IAC, b], self.iac_raw);
                            Tn::Data
                        }
                    };
                }
                Tn::Opt => {
                    i += 1;
                    self.st = Tn::Data;
                }
                Tn::Sb | Tn::SbIac => {
                    let b = raw[i];
                    i += 1;
                    self.sb.push(b);
                    self.st = match (self.st, b) {
                        (Tn::SbIac, 0xF0) => Tn::Data,
                        (Tn::SbIac, _) => Tn::Sb,
                        (_, IAC) => Tn::SbIac,
                        _ => Tn::Sb,
                    };
                    if self.st != Tn::Data && self.sb.len() > MAX_SB {
                        // Not a plausible subnegotiation: give the bytes back as data.
                        dec.push(&self.sb, self.sb_raw);
                        self.sb.clear();
                        self.st = Tn::Data;
                    }
                }
            }
        }
    }

    fn is_transparent(&self, raw: &[u8]) -> bool {
        self.st == Tn::Data && memchr::memchr(IAC, raw).is_none()
    }

    fn gap(&mut self) {
        self.reset();
    }

    fn end(&mut self) {
        self.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::test_hex as hex;

    /// Decodes `chunks` fed contiguously: decoded bytes and the raw offset of each.
    fn decode(chunks: &[&[u8]]) -> (Vec<u8>, Vec<u64>) {
        let mut tn = Telnet::default();
        let mut d = Unwrapped::default();
        let mut off = 0;
        for c in chunks {
            tn.feed(off, c, &mut d);
            off += c.len() as u64;
        }
        let raws = (0..d.pending().len()).map(|p| d.raw_of(p)).collect();
        (d.pending().to_vec(), raws)
    }

    #[test]
    fn commands_removed_ff_undoubled_offsets_kept() {
        // WILL ECHO, SB TTYPE … SE, "a", FF FF, NOP, "b", FF 41 (not Telnet).
        let raw = hex("FFFB01 FFFA1801FFF0 61 FFFF FFF1 62 FF41");
        let (bytes, raws) = decode(&[&raw]);
        assert_eq!(bytes, hex("61 FF 62 FF41"));
        assert_eq!(raws, [9, 10, 14, 15, 16]);
        // Cut anywhere, byte by byte: the same.
        for cut in 0..=raw.len() {
            assert_eq!(
                decode(&[&raw[..cut], &raw[cut..]]),
                (bytes.clone(), raws.clone())
            );
        }
        let bytewise: Vec<&[u8]> = raw.chunks(1).collect();
        assert_eq!(decode(&bytewise), (bytes, raws));
    }

    #[test]
    fn long_subnegotiation_is_given_back() {
        let mut raw = hex("FFFA");
        raw.extend(vec![b'a'; 600]);
        let (bytes, raws) = decode(&[&raw]);
        assert_eq!(bytes, raw);
        assert_eq!(raws, (0..602).collect::<Vec<u64>>());
        // Exactly MAX_SB bytes in all, then SE: removed.
        let mut raw = hex("FFFA");
        raw.extend(vec![b'a'; MAX_SB - 4]);
        raw.extend(hex("FFF0 62"));
        assert_eq!(decode(&[&raw]).0, b"b");
    }

    #[test]
    fn transparency_and_reset() {
        let mut tn = Telnet::default();
        let mut d = Unwrapped::default();
        assert!(tn.is_transparent(b"plain"));
        assert!(!tn.is_transparent(b"a\xFFb"));
        tn.feed(0, &hex("41FF"), &mut d);
        // An IAC is pending: the next byte is Telnet even without FF in it.
        assert!(!tn.is_transparent(b"\xFB"));
        tn.gap();
        assert!(tn.is_transparent(b"\xFB"));
        tn.feed(10, &hex("FFFA18"), &mut d);
        tn.end();
        tn.feed(20, b"z", &mut d);
        assert_eq!(d.pending(), b"Az");
        assert_eq!(d.raw_of(1), 20);
    }
}
