//! Data frames (c37118.md §4, [STD T.5–T.7]): one block per configuration PMU, raw values as
//! sent plus engineering values.

use super::config::{Config, PmuConfig};
use super::{cap, truncated_text};
use crate::protocols::c37118::codes::{data_error, trigger_reason};
use crate::util::bytes::{Cursor, Truncated};
use serde::Serialize;
use std::fmt;

/// A raw value as sent: an integer count or a 32-bit float (NaN serializes as null).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Num {
    Int(i32),
    Float(f32),
}

impl Num {
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => f64::from(i),
            Num::Float(f) => f64::from(f),
        }
    }
}

/// One phasor: raw pair (re/im or magnitude/angle per FORMAT bit 0) and engineering values
/// (null when the value is absent: integer 0x8000 or float NaN).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Phasor {
    /// The channel name from the configuration's PHNAM (record version 2).
    pub name: String,
    pub raw: [Num; 2],
    pub re: Option<f64>,
    pub im: Option<f64>,
    pub mag: Option<f64>,
    pub ang_deg: Option<f64>,
}

/// One analog value: raw, and M·X + B when a CFG-3 ANSCALE applies.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Analog {
    /// The channel name from the configuration's ANNAM (record version 2).
    pub name: String,
    pub raw: Num,
    pub scaled: Option<f64>,
}

/// One PMU block of a data frame.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DataPmu {
    /// IDCODE and STN of the PMU block in the configuration.
    pub idcode: u16,
    pub stn: String,
    pub stat: u16,
    /// STAT bits 15–14: "ok" (00), "pmu_error" (01), "test_mode" (10, also absent-data
    /// filler), "pmu_error_invalid" (11) (c37118.md §4).
    pub data_error: &'static str,
    /// Bit 13.
    pub sync_error: bool,
    /// Bit 12: sorted by arrival rather than time stamp.
    pub sorting: bool,
    /// Bit 11.
    pub trigger: bool,
    /// Bit 10: configuration change within a minute.
    pub config_change: bool,
    /// Bit 9 (2011).
    pub data_modified: bool,
    /// Bits 8–6 (2011): 0 n/a, 1 < 100 ns … 7 > 10 ms.
    pub pmu_tq: u8,
    /// Bits 5–4: 0 < 10 s, 1 10–100 s, 2 100–1000 s, 3 > 1000 s.
    pub unlocked_time: u8,
    /// Bits 3–0.
    pub trigger_reason: u8,
    /// "manual", "magnitude_low", "magnitude_high", "phase_angle_diff",
    /// "frequency_high_low", "df_dt_high", "reserved", "digital", "user".
    pub trigger_reason_name: &'static str,
    /// FORMAT bit 0 of the configuration.
    pub polar: bool,
    pub phasors: Vec<Phasor>,
    /// Raw FREQ: i16 mHz deviation from nominal, or f32 Hz.
    pub freq_raw: Num,
    /// Raw DFREQ: i16 ROCOF × 100, or f32 Hz/s.
    pub dfreq_raw: Num,
    /// Hz: FNOM + mHz/1000 for integers, the float as is (null for NaN).
    pub freq: Option<f64>,
    /// Hz/s: integer / 100, the float as is (null for NaN).
    pub dfreq: Option<f64>,
    pub analogs: Vec<Analog>,
    pub digitals: Vec<u16>,
}

fn not_nan(x: f64) -> Option<f64> {
    (!x.is_nan()).then_some(x)
}

/// Engineering values of a phasor from re/im (already scaled), rotated by −θ.
fn phasor_rect(raw: [Num; 2], re: f64, im: f64, theta: f64) -> Phasor {
    if re.is_nan() || im.is_nan() {
        return absent(raw);
    }
    let (mut re, mut im) = (re, im);
    if theta != 0.0 {
        let (s, c) = (-theta).sin_cos();
        (re, im) = (re * c - im * s, re * s + im * c);
    }
    Phasor {
        name: String::new(),
        raw,
        re: Some(re),
        im: Some(im),
        mag: Some(re.hypot(im)),
        ang_deg: Some(im.atan2(re).to_degrees()),
    }
}

/// Engineering values of a phasor from magnitude (already scaled) and angle in radians.
fn phasor_polar(raw: [Num; 2], mag: f64, ang: f64) -> Phasor {
    if mag.is_nan() || ang.is_nan() {
        return absent(raw);
    }
    let (s, c) = ang.sin_cos();
    Phasor {
        name: String::new(),
        raw,
        re: Some(mag * c),
        im: Some(mag * s),
        mag: Some(mag),
        ang_deg: Some(ang.to_degrees()),
    }
}

fn absent(raw: [Num; 2]) -> Phasor {
    Phasor {
        name: String::new(),
        raw,
        re: None,
        im: None,
        mag: None,
        ang_deg: None,
    }
}

/// Scale and angle offset of integer phasor `i`: CFG-3 PHSCALE Y and θ, else CFG-1/2 PHUNIT
/// × 1e-5 (c37118.md §4).
fn int_scale(p: &PmuConfig, i: usize) -> (f64, f64) {
    match (&p.phscale, &p.phunit) {
        (Some(s), _) => s
            .get(i)
            .map_or((1.0, 0.0), |x| (f64::from(x.3), f64::from(x.4))),
        (None, Some(u)) => (
            u.get(i).map_or(1.0, |w| f64::from(w & 0x00ff_ffff) * 1e-5),
            0.0,
        ),
        (None, None) => (1.0, 0.0),
    }
}

/// One phasor of block `p` (c37118.md §4 table). Integer phasors are scaled by
/// PHUNIT × 1e-5 (CFG-1/2) or by Y with the angle reduced by θ (CFG-3); float phasors are
/// engineering values already (Wireshark does the same, c37118.md §4).
fn phasor(r: &mut Cursor<'_>, p: &PmuConfig, i: usize) -> Result<Phasor, Truncated> {
    if p.phasors_float {
        let (a, b) = (r.f32("PHASOR")?, r.f32("PHASOR")?);
        let raw = [Num::Float(a), Num::Float(b)];
        return Ok(if p.polar {
            phasor_polar(raw, f64::from(a), f64::from(b))
        } else {
            phasor_rect(raw, f64::from(a), f64::from(b), 0.0)
        });
    }
    let (scale, theta) = int_scale(p, i);
    Ok(if p.polar {
        let mag = r.u16("PHASOR magnitude")?;
        let ang = r.i16("PHASOR angle")?;
        let raw = [Num::Int(i32::from(mag)), Num::Int(i32::from(ang))];
        if ang == i16::MIN {
            absent(raw)
        } else {
            phasor_polar(raw, f64::from(mag) * scale, f64::from(ang) / 1e4 - theta)
        }
    } else {
        let (a, b) = (r.i16("PHASOR re")?, r.i16("PHASOR im")?);
        let raw = [Num::Int(i32::from(a)), Num::Int(i32::from(b))];
        if a == i16::MIN || b == i16::MIN {
            absent(raw)
        } else {
            phasor_rect(raw, f64::from(a) * scale, f64::from(b) * scale, theta)
        }
    })
}

/// Decodes one PMU block (c37118.md §4 tables).
fn decode_pmu(r: &mut Cursor<'_>, p: &PmuConfig) -> Result<DataPmu, Truncated> {
    let stat = r.u16("STAT")?;
    let mut phasors = Vec::with_capacity(usize::from(p.phnmr));
    for i in 0..usize::from(p.phnmr) {
        let mut ph = phasor(r, p, i)?;
        ph.name = p.phnam.get(i).cloned().unwrap_or_default();
        phasors.push(ph);
    }
    let (freq_raw, dfreq_raw, freq, dfreq) = if p.freq_float {
        let (f, d) = (r.f32("FREQ")?, r.f32("DFREQ")?);
        (
            Num::Float(f),
            Num::Float(d),
            not_nan(f64::from(f)),
            not_nan(f64::from(d)),
        )
    } else {
        let (f, d) = (r.i16("FREQ")?, r.i16("DFREQ")?);
        (
            Num::Int(i32::from(f)),
            Num::Int(i32::from(d)),
            Some(f64::from(p.fnom) + f64::from(f) / 1000.0),
            Some(f64::from(d) / 100.0),
        )
    };
    let mut analogs = Vec::with_capacity(usize::from(p.annmr));
    for i in 0..usize::from(p.annmr) {
        let raw = if p.analogs_float {
            Num::Float(r.f32("ANALOG")?)
        } else {
            Num::Int(i32::from(r.i16("ANALOG")?))
        };
        let scaled = p
            .anscale
            .as_ref()
            .and_then(|s| s.get(i))
            .and_then(|[m, b]| not_nan(f64::from(*m) * raw.as_f64() + f64::from(*b)));
        let name = p.annam.get(i).cloned().unwrap_or_default();
        analogs.push(Analog { name, raw, scaled });
    }
    let mut digitals = Vec::with_capacity(usize::from(p.dgnmr));
    for _ in 0..p.dgnmr {
        digitals.push(r.u16("DIGITAL")?);
    }
    Ok(DataPmu {
        idcode: p.idcode,
        stn: p.stn.clone(),
        stat,
        data_error: data_error(stat),
        sync_error: stat & (1 << 13) != 0,
        sorting: stat & (1 << 12) != 0,
        trigger: stat & (1 << 11) != 0,
        config_change: stat & (1 << 10) != 0,
        data_modified: stat & (1 << 9) != 0,
        pmu_tq: ((stat >> 6) & 7) as u8,
        unlocked_time: ((stat >> 4) & 3) as u8,
        trigger_reason: (stat & 15) as u8,
        trigger_reason_name: trigger_reason((stat & 15) as u8),
        polar: p.polar,
        phasors,
        freq_raw,
        dfreq_raw,
        freq,
        dfreq,
        analogs,
        digitals,
    })
}

/// Why a data payload was not decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataError {
    /// FRAMESIZE − 16 differs from the size the configuration implies (c37118.md §4).
    SizeMismatch {
        payload: usize,
        expected: u64,
    },
    Truncated(Truncated),
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::SizeMismatch { payload, expected } => write!(
                f,
                "data payload of {payload} bytes does not match the {expected} bytes the configuration implies"
            ),
            DataError::Truncated(t) => f.write_str(&truncated_text(t)),
        }
    }
}

impl std::error::Error for DataError {}

/// Decodes a data payload (bytes between header and CHK) with a configuration: one block per
/// configuration PMU, in order. The payload size must equal [`Config::data_len`] exactly.
pub fn decode_data(payload: &[u8], cfg: &Config) -> Result<Vec<DataPmu>, DataError> {
    let expected = cfg.data_len();
    if payload.len() as u64 != expected {
        return Err(DataError::SizeMismatch {
            payload: payload.len(),
            expected,
        });
    }
    let mut r = Cursor::new(payload);
    let mut out = Vec::with_capacity(cap(cfg.pmus.len(), 6, payload.len()));
    for p in &cfg.pmus {
        out.push(decode_pmu(&mut r, p).map_err(DataError::Truncated)?);
    }
    Ok(out)
}
