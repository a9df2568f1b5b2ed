//! Decoding SolarEdge frames into owned, serialisable records (solaredge.md §3–4).
//!
//! Pure functions over one [`Frame`]: [`decode`] never panics, keeps every byte it cannot
//! interpret (as hex) and says why in `anomaly`. 0x0500 device records are decoded by
//! [`super::telemetry`], names come from [`super::codes`], values are [`super::value`]'s.
//!
//! # Output schema (one JSON object per frame, see docs/SOLAREDGE.md "Decoded records")
//! `proto` ("solaredge"), `seq`, `from`, `to` (device ids as upper-case hex without leading
//! zeros, bit 0x00800000 removed as semonitor does; server/broadcast addresses with bit 31 set
//! are shown unmasked, e.g. "FFFFFFFE"), `from_raw`, `to_raw` (8 lower-case hex digits, as
//! sent), `function` ("0x0500"), `function_name` (JB `se/commands.py` names without the
//! `PROT_CMD_` / `PROT_` prefix, or "unknown-0x1234"), `crc` ("ok" or "mismatch"), then:
//! - 0x0500 `devices`: one object per device record (§4), and `trailing` (hex) for bytes too
//!   short to be a record header;
//! - other functions: their decoded fields (§3), or `payload` (hex, omitted when empty);
//! - `anomaly` when something could not be fully decoded.
//!
//! Floats are IEEE binary32 widened to f64 (serde_json prints the shortest round-trip form);
//! the "no value" bytes `ff ff 7f ff` become null (solaredge.md §4).

use super::codes::{address, function_label, hex32, param_name, param_type_name};
use super::frame::{frame_crc, Frame};
use super::telemetry::{parse_devices, Device, RECORD_HEADER};
use super::value::{f32_value, Fields, Value};
use crate::util::{bytes, hex};
use serde::Serialize;

/// One decoded frame (schema in the module documentation). Serialises as one JSON object
/// starting with `"proto":"solaredge"`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decoded {
    /// Always "solaredge".
    pub proto: &'static str,
    pub seq: u16,
    /// Source address ([`address`]).
    pub from: String,
    pub to: String,
    /// Addresses as sent, 8 lower-case hex digits.
    pub from_raw: String,
    pub to_raw: String,
    /// "0x0500".
    pub function: String,
    /// [`function_label`].
    pub function_name: String,
    /// "ok", or "mismatch" when the frame's CRC is not that of its fields.
    pub crc: &'static str,
    /// 0x0500 only: the device records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub devices: Option<Vec<Device>>,
    /// The function's decoded fields (or `payload` hex).
    #[serde(flatten)]
    pub body: Fields,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anomaly: Option<String>,
    #[serde(skip)]
    pub function_code: u16,
    #[serde(skip)]
    pub from_addr: u32,
    #[serde(skip)]
    pub to_addr: u32,
}

/// How many device anomalies are quoted in the frame's `anomaly`.
const QUOTED: usize = 3;

/// Decodes one frame (solaredge.md §3–4). Pure; never panics.
pub fn decode(frame: &Frame<'_>) -> Decoded {
    let p = frame.payload;
    // Offset reads for the fixed layouts below, used after `fixed` checked the length.
    let u16_at = |o| bytes::le_u16(p, o).unwrap_or(0);
    let u32_at = |o| bytes::le_u32(p, o).unwrap_or(0);
    let mut body = Fields::default();
    let mut notes = Vec::new();
    let ok = frame_crc(frame.seq, frame.from, frame.to, frame.function, p) == frame.crc;
    if !ok {
        notes.push(format!("CRC 0x{:04x} does not match the frame", frame.crc));
    }
    let mut devices = None;
    match frame.function {
        0x0500 => {
            let (devs, walk) = parse_devices(p);
            let used: usize = devs.iter().map(|d| RECORD_HEADER + d.body.len()).sum();
            if let Some(t) = p.get(used..).filter(|t| !t.is_empty()) {
                body.str("trailing", hex::encode(t));
            }
            let bad: Vec<String> = devs
                .iter()
                .enumerate()
                .filter_map(|(i, d)| {
                    d.anomaly
                        .as_ref()
                        .map(|a| format!("record {i} ({} {}): {a}", d.type_name(), d.id()))
                })
                .collect();
            notes.extend(walk);
            if bad.len() > QUOTED {
                let more = bad.len() - QUOTED;
                notes.extend(bad.into_iter().take(QUOTED));
                notes.push(format!("{more} more records with anomalies"));
            } else {
                notes.extend(bad);
            }
            devices = Some(devs);
        }
        0x0080 | 0x0081 | 0x0501 => {
            if !p.is_empty() {
                notes.push(format!(
                    "{} bytes where an empty payload is expected",
                    p.len()
                ));
                body.str("payload", hex::encode(p));
            }
        }
        0x0012 => params_get(p, &mut body, &mut notes),
        0x0011 => {
            if fixed(p, 6, &mut body, &mut notes) {
                let param = u16_at(0);
                param_fields(&mut body, param);
                body.uint("value", u32_at(2));
                tail(p, 6, &mut body);
            }
        }
        0x0090 => param_values(p, &mut body, &mut notes),
        0x0580 => {
            if fixed(p, 8, &mut body, &mut notes) {
                let t = u32_at(0);
                // Record version 2: one device-clock field, a number (docs/FORMAT.md).
                body.uint("device_time", t);
                body.int("tz_offset_s", u32_at(4) as i32);
                tail(p, 8, &mut body);
            }
        }
        0x038d => {
            if fixed(p, 20, &mut body, &mut notes) {
                let f = |o| bytes::at(p, o).and_then(f32_value);
                body.float("e_day", f(0));
                body.float("e_month", f(4));
                body.float("e_year", f(8));
                body.float("e_total", f(12));
                let t = u32_at(16);
                body.uint("stats_device_time", t);
                tail(p, 20, &mut body);
            }
        }
        0x00b0 => {
            if fixed(p, 4, &mut body, &mut notes) {
                let (a, b) = (u16_at(0), u16_at(2));
                body.str("version", format!("{a:04}.{b:04}"));
                tail(p, 4, &mut body);
            }
        }
        0x0382 => {
            if fixed(p, 16, &mut body, &mut notes) {
                for (i, name) in ["ip", "netmask", "gateway", "dns"].into_iter().enumerate() {
                    let v = std::net::Ipv4Addr::from(u32_at(4 * i));
                    body.str(name, v.to_string());
                }
                tail(p, 16, &mut body);
            }
        }
        _ => {
            if !p.is_empty() {
                body.str("payload", hex::encode(p));
            }
        }
    }
    Decoded {
        proto: "solaredge",
        seq: frame.seq,
        from: address(frame.from),
        to: address(frame.to),
        from_raw: hex32(frame.from),
        to_raw: hex32(frame.to),
        function: format!("0x{:04x}", frame.function),
        function_name: function_label(frame.function),
        crc: if ok { "ok" } else { "mismatch" },
        devices,
        body,
        anomaly: (!notes.is_empty()).then(|| notes.join("; ")),
        function_code: frame.function,
        from_addr: frame.from,
        to_addr: frame.to,
    }
}

/// A fixed-size payload of `need` bytes: false (with `payload` hex and a note) when shorter;
/// a note when longer (the caller keeps the excess with [`tail`]).
fn fixed(p: &[u8], need: usize, body: &mut Fields, notes: &mut Vec<String>) -> bool {
    if p.len() < need {
        notes.push(format!("payload has {} bytes, {need} expected", p.len()));
        if !p.is_empty() {
            body.str("payload", hex::encode(p));
        }
        return false;
    }
    if p.len() > need {
        notes.push(format!(
            "payload has {} bytes, {need} expected; the rest kept as raw",
            p.len()
        ));
    }
    true
}

/// Bytes after a fixed layout, as `raw` hex.
fn tail(p: &[u8], from: usize, body: &mut Fields) {
    if let Some(t) = p.get(from..).filter(|t| !t.is_empty()) {
        body.str("raw", hex::encode(t));
    }
}

fn param_fields(out: &mut Fields, param: u16) {
    out.uint("param", param);
    out.str("param_hex", format!("0x{param:04x}"));
    if let Some(n) = param_name(param) {
        out.str("param_name", n);
    }
}

/// 0x0012: `<H` parameter id (JB `parseParam`); several ids are listed in `params` (WG
/// `decode_parameter_ids`).
fn params_get(p: &[u8], body: &mut Fields, notes: &mut Vec<String>) {
    let ids: Vec<u16> = p
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    match ids.len() {
        0 => {}
        1 => param_fields(body, ids[0]),
        _ => {
            let list = ids
                .iter()
                .map(|&id| {
                    let mut f = Fields::default();
                    param_fields(&mut f, id);
                    f
                })
                .collect();
            body.push("params", Value::List(list));
        }
    }
    if p.is_empty() || !p.len().is_multiple_of(2) {
        notes.push(format!(
            "payload has {} bytes, a whole number of 2-byte parameter ids expected",
            p.len()
        ));
        if !p.len().is_multiple_of(2) {
            tail(p, p.len() - 1, body);
        }
    }
}

/// 0x0090: `<LH` value, type (0 uint, 1 float, 2 int32, 3 string, the text following
/// NUL-terminated; solaredge.md §3, WG `decode_parameters`). One value is flattened into
/// `value`/`type`/`type_name`; several go to `values`.
fn param_values(p: &[u8], body: &mut Fields, notes: &mut Vec<String>) {
    let mut vals = Vec::new();
    let mut i = 0;
    while i < p.len() {
        let r = &p[i..];
        let (Some(word), Some(ty)) = (bytes::at::<4>(r, 0), bytes::le_u16(r, 4)) else {
            notes.push(format!("{} bytes after the last value, 6 needed", r.len()));
            break;
        };
        let mut f = Fields::default();
        match ty {
            0 => f.uint("value", u32::from_le_bytes(word)),
            1 => f.float("value", f32_value(word)),
            2 => f.int("value", i32::from_le_bytes(word)),
            3 => {
                let text = &r[6..];
                let end = text.iter().position(|&c| c == 0);
                if end.is_none() {
                    notes.push("string value without a NUL terminator".into());
                }
                let s = &text[..end.unwrap_or(text.len())];
                f.str("value", String::from_utf8_lossy(s));
                f.uint("value_int", u32::from_le_bytes(word));
                i += end.map_or(text.len(), |e| e + 1);
            }
            _ => {
                notes.push(format!("unknown parameter type {ty}"));
                break;
            }
        }
        f.uint("value_type", ty);
        f.str("value_type_name", param_type_name(ty));
        vals.push(f);
        i += 6;
    }
    if vals.len() == 1 {
        body.0.append(&mut vals[0].0);
    } else if !vals.is_empty() {
        body.push("values", Value::List(vals));
    }
    if p.is_empty() {
        notes.push("empty payload, a value and its type expected".into());
    }
    tail(p, i.min(p.len()), body);
}
