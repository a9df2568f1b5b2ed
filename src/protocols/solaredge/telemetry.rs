//! 0x0500 telemetry (solaredge.md §4): the device records of a payload, walked by [`records`]
//! and decoded by [`decode_record`] / [`parse_devices`] into [`Device`]s.

use super::codes::{
    battery_status_name, device_id, device_type_name, hex32, meter_type_name, mode_name,
};
use super::value::{f32_value, Fields, Value};
use crate::util::{bytes, hex};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::fmt::Write as _;

/// Device record header in a 0x0500 payload: devType u16, devId u32, devLen u16 (§4).
pub const RECORD_HEADER: usize = 8;

/// How a body field is read.
#[derive(Clone, Copy)]
enum K {
    U32,
    I32,
    U16,
    I8,
    F32,
    /// u32 mode, followed by `mode_name`.
    Mode,
    /// i8 meter record type, followed by `rec_type_name`.
    MeterType,
    /// u16 battery status, followed by `status_name`.
    BatteryStatus,
    /// n bytes as hex.
    Hex(usize),
    /// n bytes of NUL-padded ASCII.
    Ascii(usize),
    /// u32 device id (masked, [`device_id`]), followed by the raw id under the given name.
    Id(&'static str),
    /// u32 shown as 8 hex digits (an id-like value, unmasked).
    Hex32,
}

impl K {
    fn size(self) -> usize {
        match self {
            K::U32 | K::I32 | K::F32 | K::Mode | K::Id(_) | K::Hex32 => 4,
            K::U16 | K::BatteryStatus => 2,
            K::I8 | K::MeterType => 1,
            K::Hex(n) | K::Ascii(n) => n,
        }
    }
}

type Layout = &'static [(usize, K, &'static str)];

/// 0x0010 single-phase inverter (solaredge.md §4 table; WG `telemetry.py`, SL
/// `SEDataInverter1`, JB `dataparams.py`). Offset 72 is JB's `Pmax` and WG/SL's isolation
/// (ground-fault) resistance: both names are emitted.
const INVERTER_1PH: Layout = &[
    (4, K::U32, "uptime"),
    (8, K::U32, "interval"),
    (12, K::F32, "temp"),
    (16, K::F32, "e_day"),
    (20, K::F32, "e_interval"),
    (24, K::F32, "v_ac"),
    (28, K::F32, "i_ac"),
    (32, K::F32, "freq"),
    (36, K::F32, "e_day_dc"),
    (40, K::F32, "e_interval_dc"),
    (44, K::F32, "v_dc"),
    (48, K::F32, "i_dc"),
    (52, K::F32, "e_total"),
    (56, K::F32, "i_rcd"),
    (60, K::F32, "unk_60"),
    (64, K::F32, "cos_phi"),
    (68, K::Mode, "mode"),
    (72, K::F32, "pmax_semonitor"),
    (72, K::F32, "isolation_resistance"),
    (76, K::F32, "power_limit"),
    (80, K::F32, "i_out_dc"),
    (84, K::F32, "unk_84"),
    (88, K::F32, "unk_88"),
    (92, K::F32, "p_ac"),
    (96, K::F32, "p_apparent"),
    (100, K::F32, "p_reactive"),
    (104, K::F32, "unk_104"),
    (108, K::F32, "unk_108"),
    (112, K::F32, "unk_112"),
    (116, K::U32, "e_total_int"),
    (120, K::U32, "unk_120"),
];
/// Body lengths seen for 0x0010 (JB #8: 104, JB #4: 124, SL: 124/174/180/186, WG: ≥104).
const INVERTER_1PH_LENS: &[u16] = &[104, 120, 124, 174, 180, 186];

/// 0x0011 three-phase inverter, se-logger's `SEDataInverter3` 200-byte layout (which fits the
/// real JB #11 record); JB/DT's 128-byte `inv3PhInFmt` agrees on the names up to offset 124
/// except where noted in docs/SOLAREDGE.md. Offset 112 is JB's `GndFrR` (sic): both names.
const INVERTER_3PH: Layout = &[
    (4, K::U32, "uptime"),
    (8, K::U32, "interval"),
    (12, K::F32, "temp"),
    (16, K::F32, "e_day"),
    (20, K::F32, "e_interval"),
    (24, K::F32, "v_ac1"),
    (28, K::F32, "v_ac2"),
    (32, K::F32, "v_ac3"),
    (36, K::F32, "i_ac1"),
    (40, K::F32, "i_ac2"),
    (44, K::F32, "i_ac3"),
    (48, K::F32, "freq1"),
    (52, K::F32, "freq2"),
    (56, K::F32, "freq3"),
    (60, K::F32, "e_day_dc"),
    (64, K::F32, "e_interval_dc"),
    (68, K::F32, "v_dc"),
    (72, K::F32, "i_dc"),
    (76, K::F32, "e_total"),
    (80, K::F32, "i_rcd"),
    (84, K::F32, "unk_84"),
    (88, K::F32, "unk_88"),
    (92, K::F32, "unk_92"),
    (96, K::F32, "cos_phi1"),
    (100, K::F32, "cos_phi2"),
    (104, K::F32, "cos_phi3"),
    (108, K::Mode, "mode"),
    (112, K::F32, "gndfrr_semonitor"),
    (112, K::F32, "isolation_resistance"),
    (116, K::F32, "power_limit"),
    (120, K::F32, "i_out_dc1"),
    (124, K::F32, "i_out_dc2"),
    (128, K::F32, "i_out_dc3"),
    (132, K::F32, "v_l1_l2"),
    (136, K::F32, "v_l2_l3"),
    (140, K::F32, "v_l3_l1"),
    (144, K::F32, "p_ac1"),
    (148, K::F32, "p_ac2"),
    (152, K::F32, "p_ac3"),
    (156, K::F32, "p_apparent1"),
    (160, K::F32, "p_apparent2"),
    (164, K::F32, "p_apparent3"),
    (168, K::F32, "p_reactive1"),
    (172, K::F32, "p_reactive2"),
    (176, K::F32, "p_reactive3"),
    (180, K::F32, "unk_180"),
    (184, K::F32, "unk_184"),
    (188, K::F32, "unk_188"),
    (192, K::U32, "e_total_int"),
    (196, K::U32, "unk_196"),
];
/// Body lengths seen for 0x0011 (SL: 200/264/266, JB #11: 258).
const INVERTER_3PH_LENS: &[u16] = &[200, 258, 264, 266];

/// 0x0000 optimizer, old format, 36 bytes (JB `optInFmt` "<LLLLfffff").
const OPTIMIZER_OLD: Layout = &[
    (4, K::Id("inverter_raw"), "inverter"),
    (8, K::Hex32, "unk_8"),
    (12, K::U32, "uptime"),
    (16, K::F32, "v_mod"),
    (20, K::F32, "v_opt"),
    (24, K::F32, "i_mod"),
    (28, K::F32, "e_day"),
    (32, K::F32, "temp"),
];

/// 0x0300 event, 28 bytes (JB `eventInFmt` "<LLLlLLL"); interpretation added after.
const EVENT: Layout = &[
    (4, K::U32, "event_type"),
    (8, K::U32, "event1"),
    (12, K::I32, "event2"),
    (16, K::U32, "event3"),
    (20, K::U32, "event4"),
    (24, K::U32, "event5"),
];

/// 0x0022 meter, 58 bytes (JB `datadevices.py` `ParseDevice_0x0022`). Each lifetime total is
/// followed by 4 bytes (JB: u16 always 0, then a flag, `00 80` = not reported) kept as hex.
const METER: Layout = &[
    (4, K::MeterType, "rec_type"),
    (5, K::I8, "only_interval_data"),
    (6, K::U32, "total_e_to_grid"),
    (10, K::Hex(4), "total_e_to_grid_flag"),
    (14, K::U32, "total_e_from_grid"),
    (18, K::Hex(4), "total_e_from_grid_flag"),
    (22, K::U32, "total_22"),
    (26, K::Hex(4), "total_22_flag"),
    (30, K::U32, "total_30"),
    (34, K::Hex(4), "total_30_flag"),
    (38, K::U32, "interval"),
    (42, K::U32, "e_to_x"),
    (46, K::U32, "e_from_x"),
    (50, K::F32, "p_to_x"),
    (54, K::F32, "p_from_x"),
];

/// 0x0030 battery, 86 bytes (JB `datadevices.py` `ParseDevice_0x0030`).
const BATTERY: Layout = &[
    (4, K::Ascii(12), "battery_id"),
    (16, K::F32, "v_dc"),
    (20, K::F32, "i_dc"),
    (24, K::F32, "capacity_nom"),
    (28, K::F32, "capacity_actual"),
    (32, K::F32, "charge"),
    (36, K::U32, "total_e_in"),
    (40, K::F32, "unk_40"),
    (44, K::U32, "total_e_out"),
    (48, K::F32, "unk_48"),
    (52, K::Hex(4), "unk_52"),
    (56, K::Hex(4), "unk_56"),
    (60, K::F32, "temp"),
    (64, K::BatteryStatus, "status"),
    (66, K::F32, "unk_66"),
    (70, K::F32, "unk_70"),
    (74, K::U32, "interval"),
    (78, K::U32, "e_in"),
    (82, K::U32, "e_out"),
];

/// 0x0043 daily optimizer list (WG): header words after the timestamp.
const OPTIMIZER_DAILY: Layout = &[
    (4, K::U16, "unk_4"),
    (6, K::U16, "unk_6"),
    (8, K::U16, "unk_8"),
    (10, K::U16, "unk_10"),
];

/// Reads fields of one record body, remembering how far it got.
struct Rd<'a> {
    b: &'a [u8],
    out: Fields,
    /// End of the furthest field decoded (bytes after it are kept raw).
    end: usize,
}

impl<'a> Rd<'a> {
    fn new(b: &'a [u8]) -> Self {
        Rd {
            b,
            out: Fields::default(),
            end: 0,
        }
    }

    /// `n` bytes at `off` (a variable-length field).
    fn get(&mut self, off: usize, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(off..off.checked_add(n)?)?;
        self.end = self.end.max(off + n);
        Some(s)
    }

    fn arr<const N: usize>(&mut self, off: usize) -> Option<[u8; N]> {
        let a = bytes::at::<N>(self.b, off)?;
        self.end = self.end.max(off + N);
        Some(a)
    }

    fn u32(&mut self, off: usize) -> Option<u32> {
        self.arr(off).map(u32::from_le_bytes)
    }

    fn u16(&mut self, off: usize) -> Option<u16> {
        self.arr(off).map(u16::from_le_bytes)
    }

    /// Reads every field of `layout` that lies wholly inside the body.
    fn layout(&mut self, layout: Layout) {
        for &(off, kind, name) in layout {
            if self.b.len() < off + kind.size() {
                continue;
            }
            let mut o = Fields::default();
            match kind {
                K::U32 => o.uint(name, self.u32(off).unwrap_or(0)),
                K::I32 => o.int(name, self.arr(off).map_or(0, i32::from_le_bytes)),
                K::U16 => o.uint(name, self.u16(off).unwrap_or(0)),
                K::I8 => o.int(name, self.arr(off).map_or(0, i8::from_le_bytes)),
                K::F32 => o.float(name, self.arr(off).and_then(f32_value)),
                K::Mode => {
                    let m = self.u32(off).unwrap_or(0);
                    o.uint(name, m);
                    o.str("mode_name", mode_name(m));
                }
                K::MeterType => {
                    let t = self.arr(off).map_or(0, i8::from_le_bytes);
                    o.int(name, t);
                    o.str("rec_type_name", meter_type_name(t));
                }
                K::BatteryStatus => {
                    let s = self.u16(off).unwrap_or(0);
                    o.uint(name, s);
                    o.str("status_name", battery_status_name(s));
                }
                K::Hex(n) => o.str(name, hex::encode(self.get(off, n).unwrap_or_default())),
                K::Ascii(n) => o.str(name, ascii(self.get(off, n).unwrap_or_default())),
                K::Id(raw_name) => {
                    let id = self.u32(off).unwrap_or(0);
                    o.str(name, device_id(id));
                    o.str(raw_name, hex32(id));
                }
                K::Hex32 => o.str(name, hex32(self.u32(off).unwrap_or(0))),
            }
            self.out.0.append(&mut o.0);
        }
    }
}

/// NUL-padded text: up to the first NUL; bytes outside printable ASCII as `\xNN`.
fn ascii(b: &[u8]) -> String {
    let b = b.split(|&c| c == 0).next().unwrap_or_default();
    let mut s = String::with_capacity(b.len());
    for &c in b {
        if (0x20..0x7f).contains(&c) && c != b'\\' {
            s.push(char::from(c));
        } else {
            let _ = write!(s, "\\x{c:02x}");
        }
    }
    s
}

/// One device record of a 0x0500 payload (solaredge.md §4): the header, the body bytes
/// present, and what was decoded from them. Serialised as one JSON object: `type` ("0x0010"),
/// `type_name`, `id`, `id_raw`, `len` (declared), `ts`, `time`, the named values, `raw` (hex
/// of undecoded trailing body bytes) and `anomaly`.
#[derive(Clone, Debug, PartialEq)]
pub struct Device {
    pub dev_type: u16,
    pub id_raw: u32,
    /// devLen as declared in the record header.
    pub len: u16,
    /// The body bytes present (shorter than `len` when the payload ends early).
    pub body: Vec<u8>,
    /// Body offset 0 (unix seconds UTC), when the body has 4 bytes.
    pub ts: Option<u32>,
    pub values: Fields,
    /// Body bytes after the last decoded field.
    pub raw: Vec<u8>,
    pub anomaly: Option<String>,
}

impl Device {
    pub fn type_name(&self) -> &'static str {
        device_type_name(self.dev_type)
    }

    /// The id as semonitor prints it ([`device_id`]).
    pub fn id(&self) -> String {
        device_id(self.id_raw)
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// A value as f64 (`None` when absent or null).
    pub fn f64(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(Value::as_f64)
    }
}

impl Serialize for Device {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", &format!("0x{:04x}", self.dev_type))?;
        m.serialize_entry("type_name", self.type_name())?;
        m.serialize_entry("id", &self.id())?;
        m.serialize_entry("id_raw", &hex32(self.id_raw))?;
        m.serialize_entry("len", &self.len)?;
        if let Some(ts) = self.ts {
            // Record version 2: `device_time`, a number, never `ts` (the capture time).
            m.serialize_entry("device_time", &ts)?;
        }
        for (k, v) in &self.values.0 {
            m.serialize_entry(k, v)?;
        }
        if !self.raw.is_empty() {
            m.serialize_entry("raw", &hex::encode(&self.raw))?;
        }
        if let Some(a) = &self.anomaly {
            m.serialize_entry("anomaly", a)?;
        }
        m.end()
    }
}

/// Expected-length check: a note when `len` is none of `known`.
fn check_len(notes: &mut Vec<String>, dev_type: u16, len: u16, known: &[u16]) {
    if !known.contains(&len) {
        let list: Vec<String> = known.iter().map(u16::to_string).collect();
        notes.push(format!(
            "unexpected length {len} for {} (known: {}); decoded the fields that fit",
            device_type_name(dev_type),
            list.join(", ")
        ));
    }
}

/// 0x0080 packed optimizer fields (bytes 4..13; also the first 13 bytes of 0x0082):
/// uptime u16; LE word W at 6: Vmod = (W & 0x3ff)/8 V, Vopt = ((W >> 10) & 0x3ff)/8 V,
/// Imod = ((W >> 20) & 0xfff)/160 A; Eday u16/4 Wh; Temp i8·2 °C (solaredge.md §4, bit-exact
/// with JB `parseNewOptData`, WG and SL). Imod is n/160, the correctly rounded value of JB's
/// 0.00625·n.
fn packed_optimizer(rd: &mut Rd<'_>) {
    if let Some(up) = rd.u16(4) {
        rd.out.uint("uptime", up);
    }
    if let Some(w) = rd.u32(6) {
        rd.out.float("v_mod", Some(f64::from(w & 0x3ff) / 8.0));
        rd.out
            .float("v_opt", Some(f64::from((w >> 10) & 0x3ff) / 8.0));
        rd.out
            .float("i_mod", Some(f64::from((w >> 20) & 0xfff) / 160.0));
    }
    if let Some(e) = rd.u16(10) {
        rd.out.float("e_day", Some(f64::from(e) / 4.0));
    }
    if let Some([t]) = rd.arr::<1>(12) {
        rd.out
            .float("temp", Some(f64::from(i8::from_le_bytes([t])) * 2.0));
    }
}

/// Decodes one device record body (solaredge.md §4). `body` may be shorter than `len`.
pub fn decode_record(dev_type: u16, id_raw: u32, len: u16, body: &[u8]) -> Device {
    let mut rd = Rd::new(body);
    let mut notes = Vec::new();
    if body.len() < usize::from(len) {
        notes.push(format!(
            "record truncated: {len} bytes declared, {} present",
            body.len()
        ));
    }
    let ts = rd.u32(0);
    if ts.is_none() && !body.is_empty() {
        notes.push(format!("{} bytes, too short for a timestamp", body.len()));
    }
    match dev_type {
        0x0010 => {
            rd.layout(INVERTER_1PH);
            check_len(&mut notes, dev_type, len, INVERTER_1PH_LENS);
        }
        0x0011 => {
            rd.layout(INVERTER_3PH);
            check_len(&mut notes, dev_type, len, INVERTER_3PH_LENS);
        }
        0x0000 => {
            rd.layout(OPTIMIZER_OLD);
            check_len(&mut notes, dev_type, len, &[36]);
        }
        0x0080 => {
            packed_optimizer(&mut rd);
            check_len(&mut notes, dev_type, len, &[13]);
        }
        0x0082 => {
            packed_optimizer(&mut rd);
            if len < 13 {
                notes.push(format!("length {len} < 13 for optimizer_s440"));
            }
        }
        0x0300 => {
            rd.layout(EVENT);
            event_times(&mut rd.out);
            check_len(&mut notes, dev_type, len, &[28]);
        }
        0x0022 => {
            rd.layout(METER);
            check_len(&mut notes, dev_type, len, &[58]);
        }
        0x0030 => {
            rd.layout(BATTERY);
            check_len(&mut notes, dev_type, len, &[86]);
        }
        0x0043 => {
            rd.layout(OPTIMIZER_DAILY);
            optimizer_daily(&mut rd, &mut notes, len);
        }
        _ => {}
    }
    let raw = body.get(rd.end..).unwrap_or_default().to_vec();
    Device {
        dev_type,
        id_raw,
        len,
        body: body.to_vec(),
        ts,
        values: rd.out,
        raw,
        anomaly: (!notes.is_empty()).then(|| notes.join("; ")),
    }
}

/// Event meaning (JB `parseEventData`, solaredge.md §4): event1 = start; type 0: event2 = end;
/// other types: event2 = tz offset (s, signed), event3 = end.
fn event_times(out: &mut Fields) {
    let get = |n| out.get(n).and_then(Value::as_i64);
    let (Some(ty), Some(e1)) = (get("event_type"), get("event1")) else {
        return;
    };
    let (e2, e3) = (get("event2"), get("event3"));
    // Record version 2: device times are numbers (docs/FORMAT.md).
    out.uint("start_device_time", e1 as u32);
    if ty == 0 {
        if let Some(e2) = e2 {
            out.uint("end_device_time", e2 as u32);
        }
    } else {
        if let Some(e2) = e2 {
            out.int("tz_offset_s", e2);
        }
        if let Some(e3) = e3 {
            out.uint("end_device_time", e3 as u32);
        }
    }
}

/// 0x0043 entries after the 12-byte header: (u32 optimizer id, u8) pairs (WG guess,
/// solaredge.md §4).
fn optimizer_daily(rd: &mut Rd<'_>, notes: &mut Vec<String>, len: u16) {
    if len < 12 {
        notes.push(format!("length {len} < 12 for optimizer_daily"));
        return;
    }
    if rd.b.len() < 12 {
        return; // truncated inside the header (already noted)
    }
    let mut list = Vec::new();
    let mut off = 12;
    while let (Some(id), Some([v])) = (rd.u32(off), rd.arr::<1>(off + 4)) {
        let mut e = Fields::default();
        e.str("id", device_id(id));
        e.str("id_raw", hex32(id));
        e.uint("value", v);
        list.push(e);
        off += 5;
    }
    // A partial last entry is not decoded: it stays in `raw`.
    rd.end = off;
    if usize::from(len) > 12 && !(usize::from(len) - 12).is_multiple_of(5) {
        notes.push(format!(
            "length {len}: {} bytes after the header are not whole 5-byte entries",
            usize::from(len) - 12
        ));
    }
    rd.out.push("entries", Value::List(list));
}

/// One device record of a 0x0500 payload as sent: header fields and the body bytes present.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawRecord<'a> {
    /// Offset of the record header in the payload.
    pub offset: usize,
    pub dev_type: u16,
    pub id_raw: u32,
    /// devLen as declared in the header.
    pub len: u16,
    /// The body bytes present: `len` of them, fewer when the payload ends early.
    pub body: &'a [u8],
}

impl RawRecord<'_> {
    /// Whether the payload ends before the declared body does.
    pub fn is_truncated(&self) -> bool {
        self.body.len() < usize::from(self.len)
    }
}

/// The record walk of a 0x0500 payload (solaredge.md §4): `devType u16 | devId u32 | devLen
/// u16 | body`, little-endian, records back to back. It stops at the end of the payload, after
/// a record the payload cuts short, or before a rest too short for a header ([`Records::rest`]).
#[derive(Clone, Debug)]
pub struct Records<'a> {
    payload: &'a [u8],
    pos: usize,
}

/// The records of a 0x0500 payload.
pub fn records(payload: &[u8]) -> Records<'_> {
    Records { payload, pos: 0 }
}

impl<'a> Records<'a> {
    /// Offset of the first byte not walked.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes not walked: after the walk, a rest too short for a record header (or empty).
    pub fn rest(&self) -> &'a [u8] {
        self.payload.get(self.pos..).unwrap_or_default()
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = RawRecord<'a>;

    fn next(&mut self) -> Option<RawRecord<'a>> {
        let rest = self.rest();
        let (Some(dev_type), Some(id_raw), Some(len)) = (
            bytes::le_u16(rest, 0),
            bytes::le_u32(rest, 2),
            bytes::le_u16(rest, 6),
        ) else {
            return None;
        };
        let body = rest.get(RECORD_HEADER..).unwrap_or_default();
        let body = body.get(..usize::from(len)).unwrap_or(body);
        let offset = self.pos;
        self.pos += RECORD_HEADER + body.len();
        Some(RawRecord {
            offset,
            dev_type,
            id_raw,
            len,
            body,
        })
    }
}

/// Walks the device records of a 0x0500 payload ([`records`]) and decodes each. Returns the
/// records and, when the payload does not end exactly after the last record, why (a truncated
/// last record is still returned with the bytes present; fewer than 8 trailing bytes are
/// reported and not returned).
pub fn parse_devices(payload: &[u8]) -> (Vec<Device>, Option<String>) {
    let mut walk = records(payload);
    let mut out = Vec::new();
    let mut note = None;
    for r in walk.by_ref() {
        if r.is_truncated() {
            note = Some(format!(
                "record at offset {} (type 0x{:04x}) declares {} bytes, {} present",
                r.offset,
                r.dev_type,
                r.len,
                r.body.len()
            ));
        }
        out.push(decode_record(r.dev_type, r.id_raw, r.len, r.body));
    }
    if !walk.rest().is_empty() {
        note = Some(format!(
            "{} trailing bytes at offset {}, too short for a record header",
            walk.rest().len(),
            walk.pos()
        ));
    }
    (out, note)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::solaredge::value::NO_VALUE;

    #[test]
    fn packed_optimizer_bit_fields() {
        // W = 0xffffffff: every field at its maximum; temp byte 0x80 = −128·2 °C.
        let mut body = vec![
            0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80,
        ];
        let d = decode_record(0x0080, 1, 13, &body);
        assert_eq!(d.f64("v_mod"), Some(127.875));
        assert_eq!(d.f64("v_opt"), Some(127.875));
        assert_eq!(d.f64("i_mod"), Some(25.59375));
        assert_eq!(d.f64("e_day"), Some(16383.75));
        assert_eq!(d.f64("temp"), Some(-256.0));
        assert_eq!(d.get("uptime"), Some(&Value::UInt(65535)));
        // Each field alone: Vmod bit 0, Vopt bit 10, Imod bit 20.
        body[4..].copy_from_slice(&[0, 0, 0x01, 0x04, 0x10, 0x00, 0, 0, 0]);
        let d = decode_record(0x0080, 1, 13, &body);
        assert_eq!(
            [d.f64("v_mod"), d.f64("v_opt"), d.f64("i_mod")],
            [Some(0.125), Some(0.125), Some(0.00625)]
        );
    }

    #[test]
    fn sentinel_and_short_records() {
        assert_eq!(f32_value(NO_VALUE), None);
        assert_eq!(f32_value([0, 0, 0xc8, 0x42]), Some(100.0));
        // An unknown type: ts + raw.
        let d = decode_record(0x0017, 0x7f10_4920, 6, &[1, 0, 0, 0, 0xaa, 0xbb]);
        assert_eq!(
            (d.ts, d.raw.as_slice(), d.anomaly.as_deref()),
            (Some(1), &[0xaa, 0xbb][..], None)
        );
        // Too short for a timestamp.
        let d = decode_record(0x0010, 1, 3, &[1, 2, 3]);
        assert_eq!(d.ts, None);
        assert_eq!(d.raw, vec![1, 2, 3]);
        assert!(d.anomaly.is_some());
        // Event type 1: tz offset and end time; type 0: end time in event2.
        let mut ev = Vec::new();
        for w in [100u32, 1, 200, (-3600i32) as u32, 300, 0, 0] {
            ev.extend(w.to_le_bytes());
        }
        let d = decode_record(0x0300, 1, 28, &ev);
        assert_eq!(d.get("tz_offset_s"), Some(&Value::Int(-3600)));
        assert_eq!(d.get("end_device_time").and_then(Value::as_u64), Some(300));
        ev[4] = 0;
        let d = decode_record(0x0300, 1, 28, &ev);
        assert_eq!(d.get("tz_offset_s"), None);
        assert_eq!(
            d.get("end_device_time").and_then(Value::as_u64),
            Some(u64::from((-3600i32) as u32))
        );
        // Daily optimizer list: two entries and a partial third kept raw.
        let mut dl = vec![0u8; 12];
        dl.extend([0x0d, 0x10, 0x0f, 0x20, 7, 0xda, 0x74, 0xa3, 0x20, 9, 1, 2]);
        let d = decode_record(0x0043, 1, 24, &dl);
        let list = d.get("entries").and_then(Value::as_list).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].get("id").and_then(Value::as_str), Some("202374DA"));
        assert_eq!(d.raw, vec![1, 2]);
        assert!(d.anomaly.is_some());
        // Battery id text.
        assert_eq!(ascii(b"AB\\C\x01\0\0zz"), "AB\\x5cC\\x01");
    }
}
