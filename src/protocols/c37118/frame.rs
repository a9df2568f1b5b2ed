//! Finding one C37.118 frame (IEEE C37.118.2-2011 §6.2, c37118.md §1): SYNC `AA`, then
//! `0TTTVVVV` (type 0–5, version ≠ 0), FRAMESIZE (≥ 16, including SYNC and CHK), and CHK =
//! CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over everything before it.

use crate::protocols::splitter::Framing;
use crate::protocols::{Label, Parsed, Protocol};
use nom::number::streaming::{be_u16, u8 as byte};

/// CRC-16/IBM-3740 (a.k.a. CCITT-FALSE), slice-by-16 tables.
pub const CRC: crc::Crc<u16, crc::Table<16>> =
    crc::Crc::<u16, crc::Table<16>>::new(&crc::CRC_16_IBM_3740);

pub const SYNC: u8 = 0xAA;
pub const MIN_FRAME: usize = 16;

/// Frame type names, by the type bits of the second SYNC byte.
pub const KINDS: [&str; 6] = ["data", "hdr", "cfg1", "cfg2", "cmd", "cfg3"];

/// A frame borrowed from the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub bytes: &'a [u8],
    pub frame_type: u8,
    pub version: u8,
    pub idcode: u16,
}

impl Frame<'_> {
    pub fn kind(&self) -> &'static str {
        KINDS[usize::from(self.frame_type)]
    }
}

fn needed(e: nom::Err<nom::error::Error<&[u8]>>) -> usize {
    match e {
        nom::Err::Incomplete(nom::Needed::Size(n)) => n.get(),
        _ => 1,
    }
}

/// Parses the frame at the start of `buf`.
pub fn parse_frame(buf: &[u8]) -> Parsed<Frame<'_>> {
    let head = |i| -> nom::IResult<&[u8], (u8, u8, u16, u16)> {
        let (i, sync) = byte(i)?;
        let (i, tv) = byte(i)?;
        let (i, size) = be_u16(i)?;
        let (i, id) = be_u16(i)?;
        Ok((i, (sync, tv, size, id)))
    };
    // Check each byte as soon as it is there, so garbage is rejected early.
    if buf.first().is_some_and(|b| *b != SYNC) {
        return Parsed::Bad("no SYNC byte 0xAA");
    }
    if let Some(tv) = buf.get(1) {
        if tv & 0x80 != 0 || (tv >> 4) & 7 > 5 {
            return Parsed::Bad("reserved frame type");
        }
        if tv & 0x0f == 0 {
            return Parsed::Bad("version 0");
        }
    }
    let (sync_tv, size, idcode) = match head(buf) {
        Ok((_, (_, tv, size, id))) => (tv, size, id),
        Err(e) => {
            // FRAMESIZE is known once 4 bytes are there.
            if buf.len() >= 4 {
                let size = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
                if size < MIN_FRAME {
                    return Parsed::Bad("FRAMESIZE below 16");
                }
                return Parsed::Incomplete(size - buf.len());
            }
            return Parsed::Incomplete(needed(e));
        }
    };
    let size = usize::from(size);
    if size < MIN_FRAME {
        return Parsed::Bad("FRAMESIZE below 16");
    }
    if buf.len() < size {
        return Parsed::Incomplete(size - buf.len());
    }
    let chk = u16::from_be_bytes([buf[size - 2], buf[size - 1]]);
    if CRC.checksum(&buf[..size - 2]) != chk {
        return Parsed::Bad("CRC mismatch");
    }
    Parsed::Frame(Frame {
        bytes: &buf[..size],
        frame_type: (sync_tv >> 4) & 7,
        version: sync_tv & 0x0f,
        idcode,
    })
}

/// The splitter's view of this module.
pub struct C37Framing;

impl Framing for C37Framing {
    const PROTOCOL: Protocol = super::PROTOCOL;
    const MAX_FRAME: usize = 65_535;
    const SYNC_LEN: usize = 1;

    fn parse(buf: &[u8]) -> Parsed<(usize, Label)> {
        match parse_frame(buf) {
            Parsed::Frame(f) => Parsed::Frame((f.bytes.len(), Label::Name(f.kind()))),
            Parsed::Incomplete(n) => Parsed::Incomplete(n),
            Parsed::Bad(r) => Parsed::Bad(r),
        }
    }

    fn find_sync(buf: &[u8], from: usize) -> Option<usize> {
        memchr::memchr(SYNC, buf.get(from..)?).map(|i| from + i)
    }

    /// While probing: version 1–3 (2005/2011 use 1, CFG-3 uses 2), IDCODE neither 0 nor 65535
    /// (reserved, §1), FRAMESIZE ≥ 18 except for header frames, and the reserved top bit of
    /// the time-quality byte clear (§2).
    fn plausible(buf: &[u8]) -> bool {
        if let Some(tv) = buf.get(1) {
            if !(1..=3).contains(&(tv & 0x0f)) {
                return false;
            }
            if buf.len() >= 4 && (tv >> 4) & 7 != 1 && u16::from_be_bytes([buf[2], buf[3]]) < 18 {
                return false;
            }
        }
        if buf.len() >= 6 && matches!(u16::from_be_bytes([buf[4], buf[5]]), 0 | 0xffff) {
            return false;
        }
        buf.get(10).is_none_or(|tq| tq & 0x80 == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IEEE C37.118.2-2011 Annex D.3 command frame, as printed in c37118.md §10.
    const ANNEX_D3: [u8; 18] = [
        0xAA, 0x41, 0x00, 0x12, 0x1E, 0x36, 0x44, 0x85, 0x60, 0x30, 0x0F, 0x0B, 0xBF, 0xD0, 0x00,
        0x02, 0xCE, 0x00,
    ];

    #[test]
    fn crc_catalogue_vectors() {
        // Annex B check values (c37118.md §1).
        assert_eq!(CRC.checksum(b"123456789"), 0x29B1);
        assert_eq!(CRC.checksum(b"ABCD"), 0xBFFA);
    }

    #[test]
    fn command_frame_and_byte_by_byte() {
        let f = ANNEX_D3;
        match parse_frame(&f) {
            Parsed::Frame(fr) => {
                assert_eq!(fr.kind(), "cmd");
                assert_eq!(fr.idcode, 7734);
                assert_eq!(fr.bytes.len(), 18);
            }
            other => panic!("{other:?}"),
        }
        for n in 0..f.len() {
            assert!(
                matches!(parse_frame(&f[..n]), Parsed::Incomplete(k) if k >= 1 && n + k <= 18),
                "prefix {n}"
            );
        }
        let mut bad = f;
        bad[17] ^= 1;
        assert_eq!(parse_frame(&bad), Parsed::Bad("CRC mismatch"));
    }
}
