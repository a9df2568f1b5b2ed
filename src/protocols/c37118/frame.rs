//! One C37.118 frame (IEEE C37.118.2-2011 §6.2, c37118.md §1): SYNC `AA`, then `0TTTVVVV`
//! (type 0–5, version ≠ 0), FRAMESIZE (≥ 16, including SYNC and CHK), IDCODE, SOC, FRACSEC,
//! the payload, and CHK = CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over everything
//! before it.
//!
//! [`Frame::parse`] is the one parse: it reads the header and the frame's extent and computes
//! the CRC, judging nothing else, so the decoder can report on frames the splitter would
//! reject. [`parse_frame`] is the splitter's strict view on top of it. [`build`] and
//! [`fix_checksum`] are the inverse.

use super::codes::FrameType;
use crate::protocols::splitter::Framing;
use crate::protocols::{Label, Parsed, Protocol};
use crate::util::bytes::{Cursor, Truncated};
use std::fmt;

/// CRC-16/IBM-3740 (a.k.a. CCITT-FALSE), slice-by-16 tables (c37118.md §1, [STD Annex B]).
pub const CRC: crc::Crc<u16, crc::Table<16>> =
    crc::Crc::<u16, crc::Table<16>>::new(&crc::CRC_16_IBM_3740);

pub const SYNC: u8 = 0xAA;
/// Bytes before the payload: SYNC, FRAMESIZE, IDCODE, SOC, FRACSEC (c37118.md §1).
pub const HEADER_LEN: usize = 14;
/// Smallest frame: header plus CHK (c37118.md §1; a header frame may have no text).
pub const MIN_FRAME: usize = 16;
/// Largest frame: FRAMESIZE is a u16 (c37118.md §1).
pub const MAX_FRAME: usize = 65_535;

/// The common 14-byte header [STD T.2], as sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Both SYNC bytes (0xAA, then `0TTTVVVV`), reserved bit 7 of the second byte kept.
    pub sync: u16,
    pub framesize: u16,
    pub idcode: u16,
    pub soc: u32,
    /// The whole FRACSEC word: time-quality byte in bits 31–24, count in bits 23–0.
    pub fracsec: u32,
}

impl Header {
    /// A header with SYNC `AA`, `0TTTVVVV` from `frame_type` and `version` (low 3 and 4 bits),
    /// FRACSEC from the time-quality byte and the 24-bit count; FRAMESIZE 0 (set by [`build`]).
    pub fn new(
        frame_type: FrameType,
        version: u8,
        idcode: u16,
        soc: u32,
        time_quality: u8,
        count: u32,
    ) -> Header {
        Header {
            sync: u16::from(SYNC) << 8 | u16::from(frame_type.0 & 7) << 4 | u16::from(version & 15),
            framesize: 0,
            idcode,
            soc,
            fracsec: u32::from(time_quality) << 24 | (count & 0x00ff_ffff),
        }
    }

    /// Reads the header at the start of `buf`; judges nothing (c37118.md §1).
    pub fn parse(buf: &[u8]) -> Result<Header, Truncated> {
        let mut r = Cursor::new(buf);
        Ok(Header {
            sync: r.u16("SYNC")?,
            framesize: r.u16("FRAMESIZE")?,
            idcode: r.u16("IDCODE")?,
            soc: r.u32("SOC")?,
            fracsec: r.u32("FRACSEC")?,
        })
    }

    /// Bits 6–4 of the second SYNC byte (0–5 defined, 6–7 reserved).
    pub fn frame_type(&self) -> FrameType {
        FrameType::of_sync(self.sync)
    }

    /// Bits 3–0 of the second SYNC byte.
    pub fn version(&self) -> u8 {
        (self.sync & 0x0f) as u8
    }

    /// FRACSEC bits 23–0: the fraction-of-second count (c37118.md §2).
    pub fn count(&self) -> u32 {
        self.fracsec & 0x00ff_ffff
    }

    /// FRACSEC bits 31–24: the time-quality byte (c37118.md §2).
    pub fn time_quality(&self) -> u8 {
        (self.fracsec >> 24) as u8
    }
}

/// A whole frame borrowed from a buffer: FRAMESIZE ≥ 16 bytes, all present.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub header: Header,
    /// The frame's FRAMESIZE bytes.
    pub bytes: &'a [u8],
    /// The bytes between header and CHK.
    pub payload: &'a [u8],
    /// CHK as sent.
    pub chk: u16,
    /// CRC over the bytes before CHK.
    pub chk_calc: u16,
}

/// Why the bytes at the start of a buffer are not a whole frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Fewer than 4 bytes: FRAMESIZE is not known yet.
    NoFrameSize { have: usize },
    /// FRAMESIZE below the 16-byte minimum.
    FrameSizeBelowMin { framesize: u16 },
    /// FRAMESIZE larger than the bytes given.
    Incomplete { framesize: u16, have: usize },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::NoFrameSize { have } => write!(f, "{have} bytes: no FRAMESIZE"),
            FrameError::FrameSizeBelowMin { framesize } => {
                write!(f, "FRAMESIZE {framesize} below 16")
            }
            FrameError::Incomplete { framesize, have } => {
                write!(f, "truncated: FRAMESIZE {framesize}, {have} bytes present")
            }
        }
    }
}

impl std::error::Error for FrameError {}

impl<'a> Frame<'a> {
    /// The frame at the start of `buf` by FRAMESIZE, with CHK as sent and as computed. SYNC,
    /// type, version and CHK are not judged (see [`parse_frame`] for that).
    pub fn parse(buf: &'a [u8]) -> Result<Frame<'a>, FrameError> {
        let Some(size) = crate::util::bytes::be_u16(buf, 2) else {
            return Err(FrameError::NoFrameSize { have: buf.len() });
        };
        let n = usize::from(size);
        if n < MIN_FRAME {
            return Err(FrameError::FrameSizeBelowMin { framesize: size });
        }
        let Some(bytes) = buf.get(..n) else {
            return Err(FrameError::Incomplete {
                framesize: size,
                have: buf.len(),
            });
        };
        let header = Header::parse(bytes).map_err(|_| FrameError::Incomplete {
            framesize: size,
            have: buf.len(),
        })?;
        Ok(Frame {
            header,
            bytes,
            payload: &bytes[HEADER_LEN..n - 2],
            chk: u16::from_be_bytes([bytes[n - 2], bytes[n - 1]]),
            chk_calc: CRC.checksum(&bytes[..n - 2]),
        })
    }

    pub fn chk_ok(&self) -> bool {
        self.chk == self.chk_calc
    }

    pub fn frame_type(&self) -> FrameType {
        self.header.frame_type()
    }

    /// The splitter's label ("data", "hdr", "cfg1", "cfg2", "cmd", "cfg3").
    pub fn kind(&self) -> &'static str {
        self.frame_type().label()
    }
}

/// The frame at the start of `buf` if it is a valid one: SYNC byte 0xAA, bit 7 clear, type
/// 0–5, version ≠ 0, FRAMESIZE ≥ 16 and a good CHK (c37118.md §6 splitter rule). Each byte is
/// judged as soon as it is there, so garbage is rejected early.
pub fn parse_frame(buf: &[u8]) -> Parsed<Frame<'_>> {
    if buf.first().is_some_and(|b| *b != SYNC) {
        return Parsed::Bad("no SYNC byte 0xAA");
    }
    if let Some(tv) = buf.get(1) {
        if tv & 0x80 != 0 || !FrameType((tv >> 4) & 7).is_defined() {
            return Parsed::Bad("reserved frame type");
        }
        if tv & 0x0f == 0 {
            return Parsed::Bad("version 0");
        }
    }
    match Frame::parse(buf) {
        Ok(f) if f.chk_ok() => Parsed::Frame(f),
        Ok(_) => Parsed::Bad("CRC mismatch"),
        Err(FrameError::FrameSizeBelowMin { .. }) => Parsed::Bad("FRAMESIZE below 16"),
        Err(FrameError::Incomplete { framesize, have }) => {
            Parsed::Incomplete(usize::from(framesize) - have)
        }
        // The next field to complete: SYNC (1 byte each), then FRAMESIZE (2 bytes).
        Err(FrameError::NoFrameSize { have }) => Parsed::Incomplete(match have {
            0 | 1 => 1,
            n => 4 - n,
        }),
    }
}

/// The bytes of a frame with `header` and `payload` (the inverse of [`Frame::parse`]):
/// SYNC, IDCODE, SOC and FRACSEC as in `header`, FRAMESIZE and CHK computed. None when the
/// payload is too long for FRAMESIZE (more than 65 519 bytes).
pub fn build(header: &Header, payload: &[u8]) -> Option<Vec<u8>> {
    let size = u16::try_from(payload.len().checked_add(MIN_FRAME)?).ok()?;
    let mut f = Vec::with_capacity(usize::from(size));
    f.extend(header.sync.to_be_bytes());
    f.extend(size.to_be_bytes());
    f.extend(header.idcode.to_be_bytes());
    f.extend(header.soc.to_be_bytes());
    f.extend(header.fracsec.to_be_bytes());
    f.extend_from_slice(payload);
    f.extend(CRC.checksum(&f).to_be_bytes());
    Some(f)
}

/// Recomputes the CHK of the frame at the start of `buf` in place (e.g. after SOC/FRACSEC
/// were rewritten). False, and nothing written, unless FRAMESIZE is at least 16 and all its
/// bytes are there.
pub fn fix_checksum(buf: &mut [u8]) -> bool {
    let Ok(f) = Frame::parse(buf) else {
        return false;
    };
    let (n, crc) = (f.bytes.len(), f.chk_calc);
    buf[n - 2..n].copy_from_slice(&crc.to_be_bytes());
    true
}

/// The splitter's view of this module.
pub struct C37Framing;

impl Framing for C37Framing {
    const PROTOCOL: Protocol = super::PROTOCOL;
    const MAX_FRAME: usize = MAX_FRAME;
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
            if buf.len() >= 4
                && FrameType((tv >> 4) & 7) != FrameType::HEADER
                && u16::from_be_bytes([buf[2], buf[3]]) < 18
            {
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
                assert_eq!(fr.header.idcode, 7734);
                assert_eq!(fr.bytes.len(), 18);
                assert_eq!(fr.payload, [0, 2]);
                assert_eq!((fr.chk, fr.chk_calc), (0xCE00, 0xCE00));
                // FRACSEC 0x0F0BBFD0: TQ 0x0F, count 0x0BBFD0 = 770 000.
                assert_eq!(fr.header.time_quality(), 0x0F);
                assert_eq!(fr.header.count(), 770_000);
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

    #[test]
    fn lenient_parse_keeps_what_the_splitter_rejects() {
        // Reserved type 7, version 0, bad CHK: still a frame by FRAMESIZE.
        let mut f = ANNEX_D3;
        f[1] = 0xF0;
        let fr = Frame::parse(&f).unwrap();
        assert_eq!(fr.frame_type(), FrameType(7));
        assert_eq!(fr.header.version(), 0);
        assert!(!fr.chk_ok());
        assert_eq!(
            Frame::parse(&f[..17]),
            Err(FrameError::Incomplete {
                framesize: 18,
                have: 17
            })
        );
        f[3] = 15;
        assert_eq!(
            Frame::parse(&f).unwrap_err().to_string(),
            "FRAMESIZE 15 below 16"
        );
        assert_eq!(
            Frame::parse(&f[..3]),
            Err(FrameError::NoFrameSize { have: 3 })
        );
    }

    #[test]
    fn build_and_fix_checksum() {
        let h = Header::new(FrameType::COMMAND, 1, 7734, 0x4485_6030, 0x0F, 770_000);
        assert_eq!(build(&h, &[0, 2]).as_deref(), Some(&ANNEX_D3[..]));
        assert_eq!(
            build(&h, &vec![0; MAX_FRAME - MIN_FRAME]).map(|f| f.len()),
            Some(MAX_FRAME)
        );
        assert_eq!(build(&h, &vec![0; MAX_FRAME - MIN_FRAME + 1]), None);
        // A replay rewrote SOC: the CHK is restored, trailing bytes untouched.
        let mut f = ANNEX_D3.to_vec();
        f.extend([0xEE, 0xEE]);
        f[9] ^= 1;
        assert_eq!(parse_frame(&f), Parsed::Bad("CRC mismatch"));
        assert!(fix_checksum(&mut f));
        assert!(matches!(parse_frame(&f), Parsed::Frame(_)));
        f[9] ^= 1;
        assert!(fix_checksum(&mut f));
        assert_eq!(&f[..18], ANNEX_D3);
        assert_eq!(&f[18..], [0xEE, 0xEE]);
        assert!(!fix_checksum(&mut f[..17]));
        assert!(!fix_checksum(&mut []));
    }

    /// Every frame of every capture in samples/c37118/ (TCP directions reassembled, UDP
    /// datagrams as they are) is rebuilt byte for byte from its header fields and payload, and
    /// a corrupted CHK is restored by `fix_checksum`.
    #[test]
    fn build_rebuilds_every_sample_frame() {
        let mut kinds = std::collections::BTreeMap::new();
        for stream in sample_streams() {
            let mut at = 0;
            while at < stream.len() {
                let Parsed::Frame(f) = parse_frame(&stream[at..]) else {
                    panic!("stream out of sync at {at}");
                };
                assert_eq!(build(&f.header, f.payload).as_deref(), Some(f.bytes));
                let mut bad = f.bytes.to_vec();
                let n = bad.len();
                bad[n - 1] ^= 0x5A;
                assert!(fix_checksum(&mut bad));
                assert_eq!(bad, f.bytes);
                *kinds.entry(f.kind()).or_insert(0usize) += 1;
                at += f.bytes.len();
            }
        }
        // c37118.md §7: 13 commands, 1 + 1 header frames (one 16-byte), 6 CFG-2 (two of
        // 1034 bytes spanning segments), and the data frames.
        assert_eq!(kinds.get("cmd"), Some(&19));
        assert_eq!(kinds.get("hdr"), Some(&1));
        assert_eq!(kinds.get("cfg2"), Some(&6));
        assert!(kinds.get("data").is_some_and(|n| *n > 1400), "{kinds:?}");
    }

    /// The byte streams of samples/c37118/*.pcap: one per TCP direction (reassembled) and
    /// one per UDP datagram.
    fn sample_streams() -> Vec<Vec<u8>> {
        use crate::capture::Input;
        use crate::net::Transport;
        use crate::pipeline::{run, RunConfig};
        use crate::reassembly::{Ctx, Sink, StreamEvent};
        use std::collections::BTreeMap;

        #[derive(Default)]
        struct Collect {
            tcp: BTreeMap<(u64, bool), Vec<u8>>,
            udp: Vec<Vec<u8>>,
        }
        impl Sink for Collect {
            fn event(&mut self, _ctx: &Ctx<'_>, ev: StreamEvent<'_>) {
                match ev {
                    StreamEvent::Data {
                        conn, dir, bytes, ..
                    } => match conn.transport {
                        Transport::Tcp => self
                            .tcp
                            .entry((conn.id, dir == crate::reassembly::Dir::C2S))
                            .or_default()
                            .extend_from_slice(bytes),
                        Transport::Udp => self.udp.push(bytes.to_vec()),
                    },
                    StreamEvent::Gap { .. } => panic!("gap in a clean sample"),
                    _ => {}
                }
            }
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/c37118");
        let mut inputs: Vec<Input> = std::fs::read_dir(&dir)
            .expect("samples/c37118")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
            .map(|p| Input {
                path: p.to_string_lossy().into_owned(),
                size: None,
            })
            .collect();
        inputs.sort_by(|a, b| a.path.cmp(&b.path));
        assert_eq!(inputs.len(), 6);
        let mut out = Vec::new();
        for input in inputs {
            let mut sink = Collect::default();
            run(
                std::slice::from_ref(&input),
                &RunConfig::default(),
                &mut sink,
                &mut |e| panic!("{e}"),
                &mut |_: u64| {},
                &|_| false,
            );
            out.extend(sink.tcp.into_values());
            out.extend(sink.udp);
        }
        out
    }
}
