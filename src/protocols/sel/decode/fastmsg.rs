//! `A546` Fast Message (sel.md §2.5): header, function codes, and the bodies the spec lays
//! out, including unsolicited Fast SER (FC 0x18) with absolute event times.

use super::{hexs, text};
use crate::util::bytes::{be_u16, be_u32};
use serde::Serialize;

/// Name of a Fast Message function code (sel.md §2.5 table); responses are the request | 0x80.
pub fn fc_name(fc: u8) -> String {
    let base = match fc & 0x7F {
        0x00 => "configuration block",
        0x01 => "enable unsolicited data",
        0x02 => "disable unsolicited data",
        0x05 => "ping",
        0x10 => "read",
        0x12 => "generic unsolicited data",
        0x16 => "SOE present state",
        0x18 => "unsolicited Fast SER",
        0x20 => "unsolicited write",
        0x21 => "unsolicited write request",
        0x30 => "device description",
        0x31 => "data format",
        0x33 => "bit labels",
        0x40 => "management",
        _ => return format!("unknown-0x{fc:02x}"),
    };
    if fc & 0x80 != 0 {
        match fc {
            0x81 | 0x82 | 0x85 | 0x98 => format!("{base} ack"),
            _ => format!("{base} response"),
        }
    } else if fc == 0x20 || fc == 0x12 || fc == 0x18 {
        base.to_string()
    } else {
        format!("{base} request")
    }
}

/// Response code of an ack (sel.md §2.5).
pub fn response_code_name(c: u8) -> String {
    match c {
        0 => "success".into(),
        1 => "function code not recognised".into(),
        2 => "function disabled".into(),
        3 => "bad address".into(),
        4 => "bad data".into(),
        5 => "no memory".into(),
        6 => "busy".into(),
        c => format!("unknown-0x{c:02x}"),
    }
}

/// One Fast SER record (sel.md §2.5 "Unsolicited Fast SER").
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SerRecord {
    /// 0-based index into the SNS name list.
    pub index: u8,
    pub name: Option<String>,
    /// `asserted` or `deasserted`.
    pub state: &'static str,
    /// µs after the message's time of day.
    pub dt_us: u32,
    /// Relay local time, µs since 1970-01-01 (as if UTC).
    pub time_us: i64,
    /// The same as ISO 8601 with microseconds and no zone; written as `device_local_time`
    /// (record version 2, docs/FORMAT.md).
    #[serde(rename = "device_local_time")]
    pub time: String,
}

/// A configuration-block response (FC 0x80).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ConfigBlock {
    pub routing_support: u8,
    pub rx_status: u8,
    pub tx_status: u8,
    pub rx_max_frames: u8,
    pub tx_max_frames: u8,
    pub rx_function_codes: Vec<String>,
    pub tx_function_codes: Vec<String>,
}

/// A region of a device description (FC 0xB0).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Region {
    pub name: String,
    pub base: u32,
    pub n_words: u16,
    pub flags: u16,
}

/// An item of a data-format response (FC 0xB1).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Item {
    pub name: String,
    pub quantity: u16,
    pub data_type: String,
}

/// The decoded body of a Fast Message, by function code.
#[derive(Clone, Debug, Serialize, PartialEq, Default)]
pub struct FmsgBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_block: Option<ConfigBlock>,
    /// FC 01/02: the function code enabled or disabled (`0x18` SER, `0x20` synchrophasor).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_fc: Option<String>,
    /// FC 01 for SER: maximum records per message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_records: Option<u8>,
    /// FC 01 for synchrophasors: the last two bytes (period or rate, model-dependent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<u16>,
    /// FC 10/90/16: base (or origin) address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_words: Option<u16>,
    /// FC 90, 12, 20: the 16-bit words carried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub words: Option<Vec<u16>>,
    /// FC 20 (SEL synchrophasor, GSF layout): PM addresses, sample number (× 50 ms), time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pm_address: Option<[u16; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_no: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soc: Option<u32>,
    /// FC 18: time of the message (relay local), records, and "SER records lost".
    /// Written as `device_local_time` (record version 2, docs/FORMAT.md).
    #[serde(rename = "device_local_time", skip_serializing_if = "Option::is_none")]
    pub ser_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ser: Option<Vec<SerRecord>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ser_records_lost: Option<bool>,
    /// FC B0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regions: Option<Vec<Region>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_controls: Option<u16>,
    /// FC B1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<Item>>,
    /// FC 33/B3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// FC 96: state blocks, raw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soe_hex: Option<String>,
}

/// A Fast Message (sel.md §2.5).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FastMsg {
    pub routing: String,
    pub status: u8,
    pub ack_requested: bool,
    /// Status 0x03: settings changed (re-read SNS).
    pub settings_changed: bool,
    pub fc: u8,
    pub fc_name: String,
    pub response: bool,
    /// Frame sequence (not for acks 0x81/0x82/0x98).
    pub fir: Option<bool>,
    pub fin: Option<bool>,
    pub seq_count: Option<u8>,
    /// Acks 0x81/0x82/0x98: response code and name.
    pub response_code: Option<u8>,
    pub response_code_name: Option<String>,
    pub response_number: u8,
    #[serde(flatten)]
    pub body: FmsgBody,
    /// The body after the 12-byte header, before the CRC.
    pub data_hex: String,
}

fn fc_hex(fc: u8) -> String {
    format!("0x{fc:02x}")
}

/// Days from 1970-01-01 to the civil date (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// µs since 1970 as ISO 8601 with microseconds.
pub fn iso_us(us: i64) -> String {
    let days = us.div_euclid(86_400_000_000);
    let rem = us.rem_euclid(86_400_000_000);
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (h, mi, s, frac) = (
        rem / 3_600_000_000,
        rem / 60_000_000 % 60,
        rem / 1_000_000 % 60,
        rem % 1_000_000,
    );
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{frac:06}")
}

fn words(b: &[u8]) -> Vec<u16> {
    b.chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect()
}

/// Decodes a Fast Message `m` (the whole message, CRC included) with the SNS names for
/// Fast SER.
pub fn decode(m: &[u8], sns: &[String], anomalies: &mut Vec<String>) -> Option<FastMsg> {
    let h = m.get(..12)?;
    let end = m.len().saturating_sub(2).max(12);
    let d = m.get(12..end).unwrap_or(&[]);
    let (status, fc, seq, rn) = (h[8], h[9], h[10], h[11]);
    let is_ack = matches!(fc, 0x81 | 0x82 | 0x98);
    let mut b = FmsgBody::default();
    match fc {
        0x80 if d.len() >= 12 => {
            let nrx = usize::from(d[11]);
            let rx = d.get(12..12 + 2 * nrx);
            let ntx_at = 12 + 2 * nrx;
            let ntx = d.get(ntx_at).map(|n| usize::from(*n)).unwrap_or(0);
            let tx = d.get(ntx_at + 1..ntx_at + 1 + 2 * ntx);
            let list = |x: Option<&[u8]>| {
                x.map(|x| words(x).iter().map(|w| format!("0x{w:04x}")).collect())
                    .unwrap_or_default()
            };
            b.config_block = Some(ConfigBlock {
                routing_support: d[0],
                rx_status: d[1],
                tx_status: d[2],
                rx_max_frames: d[3],
                tx_max_frames: d[4],
                rx_function_codes: list(rx),
                tx_function_codes: list(tx),
            });
        }
        0x01 => {
            if let Some(x) = d.get(..4) {
                b.target_fc = Some(fc_hex(x[0]));
                if x[0] == 0x18 {
                    b.max_records = Some(x[3]);
                } else {
                    b.rate = Some(u16::from_be_bytes([x[2], x[3]]));
                }
            }
        }
        0x02 => b.target_fc = d.first().map(|x| fc_hex(*x)),
        0x10 | 0x90 => {
            b.address = be_u32(d, 0);
            b.n_words = be_u16(d, 4);
            if fc == 0x90 {
                b.words = Some(words(d.get(6..).unwrap_or(&[])));
            }
        }
        0x12 => b.words = Some(words(d)),
        0x16 => b.address = be_u32(d, 0),
        0x96 => b.soe_hex = Some(hexs(d)),
        0x18 => ser(d, sns, &mut b, anomalies),
        0x20 => {
            if let (Some(a1), Some(a2)) = (be_u16(d, 0), be_u16(d, 2)) {
                b.pm_address = Some([a1, a2]);
                b.n_words = be_u16(d, 4);
                let regs = d.get(6..).unwrap_or(&[]);
                b.words = Some(words(regs));
                b.sample_no = be_u16(regs, 0);
                b.soc = be_u32(regs, 2);
            }
        }
        0xB0 if d.len() >= 94 => {
            b.fid = Some(text(&d[..50]));
            b.rid = Some(text(&d[50..90]));
            let n = be_u16(d, 90).unwrap_or(0);
            b.n_controls = be_u16(d, 92);
            let mut rs = Vec::new();
            for r in d[94..].chunks_exact(18).take(usize::from(n)) {
                rs.push(Region {
                    name: text(&r[..10]),
                    base: be_u32(r, 10).unwrap_or(0),
                    n_words: be_u16(r, 14).unwrap_or(0),
                    flags: be_u16(r, 16).unwrap_or(0),
                });
            }
            b.regions = Some(rs);
        }
        0x31 => b.address = be_u32(d, 0),
        0xB1 => {
            b.address = be_u32(d, 0);
            let n = be_u16(d, 4).unwrap_or(0);
            let items = d.get(6..).unwrap_or(&[]).chunks_exact(14);
            b.items = Some(
                items
                    .take(usize::from(n))
                    .map(|r| Item {
                        name: text(&r[..10]),
                        quantity: be_u16(r, 10).unwrap_or(0),
                        data_type: data_type(be_u16(r, 12).unwrap_or(0)),
                    })
                    .collect(),
            );
        }
        0x33 | 0xB3 if !d.is_empty() => {
            b.labels = Some(
                d.split(|c| *c == 0)
                    .filter(|l| !l.is_empty())
                    .take(8)
                    .map(|l| String::from_utf8_lossy(l).into_owned())
                    .collect(),
            );
        }
        _ => {}
    }
    Some(FastMsg {
        routing: hexs(&h[3..8]),
        status,
        ack_requested: status & 1 != 0,
        settings_changed: status == 0x03,
        fc,
        fc_name: fc_name(fc),
        response: fc & 0x80 != 0,
        fir: (!is_ack).then_some(seq & 0x80 != 0),
        fin: (!is_ack).then_some(seq & 0x40 != 0),
        seq_count: (!is_ack).then_some(seq & 0x3F),
        response_code: is_ack.then_some(seq),
        response_code_name: is_ack.then(|| response_code_name(seq)),
        response_number: rn,
        body: b,
        data_hex: hexs(d),
    })
}

fn data_type(t: u16) -> String {
    match t {
        0x11 => "char8".into(),
        0x12 => "char16".into(),
        0x21 | 0x22 => "binary8".into(),
        0x23 | 0x24 => "binary16".into(),
        0x31 => "int16".into(),
        0x32 => "uint16".into(),
        0x33 => "int32".into(),
        0x34 => "uint32".into(),
        0x41 => "float32".into(),
        t => format!("unknown-0x{t:04x}"),
    }
}

/// Unsolicited Fast SER body (sel.md §2.5): `orig[4] DOY YEAR TOD_ms`, n × `idx dt_us[3]`,
/// `FF FF FF FE`, `status u32`.
fn ser(d: &[u8], sns: &[String], b: &mut FmsgBody, anomalies: &mut Vec<String>) {
    let (Some(doy), Some(year), Some(tod)) = (be_u16(d, 4), be_u16(d, 6), be_u32(d, 8)) else {
        anomalies.push("Fast SER body shorter than its 12-byte time header".into());
        return;
    };
    // Records up to the FFFFFFFE terminator (len = 34 + 4n).
    let recs = d.get(12..).unwrap_or(&[]);
    let mut n = 0;
    while let Some(c) = recs.get(4 * n..4 * n + 4) {
        if c == [0xFF, 0xFF, 0xFF, 0xFE] {
            break;
        }
        n += 1;
    }
    let Some(st) = be_u32(recs, 4 * n + 4) else {
        anomalies.push("Fast SER: no FFFFFFFE terminator and status word".into());
        return;
    };
    if !(1..=366).contains(&doy) || tod >= 86_400_000 {
        anomalies.push(format!("Fast SER time DOY {doy} TOD {tod} ms is not valid"));
        return;
    }
    let base_us = (days_from_civil(i64::from(year), 1, 1) + i64::from(doy) - 1) * 86_400_000_000
        + i64::from(tod) * 1000;
    b.ser_time = Some(iso_us(base_us));
    b.ser_records_lost = Some(n == 0);
    if n > 32 {
        anomalies.push(format!("Fast SER: {n} records, more than 32"));
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let c = &recs[4 * i..4 * i + 4];
        let dt = u32::from_be_bytes([0, c[1], c[2], c[3]]);
        let us = base_us + i64::from(dt);
        let name = match c[0] {
            i if usize::from(i) < sns.len() => Some(sns[usize::from(i)].clone()),
            254 => Some("POWER_UP".into()),
            255 => Some("SET_CHNG".into()),
            _ => None,
        };
        let asserted = i < 32 && st & (1 << i) != 0;
        out.push(SerRecord {
            index: c[0],
            name,
            state: if asserted { "asserted" } else { "deasserted" },
            dt_us: dt,
            time_us: us,
            time: iso_us(us),
        });
    }
    b.ser = Some(out);
}
