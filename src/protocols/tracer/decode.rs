//! Pure MT-5 decoding (pi30_tracer.md §8): the 24-byte realtime block of a 0xA0 reply (14
//! named values, the reserved bytes kept, Golle's derived battery level and power flow), the
//! load state of a 0xAA manual-control frame; unknown commands raw.

use super::codes::{Cmd, REALTIME_LEN};
use super::frame::Frame;
use crate::util::hex;
use serde::Serialize;

/// One decoded MT-5 frame (docs/TRACER.md).
#[derive(Debug, Serialize)]
pub struct Message {
    pub proto: &'static str,
    /// Controller id (request) or reply address, written as `address` (record version 2:
    /// `id` is another protocol's object; docs/FORMAT.md). Absent when no frame was read.
    #[serde(rename = "address", skip_serializing_if = "Option::is_none")]
    pub id: Option<u8>,
    /// The command code as a number (`0xa0` is 160; record version 2, like C37.118's
    /// `cmd`). Absent when no frame was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmd: Option<u8>,
    /// `realtime`, `manual-control`, `unknown-0x41`.
    pub cmd_name: String,
    /// `request` or `reply` (from the content, or the connection's master direction).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    pub preamble: bool,
    /// The data bytes, hex.
    pub data: String,
    pub crc: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realtime: Option<Realtime>,
    /// 0xAA: the load switch requested (request) or resulting (reply).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_on: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anomaly: Option<&'static str>,
}

/// The realtime block (pi30_tracer.md §8 table), scaled; units in [`UNITS`].
#[derive(Debug, Serialize, PartialEq)]
pub struct Realtime {
    pub battery_voltage: f64,
    pub pv_voltage: f64,
    pub load_current: f64,
    pub over_discharge_voltage: f64,
    pub battery_full_voltage: f64,
    pub load_on: bool,
    pub overload: bool,
    pub load_short: bool,
    pub battery_overload: bool,
    pub over_discharge: bool,
    pub battery_full: bool,
    pub charging: bool,
    pub battery_temperature: i16,
    pub charge_current: f64,
    /// 100·(V − min)/(max − min), 2 decimals; absent when max = min.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub battery_level: Option<f64>,
    /// (charge current − load current)·battery voltage.
    pub power_flow: f64,
    pub reserved_4: u16,
    pub reserved_15: u8,
    pub reserved_23: u8,
    pub units: Units,
}

/// Units of the realtime values.
#[derive(Debug, Serialize, PartialEq)]
pub struct Units {
    pub battery_voltage: &'static str,
    pub pv_voltage: &'static str,
    pub load_current: &'static str,
    pub over_discharge_voltage: &'static str,
    pub battery_full_voltage: &'static str,
    pub battery_temperature: &'static str,
    pub charge_current: &'static str,
    pub battery_level: &'static str,
    pub power_flow: &'static str,
}

pub const UNITS: Units = Units {
    battery_voltage: "V",
    pv_voltage: "V",
    load_current: "A",
    over_discharge_voltage: "V",
    battery_full_voltage: "V",
    battery_temperature: "°C",
    charge_current: "A",
    battery_level: "%",
    power_flow: "W",
};

fn le(d: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([d[at], d[at + 1]])
}

/// The 24-byte block (little-endian, pi30_tracer.md §8); `None` when shorter.
pub fn realtime(d: &[u8]) -> Option<Realtime> {
    if d.len() < REALTIME_LEN {
        return None;
    }
    let (bat, pv, load, min, max, chg) =
        (le(d, 0), le(d, 2), le(d, 6), le(d, 8), le(d, 10), le(d, 21));
    let c = |x: u16| f64::from(x) / 100.0;
    let level = (max > min).then(|| {
        let l = 100.0 * (f64::from(bat) - f64::from(min)) / f64::from(max - min);
        (l * 100.0).round() / 100.0
    });
    // In units of 10⁻⁴ W: exact before the one division.
    let flow = (i64::from(chg) - i64::from(load)) * i64::from(bat);
    Some(Realtime {
        battery_voltage: c(bat),
        pv_voltage: c(pv),
        load_current: c(load),
        over_discharge_voltage: c(min),
        battery_full_voltage: c(max),
        load_on: d[12] != 0,
        overload: d[13] != 0,
        load_short: d[14] != 0,
        battery_overload: d[16] != 0,
        over_discharge: d[17] != 0,
        battery_full: d[18] != 0,
        charging: d[19] != 0,
        battery_temperature: i16::from(d[20]) - 30,
        charge_current: c(chg),
        battery_level: level,
        power_flow: flow as f64 / 10_000.0,
        reserved_4: le(d, 4),
        reserved_15: d[15],
        reserved_23: d[23],
        units: UNITS,
    })
}

/// Whether a frame is a request by its content alone: a preamble (the master's wake-up) or
/// a 0xA0 frame too short to carry the realtime block.
pub fn is_request(f: &Frame<'_>) -> bool {
    f.preamble || (f.cmd == Cmd::REALTIME && f.data.len() < REALTIME_LEN)
}

/// Decodes a frame; `role` as judged by the session.
pub fn decode(f: &Frame<'_>, role: Option<&'static str>) -> Message {
    let mut m = Message {
        proto: "tracer",
        id: Some(f.id),
        cmd: Some(f.cmd.0),
        cmd_name: f.cmd.to_string(),
        role,
        preamble: f.preamble,
        data: hex::encode(f.data),
        crc: format!("{:04x}", f.crc),
        realtime: None,
        load_on: None,
        anomaly: None,
    };
    match f.cmd {
        Cmd::REALTIME if f.data.len() >= REALTIME_LEN => {
            m.realtime = realtime(f.data);
            m.role = Some("reply");
        }
        Cmd::REALTIME => m.role = Some("request"),
        Cmd::MANUAL => match f.data {
            [b] => m.load_on = Some(*b != 0),
            _ => m.anomaly = Some("manual control without its one data byte"),
        },
        _ => {}
    }
    m
}
