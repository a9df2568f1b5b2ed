//! Finding one SolarEdge frame (solaredge.md §1–2): magic `12 34 56 79`, `dataLen` u16 LE and its
//! complement, seq u16, from u32, to u32, function u16 (all LE), payload, CRC u16 LE. The CRC is
//! CRC-16 (poly 0x8005 reflected, init 0x5A5A) over seq/from/to/function re-packed big-endian,
//! then the payload. Length-driven: the magic also occurs inside payloads.

use crate::protocols::splitter::Framing;
use crate::protocols::{Label, Parsed, Protocol};
use nom::number::streaming::{le_u16, le_u32};

pub const MAGIC: [u8; 4] = [0x12, 0x34, 0x56, 0x79];
pub const HEADER: usize = 20;
pub const MIN_FRAME: usize = 22;

/// CRC-16/ARC with init 0x5A5A (solaredge.md §2; check value from the spec).
pub const ALGORITHM: crc::Algorithm<u16> = crc::Algorithm {
    width: 16,
    poly: 0x8005,
    init: 0x5a5a,
    refin: true,
    refout: true,
    xorout: 0x0000,
    check: 0x5b3a,
    residue: 0x0000,
};
pub const CRC: crc::Crc<u16, crc::Table<16>> = crc::Crc::<u16, crc::Table<16>>::new(&ALGORITHM);

/// A frame borrowed from the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub bytes: &'a [u8],
    pub seq: u16,
    pub from: u32,
    pub to: u32,
    pub function: u16,
    pub payload: &'a [u8],
    pub crc: u16,
}

/// The CRC of a frame's fields as the protocol defines it.
pub fn frame_crc(seq: u16, from: u32, to: u32, function: u16, payload: &[u8]) -> u16 {
    let mut d = CRC.digest();
    d.update(&seq.to_be_bytes());
    d.update(&from.to_be_bytes());
    d.update(&to.to_be_bytes());
    d.update(&function.to_be_bytes());
    d.update(payload);
    d.finalize()
}

/// A frame with these fields (solaredge.md §1): the inverse of [`parse_frame`]. None when the
/// payload is longer than the 16-bit length field allows.
pub fn build(seq: u16, from: u32, to: u32, function: u16, payload: &[u8]) -> Option<Vec<u8>> {
    let len = u16::try_from(payload.len()).ok()?;
    let mut f = Vec::with_capacity(MIN_FRAME + payload.len());
    f.extend_from_slice(&MAGIC);
    f.extend(len.to_le_bytes());
    f.extend((!len).to_le_bytes());
    f.extend(seq.to_le_bytes());
    f.extend(from.to_le_bytes());
    f.extend(to.to_le_bytes());
    f.extend(function.to_le_bytes());
    f.extend_from_slice(payload);
    f.extend(frame_crc(seq, from, to, function, payload).to_le_bytes());
    Some(f)
}

/// Recomputes the CRC of one whole frame in place (after a field was rewritten); false when
/// `buf` is not one frame (magic, length and its complement, size).
pub fn fix_checksum(buf: &mut [u8]) -> bool {
    let le16 = |b: &[u8], at: usize| u16::from_le_bytes([b[at], b[at + 1]]);
    let le32 = |b: &[u8], at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    if buf.len() < MIN_FRAME || buf[..4] != MAGIC {
        return false;
    }
    let len = le16(buf, 4);
    if le16(buf, 6) != !len || buf.len() != MIN_FRAME + usize::from(len) {
        return false;
    }
    let end = buf.len() - 2;
    let crc = frame_crc(
        le16(buf, 8),
        le32(buf, 10),
        le32(buf, 14),
        le16(buf, 18),
        &buf[HEADER..end],
    );
    buf[end..].copy_from_slice(&crc.to_le_bytes());
    true
}

type Head = (u16, u16, u16, u32, u32, u16);

fn head(i: &[u8]) -> nom::IResult<&[u8], Head> {
    let (i, len) = le_u16(i)?;
    let (i, inv) = le_u16(i)?;
    let (i, seq) = le_u16(i)?;
    let (i, from) = le_u32(i)?;
    let (i, to) = le_u32(i)?;
    let (i, function) = le_u16(i)?;
    Ok((i, (len, inv, seq, from, to, function)))
}

/// Parses the frame at the start of `buf`.
pub fn parse_frame(buf: &[u8]) -> Parsed<Frame<'_>> {
    let m = buf.len().min(4);
    if buf[..m] != MAGIC[..m] {
        return Parsed::Bad("no magic 12 34 56 79");
    }
    if buf.len() >= 8 {
        let len = u16::from_le_bytes([buf[4], buf[5]]);
        let inv = u16::from_le_bytes([buf[6], buf[7]]);
        if inv != !len {
            return Parsed::Bad("length and inverted length disagree");
        }
    }
    let (len, seq, from, to, function) = match head(&buf[m..]) {
        Ok((_, (len, _, seq, from, to, function))) => (len, seq, from, to, function),
        Err(_) => {
            let need = if buf.len() >= 6 {
                MIN_FRAME + usize::from(u16::from_le_bytes([buf[4], buf[5]]))
            } else {
                MIN_FRAME
            };
            return Parsed::Incomplete(need - buf.len());
        }
    };
    let size = MIN_FRAME + usize::from(len);
    if buf.len() < size {
        return Parsed::Incomplete(size - buf.len());
    }
    let payload = &buf[HEADER..size - 2];
    let crc = u16::from_le_bytes([buf[size - 2], buf[size - 1]]);
    if frame_crc(seq, from, to, function, payload) != crc {
        return Parsed::Bad("CRC mismatch");
    }
    Parsed::Frame(Frame {
        bytes: &buf[..size],
        seq,
        from,
        to,
        function,
        payload,
        crc,
    })
}

/// The splitter's view of this module.
pub struct SeFraming;

impl Framing for SeFraming {
    const PROTOCOL: Protocol = super::PROTOCOL;
    const MAX_FRAME: usize = MIN_FRAME + 65_535;
    const SYNC_LEN: usize = 4;

    fn parse(buf: &[u8]) -> Parsed<(usize, Label)> {
        match parse_frame(buf) {
            Parsed::Frame(f) => Parsed::Frame((f.bytes.len(), Label::Code(f.function))),
            Parsed::Incomplete(n) => Parsed::Incomplete(n),
            Parsed::Bad(r) => Parsed::Bad(r),
        }
    }

    fn find_sync(buf: &[u8], from: usize) -> Option<usize> {
        let hay = buf.get(from..)?;
        // Built once: building a searcher costs more than most searches (probing random data).
        static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new(&MAGIC));
        if let Some(i) = FINDER.find(hay) {
            return Some(from + i);
        }
        // A magic cut by the end of the data may continue in the next chunk.
        (1..4)
            .rev()
            .find(|&n| hay.len() >= n && hay[hay.len() - n..] == MAGIC[..n])
            .map(|n| from + hay.len() - n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::test_hex as hex;

    #[test]
    fn crc_check_value_and_worked_example() {
        assert_eq!(CRC.checksum(b""), 0x5A5A);
        assert_eq!(CRC.checksum(b"123456789"), 0x5B3A);
        // solaredge.md §2, real RS485 master-grant ACK (jbuehl/solaredge issue #19).
        let f = hex("12345679 0000 ffff 0600 23081a7e feffffff 9a03 f437");
        match parse_frame(&f) {
            Parsed::Frame(fr) => {
                assert_eq!(
                    (fr.seq, fr.from, fr.to, fr.function),
                    (6, 0x7e1a0823, 0xfffffffe, 0x039a)
                );
                assert_eq!(fr.crc, 0x37F4);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(build(6, 0x7e1a0823, 0xfffffffe, 0x039a, &[]), Some(f));
    }

    #[test]
    fn fix_checksum_restores_the_crc() {
        let good = build(7, 0x7e1a_0823, 0xffff_fffe, 0x0500, &[1, 2, 3, 4, 5]).unwrap();
        let mut f = good.clone();
        let n = f.len();
        f[n - 1] ^= 0xff;
        assert!(matches!(parse_frame(&f), Parsed::Bad(_)));
        assert!(fix_checksum(&mut f));
        assert_eq!(f, good);
        f[8] = 9; // seq rewritten
        assert!(fix_checksum(&mut f));
        assert!(matches!(parse_frame(&f), Parsed::Frame(x) if x.seq == 9));
        assert!(!fix_checksum(&mut f[..n - 1]));
        assert!(!fix_checksum(&mut [0u8; 30]));
    }

    #[test]
    fn build_matches_the_spec_frames() {
        // solaredge.md §2: wgrant/pysolaredge's synthetic frame and the empty 0x0500.
        let mut f = hex("12345679 1100 eeff 0c00 efbeadde fdffffff d204");
        f.extend_from_slice(b"I am lots of data");
        f.extend_from_slice(&hex("2f69"));
        let built = build(0x000c, 0xdeadbeef, 0xfffffffd, 0x04d2, b"I am lots of data");
        assert_eq!(built, Some(f));
        let empty = hex("123456790000ffff2702efbeaddefeffffff0005b320");
        assert_eq!(
            build(0x0227, 0xdeadbeef, 0xfffffffe, 0x0500, &[]),
            Some(empty)
        );
        assert_eq!(build(0, 0, 0, 0, &vec![0; 65_536]), None);
    }

    #[test]
    fn payload_frame_byte_by_byte_and_negatives() {
        // solaredge.md §2, synthetic frame from wgrant/pysolaredge tests.
        let mut f = hex("12345679 1100 eeff 0c00 efbeadde fdffffff d204");
        f.extend_from_slice(b"I am lots of data");
        f.extend_from_slice(&hex("2f69"));
        match parse_frame(&f) {
            Parsed::Frame(fr) => {
                assert_eq!(fr.function, 0x04d2);
                assert_eq!(fr.payload, b"I am lots of data");
            }
            other => panic!("{other:?}"),
        }
        for n in 0..f.len() {
            assert!(
                matches!(parse_frame(&f[..n]), Parsed::Incomplete(k) if n + k <= f.len()),
                "prefix {n}"
            );
        }
        let mut bad = f.clone();
        bad[3] = 0x78;
        assert!(matches!(parse_frame(&bad), Parsed::Bad(_)));
        let mut bad = f.clone();
        bad[6] ^= 1;
        assert_eq!(
            parse_frame(&bad),
            Parsed::Bad("length and inverted length disagree")
        );
        let mut bad = f.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(parse_frame(&bad), Parsed::Bad("CRC mismatch"));
    }
}
