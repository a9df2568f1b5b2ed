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

use std::collections::BTreeMap;
use std::fmt::Write;
use tz::timezone::{AlternateTime, RuleDay, TimeZoneSettings, TransitionRule};
use tz::TimeZone;

/// The time zone could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("time zone {tz:?}: {msg}")]
pub struct SemonitorError {
    /// The `TZ` value (or file) that failed.
    pub tz: String,
    /// What went wrong.
    pub msg: String,
}

/// Writes semonitor's JSON line for a 0x0500 payload; holds the time zone for `Date`/`Time`.
#[derive(Debug, Clone)]
pub struct Semonitor {
    tz: TimeZone,
}

/// Directories searched for a zone name, as glibc (and tz-rs) do without `TZDIR`.
const ZONE_DIRS: &[&str] = TimeZoneSettings::DEFAULT_DIRECTORIES;

impl Semonitor {
    /// The time zone the C library's `localtime` (hence Python's `time.localtime`) would use:
    /// `TZ` unset → `/etc/localtime`, or UTC when that cannot be read; `TZ` empty → UTC;
    /// `TZ=:` → `/etc/localtime`; `TZ=:NAME` or `TZ=NAME` → the TZif file `NAME` (absolute, or
    /// under `$TZDIR`, else `/usr/share/zoneinfo`); otherwise a POSIX string such as
    /// `CET-1CEST,M3.5.0,M10.5.0/3` or `UTC0`.
    ///
    /// Where glibc silently falls back to UTC for a `TZ` it cannot use, this returns an error;
    /// the caller may then report it and use [`Semonitor::utc`].
    pub fn from_env() -> Result<Self, SemonitorError> {
        match std::env::var_os("TZ") {
            None => Ok(Self::system_local()),
            Some(v) => {
                let Some(s) = v.to_str() else {
                    return Err(SemonitorError {
                        tz: v.to_string_lossy().into_owned(),
                        msg: "not valid UTF-8".into(),
                    });
                };
                match std::env::var("TZDIR") {
                    Ok(dir) if !dir.is_empty() => Self::with_tz_in(s, &[dir.as_str()]),
                    _ => Self::with_tz_in(s, ZONE_DIRS),
                }
            }
        }
    }

    /// Like [`Semonitor::from_env`] with `TZ` set to `tz` (and `TZDIR` unset).
    pub fn with_tz(tz: &str) -> Result<Self, SemonitorError> {
        Self::with_tz_in(tz, ZONE_DIRS)
    }

    /// Universal time (what glibc uses for an empty `TZ`).
    pub fn utc() -> Self {
        Self {
            tz: TimeZone::utc(),
        }
    }

    fn system_local() -> Self {
        TimeZone::local()
            .map(|tz| Self { tz })
            .unwrap_or_else(|_| Self::utc())
    }

    fn with_tz_in(tz: &str, dirs: &[&str]) -> Result<Self, SemonitorError> {
        if tz.is_empty() {
            return Ok(Self::utc());
        }
        let settings = TimeZoneSettings::new(dirs, TimeZoneSettings::DEFAULT_READ_FILE_FN);
        let spec = if tz == ":" { "localtime" } else { tz };
        settings
            .parse_posix_tz(spec)
            .map(|tz| Self { tz })
            .map_err(|e| SemonitorError {
                tz: tz.to_string(),
                msg: e.to_string(),
            })
    }

    /// The JSON line (without the newline) semonitor writes for this 0x0500 payload; `None`
    /// for an empty payload (semonitor writes nothing for it).
    pub fn line(&self, payload: &[u8]) -> Option<String> {
        if payload.is_empty() {
            return None;
        }
        let mut root = Obj::new();
        let mut inverters = Obj::new();
        let mut optimizers = Obj::new();
        let mut events = Obj::new();
        let mut p = 0usize;
        // Record header: devType u16, devId u32, devLen u16 (solaredge.md §4).
        while let Some(h) = payload.get(p..p + 8) {
            let ty = u16::from_le_bytes([h[0], h[1]]);
            let raw_id = u32::from_le_bytes([h[2], h[3], h[4], h[5]]);
            let dev_len = usize::from(u16::from_le_bytes([h[6], h[7]]));
            p += 8;
            let end = p.saturating_add(dev_len).min(payload.len());
            let body = &payload[p..end];
            let id = parse_id(raw_id);
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
            p = p.saturating_add(dev_len);
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
        let tm = self.local(i64::from(ts));
        let mut m = Obj::new();
        m.insert("Date".into(), Val::Str(tm.date()));
        m.insert("Time".into(), Val::Str(tm.time()));
        m.insert("ID".into(), Val::Str(id.to_string()));
        m
    }

    /// 1-phase / 3-phase inverter through a JB layout table; `None` when the body is shorter
    /// than the table (JB's `struct.unpack` would raise).
    fn fixed(&self, id: &str, body: &[u8], layout: &Layout) -> Option<Obj> {
        if body.len() < layout.len {
            return None;
        }
        let mut m = self.stamped(id, rd_u32(body, 0)?);
        for &(name, off, kind) in layout.fields {
            let v = match kind {
                Num::U32 => Val::Int(i64::from(rd_u32(body, off)?)),
                Num::F32 => Val::Float(rd_f32(body, off)?),
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
        let mut m = self.stamped(id, rd_u32(body, 0)?);
        m.insert("Inverter".into(), Val::Str(parse_id(rd_u32(body, 4)?)));
        m.insert("Uptime".into(), Val::Int(i64::from(rd_u32(body, 12)?)));
        for (name, off) in [
            ("Vmod", 16),
            ("Vopt", 20),
            ("Imod", 24),
            ("Eday", 28),
            ("Temp", 32),
        ] {
            m.insert(name.into(), Val::Float(rd_f32(body, off)?));
        }
        Some(m)
    }

    /// Optimizers 0x0080 (13 bytes) and 0x0082 (S440, ≥ 10 bytes; `Eday`/`Temp` the integer
    /// 0 as in the real output of JB issue #178). Scalings in f64 like Python.
    fn opt_packed(&self, id: &str, body: &[u8], with_energy: bool) -> Option<Obj> {
        if body.len() < if with_energy { 13 } else { 10 } {
            return None;
        }
        let mut m = self.stamped(id, rd_u32(body, 0)?);
        let w = rd_u32(body, 6)?;
        m.insert("Inverter".into(), Val::Int(0));
        m.insert("Uptime".into(), Val::Int(i64::from(rd_u16(body, 4)?)));
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
                Val::Float(0.25 * f64::from(rd_u16(body, 10)?)),
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
        let mut m = self.stamped(id, rd_u32(body, 0)?);
        let ty = rd_u32(body, 4)?;
        let p1 = rd_u32(body, 8)?;
        let p2 = i32::from_le_bytes(body.get(12..16)?.try_into().ok()?);
        let p3 = rd_u32(body, 16)?;
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
                    let Some(ts) = b.and_then(|b| rd_u32(b, 0)) else {
                        return false;
                    };
                    self.put_date_time(&mut m, ts);
                    Val::Int(i64::from(ts))
                }
                Field::U32 => match b.and_then(|b| rd_u32(b, 0)) {
                    Some(x) => Val::Int(i64::from(x)),
                    None => return false,
                },
                Field::U16 => match b.and_then(|b| rd_u16(b, 0)) {
                    Some(x) => Val::Int(i64::from(x)),
                    None => return false,
                },
                Field::I8 => match b {
                    Some(b) => Val::Int(i64::from(b[0] as i8)),
                    None => return false,
                },
                Field::F32 => match b {
                    Some(b) if b == SENTINEL => Val::Float(f64::NAN),
                    Some(b) => match rd_f32(b, 0) {
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
        match (dev_len >= 4).then(|| rd_u32(body, 0)).flatten() {
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
        let tm = self.local(i64::from(ts));
        m.insert("Date".into(), Val::Str(tm.date()));
        m.insert("Time".into(), Val::Str(tm.time()));
    }

    /// `time.asctime(time.localtime(t))`, e.g. `Wed Jun  8 14:19:53 2016`.
    fn asctime(&self, t: i64) -> String {
        self.local(t).asctime()
    }

    /// Broken-down local time of a Unix time (C `localtime`).
    fn local(&self, t: i64) -> Tm {
        let r = self.tz.as_ref();
        if let (true, Some(TransitionRule::Alternate(alt))) =
            (r.transitions().is_empty(), r.extra_rule())
        {
            return Tm::from_unix(t + i64::from(glibc_rule_offset(alt, t)));
        }
        let off = match self.tz.find_local_time_type(t) {
            Ok(ltt) => ltt.ut_offset(),
            // No rule after the last transition: the C library keeps the last type.
            Err(_) => {
                let r = self.tz.as_ref();
                let types = r.local_time_types();
                r.transitions()
                    .last()
                    .and_then(|tr| types.get(tr.local_time_type_index()))
                    .or_else(|| types.first())
                    .map_or(0, |ltt| ltt.ut_offset())
            }
        };
        Tm::from_unix(t + i64::from(off))
    }
}

/// The UTC offset glibc's `tz_compute` gives for a POSIX `TZ` string with DST rules: the
/// changes of the UTC year of `t`, each at its rule's local time. For years up to 1970 glibc
/// counts the days of that year's rule from 1970-01-01 (`compute_change`), so times before
/// 1970 are in standard time for northern and in DST for southern rules; this is reproduced.
fn glibc_rule_offset(alt: &AlternateTime, t: i64) -> i32 {
    let year = Tm::from_unix(t).year;
    let change = |day: &RuleDay, secs: i32, offset: i32| -> i64 {
        let jan1 = days_from_civil(year, 1, 1);
        let leap = days_from_civil(year, 3, 1) - days_from_civil(year, 2, 28) == 2;
        let mut d = if year > 1970 { jan1 } else { 0 };
        match day {
            RuleDay::Julian1WithoutLeap(j) => {
                let j = i64::from(j.get());
                d += j - 1 + i64::from(j >= 60 && leap);
            }
            RuleDay::Julian0WithLeap(j) => d += i64::from(j.get()),
            RuleDay::MonthWeekDay(mwd) => {
                let m = u32::from(mwd.month());
                let first = days_from_civil(year, m, 1);
                let mdays = if m == 12 {
                    31
                } else {
                    days_from_civil(year, m + 1, 1) - first
                };
                d += first - jan1;
                let dow = (first + 4).rem_euclid(7);
                let mut k = (i64::from(mwd.week_day()) - dow).rem_euclid(7);
                for _ in 1..mwd.week() {
                    if k + 7 >= mdays {
                        break;
                    }
                    k += 7;
                }
                d += k;
            }
        }
        d * 86_400 - i64::from(offset) + i64::from(secs)
    };
    let (std, dst) = (alt.std().ut_offset(), alt.dst().ut_offset());
    let start = change(alt.dst_start(), alt.dst_start_time(), std);
    let end = change(alt.dst_end(), alt.dst_end_time(), dst);
    let is_dst = std != dst
        && if start > end {
            t < end || t >= start
        } else {
            t >= start && t < end
        };
    if is_dst {
        dst
    } else {
        std
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

// ---------------------------------------------------------------------------------------
// JB layout tables (facts from se/dataparams.py and se/datadevices.py)
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Num {
    U32,
    F32,
}

/// A fixed layout: the bytes JB unpacks (its `struct` format length) and the printed fields
/// (name, body offset, type).
struct Layout {
    len: usize,
    fields: &'static [(&'static str, usize, Num)],
}

/// 0x0010, JB `invInFmt` `<LLLffffffLLfLffLfffffLLffL` (104 bytes) with `invIdx`/`invItems`.
const INV_1PH: &Layout = &Layout {
    len: 104,
    fields: &[
        ("Uptime", 4, Num::U32),
        ("Interval", 8, Num::U32),
        ("Temp", 12, Num::F32),
        ("Eday", 16, Num::F32),
        ("Eac", 20, Num::F32),
        ("Vac", 24, Num::F32),
        ("Iac", 28, Num::F32),
        ("Freq", 32, Num::F32),
        ("Vdc", 44, Num::F32),
        ("Etot", 52, Num::F32),
        ("Pmax", 72, Num::F32),
        ("Pac", 92, Num::F32),
    ],
};

/// 0x0011, JB/DT `inv3PhInFmt` `<LLLffffffffffffLLfLffLLLfffLfffL` (128 bytes), `inv3PhItems`.
const INV_3PH: &Layout = &Layout {
    len: 128,
    fields: &[
        ("Uptime", 4, Num::U32),
        ("Interval", 8, Num::U32),
        ("Temp", 12, Num::F32),
        ("Eday", 16, Num::F32),
        ("Eac", 20, Num::F32),
        ("Vac1", 24, Num::F32),
        ("Vac2", 28, Num::F32),
        ("Vac3", 32, Num::F32),
        ("Iac1", 36, Num::F32),
        ("Iac2", 40, Num::F32),
        ("Iac3", 44, Num::F32),
        ("Freq1", 48, Num::F32),
        ("Freq2", 52, Num::F32),
        ("Freq3", 56, Num::F32),
        ("EdayDC", 60, Num::U32),
        ("Edc", 64, Num::U32),
        ("Vdc", 68, Num::F32),
        ("Idc", 72, Num::U32),
        ("Etot", 76, Num::F32),
        ("Irdc", 80, Num::F32),
        ("data21", 84, Num::U32),
        ("data22", 88, Num::U32),
        ("data23", 92, Num::U32),
        ("CosPhi1", 96, Num::F32),
        ("CosPhi2", 100, Num::F32),
        ("CosPhi3", 104, Num::F32),
        ("mode", 108, Num::U32),
        ("GndFrR", 112, Num::F32),
        ("data29", 116, Num::F32),
        ("IoutDC", 120, Num::F32),
        ("data31", 124, Num::U32),
    ],
};

/// Field kinds of JB's `ParseDevice._defn` (`L`, `H`, `b`, `f`, `hex`, `12s`; `dateTime` is an
/// `L` that also sets `Date` and `Time`).
#[derive(Clone, Copy)]
enum Field {
    DateTime,
    U32,
    U16,
    I8,
    F32,
    Hex,
    Str,
}

struct Table {
    /// `_devType`: the top-level key and the `devType` value.
    name: &'static str,
    /// (name, length, kind) in body order.
    fields: &'static [(&'static str, usize, Field)],
}

/// 0x0022, JB `ParseDevice_0x0022._defn` (58 bytes).
const METER: &Table = &Table {
    name: "meters_0x0022",
    fields: &[
        ("dateTime", 4, Field::DateTime),
        ("recType", 1, Field::I8),
        ("onlyIntervalData", 1, Field::I8),
        ("TotalE2Grid", 4, Field::U32),
        ("AlwaysZero_off10_int2", 2, Field::U16),
        ("Flag_off12_hex", 2, Field::Hex),
        ("TotalEfromGrid", 4, Field::U32),
        ("AlwaysZero_off18_int2", 2, Field::U16),
        ("Flag_off20_hex", 2, Field::Hex),
        ("Totaloff22_int4", 4, Field::U32),
        ("AlwaysZero_off26_int2", 2, Field::U16),
        ("Flag_off28_hex", 2, Field::Hex),
        ("Totaloff30_int4", 4, Field::U32),
        ("AlwaysZero_off34_int2", 2, Field::U16),
        ("Flag_off36_hex", 2, Field::Hex),
        ("Interval", 4, Field::U32),
        ("E2X", 4, Field::U32),
        ("EfromX", 4, Field::U32),
        ("P2X", 4, Field::F32),
        ("PfromX", 4, Field::F32),
    ],
};

/// 0x0030, JB `ParseDevice_0x0030._defn` (86 bytes).
const BATTERY: &Table = &Table {
    name: "batteries_0x0030",
    fields: &[
        ("dateTime", 4, Field::DateTime),
        ("batteryId", 12, Field::Str),
        ("Vdc", 4, Field::F32),
        ("Idc", 4, Field::F32),
        ("BattCapacityNom", 4, Field::F32),
        ("BattCapacityActual", 4, Field::F32),
        ("BattCharge", 4, Field::F32),
        ("TotalEnergyIn", 4, Field::U32),
        ("AlwaysZero_40_float", 4, Field::F32),
        ("TotalEnergyOut", 4, Field::U32),
        ("AlwaysZero_48_float", 4, Field::F32),
        ("HexConst_52", 4, Field::Hex),
        ("HexConst_56", 4, Field::Hex),
        ("Temp", 4, Field::F32),
        ("BattChargingStatus", 2, Field::U16),
        ("AlwaysZero_66_float", 4, Field::F32),
        ("AlwaysZero_70_float", 4, Field::F32),
        ("Interval", 4, Field::U32),
        ("EIn", 4, Field::U32),
        ("EOut", 4, Field::U32),
    ],
};

/// The "no value" float, −FLT_MAX little-endian (solaredge.md §4).
const SENTINEL: &[u8] = &[0xff, 0xff, 0x7f, 0xff];

// ---------------------------------------------------------------------------------------
// Values and Python's json.dumps
// ---------------------------------------------------------------------------------------

type Obj = BTreeMap<String, Val>;

enum Val {
    Int(i64),
    Float(f64),
    Str(String),
    Obj(Obj),
}

/// `{k0: {k1: ... leaf}}`.
fn wrap(keys: &[&str], leaf: Obj) -> Obj {
    let mut v = leaf;
    for k in keys.iter().rev() {
        let mut o = Obj::new();
        o.insert((*k).to_string(), Val::Obj(v));
        v = o;
    }
    v
}

/// JB `merge_update`: new keys are added, nested dicts merged, other values replaced.
fn merge_update(dst: &mut Obj, src: Obj) {
    for (k, v) in src {
        match (dst.get_mut(&k), v) {
            (Some(Val::Obj(d)), Val::Obj(s)) => merge_update(d, s),
            (_, v) => {
                dst.insert(k, v);
            }
        }
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

/// JB `parseId`: clear bit 0x00800000, upper-case hex without leading zeros.
fn parse_id(id: u32) -> String {
    format!("{:X}", id & 0xff7f_ffff)
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

fn rd_u16(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

fn rd_u32(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

fn rd_f32(b: &[u8], off: usize) -> Option<f64> {
    Some(f64::from(f32::from_le_bytes(
        b.get(off..off + 4)?.try_into().ok()?,
    )))
}

fn write_obj(out: &mut String, o: &Obj) {
    out.push('{');
    for (i, (k, v)) in o.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        py_json_str(out, k);
        out.push_str(": ");
        match v {
            Val::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Val::Float(x) if x.is_finite() => out.push_str(&py_float(*x)),
            // Python writes NaN / Infinity / -Infinity (not JSON): deliberate deviation.
            Val::Float(_) => out.push_str("null"),
            Val::Str(s) => py_json_str(out, s),
            Val::Obj(o) => write_obj(out, o),
        }
    }
    out.push('}');
}

/// A JSON string as Python's `json.dumps` (`ensure_ascii=True`) writes it: `\"`, `\\`, `\b`,
/// `\f`, `\n`, `\r`, `\t`, every other character outside `' '..='~'` as `\uxxxx` (lower-case,
/// UTF-16 surrogate pairs above U+FFFF).
pub fn py_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{u:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// Python's `repr(float)`: the shortest digits that round-trip, in fixed notation when
/// `1e-4 <= |x| < 1e16` (with `.0` for integral values), else `d.ddde±XX` (at least two
/// exponent digits): `0.0`, `-0.0`, `0.0001`, `1e-05`, `1e+16`, `7.8187500000000005`,
/// `1.229782974897691e+19`; `nan`, `inf`, `-inf` for the non-finite values.
pub fn py_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    // The number of shortest round-trip digits from Rust's `{:e}` ("1.2345e19", "0e0"). Where
    // two candidates of that length are equally near (an f32 widened to f64 is often exactly
    // halfway, 681.09088134765625), Python takes the even one and Rust's shortest mode the
    // upper one, so the digits come from the correctly rounded (half-to-even) exact mode,
    // kept only if it round-trips (it always does except at some powers of two).
    let a = x.abs();
    let shortest = format!("{a:e}");
    let n = shortest
        .split('e')
        .next()
        .map_or(1, |m| m.bytes().filter(u8::is_ascii_digit).count());
    let exact = format!("{:.*e}", n.saturating_sub(1), a);
    let e = if exact.parse::<f64>().ok() == Some(a) {
        exact
    } else {
        shortest
    };
    let (mant, exp) = e.split_once('e').unwrap_or((e.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    // Python's decpt: x = 0.d1d2… × 10^decpt.
    let decpt = exp + 1;
    let mut s = String::with_capacity(digits.len() + 8);
    if x.is_sign_negative() {
        s.push('-');
    }
    if (-3..=16).contains(&decpt) {
        let n = digits.len() as i32;
        if decpt <= 0 {
            s.push_str("0.");
            for _ in 0..-decpt {
                s.push('0');
            }
            s.push_str(&digits);
        } else if decpt >= n {
            s.push_str(&digits);
            for _ in 0..decpt - n {
                s.push('0');
            }
            s.push_str(".0");
        } else {
            let (a, b) = digits.split_at(decpt as usize);
            s.push_str(a);
            s.push('.');
            s.push_str(b);
        }
    } else {
        s.push_str(&digits[..1]);
        if digits.len() > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        let _ = write!(s, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    s
}

// ---------------------------------------------------------------------------------------
// Broken-down time (C `struct tm`, proleptic Gregorian)
// ---------------------------------------------------------------------------------------

struct Tm {
    year: i64,
    mon: u32,
    mday: u32,
    hour: u32,
    min: u32,
    sec: u32,
    /// 0 = Sunday.
    wday: u32,
}

impl Tm {
    /// Civil date and time of a count of seconds since 1970-01-01 (days-from-civil inverse).
    fn from_unix(t: i64) -> Tm {
        let days = t.div_euclid(86_400);
        let secs = t.rem_euclid(86_400) as u32;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let mday = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let mon = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(mon <= 2);
        Tm {
            year,
            mon,
            mday,
            hour: secs / 3600,
            min: secs / 60 % 60,
            sec: secs % 60,
            wday: (days + 4).rem_euclid(7) as u32,
        }
    }

    /// `%Y-%m-%d`.
    fn date(&self) -> String {
        format!("{}-{:02}-{:02}", self.year, self.mon, self.mday)
    }

    /// `%H:%M:%S`.
    fn time(&self) -> String {
        format!("{:02}:{:02}:{:02}", self.hour, self.min, self.sec)
    }

    /// Python `time.asctime`: `"%s %s%3d %.2d:%.2d:%.2d %d"`.
    fn asctime(&self) -> String {
        const WDAY: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
        const MON: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        format!(
            "{} {}{:3} {:02}:{:02}:{:02} {}",
            WDAY[self.wday as usize % 7],
            MON[(self.mon as usize + 11) % 12],
            self.mday,
            self.hour,
            self.min,
            self.sec,
            self.year
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn py_float_matches_python_repr() {
        // Expected strings: CPython 3 `repr(float)` (documented behaviour of float_repr_style
        // 'short'); the f32 cases are values printed by semonitor (fixtures, issues #14/#178).
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (-1.5, "-1.5"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (9999999999999998.0, "9999999999999998.0"),
            (1e15, "1000000000000000.0"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (0.00012345, "0.00012345"),
            (1.5e-7, "1.5e-07"),
            (1e22, "1e+22"),
            (1e100, "1e+100"),
            (-1e-300, "-1e-300"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (0.00625 * 1251.0, "7.8187500000000005"),
            (0.00625 * 1118.0, "6.987500000000001"),
            (0.00625 * 1209.0, "7.55625"),
            (f64::from(f32::MIN), "-3.4028234663852886e+38"),
            (f64::from(f32::from_bits(0x41d7_d082)), "26.976810455322266"),
            (f64::from(f32::from_bits(0x45af_d829)), "5627.02001953125"),
            (
                f64::from(f32::from_bits(0x5f2a_aaab)),
                "1.229782974897691e+19",
            ),
            (f64::from(f32::from_bits(0x4247_9ffe)), "49.90624237060547"),
            (f64::from(f32::from_bits(0x44b4_c03d)), "1446.0074462890625"),
            (6000.0, "6000.0"),
            // 681.09088134765625 exactly: halfway between two 16-digit candidates, Python rounds
            // half to even.
            (f64::from(f32::from_bits(0x442a_45d1)), "681.0908813476562"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for &(x, want) in cases {
            assert_eq!(py_float(x), want, "{x:?}");
        }
    }

    #[test]
    fn py_float_round_trips() {
        // Every output parses back to the same f64 (a property, not an oracle).
        let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let x = f64::from_bits(s);
            if !x.is_finite() {
                continue;
            }
            let t = py_float(x);
            assert_eq!(t.parse::<f64>().unwrap().to_bits(), x.to_bits(), "{t}");
            let f = f64::from(f32::from_bits(s as u32));
            if f.is_finite() {
                assert_eq!(py_float(f).parse::<f64>().unwrap().to_bits(), f.to_bits());
            }
        }
    }

    #[test]
    fn json_strings_like_ensure_ascii() {
        let mut s = String::new();
        py_json_str(&mut s, "a\"b\\c\n\t\u{8}\u{c}\r\u{0}\u{1f}\u{7f}é€😀~ ");
        assert_eq!(
            s,
            r#""a\"b\\c\n\t\b\f\r\u0000\u001f\u007f\u00e9\u20ac\ud83d\ude00~ ""#
        );
    }

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
        assert_eq!(parse_id(0x7f99_0ff7), "7F190FF7");
        assert_eq!(parse_id(0x0000_0abc), "ABC");
        // Bit 0x00400000 is not cleared (JB issue #8).
        assert_eq!(parse_id(0x7f40_4a16), "7F404A16");
        assert_eq!(unknown_name(0x43), "Unknown_device_0x0043");
        assert_eq!(unknown_name(0xabcd), "Unknown_device_0xabcd");
    }

    #[test]
    fn civil_time_and_asctime() {
        // 2016-06-08 12:19:53Z was a Wednesday (calendar); 1970-01-01 a Thursday.
        let tm = Tm::from_unix(1_465_388_393);
        assert_eq!(
            (tm.date(), tm.time()),
            ("2016-06-08".into(), "12:19:53".into())
        );
        assert_eq!(tm.asctime(), "Wed Jun  8 12:19:53 2016");
        assert_eq!(Tm::from_unix(0).asctime(), "Thu Jan  1 00:00:00 1970");
        assert_eq!(Tm::from_unix(-1).asctime(), "Wed Dec 31 23:59:59 1969");
        assert_eq!(
            Tm::from_unix(i64::from(u32::MAX)).asctime(),
            "Sun Feb  7 06:28:15 2106"
        );
        assert_eq!(
            Tm::from_unix(i64::from(i32::MIN)).asctime(),
            "Fri Dec 13 20:45:52 1901"
        );
        assert_eq!(Tm::from_unix(951_782_400).date(), "2000-02-29");
        for t in [-5_000_000_000i64, -1, 0, 951_782_400, 4_294_967_295] {
            let tm = Tm::from_unix(t);
            assert_eq!(
                days_from_civil(tm.year, tm.mon, tm.mday),
                t.div_euclid(86_400)
            );
        }
    }

    #[test]
    fn time_zones() {
        let cet = Semonitor::with_tz("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        // 2016-07-19 08:45:00Z is 10:45 CEST; 2016-01-19 08:45:00Z is 09:45 CET.
        assert_eq!(cet.local(1_468_917_900).time(), "10:45:00");
        assert_eq!(cet.local(1_453_193_100).time(), "09:45:00");
        assert_eq!(
            Semonitor::with_tz("UTC0").unwrap().local(0).time(),
            "00:00:00"
        );
        assert_eq!(Semonitor::with_tz("").unwrap().local(0).time(), "00:00:00");
        assert!(Semonitor::with_tz("not a zone,,,").is_err());
    }
}
