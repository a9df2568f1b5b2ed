//! Fast Meter configuration `A5C1/C2/C3` (sel.md §2.2) and data `A5D1/D2/D3` decoded with it
//! (sel.md §2.3).

use super::{hexs, text};
use crate::util::bytes::{at, be_u16};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::cell::RefCell;
use std::sync::Arc;

/// Name tables from the ASCII side (sel.md §3.3): `DNA` rows (8 names each, MSB first),
/// `BNA` status-byte names (MSB first), `SNS` SER element names.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Names {
    pub dna: Vec<Vec<String>>,
    pub bna: Vec<String>,
    pub sns: Vec<String>,
    /// The bit names last built by [`Names::bit_names`], with what they were built from.
    pub(crate) cache: RefCell<Option<BitCache>>,
}

/// Bank count, DNA table, and the names built from them.
pub(crate) type BitCache = (usize, Vec<Vec<String>>, BitNames);

/// Relay Word bit names of `n` digital banks, bank-major, bit 7 first (`None` for `"*"`).
pub type BitNames = Arc<[Option<Arc<str>>]>;

impl Names {
    /// The names of the bits of `nd` banks: DNA row k names 0..7 for bank k bit 7..0, `"*"`
    /// unused, `bank{k}.bit{n}` where DNA has no row k (sel.md §2.3 step 5). Built once per
    /// DNA table and bank count.
    pub fn bit_names(&self, nd: usize) -> BitNames {
        if let Some((n, dna, b)) = &*self.cache.borrow() {
            if *n == nd && *dna == self.dna {
                return b.clone();
            }
        }
        let b: BitNames = (0..nd * 8)
            .map(|i| bit_name(self, i / 8, i % 8).map(Arc::from))
            .collect();
        *self.cache.borrow_mut() = Some((nd, self.dna.clone(), b.clone()));
        b
    }
}

/// Relay Word bits with their names (serialized as an object name → 0/1, unused bits left
/// out).
#[derive(Clone, Debug, PartialEq)]
pub struct Bits {
    pub names: BitNames,
    pub bits: Vec<u8>,
}

impl Bits {
    /// (name, bit) of every named bit, in order.
    pub fn pairs(&self) -> Vec<(String, u8)> {
        self.names
            .iter()
            .zip(&self.bits)
            .filter_map(|(n, b)| n.as_ref().map(|n| (n.to_string(), *b)))
            .collect()
    }
}

impl Serialize for Bits {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (n, b) in self.names.iter().zip(&self.bits) {
            if let Some(n) = n {
                m.serialize_entry(&**n, b)?;
            }
        }
        m.end()
    }
}

/// One analog channel of a configuration.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Channel {
    pub name: String,
    /// `int16`, `float32`, `float64`, `timestamp`, or `unknown-0x..`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip)]
    pub type_code: u8,
    /// Scale-factor type (same names), `None` when 0xFF (no scale factor).
    pub sf_type: Option<String>,
    #[serde(skip)]
    pub sf_code: u8,
    pub sf_offset: u16,
}

/// One calculation block (sel.md §2.2).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CalcBlock {
    pub line_cfg: u8,
    /// `ABC` or `ACB`.
    pub rotation: &'static str,
    pub v_connection: &'static str,
    pub i_connection: &'static str,
    pub calc_type: u8,
    pub calc_name: &'static str,
    pub skew_offset: Option<u16>,
    pub rs_offset: Option<u16>,
    pub xs_offset: Option<u16>,
    /// Channel indices of IA, IB, IC, VA, VB, VC (`None` for 0xFF).
    pub ia: Option<u8>,
    pub ib: Option<u8>,
    pub ic: Option<u8>,
    pub va: Option<u8>,
    pub vb: Option<u8>,
    pub vc: Option<u8>,
}

/// A Fast Meter configuration (sel.md §2.2).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FmConfig {
    pub n_status_bytes: u8,
    /// `data` (scale factors in the data message) or `config` (in this message).
    pub sf_location: &'static str,
    pub n_scale_factors: u8,
    pub n_analog: u8,
    pub n_samples: u8,
    pub n_digital_banks: u8,
    pub n_calc_blocks: u8,
    pub analog_offset: u16,
    pub timestamp_offset: Option<u16>,
    pub digital_offset: Option<u16>,
    pub channels: Vec<Channel>,
    pub calc_blocks: Vec<CalcBlock>,
    /// The f32 scale factors carried here (sfLoc = 1).
    pub scale_factors: Vec<f32>,
    /// The whole configuration message (scale factors are read from it when sfLoc = 1).
    #[serde(skip)]
    pub message: Vec<u8>,
}

fn type_name(c: u8) -> String {
    match c {
        0 => "int16".into(),
        1 => "float32".into(),
        2 => "float64".into(),
        3 => "timestamp".into(),
        c => format!("unknown-0x{c:02x}"),
    }
}

fn size_of(c: u8) -> Option<usize> {
    match c {
        0 => Some(2),
        1 => Some(4),
        2 | 3 => Some(8),
        _ => None,
    }
}

fn conn_name(c: u8) -> &'static str {
    match c {
        0 => "Y",
        1 => "delta AB-BC-CA",
        2 => "delta AC-BA-CB",
        _ => "unknown",
    }
}

fn calc_name(c: u8) -> &'static str {
    match c {
        0 => "standard power",
        1 => "2.5-element delta",
        2 => "voltages only",
        3 => "currents only",
        4 => "single-phase IA/VA",
        5 => "standard + 2 current sets",
        6 => "2.5-element + 2 current sets",
        _ => "unknown",
    }
}

fn opt16(v: u16) -> Option<u16> {
    (v != 0xFFFF).then_some(v)
}

fn opt8(v: u8) -> Option<u8> {
    (v != 0xFF).then_some(v)
}

/// Decodes a whole `A5C1/C2/C3` message `m` (sel.md §2.2); `None`, with an anomaly, when the
/// counts do not fit its length.
pub fn config(m: &[u8], anomalies: &mut Vec<String>) -> Option<FmConfig> {
    let h = m.get(3..16)?;
    let (n_an, n_calc, n_sf, sf_loc) = (h[3], h[6], h[2], h[1]);
    let sf_bytes = if sf_loc == 1 {
        4 * usize::from(n_sf)
    } else {
        0
    };
    let need = 16 + 10 * usize::from(n_an) + 14 * usize::from(n_calc) + sf_bytes + 1;
    if m.len() < need {
        anomalies.push(format!(
            "Fast Meter configuration: counts need {need} bytes before the checksum, {} present",
            m.len().saturating_sub(1)
        ));
        return None;
    }
    if sf_loc > 1 {
        anomalies.push(format!("scale-factor location {sf_loc} is neither 0 nor 1"));
    }
    let mut p = 16;
    let mut channels = Vec::with_capacity(n_an.into());
    for _ in 0..n_an {
        let c = &m[p..p + 10];
        channels.push(Channel {
            name: text(&c[..6]),
            kind: type_name(c[6]),
            type_code: c[6],
            sf_type: (c[7] != 0xFF).then(|| type_name(c[7])),
            sf_code: c[7],
            sf_offset: u16::from_be_bytes([c[8], c[9]]),
        });
        p += 10;
    }
    let mut calc_blocks = Vec::new();
    for _ in 0..n_calc {
        let c = &m[p..p + 14];
        let w = |i: usize| opt16(u16::from_be_bytes([c[i], c[i + 1]]));
        calc_blocks.push(CalcBlock {
            line_cfg: c[0],
            rotation: if c[0] & 1 == 0 { "ABC" } else { "ACB" },
            v_connection: conn_name((c[0] >> 1) & 3),
            i_connection: conn_name((c[0] >> 3) & 3),
            calc_type: c[1],
            calc_name: calc_name(c[1]),
            skew_offset: w(2),
            rs_offset: w(4),
            xs_offset: w(6),
            ia: opt8(c[8]),
            ib: opt8(c[9]),
            ic: opt8(c[10]),
            va: opt8(c[11]),
            vb: opt8(c[12]),
            vc: opt8(c[13]),
        });
        p += 14;
    }
    let mut scale_factors = Vec::new();
    if sf_loc == 1 {
        for _ in 0..n_sf {
            scale_factors.push(f32::from_be_bytes(at(m, p)?));
            p += 4;
        }
    }
    Some(FmConfig {
        n_status_bytes: h[0],
        sf_location: if sf_loc == 1 { "config" } else { "data" },
        n_scale_factors: n_sf,
        n_analog: n_an,
        n_samples: h[4],
        n_digital_banks: h[5],
        n_calc_blocks: n_calc,
        analog_offset: be_u16(h, 7)?,
        timestamp_offset: opt16(be_u16(h, 9)?),
        digital_offset: opt16(be_u16(h, 11)?),
        channels,
        calc_blocks,
        scale_factors,
        message: m.to_vec(),
    })
}

/// An analog value in engineering units (sel.md §2.3 step 3).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Analog {
    /// nSamples 1.
    Value(f64),
    /// nSamples 2: sample 2 + j·sample 1 (sel.md §2.3).
    Phasor {
        mag: f64,
        ang_deg: f64,
        re: f64,
        im: f64,
    },
    /// nSamples 4 (¼-cycle samples) or any other count.
    Samples(Vec<f64>),
    /// An analog of type 3 (8-byte timestamp).
    Time(Option<String>),
}

/// Name → value, in channel order (serialized as an object).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ordered<T>(pub Vec<(String, T)>);

impl<T: Serialize> Serialize for Ordered<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// A Fast Meter data message decoded with its configuration (sel.md §2.3).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FmData {
    /// The configuration used (`A5C1`, …) and its record number in the conversation.
    pub config: String,
    pub config_record: u64,
    pub status: u8,
    pub status_hex: String,
    /// Names of the status bits set (BNA names, MSB first; STWARN/STFAIL/STSET without BNA).
    pub status_set: Vec<String>,
    /// Relay local time, ISO 8601 with milliseconds and no zone; written as
    /// `device_local_time` (record version 2, docs/FORMAT.md).
    #[serde(rename = "device_local_time")]
    pub timestamp: Option<String>,
    pub values: Ordered<Analog>,
    /// Relay Word bits: DNA names when known, else `bank{k}.bit{n}` (k from 0, n = bit 7..0).
    pub digital: Bits,
}

/// The 8-byte timestamp (sel.md §2.3 step 4) as ISO 8601 relay local time.
pub fn timestamp(b: &[u8; 8]) -> Option<String> {
    let (mo, d, y, h, mi, s) = (b[0], b[1], b[2], b[3], b[4], b[5]);
    let ms = u16::from_be_bytes([b[6], b[7]]);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 || ms > 999
    {
        return None;
    }
    Some(format!(
        "{:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}",
        2000 + u32::from(y)
    ))
}

/// f32 → f64 with the f32's shortest decimal form (0.01f32 gives 0.01, not 0.00999999977).
pub fn short(x: f32) -> f64 {
    if !x.is_finite() {
        return f64::from(x);
    }
    let mut b = [0u8; 48];
    let mut w = std::io::Cursor::new(&mut b[..]);
    use std::io::Write;
    if write!(w, "{x}").is_err() {
        return f64::from(x);
    }
    let n = w.position() as usize;
    std::str::from_utf8(&b[..n])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::from(x))
}

fn read_num(b: &[u8], off: usize, code: u8) -> Option<f64> {
    match code {
        0 => Some(f64::from(i16::from_be_bytes(at(b, off)?))),
        1 => Some(short(f32::from_be_bytes(at(b, off)?))),
        2 => Some(f64::from_be_bytes(at(b, off)?)),
        _ => None,
    }
}

/// Bank-bit names for bank `k` (DNA row k, or the generic names).
fn bit_name(names: &Names, k: usize, j: usize) -> Option<String> {
    match names.dna.get(k).and_then(|r| r.get(j)) {
        Some(n) if n == "*" => None,
        Some(n) => Some(n.clone()),
        None => Some(format!("bank{k}.bit{}", 7 - j)),
    }
}

/// Decodes the data message `m` with `cfg` (config message type `cfg_type`, record number
/// `cfg_record`). `None`, with an anomaly, when the message does not fit the configuration.
pub fn data(
    m: &[u8],
    cfg: &FmConfig,
    cfg_type: u8,
    cfg_record: u64,
    names: &Names,
    anomalies: &mut Vec<String>,
) -> Option<FmData> {
    // Everything must lie before the checksum.
    let limit = m.len().saturating_sub(1);
    let misfit = |what: &str, end: usize, a: &mut Vec<String>| {
        a.push(format!(
            "data does not fit the configuration: {what} ends at byte {end}, message has {limit} before its checksum"
        ));
    };
    let ns = usize::from(cfg.n_status_bytes);
    if 3 + ns > limit {
        misfit("status", 3 + ns, anomalies);
        return None;
    }
    let status_b = &m[3..3 + ns];
    let sizes: Option<Vec<usize>> = cfg.channels.iter().map(|c| size_of(c.type_code)).collect();
    let Some(sizes) = sizes else {
        anomalies.push("configuration has an analog channel of unknown type".into());
        return None;
    };
    let row: usize = sizes.iter().sum();
    let n_samples = usize::from(cfg.n_samples.max(1));
    let a_end = usize::from(cfg.analog_offset) + row * n_samples;
    if a_end > limit {
        misfit("analogs", a_end, anomalies);
        return None;
    }
    if let Some(t) = cfg.timestamp_offset {
        if usize::from(t) + 8 > limit {
            misfit("timestamp", usize::from(t) + 8, anomalies);
            return None;
        }
    }
    let nd = usize::from(cfg.n_digital_banks);
    if let Some(d) = cfg.digital_offset {
        if usize::from(d) + nd > limit {
            misfit("digital banks", usize::from(d) + nd, anomalies);
            return None;
        }
    }
    // Scale factors (sel.md §2.3 step 2).
    let mut scales = Vec::with_capacity(cfg.channels.len());
    for c in &cfg.channels {
        if c.sf_code == 0xFF {
            scales.push(1.0f64);
            continue;
        }
        let (src, lim) = if cfg.sf_location == "config" {
            (&cfg.message[..], cfg.message.len().saturating_sub(1))
        } else {
            (m, limit)
        };
        let off = usize::from(c.sf_offset);
        let sz = size_of(c.sf_code).unwrap_or(usize::MAX);
        if sz == usize::MAX || off.saturating_add(sz) > lim {
            anomalies.push(format!(
                "scale factor of {} at offset {off} is outside the {} message",
                c.name, cfg.sf_location
            ));
            return None;
        }
        scales.push(read_num(src, off, c.sf_code).unwrap_or(1.0));
    }
    let mut values = Vec::with_capacity(cfg.channels.len());
    let base = usize::from(cfg.analog_offset);
    let mut col = 0;
    for (i, c) in cfg.channels.iter().enumerate() {
        let mut s = Vec::with_capacity(n_samples);
        let mut time = None;
        for k in 0..n_samples {
            let off = base + k * row + col;
            if c.type_code == 3 {
                time = at::<8>(m, off).and_then(|b| timestamp(&b));
                continue;
            }
            let raw = read_num(m, off, c.type_code).unwrap_or(f64::NAN);
            let v = if c.type_code == 0 {
                let sc = scales[i];
                // An int16 times an f32 scale factor, in f32 as the relay computes it.
                short((raw as f32) * (sc as f32))
            } else {
                raw
            };
            s.push(v);
        }
        col += sizes[i];
        let v = if c.type_code == 3 {
            Analog::Time(time)
        } else if n_samples == 1 {
            Analog::Value(s[0])
        } else if n_samples == 2 {
            let (im, re) = (s[0], s[1]);
            let mag = (re * re + im * im).sqrt();
            let ang = im.atan2(re).to_degrees();
            Analog::Phasor {
                mag: round6(mag),
                ang_deg: round6(ang),
                re,
                im,
            }
        } else {
            Analog::Samples(s)
        };
        let mut name = c.name.clone();
        if values.iter().any(|(n, _)| *n == name) {
            name = format!("{name}#{i}");
        }
        values.push((name, v));
    }
    let timestamp = cfg
        .timestamp_offset
        .and_then(|t| at::<8>(m, usize::from(t)))
        .and_then(|b| {
            let t = timestamp(&b);
            if t.is_none() {
                anomalies.push(format!("timestamp {} is not a valid date", hexs(&b)));
            }
            t
        });
    let mut bits = Vec::new();
    let mut bit_names: BitNames = Arc::new([]);
    if let Some(d) = cfg.digital_offset {
        bit_names = names.bit_names(nd);
        bits.reserve(nd * 8);
        for k in 0..nd {
            let byte = m[usize::from(d) + k];
            bits.extend((0..8).map(|j| (byte >> (7 - j)) & 1));
        }
    }
    let status = status_b.first().copied().unwrap_or(0);
    let mut status_set = Vec::new();
    for j in 0..8 {
        if status & (0x80 >> j) == 0 {
            continue;
        }
        let n = if names.bna.is_empty() {
            match 7 - j {
                2 => "STWARN".to_string(),
                3 => "STFAIL".to_string(),
                4 => "STSET".to_string(),
                b => format!("bit{b}"),
            }
        } else {
            match names.bna.get(j) {
                Some(n) if n != "*" => n.clone(),
                _ => format!("bit{}", 7 - j),
            }
        };
        status_set.push(n);
    }
    Some(FmData {
        config: super::super::codes::MsgType(cfg_type).to_string(),
        config_record: cfg_record,
        status,
        status_hex: hexs(status_b),
        status_set,
        timestamp,
        values: Ordered(values),
        digital: Bits {
            names: bit_names,
            bits,
        },
    })
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}
