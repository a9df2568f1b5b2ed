//! Pure decoding of one SEL binary message (sel.md §2): bytes (+ the configuration and name
//! tables the conversation holds) → an owned, typed [`Binary`] body. No state: which
//! configuration applies is decided by [`super::session`].
//!
//! - [`fastmeter`]: `A5C1/C2/C3` configuration (§2.2) and `A5D1/D2/D3` data (§2.3);
//! - [`fastmsg`]: `A546` Fast Message (§2.5), including unsolicited Fast SER (FC 0x18);
//! - here: framing check, `A5C0` relay definition (§2.1), Fast Operate configuration and
//!   commands (§2.4), 2-byte requests (§1).
//!
//! Every decoder reads through bounds-checked helpers and reports what it cannot read as an
//! anomaly: no input panics.

pub mod fastmeter;
pub mod fastmsg;

use super::codes::{Check, MsgType};
use super::frame::{check_ok, SYNC};
use crate::util::bytes::be_u16;
use serde::Serialize;

pub use fastmeter::{FmConfig, FmData, Names};
pub use fastmsg::FastMsg;

/// Hex of `b` (lower case).
pub(crate) fn hexs(b: &[u8]) -> String {
    crate::util::hex::encode(b)
}

/// ASCII text of a NUL-padded field, trailing NULs and blanks dropped, other bytes kept as
/// `\xNN`-free lossy text.
pub(crate) fn text(b: &[u8]) -> String {
    let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).trim_end().to_string()
}

/// The body of a binary message record (fields merged into the record).
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Binary {
    /// A bare 2-byte request (sel.md §1): which message it asks for.
    Request {
        request_for: &'static str,
    },
    RelayDef(RelayDef),
    FmConfig(Box<FmConfig>),
    FmData(Box<FmData>),
    FoConfig(FoConfig),
    FoAltConfig(FoAltConfig),
    FoResetDef(FoResetDef),
    FastOperate(FastOperate),
    FastMsg(Box<FastMsg>),
    /// Nothing more is decoded (unknown type, or a body that does not fit its layout).
    Raw {},
}

/// Human name of a message type (sel.md §1 table).
pub fn type_title(t: u8) -> &'static str {
    match t {
        0xC0 => "relay definition",
        0xC1 => "Fast Meter configuration",
        0xC2 => "Fast Meter demand configuration",
        0xC3 => "Fast Meter peak-demand configuration",
        0xD1 => "Fast Meter data",
        0xD2 => "Fast Meter demand data",
        0xD3 => "Fast Meter peak-demand data",
        0xCE => "Fast Operate configuration",
        0xCF => "alternate Fast Operate configuration",
        0xCD => "Fast Operate reset definition",
        0xE0 => "Fast Operate remote bit control",
        0xE3 => "Fast Operate breaker control",
        0xE5 => "alternate Fast Operate open",
        0xE6 => "alternate Fast Operate close",
        0xE7 => "alternate Fast Operate set",
        0xE8 => "alternate Fast Operate clear",
        0xE9 => "alternate Fast Operate pulse",
        0xED => "Fast Operate reset command",
        0xB9 => "clear status bits",
        0x46 => "Fast Message",
        _ => "unknown",
    }
}

/// A binary message opened: type, whether its check verifies, and the body between `len` and
/// the check (pad byte included).
#[derive(Clone, Copy, Debug)]
pub struct Opened<'a> {
    pub bytes: &'a [u8],
    pub msg_type: u8,
    pub request: bool,
    /// `None` for a bare request (no check).
    pub chk_ok: Option<bool>,
    /// Bytes from offset 3 up to the check (empty for a request).
    pub body: &'a [u8],
}

/// Opens the message in `b` (as the splitter emitted it: a whole message sliced by `len`, or
/// the 2 bytes of a request). `None` when `b` does not start with `A5 type`.
pub fn open(b: &[u8]) -> Option<Opened<'_>> {
    if b.len() < 2 || b[0] != SYNC {
        return None;
    }
    let t = b[1];
    if b.len() == 2 || (b.len() <= 4 && b[2..].iter().all(|c| *c == b'\r' || *c == b'\n')) {
        return Some(Opened {
            bytes: b,
            msg_type: t,
            request: true,
            chk_ok: None,
            body: &[],
        });
    }
    let k = MsgType(t).check().size();
    let len = usize::from(b[2]).min(b.len());
    let ok = usize::from(b[2]) == b.len() && check_ok(b, t, b.len());
    let end = len.saturating_sub(k).max(3.min(len));
    Some(Opened {
        bytes: b,
        msg_type: t,
        request: false,
        chk_ok: Some(ok),
        body: b.get(3..end).unwrap_or(&[]),
    })
}

/// The check as sent (sum8 or CRC-16), for display.
pub fn stated_check(o: &Opened<'_>) -> Option<u16> {
    let n = o.bytes.len();
    match MsgType(o.msg_type).check() {
        Check::Sum8 => o.bytes.last().map(|b| u16::from(*b)).filter(|_| n > 3),
        Check::Crc16 => be_u16(o.bytes, n.checked_sub(2)?).filter(|_| n > 4),
    }
}

// ---------------------------------------------------------------- A5C0 (§2.1)

/// One Fast Meter message pair of the relay definition.
#[derive(Clone, Debug, Serialize)]
pub struct FmPair {
    pub config: String,
    pub data: String,
}

/// A status-flag entry: the bit of the Fast Meter status byte and the command the master
/// sends when it is set.
#[derive(Clone, Debug, Serialize)]
pub struct StatusFlag {
    pub bit: u16,
    pub bit_name: Option<&'static str>,
    pub command_hex: String,
    /// The command as text when it is printable ASCII (`STA\r`), or the binary request named.
    pub command: String,
}

/// A protocol the relay supports (sel.md §2.1: low byte the protocol, high byte flags).
#[derive(Clone, Debug, Serialize)]
pub struct ProtoEntry {
    pub code: u16,
    pub protocol: String,
    pub fast_operate: bool,
    pub fast_message: bool,
}

/// `A5C0` relay definition block (sel.md §2.1).
#[derive(Clone, Debug, Serialize)]
pub struct RelayDef {
    pub n_protocols: u8,
    pub n_fast_meter: u8,
    pub n_status_flags: u8,
    pub fast_meter: Vec<FmPair>,
    pub status_flags: Vec<StatusFlag>,
    pub protocols: Vec<ProtoEntry>,
}

fn cmd_name(c: u16) -> String {
    let [hi, lo] = c.to_be_bytes();
    if hi == SYNC {
        MsgType(lo).to_string()
    } else {
        format!("0x{c:04x}")
    }
}

fn status_bit_name(bit: u16) -> Option<&'static str> {
    match bit {
        2 => Some("STWARN"),
        3 => Some("STFAIL"),
        4 => Some("STSET"),
        _ => None,
    }
}

fn protocol_name(lo: u8) -> String {
    match lo {
        0 => "SEL Fast Meter".into(),
        1 => "LMD".into(),
        2 => "Modbus".into(),
        3 => "SY/MAX".into(),
        4 => "R-SEL".into(),
        5 => "DNP3".into(),
        6 => "MIRRORED BITS".into(),
        7 => "C37.118".into(),
        8 => "IEC 61850".into(),
        x => format!("unknown-0x{x:02x}"),
    }
}

/// Decodes an `A5C0` body (sel.md §2.1).
pub fn relay_def(body: &[u8], anomalies: &mut Vec<String>) -> Option<RelayDef> {
    let (&n_proto, &n_fm, &n_flags) = (body.first()?, body.get(1)?, body.get(2)?);
    let need = 3 + 4 * usize::from(n_fm) + 8 * usize::from(n_flags) + 2 * usize::from(n_proto);
    if body.len() < need {
        anomalies.push(format!(
            "relay definition: counts need {need} body bytes, {} present",
            body.len()
        ));
        return None;
    }
    let mut p = 3;
    let mut fast_meter = Vec::new();
    for _ in 0..n_fm {
        fast_meter.push(FmPair {
            config: cmd_name(be_u16(body, p)?),
            data: cmd_name(be_u16(body, p + 2)?),
        });
        p += 4;
    }
    let mut status_flags = Vec::new();
    for _ in 0..n_flags {
        let bit = be_u16(body, p)?;
        let cmd = body.get(p + 2..p + 8)?;
        let command = if cmd[0] == SYNC {
            MsgType(cmd[1]).to_string()
        } else {
            let t: String = cmd
                .iter()
                .take_while(|c| **c != 0)
                .map(|c| match c {
                    b'\r' => "\\r".to_string(),
                    b'\n' => "\\n".to_string(),
                    c if c.is_ascii_graphic() || *c == b' ' => char::from(*c).to_string(),
                    c => format!("\\x{c:02x}"),
                })
                .collect();
            t
        };
        status_flags.push(StatusFlag {
            bit,
            bit_name: status_bit_name(bit),
            command_hex: hexs(cmd),
            command,
        });
        p += 8;
    }
    let mut protocols = Vec::new();
    for _ in 0..n_proto {
        let code = be_u16(body, p)?;
        let [hi, lo] = code.to_be_bytes();
        protocols.push(ProtoEntry {
            code,
            protocol: protocol_name(lo),
            fast_operate: hi & 1 != 0,
            fast_message: hi & 2 != 0,
        });
        p += 2;
    }
    Some(RelayDef {
        n_protocols: n_proto,
        n_fast_meter: n_fm,
        n_status_flags: n_flags,
        fast_meter,
        status_flags,
        protocols,
    })
}

// ---------------------------------------------------------------- Fast Operate (§2.4)

/// A breaker's operate codes (`A5CE`).
#[derive(Clone, Debug, Serialize)]
pub struct BreakerCodes {
    pub breaker: u16,
    pub open: u8,
    pub close: u8,
}

/// A remote bit's operate codes (`A5CE`).
#[derive(Clone, Debug, Serialize)]
pub struct RemoteBitCodes {
    pub remote_bit: u16,
    pub clear: u8,
    pub set: u8,
    pub pulse: Option<u8>,
}

/// `A5CE` Fast Operate configuration (sel.md §2.4).
#[derive(Clone, Debug, Serialize)]
pub struct FoConfig {
    pub n_breakers: u8,
    pub n_remote_bits: u16,
    pub pulse_supported: bool,
    pub breakers: Vec<BreakerCodes>,
    pub remote_bits: Vec<RemoteBitCodes>,
}

/// Decodes an `A5CE` body: counts, reserved byte, breaker pairs, remote-bit triples.
pub fn fo_config(body: &[u8], anomalies: &mut Vec<String>) -> Option<FoConfig> {
    let n_b = *body.first()?;
    let n_rb = be_u16(body, 1)?;
    let pulse = *body.get(3)?;
    let per = 2 + usize::from(pulse.min(1));
    let need = 5 + 2 * usize::from(n_b) + per * usize::from(n_rb);
    if body.len() < need {
        anomalies.push(format!(
            "Fast Operate configuration: counts need {need} body bytes, {} present",
            body.len()
        ));
        return None;
    }
    let mut p = 5;
    let mut breakers = Vec::new();
    for i in 0..u16::from(n_b) {
        breakers.push(BreakerCodes {
            breaker: i + 1,
            open: body[p],
            close: body[p + 1],
        });
        p += 2;
    }
    let mut remote_bits = Vec::new();
    for i in 0..n_rb {
        remote_bits.push(RemoteBitCodes {
            remote_bit: i + 1,
            clear: body[p],
            set: body[p + 1],
            pulse: (per == 3).then(|| body[p + 2]),
        });
        p += per;
    }
    Some(FoConfig {
        n_breakers: n_b,
        n_remote_bits: n_rb,
        pulse_supported: pulse != 0,
        breakers,
        remote_bits,
    })
}

/// `A5CF` alternate Fast Operate configuration (SEL-2020, sel.md §2.4).
#[derive(Clone, Debug, Serialize)]
pub struct FoAltConfig {
    pub n_ports: u8,
    pub breakers_per_port: u8,
    pub remote_bits_per_port: u8,
    /// The four function codes (`A5E5`…).
    pub function_codes: Vec<String>,
}

pub fn fo_alt_config(body: &[u8]) -> Option<FoAltConfig> {
    let fcs = body.get(3..7)?;
    Some(FoAltConfig {
        n_ports: body[0],
        breakers_per_port: body[1],
        remote_bits_per_port: body[2],
        function_codes: fcs.iter().map(|c| MsgType(*c).to_string()).collect(),
    })
}

/// One reset code of an `A5CD` definition.
#[derive(Clone, Debug, Serialize)]
pub struct ResetCode {
    pub code: u8,
    pub description: String,
}

/// `A5CD` Fast Operate reset definition (sel.md §1 table: n codes + 7-char description).
#[derive(Clone, Debug, Serialize)]
pub struct FoResetDef {
    pub n_codes: u8,
    pub codes: Vec<ResetCode>,
}

pub fn fo_reset_def(body: &[u8]) -> Option<FoResetDef> {
    let n = *body.first()?;
    let mut codes = Vec::new();
    let mut p = 1;
    for _ in 0..n {
        let Some(e) = body.get(p..p + 8) else { break };
        codes.push(ResetCode {
            code: e[0],
            description: text(&e[1..]),
        });
        p += 8;
    }
    Some(FoResetDef { n_codes: n, codes })
}

/// A Fast Operate command (`A5E0`, `A5E3`, `A5ED`, `A5E5`–`A5E9`; sel.md §2.4) decoded to the
/// operation.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FastOperate {
    /// `set`, `clear`, `pulse`, `open`, `close`, `target-reset`, `reset`, or
    /// `unknown-0x..` for a code outside the documented ranges.
    pub operation: String,
    /// `remote-bit`, `breaker`, `targets`, or `point` (port-addressed alternate commands).
    pub target: &'static str,
    /// Remote bit or breaker number (1-based) when the code names one.
    pub number: Option<u16>,
    pub code: u16,
    pub validation: u16,
    /// (4·code + 1) & 0xFF for `A5E0/E3/ED`; `None` for `A5E5`–`A5E9` (no source gives the
    /// rule).
    pub validation_ok: Option<bool>,
}

/// Decodes a Fast Operate command body.
pub fn fast_operate(t: u8, body: &[u8]) -> Option<FastOperate> {
    match t {
        0xE0 | 0xE3 | 0xED => {
            let (&code, &v) = (body.first()?, body.get(1)?);
            let ok = v == code.wrapping_mul(4).wrapping_add(1);
            let (op, target, number) = match (t, code) {
                (0xE0, 0x00..=0x1F) => ("clear".into(), "remote-bit", Some(code + 1)),
                (0xE0, 0x20..=0x3F) => ("set".into(), "remote-bit", Some(code - 0x1F)),
                (0xE0, 0x40..=0x5F) => ("pulse".into(), "remote-bit", Some(code - 0x3F)),
                (0xE3, 0x11..=0x22) => ("close".into(), "breaker", Some(code - 0x10)),
                (0xE3, 0x31..=0x42) => ("open".into(), "breaker", Some(code - 0x30)),
                (0xED, 0) => ("target-reset".into(), "targets", None),
                (0xED, _) => ("reset".into(), "targets", None),
                (0xE0, _) => (format!("unknown-0x{code:02x}"), "remote-bit", None),
                _ => (format!("unknown-0x{code:02x}"), "breaker", None),
            };
            Some(FastOperate {
                operation: op,
                target,
                number: number.map(u16::from),
                code: code.into(),
                validation: v.into(),
                validation_ok: Some(ok),
            })
        }
        0xE5..=0xE9 => {
            let op = ["open", "close", "set", "clear", "pulse"][usize::from(t - 0xE5)];
            Some(FastOperate {
                operation: op.into(),
                target: "point",
                number: None,
                code: be_u16(body, 0)?,
                validation: be_u16(body, 2)?,
                validation_ok: None,
            })
        }
        _ => None,
    }
}

/// Whether `t` is a Fast Operate command type.
pub fn is_fast_operate(t: u8) -> bool {
    matches!(t, 0xE0 | 0xE3 | 0xED | 0xE5..=0xE9)
}

/// The message type a 2-byte request asks for (sel.md §1).
pub fn request_for(t: u8) -> &'static str {
    type_title(t)
}

#[cfg(test)]
mod tests;
