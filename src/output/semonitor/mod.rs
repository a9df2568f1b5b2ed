//! semonitor-compatible JSON lines for SolarEdge 0x0500 telemetry (solaredge.md §4, §7).
//!
//! [`Semonitor::line`] turns the payload of one function-0x0500 frame into the line that
//! jbuehl's `semonitor.py` writes for it (`se/data.py` `parseDeviceData` + `writeData`,
//! `se/dataparams.py`, `se/datadevices.py`), so that scripts written for semonitor's output
//! (`se2csv`, `se2state`, `se2MQTT`, home-made ones) keep working on sekit's output.
//!
//! # Deliberately semonitor's layouts, not the best reading
//! This module has its own tables, copied *as facts* from semonitor's layouts, and does not
//! share the SolarEdge decoder's: semonitor reads several fields differently from the better
//! reading of solaredge.md §4, and compatibility means reproducing that. Among others:
//! 1-phase (0x0010) prints only 13 fields and calls offset 72 `Pmax` (it is the ground-fault
//! resistance); 3-phase (0x0011) reads `EdayDC`, `Edc`, `Idc`, `data21`–`data23`, `mode` and
//! `data31` as u32, names offset 80 `Irdc` and offset 112 `GndFrR`, and stops at byte 128;
//! optimizers 0x0080/0x0082 print `Inverter` as the integer 0, 0x0082 prints `Eday` and `Temp`
//! as the integer 0; events 0x0300 print two of the three parameters through `time.asctime`.
//!
//! # What is reproduced
//! - Top level: `"inverters"`, `"optimizers"`, `"events"` always (possibly `{}`), plus
//!   `"meters_0x0022"`, `"batteries_0x0030"` and `"Unknown_device_0xnnnn"` (lower-case hex, as
//!   Python's `{:#06x}`) when such records occur.
//! - `json.dumps(..., sort_keys=True)` with the default separators `", "` and `": "` and
//!   `ensure_ascii=True` (non-ASCII as `\uxxxx`, surrogate pairs above U+FFFF).
//! - Floats as Python's `repr` of the f32 widened to f64 ([`py_float`]), optimizer scalings
//!   computed in f64 (`0.00625 * n`).
//! - `Date` / `Time` (`%Y-%m-%d` / `%H:%M:%S`) and the event times (`time.asctime`) in the
//!   time zone given by `TZ` exactly like the C library (see [`Semonitor::from_env`]).
//! - Several records of one device in one message: the last wins for inverters, optimizers and
//!   events (plain dict assignment); the table-driven types (meters, batteries, unknown types)
//!   are merged key by key (`merge_update`: union of the keys, the later value wins).
//! - Where semonitor turns the "no value" float `ff ff 7f ff` into NaN: only in its table path
//!   (meters, batteries; `float('nan')` for exactly those bytes) and for a meter's `P2X` below
//!   −3·10³⁸. Everywhere else (inverters, optimizers 0x0000) it keeps −FLT_MAX, printed as
//!   `-3.4028234663852886e+38`, and so does this module.
//!
//! # Where the output deliberately differs
//! - NaN (and ±infinity) are written as `null`: Python writes `NaN` / `Infinity`, which is not
//!   JSON.
//! - semonitor drops the whole message when one record cannot be unpacked (a 1-phase body
//!   shorter than 104 bytes, 3-phase < 128, optimizer 0x0000 < 36, 0x0080 < 13, 0x0082 < 10, an
//!   event body other than 28 bytes, a meter < 58 / battery < 86 bytes or a battery id that is
//!   not UTF-8, any record shorter than its 4-byte timestamp, a header cut off at the end of
//!   the payload). Here the other records are still printed, a record that semonitor's layout
//!   cannot unpack is printed the way semonitor prints an unknown type
//!   (`"Unknown_device_0x0010": {id: {seType, seId, devLen, devType, dateTime, Date, Time,
//!   Undeciphered_data}}`; without `dateTime`/`Date`/`Time` when the 4-byte timestamp itself
//!   is missing), and a trailing fragment shorter than a record header is ignored.
//! - Each line is decoded on its own. semonitor's table classes keep state across messages (a
//!   meter or battery record longer than the table grows the class table, so a later, shorter
//!   record raises); here every record is decoded as if it were the first of its type.
//!
//! The 0x0082 (S440) layout is not in the stored copy of `se/data.py`; it follows the real
//! semonitor output in jbuehl/solaredge issue #178 (`Inverter`, `Eday`, `Temp` the integer 0).

mod layouts;
mod pyjson;
mod tz;

pub use pyjson::{py_float, py_json_str};
pub use tz::{LocalZone, SemonitorError};

use crate::protocols::solaredge::codes::device_id;
use crate::protocols::solaredge::session::Message;
use crate::protocols::solaredge::telemetry;
use crate::util::bytes::{le_f32, le_u16, le_u32};
use layouts::{Field, Layout, Num, Table, BATTERY, INV_1PH, INV_3PH, METER, SENTINEL};
use pyjson::{merge_update, wrap, write_obj, Obj, Val};
use std::fmt::Write;

/// Writes semonitor's JSON line for a 0x0500 payload; holds the time zone for `Date`/`Time`.
#[derive(Debug, Clone)]
pub struct Semonitor {
    zone: LocalZone,
}

impl Semonitor {
    /// `Date`/`Time` in the zone the C library would use ([`LocalZone::from_env`]).
    pub fn from_env() -> Result<Self, SemonitorError> {
        LocalZone::from_env().map(Self::in_zone)
    }

    /// Like [`Semonitor::from_env`] with `TZ` set to `tz` (and `TZDIR` unset).
    pub fn with_tz(tz: &str) -> Result<Self, SemonitorError> {
        LocalZone::with_tz(tz).map(Self::in_zone)
    }

    /// Universal time (what glibc uses for an empty `TZ`).
    pub fn utc() -> Self {
        Self::in_zone(LocalZone::utc())
    }

    /// `Date`/`Time` in `zone`.
    pub fn in_zone(zone: LocalZone) -> Self {
        Semonitor { zone }
    }

    /// The line for a decoded frame: [`Semonitor::line`] of its telemetry payload (plain or
    /// decrypted 0x0500); `None` for any other frame.
    pub fn message_line(&self, m: &Message) -> Option<String> {
        m.telemetry_payload().and_then(|p| self.line(p))
    }

    /// The JSON line (without the newline) semonitor writes for this 0x0500 payload; `None`
    /// for an empty payload (semonitor writes nothing for it). Records are walked as
    /// [`telemetry::records`] walks them; a trailing fragment shorter than a header is ignored.
    pub fn line(&self, payload: &[u8]) -> Option<String> {
        if payload.is_empty() {
            return None;
        }
        let mut root = Obj::new();
        let mut inverters = Obj::new();
        let mut optimizers = Obj::new();
        let mut events = Obj::new();
        for r in telemetry::records(payload) {
            let (ty, dev_len, body) = (r.dev_type, usize::from(r.len), r.body);
            let id = device_id(r.id_raw);
            let done = match ty {
                0x0000 => self.insert(&mut optimizers, &id, self.opt_old(&id, body)),
                0x0080 => self.insert(&mut optimizers, &id, self.opt_packed(&id, body, true)),
                0x0082 => self.insert(&mut optimizers, &id, self.opt_packed(&id, body, false)),
                0x0010 => self.insert(&mut inverters, &id, self.fixed(&id, body, INV_1PH)),
                0x0011 => self.insert(&mut inverters, &id, self.fixed(&id, body, INV_3PH)),
                0x0300 => self.insert(&mut events, &id, self.event(&id, body)),
                0x0022 => self.table(&mut root, ty, &id, dev_len, body, METER),
                0x0030 => self.table(&mut root, ty, &id, dev_len, body, BATTERY),
                _ => false,
            };
            if !done {
                let leaf = self.generic(ty, &id, dev_len, body);
                merge_update(&mut root, wrap(&[&unknown_name(ty), &id], leaf));
            }
        }
        root.insert("inverters".into(), Val::Obj(inverters));
        root.insert("optimizers".into(), Val::Obj(optimizers));
        root.insert("events".into(), Val::Obj(events));
        let mut out = String::with_capacity(64 + payload.len().min(1 << 16) * 4);
        write_obj(&mut out, &root);
        Some(out)
    }

    /// `dict[id] = leaf` (the last record of a device wins); false when there is no leaf.
    fn insert(&self, dict: &mut Obj, id: &str, leaf: Option<Obj>) -> bool {
        match leaf {
            Some(l) => {
                dict.insert(id.to_string(), Val::Obj(l));
                true
            }
            None => false,
        }
    }

    /// `Date`, `Time`, `ID` (JB `devDataDict`).
    fn stamped(&self, id: &str, ts: u32) -> Obj {
        let mut m = Obj::new();
        self.put_date_time(&mut m, ts);
        m.insert("ID".into(), Val::Str(id.to_string()));
        m
    }

    /// 1-phase / 3-phase inverter through a JB layout table; `None` when the body is shorter
    /// than the table (JB's `struct.unpack` would raise).
    fn fixed(&self, id: &str, body: &[u8], layout: &Layout) -> Option<Obj> {
        if body.len() < layout.len {
            return None;
        }
        let mut m = self.stamped(id, le_u32(body, 0)?);
        for &(name, off, kind) in layout.fields {
            let v = match kind {
                Num::U32 => Val::Int(i64::from(le_u32(body, off)?)),
                Num::F32 => Val::Float(le_f32(body, off).map(f64::from)?),
            };
            m.insert(name.into(), v);
        }
        Some(m)
    }

    /// Optimizer 0x0000 (`<LLLLfffff`, 36 bytes; JB `parseOptData`).
    fn opt_old(&self, id: &str, body: &[u8]) -> Option<Obj> {
        if body.len() < 36 {
            return None;
        }
        let mut m = self.stamped(id, le_u32(body, 0)?);
        m.insert("Inverter".into(), Val::Str(device_id(le_u32(body, 4)?)));
        m.insert("Uptime".into(), Val::Int(i64::from(le_u32(body, 12)?)));
        for (name, off) in [
            ("Vmod", 16),
            ("Vopt", 20),
            ("Imod", 24),
            ("Eday", 28),
            ("Temp", 32),
        ] {
            m.insert(name.into(), Val::Float(le_f32(body, off).map(f64::from)?));
        }
        Some(m)
    }

    /// Optimizers 0x0080 (13 bytes) and 0x0082 (S440, ≥ 10 bytes; `Eday`/`Temp` the integer
    /// 0 as in the real output of JB issue #178). Scalings in f64 like Python.
    fn opt_packed(&self, id: &str, body: &[u8], with_energy: bool) -> Option<Obj> {
        if body.len() < if with_energy { 13 } else { 10 } {
            return None;
        }
        let mut m = self.stamped(id, le_u32(body, 0)?);
        let w = le_u32(body, 6)?;
        m.insert("Inverter".into(), Val::Int(0));
        m.insert("Uptime".into(), Val::Int(i64::from(le_u16(body, 4)?)));
        m.insert("Vmod".into(), Val::Float(0.125 * f64::from(w & 0x3ff)));
        m.insert(
            "Vopt".into(),
            Val::Float(0.125 * f64::from((w >> 10) & 0x3ff)),
        );
        m.insert(
            "Imod".into(),
            Val::Float(0.00625 * f64::from((w >> 20) & 0xfff)),
        );
        if with_energy {
            m.insert(
                "Eday".into(),
                Val::Float(0.25 * f64::from(le_u16(body, 10)?)),
            );
            let t = i8::from_le_bytes([*body.get(12)?]);
            m.insert("Temp".into(), Val::Float(2.0 * f64::from(t)));
        } else {
            m.insert("Eday".into(), Val::Int(0));
            m.insert("Temp".into(), Val::Int(0));
        }
        Some(m)
    }

    /// Event 0x0300 (`<LLLlLLL`, exactly 28 bytes; JB `parseEventData`).
    fn event(&self, id: &str, body: &[u8]) -> Option<Obj> {
        if body.len() != 28 {
            return None;
        }
        let mut m = self.stamped(id, le_u32(body, 0)?);
        let ty = le_u32(body, 4)?;
        let p1 = le_u32(body, 8)?;
        let p2 = i32::from_le_bytes(body.get(12..16)?.try_into().ok()?);
        let p3 = le_u32(body, 16)?;
        m.insert("Type".into(), Val::Int(i64::from(ty)));
        m.insert("Event1".into(), Val::Str(self.asctime(i64::from(p1))));
        if ty == 0 {
            m.insert("Event2".into(), Val::Str(self.asctime(i64::from(p2))));
            m.insert("Event3".into(), Val::Int(i64::from(p3)));
        } else {
            m.insert("Event2".into(), Val::Int(i64::from(p2)));
            m.insert("Event3".into(), Val::Str(self.asctime(i64::from(p3))));
        }
        Some(m)
    }

    /// Meter / battery through JB's `ParseDevice` tables; false when JB's table cannot be
    /// unpacked (the caller then prints the generic form).
    fn table(
        &self,
        root: &mut Obj,
        ty: u16,
        id: &str,
        dev_len: usize,
        body: &[u8],
        t: &Table,
    ) -> bool {
        let defn_len: usize = t.fields.iter().map(|f| f.1).sum();
        if dev_len < defn_len {
            return false;
        }
        let mut m = header_fields(ty, id, dev_len, t.name);
        let mut ptr = 0usize;
        for &(name, n, kind) in t.fields {
            let b = body.get(ptr..ptr + n);
            let v = match kind {
                Field::DateTime => {
                    let Some(ts) = b.and_then(|b| le_u32(b, 0)) else {
                        return false;
                    };
                    self.put_date_time(&mut m, ts);
                    Val::Int(i64::from(ts))
                }
                Field::U32 => match b.and_then(|b| le_u32(b, 0)) {
                    Some(x) => Val::Int(i64::from(x)),
                    None => return false,
                },
                Field::U16 => match b.and_then(|b| le_u16(b, 0)) {
                    Some(x) => Val::Int(i64::from(x)),
                    None => return false,
                },
                Field::I8 => match b {
                    Some(b) => Val::Int(i64::from(b[0] as i8)),
                    None => return false,
                },
                Field::F32 => match b {
                    Some(b) if b == SENTINEL => Val::Float(f64::NAN),
                    Some(b) => match le_f32(b, 0).map(f64::from) {
                        Some(x) => Val::Float(x),
                        None => return false,
                    },
                    None => return false,
                },
                // Python slicing: whatever part of the field is present.
                Field::Hex => Val::Str(hex_data(slice_lenient(body, ptr, n))),
                Field::Str => match b.map(std::str::from_utf8) {
                    Some(Ok(s)) => Val::Str(s.trim_matches('\0').to_string()),
                    _ => return false,
                },
            };
            m.insert(name.into(), v);
            ptr += n;
        }
        if dev_len > defn_len {
            m.insert(
                "Undeciphered_data".into(),
                Val::Str(hex_data(slice_lenient(body, ptr, dev_len - defn_len))),
            );
        }
        let sub = match ty {
            0x0022 => {
                // JB ParseDevice_0x0022.codeDerivations: P2X below -3e38 becomes NaN.
                if let Some(Val::Float(x)) = m.get("P2X") {
                    if *x < -3e38 {
                        m.insert("P2X".into(), Val::Float(f64::NAN));
                    }
                }
                let rec = match m.get("recType") {
                    Some(Val::Int(r)) => *r,
                    _ => 0,
                };
                match rec {
                    3 => "3_Consumption".to_string(),
                    5 => "5_GridImportExport".to_string(),
                    7 => "7_Battery".to_string(),
                    8 => "8_MostlyZeroes".to_string(),
                    9 => "9_PVProduction".to_string(),
                    r => format!("{r}_UnrecognisedRecType"),
                }
            }
            _ => match m.get("batteryId") {
                Some(Val::Str(s)) => s.clone(),
                _ => String::new(),
            },
        };
        merge_update(root, wrap(&[t.name, id, &sub], m));
        true
    }

    /// JB's catch-all `ParseDevice` for a type it has no table for: header fields, `dateTime`
    /// with `Date`/`Time`, the rest as `Undeciphered_data`. Also used (deviation, see the
    /// module doc) for records JB's layouts cannot unpack.
    fn generic(&self, ty: u16, id: &str, dev_len: usize, body: &[u8]) -> Obj {
        let name = unknown_name(ty);
        let mut m = header_fields(ty, id, dev_len, &name);
        match (dev_len >= 4).then(|| le_u32(body, 0)).flatten() {
            Some(ts) => {
                m.insert("dateTime".into(), Val::Int(i64::from(ts)));
                self.put_date_time(&mut m, ts);
                if dev_len > 4 {
                    m.insert("Undeciphered_data".into(), Val::Str(hex_data(&body[4..])));
                }
            }
            None => {
                m.insert("Undeciphered_data".into(), Val::Str(hex_data(body)));
            }
        }
        m
    }

    fn put_date_time(&self, m: &mut Obj, ts: u32) {
        let tm = self.zone.local(i64::from(ts));
        m.insert("Date".into(), Val::Str(tz::date(&tm)));
        m.insert("Time".into(), Val::Str(tz::time(&tm)));
    }

    /// `time.asctime(time.localtime(t))`, e.g. `Wed Jun  8 14:19:53 2016`.
    fn asctime(&self, t: i64) -> String {
        tz::asctime(&self.zone.local(t))
    }
}

fn header_fields(ty: u16, id: &str, dev_len: usize, dev_type: &str) -> Obj {
    let mut m = Obj::new();
    m.insert("seType".into(), Val::Str(format!("{ty:#06x}")));
    m.insert("seId".into(), Val::Str(id.to_string()));
    m.insert("devLen".into(), Val::Int(dev_len as i64));
    m.insert("devType".into(), Val::Str(dev_type.to_string()));
    m
}

/// `Unknown_device_0x0043` (Python `'{}_{:#06x}'`).
fn unknown_name(ty: u16) -> String {
    format!("Unknown_device_{ty:#06x}")
}

/// JB `ParseDevice.hexData`: `"xx xx …"`, 16 bytes per group, groups joined by `" | "`.
fn hex_data(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 3 + b.len() / 16 * 2);
    for (i, x) in b.iter().enumerate() {
        if i > 0 {
            s.push_str(if i % 16 == 0 { " | " } else { " " });
        }
        let _ = write!(s, "{x:02x}");
    }
    s
}

fn slice_lenient(b: &[u8], start: usize, n: usize) -> &[u8] {
    let s = start.min(b.len());
    &b[s..start.saturating_add(n).min(b.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_groups_of_sixteen() {
        assert_eq!(hex_data(&[]), "");
        assert_eq!(hex_data(&[0, 0x80]), "00 80");
        let b: Vec<u8> = (0..17).collect();
        assert_eq!(
            hex_data(&b),
            "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f | 10"
        );
    }

    #[test]
    fn ids_and_names() {
        assert_eq!(device_id(0x7f99_0ff7), "7F190FF7");
        assert_eq!(device_id(0x0000_0abc), "ABC");
        // Bit 0x00400000 is not cleared (JB issue #8).
        assert_eq!(device_id(0x7f40_4a16), "7F404A16");
        assert_eq!(unknown_name(0x43), "Unknown_device_0x0043");
        assert_eq!(unknown_name(0xabcd), "Unknown_device_0xabcd");
    }
}
