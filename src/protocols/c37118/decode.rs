//! Decoding C37.118 frames into typed, owned, serializable records (c37118.md §1–§5; IEEE
//! C37.118.2-2011 §6.2–6.6, Tables 2–15).
//!
//! Two layers:
//! - pure parsers over byte slices ([`parse_header`], [`parse_command`], [`header_text`],
//!   [`parse_config12`], [`parse_config3`], [`decode_data`]): they never panic, return
//!   [`Truncated`] when the input ends early, and size every allocation by the bytes actually
//!   present (a count read from the frame is never trusted for a `with_capacity`);
//! - [`Decoder`], which keeps configuration state **per IDCODE across the whole input** (not per
//!   flow: commands and configuration on TCP, data on UDP decode, c37118.md §5), assembles CFG-3
//!   continuation frames, and turns each complete frame into a [`Decoded`] record.
//!
//! # Which configuration decodes a data frame (c37118.md §4, §5)
//! Per IDCODE the decoder keeps the newest CFG-2 **or** CFG-3 with a good CHK ("current"), and
//! separately the newest CFG-1. A data frame is decoded with the current configuration; the
//! CFG-1 is used only while no CFG-2/CFG-3 has been seen for that IDCODE. Why: CFG-1 says what
//! a PMU *can* send and CFG-2/3 what it *is* sending [STD 6.4], so CFG-1 is only a fallback
//! (Zeek uses it, Wireshark never does). The fallback cannot misparse silently: every data
//! frame must satisfy FRAMESIZE − 16 = the size the configuration implies, otherwise it is
//! emitted with `decoded: false`, an anomaly and its raw payload, and no other configuration
//! is tried (never guessed). A new configuration applies from the next frame on.
//!
//! # Output schema (JSON through serde)
//! Every [`Decoded`] has `proto` "c37118", `frame` ("data", "header", "cfg1", "cfg2",
//! "cfg3", "cmd"; also "unknown" for the reserved types 6/7 and "malformed" for input that is
//! no frame), `sync` (both SYNC bytes, reserved bit kept), `frame_type`, `version`,
//! `framesize`, `idcode`, `soc`, `fracsec` (24-bit count), `time_quality` (TQ byte) and `tq`
//! (decomposed), `time`, `chk`, `chk_calc`, `chk_ok`, the type-specific fields of [`Body`]
//! and `anomalies` (strings, empty when all is well).
//!
//! Command names (`cmd_name`, c37118.md §1 table, [STD T.15]): `turn_off_data` (1),
//! `turn_on_data` (2), `send_hdr` (3), `send_cfg1` (4), `send_cfg2` (5), `send_cfg3` (6),
//! `extended_frame` (8), `user_designated` (0x0100–0x0FFF), `reserved` (anything else).

use super::frame::CRC;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Bytes before the payload: SYNC, FRAMESIZE, IDCODE, SOC, FRACSEC (c37118.md §1).
pub const HEADER_LEN: usize = 14;
/// Smallest frame: header plus CHK (c37118.md §1).
pub const MIN_FRAME: usize = 16;
/// Upper bound on the CFG-3 continuation bytes held (all fragments of all IDCODEs being
/// assembled). The standard sets none (up to 65 534 fragments of 64 KiB); 16 MiB holds 256
/// maximal fragments. Every other allocation is bounded by the frame being decoded.
pub const MAX_CFG3_ASSEMBLED: usize = 16 << 20;

// ---------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------

/// The input ended before a field: which field, at which offset, and how many bytes it
/// needed versus how many were left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Truncated {
    pub field: &'static str,
    pub offset: usize,
    pub need: usize,
    pub have: usize,
}

impl fmt::Display for Truncated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "truncated at byte {} reading {}: need {} bytes, {} left",
            self.offset, self.field, self.need, self.have
        )
    }
}

impl std::error::Error for Truncated {}

/// A bounds-checked big-endian cursor.
struct Rd<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Rd<'a> {
    fn new(b: &'a [u8]) -> Self {
        Rd { b, pos: 0 }
    }

    fn left(&self) -> usize {
        self.b.len().saturating_sub(self.pos)
    }

    /// Fails unless `n` more bytes are there (used before allocating for a counted list).
    fn need(&self, n: u64, field: &'static str) -> Result<(), Truncated> {
        if n > self.left() as u64 {
            return Err(Truncated {
                field,
                offset: self.pos,
                need: usize::try_from(n).unwrap_or(usize::MAX),
                have: self.left(),
            });
        }
        Ok(())
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], Truncated> {
        match self.b.get(self.pos..).and_then(|r| r.get(..n)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(Truncated {
                field,
                offset: self.pos,
                need: n,
                have: self.left(),
            }),
        }
    }

    fn arr<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], Truncated> {
        let s = self.take(N, field)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, Truncated> {
        Ok(self.arr::<1>(field)?[0])
    }
    fn u16(&mut self, field: &'static str) -> Result<u16, Truncated> {
        Ok(u16::from_be_bytes(self.arr(field)?))
    }
    fn i16(&mut self, field: &'static str) -> Result<i16, Truncated> {
        Ok(i16::from_be_bytes(self.arr(field)?))
    }
    fn u32(&mut self, field: &'static str) -> Result<u32, Truncated> {
        Ok(u32::from_be_bytes(self.arr(field)?))
    }
    fn i32(&mut self, field: &'static str) -> Result<i32, Truncated> {
        Ok(i32::from_be_bytes(self.arr(field)?))
    }
    fn f32(&mut self, field: &'static str) -> Result<f32, Truncated> {
        Ok(f32::from_be_bytes(self.arr(field)?))
    }

    fn rest(&mut self) -> &'a [u8] {
        let r = self.b.get(self.pos..).unwrap_or(&[]);
        self.pos = self.b.len();
        r
    }
}

/// Lower-case hex of bytes.
pub fn hex(b: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(char::from(D[usize::from(x >> 4)]));
        s.push(char::from(D[usize::from(x & 15)]));
    }
    s
}

/// Latin-1 bytes to a string (every byte is one code point, so nothing is lost).
fn latin1(b: &[u8]) -> String {
    b.iter().map(|&c| char::from(c)).collect()
}

/// A fixed 16-byte CFG-1/2 name (STN, CHNAM): latin-1, trailing spaces and NULs stripped
/// (c37118.md §3).
fn name16(b: &[u8]) -> String {
    let end = b
        .iter()
        .rposition(|&c| c != b' ' && c != 0)
        .map_or(0, |p| p + 1);
    latin1(&b[..end])
}

/// A CFG-3 name field: u8 length, then UTF-8 (lossy) [STD T.11].
fn name_var(r: &mut Rd<'_>, field: &'static str) -> Result<String, Truncated> {
    let n = r.u8(field)?;
    let b = r.take(usize::from(n), field)?;
    Ok(String::from_utf8_lossy(b).into_owned())
}

/// Capacity for a list of `count` items of at least `min_size` bytes each, bounded by the
/// bytes left so a forged count cannot allocate more than the frame holds.
fn cap(count: usize, min_size: usize, left: usize) -> usize {
    count.min(left / min_size.max(1))
}

// ---------------------------------------------------------------------------------------
// Header and time quality (c37118.md §1, §2)
// ---------------------------------------------------------------------------------------

/// The common 14-byte header [STD T.2].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Header {
    /// Both SYNC bytes (0xAA, then `0TTTVVVV`), reserved bit 7 of the second byte kept.
    pub sync: u16,
    /// Bits 6–4 of the second SYNC byte (0–5 defined, 6–7 reserved).
    pub frame_type: u8,
    /// Bits 3–0 of the second SYNC byte.
    pub version: u8,
    pub framesize: u16,
    pub idcode: u16,
    pub soc: u32,
    /// FRACSEC bits 23–0.
    pub fracsec: u32,
    /// FRACSEC bits 31–24.
    pub time_quality: u8,
}

/// Reads the common header (c37118.md §1). Does not judge SYNC or FRAMESIZE.
pub fn parse_header(frame: &[u8]) -> Result<Header, Truncated> {
    let mut r = Rd::new(frame);
    let sync = r.u16("SYNC")?;
    let framesize = r.u16("FRAMESIZE")?;
    let idcode = r.u16("IDCODE")?;
    let soc = r.u32("SOC")?;
    let fs = r.u32("FRACSEC")?;
    Ok(Header {
        sync,
        frame_type: ((sync >> 4) & 7) as u8,
        version: (sync & 0x0f) as u8,
        framesize,
        idcode,
        soc,
        fracsec: fs & 0x00ff_ffff,
        time_quality: (fs >> 24) as u8,
    })
}

/// The frame name of a type (c37118.md §1): the output schema's `frame` values.
pub fn frame_name(frame_type: u8) -> &'static str {
    match frame_type {
        0 => "data",
        1 => "header",
        2 => "cfg1",
        3 => "cfg2",
        4 => "cmd",
        5 => "cfg3",
        _ => "unknown",
    }
}

/// The time-quality byte decomposed (c37118.md §2, [STD T.3/T.4]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimeQuality {
    /// Bit 7 (reserved; kept).
    pub reserved: bool,
    /// Bit 6: "add" (0) or "delete" (1).
    pub leap_direction: &'static str,
    /// Bit 5: a leap second occurred (set for 24 h).
    pub leap_occurred: bool,
    /// Bit 4: a leap second is pending.
    pub leap_pending: bool,
    /// Bits 3–0.
    pub msg_tq: u8,
    /// `locked` (0), `within` (1–0xB, see `max_error_s`), `fault` (0xF), `reserved`.
    pub clock: &'static str,
    /// MSG_TQ 1–0xB: the time is within 10^(k−10) s.
    pub max_error_s: Option<f64>,
}

pub fn time_quality(tq: u8) -> TimeQuality {
    let k = tq & 0x0f;
    TimeQuality {
        reserved: tq & 0x80 != 0,
        leap_direction: if tq & 0x40 != 0 { "delete" } else { "add" },
        leap_occurred: tq & 0x20 != 0,
        leap_pending: tq & 0x10 != 0,
        msg_tq: k,
        clock: match k {
            0 => "locked",
            1..=0x0b => "within",
            0x0f => "fault",
            _ => "reserved",
        },
        max_error_s: (1..=0x0b)
            .contains(&k)
            .then(|| 10f64.powi(i32::from(k) - 10)),
    }
}

// ---------------------------------------------------------------------------------------
// Command and header frames (c37118.md §1, [STD 6.6, T.13–T.15])
// ---------------------------------------------------------------------------------------

/// A command frame's payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Command {
    pub cmd: u16,
    /// See the module documentation for the names.
    pub cmd_name: &'static str,
    /// EXTFRAME as hex ("" if none).
    pub ext: String,
}

/// The snake_case name of a CMD value (c37118.md §1 command table).
pub fn cmd_name(cmd: u16) -> &'static str {
    match cmd {
        1 => "turn_off_data",
        2 => "turn_on_data",
        3 => "send_hdr",
        4 => "send_cfg1",
        5 => "send_cfg2",
        6 => "send_cfg3",
        8 => "extended_frame",
        0x0100..=0x0fff => "user_designated",
        _ => "reserved",
    }
}

/// Parses a command payload (bytes between header and CHK).
pub fn parse_command(payload: &[u8]) -> Result<Command, Truncated> {
    let mut r = Rd::new(payload);
    let cmd = r.u16("CMD")?;
    Ok(Command {
        cmd,
        cmd_name: cmd_name(cmd),
        ext: hex(r.rest()),
    })
}

/// A header frame's text: latin-1 to UTF-8, kept as is.
pub fn header_text(payload: &[u8]) -> String {
    latin1(payload)
}

// ---------------------------------------------------------------------------------------
// Configuration frames (c37118.md §3, [STD T.8–T.12])
// ---------------------------------------------------------------------------------------

/// A CFG-3 PHSCALE entry: modification flags, phasor type, user byte, scale Y, angle θ (rad)
/// [STD T.11], c37118.md §3.
pub type PhScale = (u16, u8, u8, f32, f32);

/// One PMU block of a configuration frame. CFG-1/2 fill the `phunit*`/`anunit*` fields,
/// CFG-3 the `g_pmu_id`…`grp_dly` fields; the others are left out of the JSON.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PmuConfig {
    pub stn: String,
    pub idcode: u16,
    /// CFG-3: 16-byte global PMU id, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub g_pmu_id: Option<String>,
    /// Raw FORMAT word (reserved bits kept).
    pub format: u16,
    /// FORMAT bit 0.
    pub polar: bool,
    /// FORMAT bit 1.
    pub phasors_float: bool,
    /// FORMAT bit 2.
    pub analogs_float: bool,
    /// FORMAT bit 3.
    pub freq_float: bool,
    pub phnmr: u16,
    pub annmr: u16,
    pub dgnmr: u16,
    pub phnam: Vec<String>,
    pub annam: Vec<String>,
    /// 16 names per digital word, bit 0 first.
    pub dgnam: Vec<String>,
    /// CFG-1/2: raw PHUNIT words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phunit: Option<Vec<u32>>,
    /// CFG-1/2: PHUNIT byte 0 decoded: "V" (0), "I" (1), "reserved".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phunit_type: Option<Vec<&'static str>>,
    /// CFG-1/2: PHUNIT bits 23–0 × 1e-5: volts or amperes per count (integer data only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phunit_scale: Option<Vec<f64>>,
    /// CFG-1/2: raw ANUNIT words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anunit: Option<Vec<u32>>,
    /// CFG-1/2: ANUNIT byte 0: "pow" (0), "rms" (1), "peak" (2), "user" (65–255), "reserved".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anunit_type: Option<Vec<&'static str>>,
    /// CFG-1/2: ANUNIT bits 23–0 as a signed 24-bit user scaling (not applied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anunit_scale: Option<Vec<i32>>,
    /// CFG-3: per phasor [flags, type, user, scale Y, angle θ (rad)].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phscale: Option<Vec<PhScale>>,
    /// CFG-3: per analog [M, B] (X′ = M·X + B).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anscale: Option<Vec<[f32; 2]>>,
    /// [normal-status mask, valid-inputs mask] per digital word.
    pub digunit: Vec<[u16; 2]>,
    /// Nominal frequency in Hz (50 or 60).
    pub fnom: u16,
    /// The raw FNOM word (bit 0: 1 = 50 Hz; reserved bits kept).
    pub fnom_raw: u16,
    pub cfgcnt: u16,
    /// CFG-3: latitude, longitude (degrees), elevation (m); null when ±inf (unspecified).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lat: Option<Option<f32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lon: Option<Option<f32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elev: Option<Option<f32>>,
    /// CFG-3: 'M' or 'P'.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub svc_class: Option<String>,
    /// CFG-3: µs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<i32>,
    /// CFG-3: µs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grp_dly: Option<i32>,
}

impl PmuConfig {
    /// Bytes of this PMU's block in a data frame (c37118.md §4).
    pub fn data_len(&self) -> u64 {
        let ph = if self.phasors_float { 8 } else { 4 };
        let fr = if self.freq_float { 8 } else { 4 };
        let an = if self.analogs_float { 4 } else { 2 };
        2 + u64::from(self.phnmr) * ph + fr + u64::from(self.annmr) * an + 2 * u64::from(self.dgnmr)
    }
}

/// A configuration frame's payload (CFG-1, CFG-2 or a complete/assembled CFG-3).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Config {
    /// CFG-3 only: CONT_IDX of the frame this record comes from (0xFFFF for an assembled one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cont_idx: Option<u16>,
    /// CFG-3 only: number of continuation frames assembled (absent for an unsplit frame).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fragments: Option<u32>,
    /// TIME_BASE bits 23–0.
    pub time_base: u32,
    /// TIME_BASE bits 31–24 (reserved flags, kept).
    pub time_base_flags: u8,
    pub num_pmu: u16,
    pub data_rate: i16,
    /// DATA_RATE as frames per second (N > 0: N; N < 0: 1/−N; 0: null).
    pub frames_per_second: Option<f64>,
    pub pmus: Vec<PmuConfig>,
}

impl Config {
    /// Expected data payload size (FRAMESIZE − 16) under this configuration (c37118.md §4).
    pub fn data_len(&self) -> u64 {
        self.pmus.iter().map(PmuConfig::data_len).sum()
    }
}

fn format_bits(p: &mut PmuConfig) {
    p.polar = p.format & 1 != 0;
    p.phasors_float = p.format & 2 != 0;
    p.analogs_float = p.format & 4 != 0;
    p.freq_float = p.format & 8 != 0;
}

fn fnom_hz(raw: u16) -> u16 {
    if raw & 1 != 0 {
        50
    } else {
        60
    }
}

fn anunit_type(b: u8) -> &'static str {
    match b {
        0 => "pow",
        1 => "rms",
        2 => "peak",
        65..=255 => "user",
        _ => "reserved",
    }
}

fn rate(n: i16) -> Option<f64> {
    match n {
        0 => None,
        n if n > 0 => Some(f64::from(n)),
        n => Some(1.0 / -f64::from(n)),
    }
}

fn empty_pmu(stn: String, idcode: u16) -> PmuConfig {
    PmuConfig {
        stn,
        idcode,
        g_pmu_id: None,
        format: 0,
        polar: false,
        phasors_float: false,
        analogs_float: false,
        freq_float: false,
        phnmr: 0,
        annmr: 0,
        dgnmr: 0,
        phnam: Vec::new(),
        annam: Vec::new(),
        dgnam: Vec::new(),
        phunit: None,
        phunit_type: None,
        phunit_scale: None,
        anunit: None,
        anunit_type: None,
        anunit_scale: None,
        phscale: None,
        anscale: None,
        digunit: Vec::new(),
        fnom: 60,
        fnom_raw: 0,
        cfgcnt: 0,
        lat: None,
        lon: None,
        elev: None,
        svc_class: None,
        window: None,
        grp_dly: None,
    }
}

/// Reads FORMAT, PHNMR, ANNMR, DGNMR into `p` and returns the channel-name count.
fn counts(r: &mut Rd<'_>, p: &mut PmuConfig) -> Result<u64, Truncated> {
    p.format = r.u16("FORMAT")?;
    format_bits(p);
    p.phnmr = r.u16("PHNMR")?;
    p.annmr = r.u16("ANNMR")?;
    p.dgnmr = r.u16("DGNMR")?;
    Ok(u64::from(p.phnmr) + u64::from(p.annmr) + 16 * u64::from(p.dgnmr))
}

/// Splits channel names into phasor, analog and digital names.
fn split_names(p: &mut PmuConfig, mut names: Vec<String>) {
    let dg = names.split_off(usize::from(p.phnmr) + usize::from(p.annmr));
    let an = names.split_off(usize::from(p.phnmr));
    p.phnam = names;
    p.annam = an;
    p.dgnam = dg;
}

fn digunits(r: &mut Rd<'_>, n: u16) -> Result<Vec<[u16; 2]>, Truncated> {
    r.need(4 * u64::from(n), "DIGUNIT")?;
    let mut v = Vec::with_capacity(usize::from(n));
    for _ in 0..n {
        v.push([r.u16("DIGUNIT")?, r.u16("DIGUNIT")?]);
    }
    Ok(v)
}

/// Parses a CFG-1 or CFG-2 payload (the bytes between header and CHK) [STD T.8/T.9].
/// Returns the configuration and the number of unexpected bytes after DATA_RATE.
pub fn parse_config12(payload: &[u8]) -> Result<(Config, usize), Truncated> {
    let mut r = Rd::new(payload);
    let tb = r.u32("TIME_BASE")?;
    let num_pmu = r.u16("NUM_PMU")?;
    // STN 16 + IDCODE + FORMAT + 3 counts + FNOM + CFGCNT = 30 bytes at least per PMU.
    let mut pmus = Vec::with_capacity(cap(usize::from(num_pmu), 30, r.left()));
    for _ in 0..num_pmu {
        let stn = name16(r.take(16, "STN")?);
        let idcode = r.u16("IDCODE")?;
        let mut p = empty_pmu(stn, idcode);
        let n = counts(&mut r, &mut p)?;
        r.need(16 * n, "CHNAM")?;
        let mut names = Vec::with_capacity(n as usize);
        for _ in 0..n {
            names.push(name16(r.take(16, "CHNAM")?));
        }
        split_names(&mut p, names);
        r.need(4 * u64::from(p.phnmr), "PHUNIT")?;
        let mut phunit = Vec::with_capacity(usize::from(p.phnmr));
        for _ in 0..p.phnmr {
            phunit.push(r.u32("PHUNIT")?);
        }
        p.phunit_type = Some(
            phunit
                .iter()
                .map(|w| match w >> 24 {
                    0 => "V",
                    1 => "I",
                    _ => "reserved",
                })
                .collect(),
        );
        p.phunit_scale = Some(
            phunit
                .iter()
                .map(|w| f64::from(w & 0x00ff_ffff) * 1e-5)
                .collect(),
        );
        p.phunit = Some(phunit);
        r.need(4 * u64::from(p.annmr), "ANUNIT")?;
        let mut anunit = Vec::with_capacity(usize::from(p.annmr));
        for _ in 0..p.annmr {
            anunit.push(r.u32("ANUNIT")?);
        }
        p.anunit_type = Some(
            anunit
                .iter()
                .map(|w| anunit_type((w >> 24) as u8))
                .collect(),
        );
        // Bits 23–0 as a signed 24-bit value: shift into the top and back (arithmetic).
        p.anunit_scale = Some(anunit.iter().map(|w| ((w << 8) as i32) >> 8).collect());
        p.anunit = Some(anunit);
        p.digunit = digunits(&mut r, p.dgnmr)?;
        p.fnom_raw = r.u16("FNOM")?;
        p.fnom = fnom_hz(p.fnom_raw);
        p.cfgcnt = r.u16("CFGCNT")?;
        pmus.push(p);
    }
    let data_rate = r.i16("DATA_RATE")?;
    let trailing = r.left();
    Ok((
        Config {
            cont_idx: None,
            fragments: None,
            time_base: tb & 0x00ff_ffff,
            time_base_flags: (tb >> 24) as u8,
            num_pmu,
            data_rate,
            frames_per_second: rate(data_rate),
            pmus,
        },
        trailing,
    ))
}

/// Latitude/longitude/elevation: ±inf means unspecified (null) [STD T.11].
fn geo(x: f32) -> Option<Option<f32>> {
    Some(if x.is_infinite() { None } else { Some(x) })
}

/// Parses a complete CFG-3 payload, starting at CONT_IDX (for an assembled frame: the first
/// fragment's CONT_IDX followed by every fragment's bytes after its CONT_IDX) [STD T.10/T.11].
/// Returns the configuration and the number of unexpected bytes after DATA_RATE.
pub fn parse_config3(payload: &[u8]) -> Result<(Config, usize), Truncated> {
    let mut r = Rd::new(payload);
    let cont_idx = r.u16("CONT_IDX")?;
    let tb = r.u32("TIME_BASE")?;
    let num_pmu = r.u16("NUM_PMU")?;
    // STN ≥ 1 + IDCODE 2 + G_PMU_ID 16 + 4 × 2 + LAT/LON/ELEV 12 + SVC 1 + WINDOW/GRP_DLY 8
    // + FNOM/CFGCNT 4 = 52 bytes at least per PMU.
    let mut pmus = Vec::with_capacity(cap(usize::from(num_pmu), 52, r.left()));
    for _ in 0..num_pmu {
        let stn = name_var(&mut r, "STN")?;
        let idcode = r.u16("IDCODE")?;
        let mut p = empty_pmu(stn, idcode);
        p.g_pmu_id = Some(hex(r.take(16, "G_PMU_ID")?));
        let n = counts(&mut r, &mut p)?;
        // Each name field is at least its length byte.
        r.need(n, "CHNAM")?;
        let mut names = Vec::with_capacity(n as usize);
        for _ in 0..n {
            names.push(name_var(&mut r, "CHNAM")?);
        }
        split_names(&mut p, names);
        r.need(12 * u64::from(p.phnmr), "PHSCALE")?;
        let mut phscale = Vec::with_capacity(usize::from(p.phnmr));
        for _ in 0..p.phnmr {
            phscale.push((
                r.u16("PHSCALE flags")?,
                r.u8("PHSCALE type")?,
                r.u8("PHSCALE user")?,
                r.f32("PHSCALE Y")?,
                r.f32("PHSCALE angle")?,
            ));
        }
        p.phscale = Some(phscale);
        r.need(8 * u64::from(p.annmr), "ANSCALE")?;
        let mut anscale = Vec::with_capacity(usize::from(p.annmr));
        for _ in 0..p.annmr {
            anscale.push([r.f32("ANSCALE M")?, r.f32("ANSCALE B")?]);
        }
        p.anscale = Some(anscale);
        p.digunit = digunits(&mut r, p.dgnmr)?;
        p.lat = geo(r.f32("PMU_LAT")?);
        p.lon = geo(r.f32("PMU_LON")?);
        p.elev = geo(r.f32("PMU_ELEV")?);
        p.svc_class = Some(latin1(&[r.u8("SVC_CLASS")?]));
        p.window = Some(r.i32("WINDOW")?);
        p.grp_dly = Some(r.i32("GRP_DLY")?);
        p.fnom_raw = r.u16("FNOM")?;
        p.fnom = fnom_hz(p.fnom_raw);
        p.cfgcnt = r.u16("CFGCNT")?;
        pmus.push(p);
    }
    let data_rate = r.i16("DATA_RATE")?;
    let trailing = r.left();
    Ok((
        Config {
            cont_idx: Some(cont_idx),
            fragments: None,
            time_base: tb & 0x00ff_ffff,
            time_base_flags: (tb >> 24) as u8,
            num_pmu,
            data_rate,
            frames_per_second: rate(data_rate),
            pmus,
        },
        trailing,
    ))
}

// ---------------------------------------------------------------------------------------
// Data frames (c37118.md §4, [STD T.5–T.7])
// ---------------------------------------------------------------------------------------

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
    pub raw: [Num; 2],
    pub re: Option<f64>,
    pub im: Option<f64>,
    pub mag: Option<f64>,
    pub ang_deg: Option<f64>,
}

/// One analog value: raw, and M·X + B when a CFG-3 ANSCALE applies.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Analog {
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

fn data_error(stat: u16) -> &'static str {
    match stat >> 14 {
        0 => "ok",
        1 => "pmu_error",
        2 => "test_mode",
        _ => "pmu_error_invalid",
    }
}

fn trigger_reason(n: u8) -> &'static str {
    match n {
        0 => "manual",
        1 => "magnitude_low",
        2 => "magnitude_high",
        3 => "phase_angle_diff",
        4 => "frequency_high_low",
        5 => "df_dt_high",
        7 => "digital",
        8..=15 => "user",
        _ => "reserved",
    }
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
        raw,
        re: Some(mag * c),
        im: Some(mag * s),
        mag: Some(mag),
        ang_deg: Some(ang.to_degrees()),
    }
}

fn absent(raw: [Num; 2]) -> Phasor {
    Phasor {
        raw,
        re: None,
        im: None,
        mag: None,
        ang_deg: None,
    }
}

/// Decodes one PMU block (c37118.md §4 tables). Integer phasors are scaled by
/// PHUNIT × 1e-5 (CFG-1/2) or by Y with the angle reduced by θ (CFG-3); float phasors are
/// engineering values already (Wireshark does the same, c37118.md §4).
fn decode_pmu(r: &mut Rd<'_>, p: &PmuConfig) -> Result<DataPmu, Truncated> {
    let stat = r.u16("STAT")?;
    let mut phasors = Vec::with_capacity(usize::from(p.phnmr));
    for i in 0..usize::from(p.phnmr) {
        let ph = if p.phasors_float {
            let (a, b) = (r.f32("PHASOR")?, r.f32("PHASOR")?);
            let raw = [Num::Float(a), Num::Float(b)];
            if p.polar {
                phasor_polar(raw, f64::from(a), f64::from(b))
            } else {
                phasor_rect(raw, f64::from(a), f64::from(b), 0.0)
            }
        } else {
            let (scale, theta) = match (&p.phscale, &p.phunit) {
                (Some(s), _) => s
                    .get(i)
                    .map_or((1.0, 0.0), |x| (f64::from(x.3), f64::from(x.4))),
                (None, Some(u)) => (
                    u.get(i).map_or(1.0, |w| f64::from(w & 0x00ff_ffff) * 1e-5),
                    0.0,
                ),
                (None, None) => (1.0, 0.0),
            };
            if p.polar {
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
            }
        };
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
        analogs.push(Analog { raw, scaled });
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
            DataError::Truncated(t) => t.fmt(f),
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
    let mut r = Rd::new(payload);
    let mut out = Vec::with_capacity(cap(cfg.pmus.len(), 6, payload.len()));
    for p in &cfg.pmus {
        out.push(decode_pmu(&mut r, p).map_err(DataError::Truncated)?);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------

/// The data-frame part of a record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DataFrame {
    /// A configuration was applied.
    pub decoded: bool,
    /// The kind of configuration used ("cfg1", "cfg2", "cfg3"), null when undecoded.
    pub cfg_frame: Option<&'static str>,
    /// 0-based index (in [`Decoder::decode`] calls) of the frame that delivered it (for an
    /// assembled CFG-3: its last fragment).
    pub cfg_index: Option<u64>,
    pub pmus: Vec<DataPmu>,
    /// The payload as hex when undecoded, for a later re-decode (c37118.md §5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

/// A CFG-3 continuation fragment that does not complete a configuration (c37118.md §3).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fragment {
    pub cont_idx: u16,
    /// Always true: marks the record as a fragment.
    pub fragment: bool,
    /// Fragments held for this IDCODE after this one (0 when the assembly was dropped).
    pub fragments: u32,
    /// Bytes held for this IDCODE after this one.
    pub assembled_bytes: usize,
}

/// The type-specific part of a record; its fields are flattened into [`Decoded`].
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Body {
    Data(DataFrame),
    Header {
        text: String,
    },
    Config(Config),
    Command(Command),
    Fragment(Fragment),
    /// Payload not decoded (reserved frame type, malformed or truncated frame, unparsable
    /// configuration): kept as hex.
    Raw {
        payload: String,
    },
}

/// One decoded frame: the output record (see the module documentation for the schema).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decoded {
    /// Always "c37118".
    pub proto: &'static str,
    pub frame: &'static str,
    pub sync: Option<u16>,
    pub frame_type: Option<u8>,
    pub version: Option<u8>,
    pub framesize: Option<u16>,
    pub idcode: Option<u16>,
    pub soc: Option<u32>,
    pub fracsec: Option<u32>,
    pub time_quality: Option<u8>,
    pub tq: Option<TimeQuality>,
    /// SOC + FRACSEC / TIME_BASE (c37118.md §2), once a TIME_BASE is known for the IDCODE
    /// (configuration frames: their own; commands: the addressed PMU's) and the count is
    /// below it (else null, with an anomaly except for commands, which may use the sender's
    /// own time base).
    pub time: Option<f64>,
    /// CHK as sent, as recomputed, and whether they agree.
    pub chk: Option<u16>,
    pub chk_calc: Option<u16>,
    pub chk_ok: bool,
    #[serde(flatten)]
    pub body: Body,
    pub anomalies: Vec<String>,
}

impl Decoded {
    /// The configuration carried by a configuration record.
    pub fn config(&self) -> Option<&Config> {
        match &self.body {
            Body::Config(c) => Some(c),
            _ => None,
        }
    }

    /// The data part of a data record.
    pub fn data(&self) -> Option<&DataFrame> {
        match &self.body {
            Body::Data(d) => Some(d),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Decoder
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Stored {
    kind: &'static str,
    index: u64,
    config: Arc<Config>,
}

#[derive(Debug, Default)]
struct Pending {
    /// First fragment's CONT_IDX, then every fragment's bytes after CONT_IDX.
    buf: Vec<u8>,
    next: u16,
    count: u32,
}

#[derive(Debug, Default)]
struct PerId {
    /// Newest CFG-2 or CFG-3.
    current: Option<Stored>,
    /// Newest CFG-1 (fallback only).
    cfg1: Option<Stored>,
    pending: Option<Pending>,
}

/// Decodes frames in input order, keeping configuration per IDCODE across every flow (see the
/// module documentation for the rules).
#[derive(Debug, Default)]
pub struct Decoder {
    ids: HashMap<u16, PerId>,
    count: u64,
}

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The configuration that would decode the next data frame of `idcode`, with its kind.
    pub fn config(&self, idcode: u16) -> Option<(&'static str, &Config)> {
        let id = self.ids.get(&idcode)?;
        id.current
            .as_ref()
            .or(id.cfg1.as_ref())
            .map(|s| (s.kind, &*s.config))
    }

    fn time_base(&self, idcode: u16) -> Option<u32> {
        self.config(idcode).map(|(_, c)| c.time_base)
    }

    /// Decodes one complete frame (as found by the splitter). Never panics; whatever cannot be
    /// decoded is reported in `anomalies` and kept as raw bytes.
    pub fn decode(&mut self, frame: &[u8]) -> Decoded {
        let index = self.count;
        self.count += 1;
        let mut anomalies = Vec::new();
        let h = match parse_header(frame) {
            Ok(h) if frame.len() >= MIN_FRAME => h,
            _ => {
                anomalies.push(format!(
                    "{} bytes: shorter than the 16-byte minimum frame",
                    frame.len()
                ));
                return Decoded {
                    proto: "c37118",
                    frame: "malformed",
                    sync: None,
                    frame_type: None,
                    version: None,
                    framesize: None,
                    idcode: None,
                    soc: None,
                    fracsec: None,
                    time_quality: None,
                    tq: None,
                    time: None,
                    chk: None,
                    chk_calc: None,
                    chk_ok: false,
                    body: Body::Raw {
                        payload: hex(frame),
                    },
                    anomalies,
                };
            }
        };
        let mut name = frame_name(h.frame_type);
        if h.sync >> 8 != 0xAA {
            anomalies.push(format!("first SYNC byte 0x{:02x}, not 0xAA", h.sync >> 8));
            name = "malformed";
        }
        if h.sync & 0x80 != 0 {
            anomalies.push("reserved SYNC bit 7 set".into());
        }
        if h.frame_type > 5 {
            anomalies.push(format!("reserved frame type {}", h.frame_type));
        }
        if h.version == 0 {
            anomalies.push("version 0".into());
        }
        if h.time_quality & 0x80 != 0 {
            anomalies.push("reserved time-quality bit 7 set".into());
        }
        // The frame's extent: FRAMESIZE when it fits, else what was given.
        let size = usize::from(h.framesize);
        let complete = size >= MIN_FRAME && size <= frame.len();
        let frame = if complete {
            if size < frame.len() {
                anomalies.push(format!(
                    "{} bytes after FRAMESIZE {size} ignored",
                    frame.len() - size
                ));
            }
            &frame[..size]
        } else {
            if size < MIN_FRAME {
                anomalies.push(format!("FRAMESIZE {size} below 16"));
            } else {
                anomalies.push(format!(
                    "truncated: FRAMESIZE {size}, {} bytes present",
                    frame.len()
                ));
            }
            frame
        };
        let (chk, chk_calc, chk_ok) = if complete {
            let body_end = frame.len() - 2;
            let chk = u16::from_be_bytes([frame[body_end], frame[body_end + 1]]);
            let calc = CRC.checksum(&frame[..body_end]);
            if chk != calc {
                anomalies.push(format!("CHK 0x{chk:04x} != CRC 0x{calc:04x}"));
            }
            (Some(chk), Some(calc), chk == calc)
        } else {
            (None, None, false)
        };
        let payload = if complete {
            &frame[HEADER_LEN..frame.len() - 2]
        } else {
            frame.get(HEADER_LEN..).unwrap_or(&[])
        };

        let mut time_base = None;
        let body = if !complete && name == "data" {
            // A truncated data frame: undecoded, raw bytes kept (c37118.md §5).
            time_base = self.time_base(h.idcode);
            Body::Data(DataFrame {
                decoded: false,
                cfg_frame: None,
                cfg_index: None,
                pmus: Vec::new(),
                payload: Some(hex(payload)),
            })
        } else if !complete || name == "malformed" || name == "unknown" {
            time_base = self.time_base(h.idcode);
            Body::Raw {
                payload: hex(payload),
            }
        } else {
            match h.frame_type {
                0 => {
                    time_base = self.time_base(h.idcode);
                    Body::Data(self.data(h.idcode, payload, &mut anomalies))
                }
                1 => {
                    time_base = self.time_base(h.idcode);
                    Body::Header {
                        text: header_text(payload),
                    }
                }
                4 => {
                    time_base = self.time_base(h.idcode);
                    match parse_command(payload) {
                        Ok(c) => {
                            if c.ext.len() % 4 != 0 {
                                anomalies.push("EXTFRAME is not a whole number of words".into());
                            }
                            Body::Command(c)
                        }
                        Err(e) => {
                            anomalies.push(e.to_string());
                            Body::Raw {
                                payload: hex(payload),
                            }
                        }
                    }
                }
                2 | 3 => {
                    let parsed = parse_config12(payload);
                    self.config_body(
                        h,
                        index,
                        chk_ok,
                        parsed,
                        payload,
                        &mut anomalies,
                        &mut time_base,
                    )
                }
                _ => self.cfg3(h, index, chk_ok, payload, &mut anomalies, &mut time_base),
            }
        };
        let time = match time_base {
            Some(0) => {
                anomalies.push("TIME_BASE 0: time not computed".into());
                None
            }
            // Commands may carry the sender's own time base (c37118.md §2): no anomaly.
            Some(tb) if h.fracsec >= tb && h.frame_type == 4 => None,
            Some(tb) if h.fracsec >= tb => {
                anomalies.push(format!(
                    "FRACSEC count {} not below TIME_BASE {tb}: time not computed",
                    h.fracsec
                ));
                None
            }
            Some(tb) => Some(f64::from(h.soc) + f64::from(h.fracsec) / f64::from(tb)),
            None => None,
        };
        Decoded {
            proto: "c37118",
            frame: name,
            sync: Some(h.sync),
            frame_type: Some(h.frame_type),
            version: Some(h.version),
            framesize: Some(h.framesize),
            idcode: Some(h.idcode),
            soc: Some(h.soc),
            fracsec: Some(h.fracsec),
            time_quality: Some(h.time_quality),
            tq: Some(time_quality(h.time_quality)),
            time,
            chk,
            chk_calc,
            chk_ok,
            body,
            anomalies,
        }
    }

    fn data(&self, idcode: u16, payload: &[u8], anomalies: &mut Vec<String>) -> DataFrame {
        let undecoded = |cfg: Option<&Stored>| DataFrame {
            decoded: false,
            cfg_frame: cfg.map(|s| s.kind),
            cfg_index: cfg.map(|s| s.index),
            pmus: Vec::new(),
            payload: Some(hex(payload)),
        };
        let Some(id) = self.ids.get(&idcode) else {
            anomalies.push(format!("no configuration for IDCODE {idcode} yet"));
            return undecoded(None);
        };
        let Some(s) = id.current.as_ref().or(id.cfg1.as_ref()) else {
            anomalies.push(format!("no configuration for IDCODE {idcode} yet"));
            return undecoded(None);
        };
        match decode_data(payload, &s.config) {
            Ok(pmus) => DataFrame {
                decoded: true,
                cfg_frame: Some(s.kind),
                cfg_index: Some(s.index),
                pmus,
                payload: None,
            },
            Err(e) => {
                anomalies.push(format!("{e} ({} of frame {})", s.kind, s.index));
                undecoded(Some(s))
            }
        }
    }

    /// Stores a parsed configuration (good CHK only, as Wireshark) and builds its body.
    #[allow(clippy::too_many_arguments)]
    fn config_body(
        &mut self,
        h: Header,
        index: u64,
        chk_ok: bool,
        parsed: Result<(Config, usize), Truncated>,
        payload: &[u8],
        anomalies: &mut Vec<String>,
        time_base: &mut Option<u32>,
    ) -> Body {
        match parsed {
            Ok((cfg, trailing)) => {
                if trailing > 0 {
                    anomalies.push(format!("{trailing} bytes after DATA_RATE"));
                }
                if cfg.pmus.iter().any(|p| p.format & 0xfff0 != 0) {
                    anomalies.push("reserved FORMAT bits set".into());
                }
                *time_base = Some(cfg.time_base);
                let kind = frame_name(h.frame_type);
                if chk_ok {
                    let stored = Some(Stored {
                        kind,
                        index,
                        config: Arc::new(cfg.clone()),
                    });
                    let id = self.ids.entry(h.idcode).or_default();
                    if kind == "cfg1" {
                        id.cfg1 = stored;
                    } else {
                        id.current = stored;
                    }
                } else {
                    anomalies.push("configuration not used: bad CHK".into());
                }
                Body::Config(cfg)
            }
            Err(e) => {
                anomalies.push(format!("configuration not used: {e}"));
                Body::Raw {
                    payload: hex(payload),
                }
            }
        }
    }

    /// CFG-3 with continuation (c37118.md §3): fragments 1, 2, … 0xFFFE, 0xFFFF are joined the
    /// openPDC way (first CONT_IDX, then every fragment's bytes after its CONT_IDX; every CHK
    /// must be good) and parsed on 0xFFFF; CONT_IDX 0 is a whole frame.
    fn cfg3(
        &mut self,
        h: Header,
        index: u64,
        chk_ok: bool,
        payload: &[u8],
        anomalies: &mut Vec<String>,
        time_base: &mut Option<u32>,
    ) -> Body {
        let Ok(cont) = Rd::new(payload).u16("CONT_IDX") else {
            anomalies.push("configuration not used: no CONT_IDX".into());
            return Body::Raw {
                payload: hex(payload),
            };
        };
        // Bytes held for all IDCODEs (the cap of MAX_CFG3_ASSEMBLED holds for them together).
        let held: usize = self
            .ids
            .values()
            .filter_map(|i| i.pending.as_ref())
            .map(|q| q.buf.len())
            .sum();
        let id = self.ids.entry(h.idcode).or_default();
        let dropped = |p: &Pending, why: &str| {
            format!(
                "CFG-3 continuation dropped ({} fragments, {} bytes): {why}",
                p.count,
                p.buf.len()
            )
        };
        let fragment = |cont_idx, p: Option<&Pending>| {
            Body::Fragment(Fragment {
                cont_idx,
                fragment: true,
                fragments: p.map_or(0, |p| p.count),
                assembled_bytes: p.map_or(0, |p| p.buf.len()),
            })
        };
        if cont == 0 {
            if let Some(p) = id.pending.take() {
                anomalies.push(dropped(&p, "unsplit CFG-3 arrived"));
            }
            let parsed = parse_config3(payload);
            return self.config_body(h, index, chk_ok, parsed, payload, anomalies, time_base);
        }
        if !chk_ok {
            if let Some(p) = id.pending.take() {
                anomalies.push(dropped(&p, "fragment with bad CHK"));
            } else {
                anomalies.push("CFG-3 fragment with bad CHK ignored".into());
            }
            return fragment(cont, None);
        }
        let body = payload.get(2..).unwrap_or(&[]);
        if cont == 1 {
            if let Some(p) = id.pending.take() {
                anomalies.push(dropped(&p, "new first fragment"));
            }
            if held + payload.len() > MAX_CFG3_ASSEMBLED {
                anomalies.push(format!(
                    "CFG-3 fragment ignored: more than {MAX_CFG3_ASSEMBLED} bytes held"
                ));
                return fragment(cont, None);
            }
            let mut buf = Vec::with_capacity(payload.len());
            buf.extend_from_slice(payload);
            id.pending = Some(Pending {
                buf,
                next: 2,
                count: 1,
            });
            return fragment(cont, id.pending.as_ref());
        }
        let Some(mut p) = id.pending.take() else {
            anomalies.push(format!(
                "CFG-3 fragment CONT_IDX {cont} without a first fragment"
            ));
            return fragment(cont, None);
        };
        if cont != 0xffff && cont != p.next {
            anomalies.push(dropped(
                &p,
                &format!("CONT_IDX {cont} where {} was expected", p.next),
            ));
            return fragment(cont, None);
        }
        if held + body.len() > MAX_CFG3_ASSEMBLED {
            anomalies.push(dropped(
                &p,
                &format!("more than {MAX_CFG3_ASSEMBLED} bytes"),
            ));
            return fragment(cont, None);
        }
        p.buf.extend_from_slice(body);
        p.count += 1;
        if cont != 0xffff {
            p.next = p.next.wrapping_add(1);
            id.pending = Some(p);
            return fragment(cont, id.pending.as_ref());
        }
        let parsed = parse_config3(&p.buf).map(|(mut c, t)| {
            c.cont_idx = Some(cont);
            c.fragments = Some(p.count);
            (c, t)
        });
        self.config_body(h, index, chk_ok, parsed, &p.buf, anomalies, time_base)
    }
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a frame: SYNC 0xAA + `tv`, FRAMESIZE, IDCODE, SOC, FRACSEC (TQ in the top
    /// byte), payload, CHK (c37118.md §1).
    fn frame(tv: u8, idcode: u16, soc: u32, fracsec: u32, payload: &[u8]) -> Vec<u8> {
        let size = (payload.len() + 16) as u16;
        let mut f = vec![0xAA, tv];
        f.extend(size.to_be_bytes());
        f.extend(idcode.to_be_bytes());
        f.extend(soc.to_be_bytes());
        f.extend(fracsec.to_be_bytes());
        f.extend(payload);
        let crc = CRC.checksum(&f);
        f.extend(crc.to_be_bytes());
        f
    }

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn name16b(s: &str) -> Vec<u8> {
        let mut v = s.as_bytes().to_vec();
        v.resize(16, b' ');
        v
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[track_caller]
    fn assert_close(a: Option<f64>, b: f64, tol: f64) {
        let a = a.expect("value present");
        assert!(close(a, b, tol), "{a} vs {b} (tol {tol})");
    }

    /// A CFG-1/2 payload for one PMU block list.
    struct Pmu12<'a> {
        stn: &'a str,
        idcode: u16,
        format: u16,
        phnam: &'a [&'a str],
        annam: &'a [&'a str],
        dgnam: &'a [&'a str],
        phunit: &'a [u32],
        anunit: &'a [u32],
        digunit: &'a [[u16; 2]],
        fnom: u16,
        cfgcnt: u16,
    }

    fn cfg12_payload(time_base: u32, pmus: &[Pmu12<'_>], data_rate: i16) -> Vec<u8> {
        let mut p = Vec::new();
        p.extend(time_base.to_be_bytes());
        p.extend((pmus.len() as u16).to_be_bytes());
        for m in pmus {
            p.extend(name16b(m.stn));
            p.extend(m.idcode.to_be_bytes());
            p.extend(m.format.to_be_bytes());
            p.extend((m.phnam.len() as u16).to_be_bytes());
            p.extend((m.annam.len() as u16).to_be_bytes());
            p.extend((m.digunit.len() as u16).to_be_bytes());
            for n in m.phnam.iter().chain(m.annam).chain(m.dgnam) {
                p.extend(name16b(n));
            }
            for u in m.phunit.iter().chain(m.anunit) {
                p.extend(u.to_be_bytes());
            }
            for d in m.digunit {
                p.extend(d[0].to_be_bytes());
                p.extend(d[1].to_be_bytes());
            }
            p.extend(m.fnom.to_be_bytes());
            p.extend(m.cfgcnt.to_be_bytes());
        }
        p.extend(data_rate.to_be_bytes());
        p
    }

    /// Annex D.1 data frame, as printed in c37118.md §10.
    const ANNEX_D1: &str = "AA01 0034 1E36 44853600 000041B1 0000 392B 0000 E36A CE7C E36A 3183 \
                            0444 0000 09C4 0000 42C80000 447A0000 461C4000 3C12 D43F";
    /// Annex D.3 command frame, as printed in c37118.md §10.
    const ANNEX_D3: &str = "AA41 0012 1E36 44856030 0F0BBFD0 0002 CE00";

    /// The Annex D.2 configuration, built from the values stated in c37118.md §10/§2/§3:
    /// IDCODE 7734 (0x1E36), SOC 0x44853600, FRACSEC 0x56071098, TIME_BASE 1 000 000,
    /// FORMAT 0x0004 (rectangular, integer phasors, float analogs, integer FREQ), three
    /// voltage phasors with PHUNIT 0x000DF847 and one current with 0x0100B2D0, three analogs,
    /// one digital word. Names, ANUNIT, DIGUNIT, FNOM (60 Hz), CFGCNT and DATA_RATE are not
    /// given there and are chosen here; none of them changes the D.1 values except FNOM.
    fn annex_d2() -> Vec<u8> {
        let dg: Vec<String> = (0..16).map(|i| format!("BREAKER {i} STATUS")).collect();
        let dg: Vec<&str> = dg.iter().map(String::as_str).collect();
        let payload = cfg12_payload(
            1_000_000,
            &[Pmu12 {
                stn: "Station A",
                idcode: 7734,
                format: 0x0004,
                phnam: &["VA", "VB", "VC", "I1"],
                annam: &["ANALOG1", "ANALOG2", "ANALOG3"],
                dgnam: &dg,
                phunit: &[0x000D_F847, 0x000D_F847, 0x000D_F847, 0x0100_B2D0],
                anunit: &[0x0000_0001, 0x0100_0001, 0x0200_0001],
                digunit: &[[0x0000, 0xFFFF]],
                fnom: 0,
                cfgcnt: 22,
            }],
            30,
        );
        frame(0x31, 7734, 0x4485_3600, 0x5607_1098, &payload)
    }

    #[test]
    fn annex_d2_config() {
        let f = annex_d2();
        // 14 + 4 + 2 + 16 + 2 + 2 + 6 + 16·(4+3+16) + 16 + 12 + 4 + 2 + 2 + 2 + 2 = 454
        assert_eq!(f.len(), 454);
        let mut d = Decoder::new();
        let r = d.decode(&f);
        assert_eq!(r.frame, "cfg2");
        assert!(r.chk_ok && r.anomalies.is_empty(), "{:?}", r.anomalies);
        // TQ 0x56 = 0101 0110: leap delete, no occurred, pending, MSG_TQ 6 (10^-4 s);
        // count 0x071098 = 463 000 → 0.463 s at TIME_BASE 1e6 (c37118.md §2).
        assert_eq!(r.time_quality, Some(0x56));
        assert_eq!(r.fracsec, Some(463_000));
        let tq = r.tq.as_ref().unwrap();
        assert_eq!(tq.leap_direction, "delete");
        assert!(!tq.leap_occurred && tq.leap_pending);
        assert_eq!(tq.msg_tq, 6);
        assert_close(tq.max_error_s, 1e-4, 1e-18);
        assert_close(r.time, 1_149_580_800.463, 1e-6);
        let c = r.config().unwrap();
        let p = &c.pmus[0];
        assert_eq!(p.phunit_type.as_deref(), Some(&["V", "V", "V", "I"][..]));
        // 0x0DF847 = 915 527 → 9.15527 V/count; 0x00B2D0 = 45 776 → 0.45776 A/count.
        let sc = p.phunit_scale.as_ref().unwrap();
        assert!(close(sc[0], 9.15527, 1e-12) && close(sc[3], 0.45776, 1e-12));
        assert_eq!(p.anunit_type.as_deref(), Some(&["pow", "rms", "peak"][..]));
        assert_eq!(p.anunit_scale.as_deref(), Some(&[1, 1, 1][..]));
        assert_eq!(p.dgnam.len(), 16);
        assert_eq!(p.fnom, 60);
        assert_eq!(c.data_len(), 52 - 16);
    }

    #[test]
    fn annex_d1_data_with_d2() {
        let d1 = unhex(ANNEX_D1);
        assert_eq!(d1.len(), 52);
        let mut d = Decoder::new();
        // Before the configuration: not decoded, never guessed.
        let r = d.decode(&d1);
        assert!(r.chk_ok);
        let df = r.data().unwrap();
        assert!(!df.decoded && df.pmus.is_empty() && df.payload.is_some());
        assert!(r.anomalies.iter().any(|a| a.contains("no configuration")));
        assert_eq!(r.time, None);

        d.decode(&annex_d2());
        let r = d.decode(&d1);
        assert_eq!(r.frame, "data");
        assert_eq!(r.chk, Some(0xD43F));
        assert!(r.chk_ok && r.anomalies.is_empty(), "{:?}", r.anomalies);
        // SOC 0x44853600 = 1 149 580 800; FRACSEC 0x41B1 = 16 817 → +0.016817 s.
        assert_close(r.time, 1_149_580_800.016_817, 1e-6);
        let df = r.data().unwrap();
        assert!(df.decoded);
        assert_eq!(df.cfg_frame, Some("cfg2"));
        assert_eq!(df.cfg_index, Some(1));
        let p = &df.pmus[0];
        assert_eq!(p.stat, 0);
        assert_eq!(p.data_error, "ok");
        // VA = 0x392B + j0 = 14 635 counts × 9.15527 V = 133 987.376 45 V (14 635 × 9 = 131 715,
        // 14 635 × 0.15527 = 2 272.376 45), angle 0°.
        let va = &p.phasors[0];
        assert_eq!(va.raw, [Num::Int(14635), Num::Int(0)]);
        assert_close(va.re, 133_987.376_45, 1e-6);
        assert_close(va.im, 0.0, 1e-12);
        assert_close(va.mag, 133_987.376_45, 1e-6);
        assert_close(va.ang_deg, 0.0, 1e-12);
        // VB = 0xE36A + j0xCE7C = −7 318 − j12 676: −7 318 × 9.15527 = −66 998.265 86,
        // −12 676 × 9.15527 = −116 052.202 52; |VB| = √(53 553 124 + 160 680 976) × 9.15527
        // = 14 636.73... × 9.15527; angle atan2(−12 676, −7 318) ≈ −120.0°.
        let vb = &p.phasors[1];
        assert_eq!(vb.raw, [Num::Int(-7318), Num::Int(-12676)]);
        assert_close(vb.re, -66_998.265_86, 1e-5);
        assert_close(vb.im, -116_052.202_52, 1e-5);
        assert_close(vb.mag, 214_234_100f64.sqrt() * 9.15527, 1e-6);
        assert_close(vb.ang_deg, -120.0, 0.01);
        // VC = −7 318 + j12 675 (0x3183): im = 12 675 × 9.15527 = 116 043.047 25, ≈ +120°.
        let vc = &p.phasors[2];
        assert_close(vc.im, 116_043.047_25, 1e-5);
        assert_close(vc.ang_deg, 120.0, 0.01);
        // I1 = 0x0444 = 1 092 counts × 0.45776 A = 499.873 92 A, 0°.
        let i1 = &p.phasors[3];
        assert_close(i1.re, 499.873_92, 1e-9);
        assert_close(i1.ang_deg, 0.0, 1e-12);
        // FREQ 0x09C4 = 2 500 mHz → 60 + 2.5 = 62.5 Hz; DFREQ 0.
        assert_eq!(p.freq_raw, Num::Int(2500));
        assert_close(p.freq, 62.5, 1e-12);
        assert_close(p.dfreq, 0.0, 1e-12);
        // Analogs 0x42C80000 = 100.0, 0x447A0000 = 1000.0, 0x461C4000 = 10 000.0 (floats,
        // no CFG-3 ANSCALE → scaled null).
        let an: Vec<Num> = p.analogs.iter().map(|a| a.raw).collect();
        assert_eq!(
            an,
            [Num::Float(100.0), Num::Float(1000.0), Num::Float(10000.0)]
        );
        assert!(p.analogs.iter().all(|a| a.scaled.is_none()));
        assert_eq!(p.digitals, [0x3C12]);

        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["proto"], "c37118");
        assert_eq!(json["frame"], "data");
        assert_eq!(json["decoded"], true);
        assert_eq!(
            json["pmus"][0]["phasors"][0]["raw"],
            serde_json::json!([14635, 0])
        );
        assert_eq!(json["pmus"][0]["freq"], 62.5);
        assert_eq!(json["pmus"][0]["freq_raw"], 2500);
    }

    #[test]
    fn annex_d3_command() {
        let d3 = unhex(ANNEX_D3);
        let mut d = Decoder::new();
        let r = d.decode(&d3);
        assert_eq!(r.frame, "cmd");
        assert!(r.chk_ok);
        assert_eq!(r.chk, Some(0xCE00));
        assert_eq!(r.idcode, Some(7734));
        assert_eq!(r.soc, Some(0x4485_6030));
        // FRACSEC 0x0F0BBFD0: TQ 0x0F (MSG_TQ fault), count 0x0BBFD0 = 770 000.
        assert_eq!(r.time_quality, Some(0x0F));
        assert_eq!(r.tq.as_ref().unwrap().clock, "fault");
        assert_eq!(r.fracsec, Some(770_000));
        assert_eq!(r.time, None, "no TIME_BASE known yet");
        match &r.body {
            Body::Command(c) => {
                assert_eq!(c.cmd, 2);
                assert_eq!(c.cmd_name, "turn_on_data");
                assert_eq!(c.ext, "");
            }
            b => panic!("{b:?}"),
        }
        // With the D.2 configuration of the same IDCODE, its TIME_BASE applies:
        // 0x44856030 = 1 149 591 600, + 770 000 / 1e6.
        d.decode(&annex_d2());
        let r = d.decode(&d3);
        assert_close(r.time, 1_149_591_600.77, 1e-6);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["cmd"], 2);
        assert_eq!(json["cmd_name"], "turn_on_data");
        assert_eq!(json["ext"], "");
    }

    #[test]
    fn command_names_and_ext() {
        let names: Vec<&str> = [1, 2, 3, 4, 5, 6, 7, 8, 0x100, 0xfff, 0x1000]
            .map(cmd_name)
            .to_vec();
        assert_eq!(
            names,
            [
                "turn_off_data",
                "turn_on_data",
                "send_hdr",
                "send_cfg1",
                "send_cfg2",
                "send_cfg3",
                "reserved",
                "extended_frame",
                "user_designated",
                "user_designated",
                "reserved"
            ]
        );
        let f = frame(0x41, 5, 0, 0, &[0, 8, 0xde, 0xad, 0xbe, 0xef]);
        let r = Decoder::new().decode(&f);
        match r.body {
            Body::Command(c) => assert_eq!((c.cmd, c.ext.as_str()), (8, "deadbeef")),
            b => panic!("{b:?}"),
        }
    }

    #[test]
    fn header_frames_and_unknown_types() {
        let mut d = Decoder::new();
        let r = d.decode(&frame(0x11, 1, 0, 0, b"PMU \xe9t\xe9"));
        assert_eq!(r.frame, "header");
        assert_eq!(
            r.body,
            Body::Header {
                text: "PMU été".into()
            }
        );
        // The 16-byte empty header frame of c37_1100_clean_tcp.
        let r = d.decode(&unhex("aa1100100001597589330f04611f5105"));
        assert_eq!(r.frame, "header");
        assert!(r.chk_ok);
        assert_eq!(
            r.body,
            Body::Header {
                text: String::new()
            }
        );
        // Reserved type 6 and SYNC bit 7: kept with the payload, flagged.
        let r = d.decode(&frame(0xE1, 1, 0, 0, &[1, 2, 3]));
        assert_eq!(r.frame, "unknown");
        assert_eq!(r.frame_type, Some(6));
        assert_eq!(r.sync, Some(0xAAE1));
        assert_eq!(
            r.body,
            Body::Raw {
                payload: "010203".into()
            }
        );
        assert!(r.anomalies.iter().any(|a| a.contains("bit 7")));
        assert!(r
            .anomalies
            .iter()
            .any(|a| a.contains("reserved frame type 6")));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["payload"], "010203");
    }

    /// Every prefix of every kind of frame decodes without panicking, and so do the pure
    /// parsers on every prefix of their payload.
    #[test]
    fn truncated_inputs_never_panic() {
        let frames = [
            unhex(ANNEX_D1),
            unhex(ANNEX_D3),
            annex_d2(),
            frame(0x11, 1, 0, 0, b"text"),
            cfg3_fragments().concat(),
            cfg3_whole(),
        ];
        let cfg = parse_config12(&annex_d2()[14..452]).unwrap().0;
        for f in &frames {
            let mut d = Decoder::new();
            d.decode(&annex_d2());
            for n in 0..=f.len() {
                let r = d.decode(&f[..n]);
                let whole = usize::from(u16::from_be_bytes([f[2], f[3]])) == f.len();
                if whole && n < f.len() && n >= 16 {
                    assert!(!r.anomalies.is_empty(), "prefix {n} without anomaly");
                }
                let body = f.get(14..n).unwrap_or(&[]);
                let _ = parse_header(&f[..n]);
                let _ = parse_command(body);
                let _ = header_text(body);
                let _ = parse_config12(body);
                let _ = parse_config3(body);
                let _ = decode_data(body, &cfg);
            }
        }
        // Pure parsers report truncation on every strict prefix of a valid payload.
        let d2 = annex_d2();
        let p = &d2[14..d2.len() - 2];
        for n in 0..p.len() {
            assert!(parse_config12(&p[..n]).is_err(), "cfg prefix {n}");
        }
        let c3 = cfg3_whole();
        let p3 = &c3[14..c3.len() - 2];
        for n in 0..p3.len() {
            assert!(parse_config3(&p3[..n]).is_err(), "cfg3 prefix {n}");
        }
        let d1 = unhex(ANNEX_D1);
        let pd = &d1[14..50];
        for n in 0..pd.len() {
            assert!(decode_data(&pd[..n], &cfg).is_err(), "data prefix {n}");
        }
        assert!(parse_command(&[0]).is_err());
        // A truncated data frame is still a data record, undecoded, with its bytes.
        let r = Decoder::new().decode(&d1[..30]);
        assert_eq!(r.frame, "data");
        let df = r.data().unwrap();
        assert!(!df.decoded && df.payload.as_deref() == Some(&hex(&d1[14..30])[..]));
    }

    /// Mutated valid frames (CHK recomputed, so the body parsers run) and random bytes never
    /// panic (a small deterministic fuzz; see also fuzz/ for the real one).
    #[test]
    fn mutations_never_panic() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let bases = [
            unhex(ANNEX_D1),
            unhex(ANNEX_D3),
            annex_d2(),
            cfg3_whole(),
            cfg3_data(),
        ];
        let mut d = Decoder::new();
        d.decode(&annex_d2());
        d.decode(&cfg3_whole());
        for i in 0..20_000 {
            let mut f = bases[i % bases.len()].clone();
            for _ in 0..1 + rnd() % 4 {
                let at = (rnd() as usize) % f.len();
                f[at] = rnd() as u8;
            }
            if rnd() % 2 == 0 {
                // Keep FRAMESIZE consistent and the CHK good.
                let n = f.len() as u16;
                f[2..4].copy_from_slice(&n.to_be_bytes());
                let c = CRC.checksum(&f[..f.len() - 2]);
                let l = f.len();
                f[l - 2..].copy_from_slice(&c.to_be_bytes());
            }
            let r = d.decode(&f);
            serde_json::to_string(&r).unwrap();
            let junk: Vec<u8> = (0..rnd() % 64).map(|_| rnd() as u8).collect();
            d.decode(&junk);
        }
    }

    /// Forged counts never allocate beyond the frame: NUM_PMU 65535 and PHNMR 65535 in a
    /// tiny frame fail cleanly.
    #[test]
    fn forged_counts() {
        let mut p = vec![0, 0x0f, 0x42, 0x40, 0xff, 0xff];
        p.extend(name16b("X"));
        p.extend([0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert!(parse_config12(&p).is_err());
        let mut q = vec![0, 0, 0, 0x0f, 0x42, 0x40, 0xff, 0xff, 1, b'X', 0, 1];
        q.extend([0u8; 16]);
        q.extend([0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert!(parse_config3(&q).is_err());
        let r = Decoder::new().decode(&frame(0x31, 1, 0, 0, &p));
        assert_eq!(r.frame, "cfg2");
        assert!(matches!(r.body, Body::Raw { .. }));
        // Malformed inputs.
        let r = Decoder::new().decode(&[0xAA]);
        assert_eq!(r.frame, "malformed");
        let mut bad = unhex(ANNEX_D3);
        bad[0] = 0xAB;
        assert_eq!(Decoder::new().decode(&bad).frame, "malformed");
        let mut bad = unhex(ANNEX_D3);
        bad[17] ^= 1;
        let r = Decoder::new().decode(&bad);
        assert!(
            !r.chk_ok
                && r.body
                    != Body::Raw {
                        payload: String::new()
                    }
        );
    }

    // ---- CFG-3 with continuation -------------------------------------------------------

    /// A CFG-3 payload (from CONT_IDX on) with two PMUs, polar float phasors:
    /// PMU "Alpha" id 11: FORMAT 0x000B (polar, float phasors, int analogs, float FREQ),
    ///   2 phasors VA (PHSCALE type 0x04: voltage, phase A), IA (type 0x0C: current, phase A),
    ///   1 analog "AN1" with ANSCALE M 0.5 B 10, no digitals, lat 46.5 lon 6.6 elev +inf,
    ///   svc 'M', window 40000, grp_dly −100, 50 Hz, CFGCNT 3;
    /// PMU "Beta" id 12: FORMAT 0x0000 (rect int), 1 phasor "VB" with PHSCALE Y 2.0,
    ///   θ 0.5 rad, 0 analogs, 1 digital word, lat −inf, 60 Hz, CFGCNT 4.
    /// TIME_BASE 1 000 000, DATA_RATE −5 (one frame every 5 s).
    fn cfg3_payload(cont_idx: u16) -> Vec<u8> {
        let name = |s: &str| {
            let mut v = vec![s.len() as u8];
            v.extend(s.as_bytes());
            v
        };
        let mut p = Vec::new();
        p.extend(cont_idx.to_be_bytes());
        p.extend(1_000_000u32.to_be_bytes());
        p.extend(2u16.to_be_bytes());
        // PMU 1
        p.extend(name("Alpha"));
        p.extend(11u16.to_be_bytes());
        p.extend((0u8..16).collect::<Vec<_>>());
        p.extend([0, 0x0B, 0, 2, 0, 1, 0, 0]);
        for n in ["VA", "IA", "AN1"] {
            p.extend(name(n));
        }
        // PHSCALE VA: flags 0x0100 (phase cal), type 0x04 (V, phase A), user 0, Y 1, θ 0.
        p.extend([0x01, 0x00, 0x04, 0x00]);
        p.extend(1f32.to_be_bytes());
        p.extend(0f32.to_be_bytes());
        // PHSCALE IA: flags 0, type 0x0C (I, phase A), user 7, Y 1, θ 0.
        p.extend([0, 0, 0x0C, 7]);
        p.extend(1f32.to_be_bytes());
        p.extend(0f32.to_be_bytes());
        // ANSCALE AN1: M 0.5, B 10.
        p.extend(0.5f32.to_be_bytes());
        p.extend(10f32.to_be_bytes());
        p.extend(46.5f32.to_be_bytes());
        p.extend(6.6f32.to_be_bytes());
        p.extend(f32::INFINITY.to_be_bytes());
        p.push(b'M');
        p.extend(40_000i32.to_be_bytes());
        p.extend((-100i32).to_be_bytes());
        p.extend(1u16.to_be_bytes()); // FNOM: 50 Hz
        p.extend(3u16.to_be_bytes());
        // PMU 2
        p.extend(name("Beta"));
        p.extend(12u16.to_be_bytes());
        p.extend([0xEE; 16]);
        p.extend([0, 0, 0, 1, 0, 0, 0, 1]);
        p.extend(name("VB"));
        for i in 0..16 {
            p.extend(name(&format!("D{i}")));
        }
        p.extend([0, 0, 0x05, 0]);
        p.extend(2f32.to_be_bytes());
        p.extend(0.5f32.to_be_bytes());
        p.extend([0x00, 0x0F, 0xFF, 0xFF]); // DIGUNIT
        p.extend(f32::NEG_INFINITY.to_be_bytes());
        p.extend(0f32.to_be_bytes());
        p.extend(12.0f32.to_be_bytes());
        p.push(b'P');
        p.extend(0i32.to_be_bytes());
        p.extend(0i32.to_be_bytes());
        p.extend(0u16.to_be_bytes()); // FNOM: 60 Hz
        p.extend(4u16.to_be_bytes());
        p.extend((-5i16).to_be_bytes());
        p
    }

    fn cfg3_whole() -> Vec<u8> {
        frame(0x52, 77, 1_700_000_000, 250_000, &cfg3_payload(0))
    }

    /// The same CFG-3 split into 3 fragments (CONT_IDX 1, 2, 0xFFFF), each with its own
    /// header and CHK; the body after CONT_IDX is cut at two arbitrary points.
    fn cfg3_fragments() -> Vec<Vec<u8>> {
        let body = cfg3_payload(0)[2..].to_vec();
        let (a, rest) = body.split_at(37);
        let (b, c) = rest.split_at(50);
        [(1u16, a), (2, b), (0xFFFF, c)]
            .iter()
            .map(|(ci, part)| {
                let mut p = ci.to_be_bytes().to_vec();
                p.extend(*part);
                frame(0x52, 77, 1_700_000_000, 250_000, &p)
            })
            .collect()
    }

    /// The data frame for the CFG-3 above: PMU Alpha: STAT 0x8000 (bits 15–14 = 10: test
    /// mode), VA polar float (230.0, −π/6), IA polar float
    /// (NaN, 0) absent, 1 int analog 100, FREQ 50.01 f32, DFREQ −0.25 f32; PMU Beta: STAT
    /// 0x2031, VB rect int (3, 4), DIGITAL 0xA5A5.
    fn cfg3_data() -> Vec<u8> {
        let mut p = Vec::new();
        p.extend(0x8000u16.to_be_bytes());
        p.extend(230f32.to_be_bytes());
        p.extend((-std::f32::consts::FRAC_PI_6).to_be_bytes());
        p.extend(f32::NAN.to_be_bytes());
        p.extend(0f32.to_be_bytes());
        p.extend(50.01f32.to_be_bytes());
        p.extend((-0.25f32).to_be_bytes());
        p.extend(100i16.to_be_bytes());
        p.extend(0x2031u16.to_be_bytes());
        p.extend(3i16.to_be_bytes());
        p.extend(4i16.to_be_bytes());
        p.extend(0i16.to_be_bytes());
        p.extend(0i16.to_be_bytes());
        p.extend(0xA5A5u16.to_be_bytes());
        frame(0x01, 77, 1_700_000_001, 500_000, &p)
    }

    fn check_cfg3(c: &Config) {
        assert_eq!(c.time_base, 1_000_000);
        assert_eq!(c.num_pmu, 2);
        assert_eq!(c.data_rate, -5);
        assert_eq!(c.frames_per_second, Some(0.2));
        let a = &c.pmus[0];
        assert_eq!((a.stn.as_str(), a.idcode, a.format), ("Alpha", 11, 0x0B));
        assert!(a.polar && a.phasors_float && !a.analogs_float && a.freq_float);
        assert_eq!(
            a.g_pmu_id.as_deref(),
            Some("000102030405060708090a0b0c0d0e0f")
        );
        assert_eq!(
            (a.phnam.clone(), a.annam.clone()),
            (vec!["VA".to_string(), "IA".into()], vec!["AN1".to_string()])
        );
        assert!(a.dgnam.is_empty());
        assert_eq!(
            a.phscale.as_deref(),
            Some(&[(0x0100, 0x04, 0, 1.0, 0.0), (0, 0x0C, 7, 1.0, 0.0)][..])
        );
        assert_eq!(a.anscale.as_deref(), Some(&[[0.5, 10.0]][..]));
        assert_eq!(
            (a.lat, a.lon, a.elev),
            (Some(Some(46.5)), Some(Some(6.6)), Some(None))
        );
        assert_eq!(a.svc_class.as_deref(), Some("M"));
        assert_eq!((a.window, a.grp_dly), (Some(40_000), Some(-100)));
        assert_eq!((a.fnom, a.fnom_raw, a.cfgcnt), (50, 1, 3));
        assert!(a.phunit.is_none());
        let b = &c.pmus[1];
        assert_eq!((b.stn.as_str(), b.idcode, b.format), ("Beta", 12, 0));
        assert_eq!(b.dgnam.len(), 16);
        assert_eq!(b.dgnam[15], "D15");
        assert_eq!(b.digunit, [[0x000F, 0xFFFF]]);
        assert_eq!(b.lat, Some(None));
        assert_eq!(b.elev, Some(Some(12.0)));
        assert_eq!((b.fnom, b.cfgcnt), (60, 4));
        // Data sizes: Alpha 2 + 2·8 + 8 + 1·2 = 28; Beta 2 + 4 + 4 + 2 = 12.
        assert_eq!(c.data_len(), 40);
    }

    fn check_cfg3_data(r: &Decoded) {
        assert!(r.chk_ok);
        let df = r.data().unwrap();
        assert!(df.decoded, "{:?}", r.anomalies);
        assert_eq!(df.cfg_frame, Some("cfg3"));
        let a = &df.pmus[0];
        assert_eq!(a.data_error, "test_mode");
        // VA: 230 ∠ −30°: re = 230·cos(−30°) = 199.1858, im = −115.
        let va = &a.phasors[0];
        assert_close(va.mag, 230.0, 1e-9);
        assert_close(va.ang_deg, -30.0, 1e-5);
        assert_close(va.re, 230.0 * 3f64.sqrt() / 2.0, 1e-4);
        assert_close(va.im, -115.0, 1e-4);
        // IA: NaN magnitude → absent, engineering values null.
        assert_eq!(a.phasors[1].mag, None);
        assert_eq!(a.phasors[1].re, None);
        assert_close(a.freq, 50.01, 1e-5);
        assert_close(a.dfreq, -0.25, 0.0);
        // AN1: 100 × 0.5 + 10 = 60.
        assert_eq!(a.analogs[0].raw, Num::Int(100));
        assert_close(a.analogs[0].scaled, 60.0, 0.0);
        let b = &df.pmus[1];
        // STAT 0x2031: bit 13 sync error; low byte 0x31 = 0011 0001: bits 5–4 = 11 →
        // unlocked > 1000 s (3), trigger reason 1 (magnitude low); PMU_TQ 0.
        assert!(b.sync_error && !b.trigger);
        assert_eq!((b.unlocked_time, b.trigger_reason, b.pmu_tq), (3, 1, 0));
        assert_eq!(b.trigger_reason_name, "magnitude_low");
        // VB: (3 + j4) × Y 2 = 6 + j8 = 10 ∠ 53.1301°, minus θ 0.5 rad (28.6479°) →
        // 10 ∠ 24.4822°: re = 10·cos(0.927295 − 0.5) = 9.1006, im = 4.1447.
        let vb = &b.phasors[0];
        assert_eq!(vb.raw, [Num::Int(3), Num::Int(4)]);
        assert_close(vb.mag, 10.0, 1e-9);
        assert_close(vb.ang_deg, 53.130_102 - 28.647_890, 1e-5);
        assert_close(vb.re, 10.0 * (0.927_295_218f64 - 0.5).cos(), 1e-6);
        assert_close(vb.im, 10.0 * (0.927_295_218f64 - 0.5).sin(), 1e-6);
        // Integer FREQ 0 mHz at 60 Hz nominal.
        assert_close(b.freq, 60.0, 0.0);
        assert_eq!(b.digitals, [0xA5A5]);
    }

    #[test]
    fn cfg3_whole_frame() {
        let mut d = Decoder::new();
        let r = d.decode(&cfg3_whole());
        assert_eq!(r.frame, "cfg3");
        assert!(r.anomalies.is_empty(), "{:?}", r.anomalies);
        let c = r.config().unwrap();
        assert_eq!((c.cont_idx, c.fragments), (Some(0), None));
        check_cfg3(c);
        assert_close(r.time, 1_700_000_000.25, 1e-6);
        check_cfg3_data(&d.decode(&cfg3_data()));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["pmus"][0]["elev"], serde_json::Value::Null);
        assert_eq!(json["pmus"][0]["svc_class"], "M");
        assert_eq!(
            json["pmus"][0]["phscale"][0],
            serde_json::json!([256, 4, 0, 1.0, 0.0])
        );
        assert_eq!(
            json["pmus"][0]["anscale"][0],
            serde_json::json!([0.5, 10.0])
        );
    }

    #[test]
    fn cfg3_continuation() {
        let frags = cfg3_fragments();
        let mut d = Decoder::new();
        // Data before the last fragment: no configuration yet.
        let r = d.decode(&frags[0]);
        assert_eq!(r.frame, "cfg3");
        match &r.body {
            Body::Fragment(f) => {
                assert!(f.fragment);
                assert_eq!((f.cont_idx, f.fragments), (1, 1));
            }
            b => panic!("{b:?}"),
        }
        assert!(!d.decode(&cfg3_data()).data().unwrap().decoded);
        let r = d.decode(&frags[1]);
        assert!(matches!(&r.body, Body::Fragment(f) if f.cont_idx == 2 && f.fragments == 2));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["fragment"], true);
        let r = d.decode(&frags[2]);
        assert!(r.anomalies.is_empty(), "{:?}", r.anomalies);
        let c = r.config().unwrap();
        assert_eq!((c.cont_idx, c.fragments), (Some(0xFFFF), Some(3)));
        check_cfg3(c);
        check_cfg3_data(&d.decode(&cfg3_data()));

        // Out of order, or a last fragment alone: fragments, no configuration.
        // A missing middle fragment cannot be noticed from CONT_IDX alone (the last one is
        // 0xFFFF whatever came before); the joined bytes then fail to parse.
        let mut d = Decoder::new();
        d.decode(&frags[0]);
        let r = d.decode(&frags[2]);
        assert!(r.config().is_none());
        assert!(d.config(77).is_none());
        let mut d = Decoder::new();
        let r = d.decode(&frags[2]);
        assert!(matches!(r.body, Body::Fragment(_)));
        assert!(r.anomalies[0].contains("without a first fragment"));
        let mut d = Decoder::new();
        d.decode(&frags[1]);
        d.decode(&frags[0]);
        d.decode(&frags[0]);
        let r = d.decode(&frags[1]);
        assert!(matches!(r.body, Body::Fragment(_)));
        let r = d.decode(&frags[1]);
        assert!(r.anomalies.iter().any(|a| a.contains("CONT_IDX 2 where 3")));
        assert!(d.config(77).is_none());
        // A bad CHK in a fragment drops the assembly.
        let mut d = Decoder::new();
        d.decode(&frags[0]);
        let mut bad = frags[1].clone();
        let n = bad.len();
        bad[n - 1] ^= 0xff;
        d.decode(&bad);
        let r = d.decode(&frags[2]);
        assert!(r.config().is_none());
        assert!(d.config(77).is_none());
    }

    // ---- Configuration changes and flows -----------------------------------------------

    fn cfg2_rect_int(idcode: u16, phasors: usize, cfgcnt: u16) -> Vec<u8> {
        let names: Vec<String> = (0..phasors).map(|i| format!("P{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let units = vec![100_000u32; phasors]; // 1.0 V per count
        frame(
            0x31,
            idcode,
            1000,
            0,
            &cfg12_payload(
                1000,
                &[Pmu12 {
                    stn: "S",
                    idcode,
                    format: 0,
                    phnam: &names,
                    annam: &[],
                    dgnam: &[],
                    phunit: &units,
                    anunit: &[],
                    digunit: &[],
                    fnom: 1,
                    cfgcnt,
                }],
                10,
            ),
        )
    }

    fn data_rect_int(idcode: u16, phasors: &[(i16, i16)], freq: i16) -> Vec<u8> {
        let mut p = vec![0, 0];
        for (a, b) in phasors {
            p.extend(a.to_be_bytes());
            p.extend(b.to_be_bytes());
        }
        p.extend(freq.to_be_bytes());
        p.extend(0i16.to_be_bytes());
        frame(0x01, idcode, 1001, 500, &p)
    }

    #[test]
    fn configuration_change_mid_stream() {
        let mut d = Decoder::new();
        assert_eq!(d.decode(&cfg2_rect_int(9, 2, 1)).frame, "cfg2");
        let r = d.decode(&data_rect_int(9, &[(1, 2), (3, 4)], 20));
        let df = r.data().unwrap();
        assert!(df.decoded);
        assert_eq!(df.cfg_index, Some(0));
        assert_eq!(df.pmus[0].phasors.len(), 2);
        assert_close(df.pmus[0].phasors[1].im, 4.0, 1e-12);
        // 50 Hz + 20 mHz.
        assert_close(df.pmus[0].freq, 50.02, 1e-12);
        assert_close(r.time, 1001.5, 1e-12);
        // Config B: 3 phasors. The 2-phasor data frame no longer matches → undecoded.
        d.decode(&cfg2_rect_int(9, 3, 2));
        let r = d.decode(&data_rect_int(9, &[(1, 2), (3, 4)], 20));
        assert!(!r.data().unwrap().decoded);
        assert!(
            r.anomalies[0].contains("does not match"),
            "{:?}",
            r.anomalies
        );
        let r = d.decode(&data_rect_int(9, &[(1, 2), (3, 4), (-5, i16::MIN)], -20));
        let df = r.data().unwrap();
        assert!(df.decoded);
        assert_eq!(df.cfg_index, Some(2));
        assert_eq!(df.pmus[0].phasors.len(), 3);
        // 0x8000 → absent.
        assert_eq!(df.pmus[0].phasors[2].re, None);
        assert_close(df.pmus[0].freq, 49.98, 1e-12);
        // Another IDCODE is unaffected.
        let r = d.decode(&data_rect_int(10, &[(1, 2)], 0));
        assert!(!r.data().unwrap().decoded);
    }

    #[test]
    fn cfg1_is_only_a_fallback() {
        let mut cfg1 = cfg2_rect_int(9, 1, 1);
        cfg1[1] = 0x21;
        let n = cfg1.len();
        let crc = CRC.checksum(&cfg1[..n - 2]);
        cfg1[n - 2..].copy_from_slice(&crc.to_be_bytes());
        let mut d = Decoder::new();
        assert_eq!(d.decode(&cfg1).frame, "cfg1");
        let r = d.decode(&data_rect_int(9, &[(1, 2)], 0));
        assert_eq!(r.data().unwrap().cfg_frame, Some("cfg1"));
        d.decode(&cfg2_rect_int(9, 2, 1));
        // A later CFG-1 does not override the CFG-2.
        d.decode(&cfg1);
        let r = d.decode(&data_rect_int(9, &[(1, 2), (3, 4)], 0));
        assert_eq!(r.data().unwrap().cfg_frame, Some("cfg2"));
        assert!(
            !d.decode(&data_rect_int(9, &[(1, 2)], 0))
                .data()
                .unwrap()
                .decoded
        );
    }

    /// Configuration learned on one flow (e.g. TCP) decodes data with the same IDCODE from
    /// another (e.g. UDP): the decoder has no notion of flows, only IDCODEs.
    #[test]
    fn config_then_data_from_another_flow() {
        let mut d = Decoder::new();
        // "TCP": command to 9, then the CFG-2 reply.
        d.decode(&frame(0x41, 9, 0, 0, &[0, 5]));
        d.decode(&cfg2_rect_int(9, 1, 7));
        // "UDP": data.
        let r = d.decode(&data_rect_int(9, &[(300, -400)], 0));
        let df = r.data().unwrap();
        assert!(df.decoded);
        assert_close(df.pmus[0].phasors[0].mag, 500.0, 1e-9);
    }

    /// A bad-CHK configuration is reported but not used.
    #[test]
    fn bad_chk_config_not_stored() {
        let mut f = cfg2_rect_int(9, 1, 7);
        let n = f.len();
        f[n - 1] ^= 1;
        let mut d = Decoder::new();
        let r = d.decode(&f);
        assert!(!r.chk_ok && r.config().is_some());
        assert!(d.config(9).is_none());
    }

    #[test]
    fn polar_integer_and_float_phasors() {
        // Polar integer: magnitude 1000 counts × PHUNIT 1000e-5 = 0.01 V → 10 V; angle
        // 10 000 / 1e4 = 1 rad = 57.2958°; re = 10·cos 1 = 5.4030, im = 10·sin 1 = 8.4147.
        let pay = cfg12_payload(
            1_000_000,
            &[Pmu12 {
                stn: "P",
                idcode: 3,
                format: 0x0001,
                phnam: &["V"],
                annam: &["A"],
                dgnam: &[],
                phunit: &[1000],
                anunit: &[0x0100_0000],
                digunit: &[],
                fnom: 0,
                cfgcnt: 0,
            }],
            60,
        );
        let mut d = Decoder::new();
        d.decode(&frame(0x31, 3, 0, 0, &pay));
        let mut p = vec![0, 0];
        p.extend(1000u16.to_be_bytes());
        p.extend(10000i16.to_be_bytes());
        p.extend((-100i16).to_be_bytes());
        p.extend(250i16.to_be_bytes());
        p.extend((-7i16).to_be_bytes());
        let r = d.decode(&frame(0x01, 3, 0, 10, &p));
        let m = &r.data().unwrap().pmus[0];
        let v = &m.phasors[0];
        assert_close(v.mag, 10.0, 1e-12);
        assert_close(v.ang_deg, 57.295_779_513, 1e-8);
        assert_close(v.re, 5.403_023_059, 1e-8);
        assert_close(v.im, 8.414_709_848, 1e-8);
        // FREQ −100 mHz at 60 Hz → 59.9; DFREQ 250/100 = 2.5 Hz/s; analog raw −7, no scaling.
        assert_close(m.freq, 59.9, 1e-12);
        assert_close(m.dfreq, 2.5, 1e-12);
        assert_eq!(m.analogs[0].raw, Num::Int(-7));
        assert_eq!(m.analogs[0].scaled, None);
        // Angle 0x8000 = absent.
        p[4..6].copy_from_slice(&i16::MIN.to_be_bytes());
        let r = d.decode(&frame(0x01, 3, 0, 10, &p));
        assert_eq!(r.data().unwrap().pmus[0].phasors[0].mag, None);
    }
}
