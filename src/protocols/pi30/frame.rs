//! One PI30 frame (pi30_tracer.md §1–2): a request `CMD[ARG] CRC_hi CRC_lo CR` or a reply
//! `( payload CRC_hi CRC_lo CR`. The CRC is CRC-16/XMODEM over everything before it, sent
//! big-endian, each byte equal to `(`, CR or LF bumped by one (Voltronic's `cal_crc_half`), so
//! a CRC byte is never a delimiter and frames split on CR (§2).
//!
//! [`parse`] finds one frame at the start of a buffer by its shape (text, two CRC bytes, CR)
//! and computes the CRC variants; it judges nothing else. [`build`] and [`fix_checksum`] are
//! the inverse.

use crate::protocols::{Label, Parsed};

/// CRC-16/XMODEM (pi30_tracer.md §2): poly 0x1021, init 0, no reflection, check 0x31C3.
pub const CRC: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_XMODEM);

pub const CR: u8 = 0x0D;
/// Longest request text (command and argument) accepted.
pub const MAX_REQUEST_TEXT: usize = 24;
/// Longest reply text (`(` and payload) accepted: QPIGS is 106, QPIGS2/QPGSn longer.
pub const MAX_REPLY_TEXT: usize = 400;
/// Longest frame.
pub const MAX_FRAME: usize = MAX_REPLY_TEXT + 3;

/// Which CRC rule the sent CRC matched (pi30_tracer.md §2 "Decoder rule").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// No CRC byte needed a bump: every rule gives these bytes.
    Plain,
    /// Voltronic's rule: bytes equal to 0x28/0x0D/0x0A incremented.
    Bumped,
    /// mpp-solar since 2023: 0x00 bumped as well.
    ZeroBumped,
    /// No bump although one was due (godenerg's plain `crc16xmodem`).
    Unbumped,
    /// No rule gives the sent bytes.
    Bad,
}

impl Check {
    pub fn ok(self) -> bool {
        self != Check::Bad
    }

    pub fn name(self) -> &'static str {
        match self {
            Check::Plain => "plain",
            Check::Bumped => "bumped",
            Check::ZeroBumped => "zero-bumped",
            Check::Unbumped => "unbumped",
            Check::Bad => "bad",
        }
    }
}

/// A request or a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Request,
    Reply,
}

/// A whole frame borrowed from a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub role: Role,
    /// Every byte, CR included.
    pub bytes: &'a [u8],
    /// The bytes the CRC covers (a reply's starts with `(`).
    pub text: &'a [u8],
    /// The CRC as sent.
    pub crc: u16,
    /// CRC-16/XMODEM of `text`, before any bump.
    pub crc_calc: u16,
    pub check: Check,
}

impl Frame<'_> {
    /// The kind label of the frame record.
    pub fn label(&self) -> Label {
        match (self.check.ok(), self.role) {
            (false, _) => Label::Name("bad-crc"),
            (true, Role::Request) => Label::Name("request"),
            (true, Role::Reply) => Label::Name("reply"),
        }
    }

    /// A reply's payload (after `(`), a request's command text.
    pub fn payload(&self) -> &[u8] {
        match self.role {
            Role::Reply => self.text.get(1..).unwrap_or_default(),
            Role::Request => self.text,
        }
    }
}

/// Bumps one CRC byte (pi30_tracer.md §2); with `zero`, 0x00 too (mpp-solar).
fn bump_byte(b: u8, zero: bool) -> u8 {
    match b {
        0x28 | 0x0D | 0x0A => b + 1,
        0x00 if zero => 1,
        _ => b,
    }
}

/// The CRC with each byte bumped (pi30_tracer.md §2).
pub fn bump(crc: u16, zero: bool) -> u16 {
    let [hi, lo] = crc.to_be_bytes();
    u16::from_be_bytes([bump_byte(hi, zero), bump_byte(lo, zero)])
}

/// The on-wire CRC of `text` by Voltronic's rule.
pub fn crc_on_wire(text: &[u8]) -> u16 {
    bump(CRC.checksum(text), false)
}

/// Which rule gives `sent` for a CRC computed as `calc` (pi30_tracer.md §2).
pub fn judge(calc: u16, sent: u16) -> Check {
    let (b, z) = (bump(calc, false), bump(calc, true));
    if sent == calc && calc == b && b == z {
        Check::Plain
    } else if sent == b {
        Check::Bumped
    } else if sent == z {
        Check::ZeroBumped
    } else if sent == calc {
        Check::Unbumped
    } else {
        Check::Bad
    }
}

/// A byte of a request's command text after the first (`[A-Za-z0-9.]`).
pub fn request_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.'
}

/// A byte of a reply's payload: printable ASCII.
pub fn reply_byte(b: u8) -> bool {
    (0x20..0x7F).contains(&b)
}

/// Whether `b` may start a frame (`(` or an upper-case letter).
pub fn starts(b: u8) -> bool {
    b == b'(' || b.is_ascii_uppercase()
}

/// The frame at the start of `buf` (pi30_tracer.md §1, §7 "Framer"): text of the right class,
/// two CRC bytes (never CR), CR. `Bad` names the failed check; `Incomplete` the bytes needed.
pub fn parse(buf: &[u8]) -> Parsed<Frame<'_>> {
    let Some(&first) = buf.first() else {
        return Parsed::Incomplete(1);
    };
    let (role, class, max): (Role, fn(u8) -> bool, usize) = match first {
        b'(' => (Role::Reply, reply_byte, MAX_REPLY_TEXT),
        b'A'..=b'Z' => (Role::Request, request_byte, MAX_REQUEST_TEXT),
        _ => return Parsed::Bad("not a PI30 frame start"),
    };
    // The run of text bytes; the CR ends the frame 0–2 bytes after it (the CRC bytes may or
    // may not be text bytes, and are never CR).
    let limit = buf.len().min(max + 3);
    let p = 1 + buf[1..limit]
        .iter()
        .position(|&b| !class(b))
        .unwrap_or(limit - 1);
    if p == limit {
        return if limit == max + 3 {
            Parsed::Bad("PI30 line too long")
        } else {
            Parsed::Incomplete(1)
        };
    }
    let Some(k) = (p..p + 3).find(|&c| buf.get(c).is_none_or(|&b| b == CR)) else {
        return Parsed::Bad("no CR after the PI30 CRC");
    };
    if k >= buf.len() {
        return Parsed::Incomplete(k + 1 - buf.len());
    }
    if k < 4 || k - 2 > max {
        return Parsed::Bad("PI30 text too short or too long");
    }
    let text = &buf[..k - 2];
    let crc = u16::from_be_bytes([buf[k - 2], buf[k - 1]]);
    let crc_calc = CRC.checksum(text);
    Parsed::Frame(Frame {
        role,
        bytes: &buf[..=k],
        text,
        crc,
        crc_calc,
        check: judge(crc_calc, crc),
    })
}

/// The frame for `text` (a command with its argument, or `(` and a reply's payload): CRC by
/// Voltronic's rule and CR (pi30_tracer.md §1–2).
pub fn build(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 3);
    out.extend_from_slice(text);
    out.extend_from_slice(&crc_on_wire(text).to_be_bytes());
    out.push(CR);
    out
}

/// Recomputes the CRC of one whole frame in place (Voltronic's rule); false when `buf` is not
/// one frame.
pub fn fix_checksum(buf: &mut [u8]) -> bool {
    let n = match parse(buf) {
        Parsed::Frame(f) if f.bytes.len() == buf.len() => f.text.len(),
        _ => return false,
    };
    let crc = crc_on_wire(&buf[..n]);
    buf[n..n + 2].copy_from_slice(&crc.to_be_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xmodem_check_value() {
        assert_eq!(CRC.checksum(b"123456789"), 0x31C3);
    }

    #[test]
    fn parse_cut_anywhere_is_incomplete() {
        let f = build(b"QPIGS");
        for n in 0..f.len() {
            assert!(
                matches!(parse(&f[..n]), Parsed::Incomplete(_)),
                "{n}: {:?}",
                parse(&f[..n])
            );
        }
        let Parsed::Frame(fr) = parse(&f) else {
            panic!()
        };
        assert_eq!((fr.text, fr.check), (&b"QPIGS"[..], Check::Plain));
    }

    #[test]
    fn fix_checksum_restores() {
        let mut f = build(b"(230.0 50.0");
        f[1] = b'1';
        assert!(fix_checksum(&mut f));
        assert_eq!(f, build(b"(130.0 50.0"));
        assert!(!fix_checksum(&mut [0x55; 6]));
    }
}
