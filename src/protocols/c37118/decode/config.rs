//! Configuration frames: CFG-1/CFG-2 [STD T.8/T.9] and CFG-3 [STD T.10–T.12] payloads
//! (c37118.md §3) into owned [`Config`] records.

use super::{cap, latin1};
use crate::protocols::c37118::codes::{fnom_hz, frames_per_second, phasor_unit_type, AnalogUnit};
use crate::util::bytes::{Cursor, Truncated};
use crate::util::hex;
use serde::Serialize;

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

    fn empty(stn: String, idcode: u16) -> PmuConfig {
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

    /// Reads FORMAT, PHNMR, ANNMR, DGNMR and returns the channel-name count.
    fn counts(&mut self, r: &mut Cursor<'_>) -> Result<u64, Truncated> {
        self.format = r.u16("FORMAT")?;
        self.polar = self.format & 1 != 0;
        self.phasors_float = self.format & 2 != 0;
        self.analogs_float = self.format & 4 != 0;
        self.freq_float = self.format & 8 != 0;
        self.phnmr = r.u16("PHNMR")?;
        self.annmr = r.u16("ANNMR")?;
        self.dgnmr = r.u16("DGNMR")?;
        Ok(u64::from(self.phnmr) + u64::from(self.annmr) + 16 * u64::from(self.dgnmr))
    }

    /// Splits channel names into phasor, analog and digital names.
    fn split_names(&mut self, mut names: Vec<String>) {
        let dg = names.split_off(usize::from(self.phnmr) + usize::from(self.annmr));
        let an = names.split_off(usize::from(self.phnmr));
        self.phnam = names;
        self.annam = an;
        self.dgnam = dg;
    }

    /// DIGUNIT, then (after the CFG-3 fields in between) FNOM and CFGCNT.
    fn digunits(&mut self, r: &mut Cursor<'_>) -> Result<(), Truncated> {
        r.need(4 * u64::from(self.dgnmr), "DIGUNIT")?;
        let mut v = Vec::with_capacity(usize::from(self.dgnmr));
        for _ in 0..self.dgnmr {
            v.push([r.u16("DIGUNIT")?, r.u16("DIGUNIT")?]);
        }
        self.digunit = v;
        Ok(())
    }

    fn fnom_cfgcnt(&mut self, r: &mut Cursor<'_>) -> Result<(), Truncated> {
        self.fnom_raw = r.u16("FNOM")?;
        self.fnom = fnom_hz(self.fnom_raw);
        self.cfgcnt = r.u16("CFGCNT")?;
        Ok(())
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

    /// DATA_RATE closes every configuration; returns the configuration and the number of
    /// unexpected bytes after it.
    fn finish(
        r: &mut Cursor<'_>,
        cont_idx: Option<u16>,
        tb: u32,
        num_pmu: u16,
        pmus: Vec<PmuConfig>,
    ) -> Result<(Config, usize), Truncated> {
        let data_rate = r.i16("DATA_RATE")?;
        let config = Config {
            cont_idx,
            fragments: None,
            time_base: tb & 0x00ff_ffff,
            time_base_flags: (tb >> 24) as u8,
            num_pmu,
            data_rate,
            frames_per_second: frames_per_second(data_rate),
            pmus,
        };
        Ok((config, r.left()))
    }
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
fn name_var(r: &mut Cursor<'_>, field: &'static str) -> Result<String, Truncated> {
    let n = r.u8(field)?;
    let b = r.take(usize::from(n), field)?;
    Ok(String::from_utf8_lossy(b).into_owned())
}

/// `n` 32-bit words (PHUNIT, ANUNIT), all checked to be there before allocating.
fn words(r: &mut Cursor<'_>, n: u16, field: &'static str) -> Result<Vec<u32>, Truncated> {
    r.need(4 * u64::from(n), field)?;
    let mut v = Vec::with_capacity(usize::from(n));
    for _ in 0..n {
        v.push(r.u32(field)?);
    }
    Ok(v)
}

/// Parses a CFG-1 or CFG-2 payload (the bytes between header and CHK) [STD T.8/T.9].
/// Returns the configuration and the number of unexpected bytes after DATA_RATE.
pub fn parse_config12(payload: &[u8]) -> Result<(Config, usize), Truncated> {
    let mut r = Cursor::new(payload);
    let tb = r.u32("TIME_BASE")?;
    let num_pmu = r.u16("NUM_PMU")?;
    // STN 16 + IDCODE + FORMAT + 3 counts + FNOM + CFGCNT = 30 bytes at least per PMU.
    let mut pmus = Vec::with_capacity(cap(usize::from(num_pmu), 30, r.left()));
    for _ in 0..num_pmu {
        let stn = name16(r.take(16, "STN")?);
        let idcode = r.u16("IDCODE")?;
        let mut p = PmuConfig::empty(stn, idcode);
        let n = p.counts(&mut r)?;
        r.need(16 * n, "CHNAM")?;
        let mut names = Vec::with_capacity(n as usize);
        for _ in 0..n {
            names.push(name16(r.take(16, "CHNAM")?));
        }
        p.split_names(names);
        let phunit = words(&mut r, p.phnmr, "PHUNIT")?;
        p.phunit_type = Some(phunit.iter().map(|w| phasor_unit_type(*w)).collect());
        p.phunit_scale = Some(
            phunit
                .iter()
                .map(|w| f64::from(w & 0x00ff_ffff) * 1e-5)
                .collect(),
        );
        p.phunit = Some(phunit);
        let anunit = words(&mut r, p.annmr, "ANUNIT")?;
        p.anunit_type = Some(
            anunit
                .iter()
                .map(|w| AnalogUnit((w >> 24) as u8).name())
                .collect(),
        );
        // Bits 23–0 as a signed 24-bit value: shift into the top and back (arithmetic).
        p.anunit_scale = Some(anunit.iter().map(|w| ((w << 8) as i32) >> 8).collect());
        p.anunit = Some(anunit);
        p.digunits(&mut r)?;
        p.fnom_cfgcnt(&mut r)?;
        pmus.push(p);
    }
    Config::finish(&mut r, None, tb, num_pmu, pmus)
}

/// Latitude/longitude/elevation: ±inf means unspecified (null) [STD T.11].
fn geo(x: f32) -> Option<Option<f32>> {
    Some(if x.is_infinite() { None } else { Some(x) })
}

/// Parses a complete CFG-3 payload, starting at CONT_IDX (for an assembled frame: the first
/// fragment's CONT_IDX followed by every fragment's bytes after its CONT_IDX) [STD T.10/T.11].
/// Returns the configuration and the number of unexpected bytes after DATA_RATE.
pub fn parse_config3(payload: &[u8]) -> Result<(Config, usize), Truncated> {
    let mut r = Cursor::new(payload);
    let cont_idx = r.u16("CONT_IDX")?;
    let tb = r.u32("TIME_BASE")?;
    let num_pmu = r.u16("NUM_PMU")?;
    // STN ≥ 1 + IDCODE 2 + G_PMU_ID 16 + 4 × 2 + LAT/LON/ELEV 12 + SVC 1 + WINDOW/GRP_DLY 8
    // + FNOM/CFGCNT 4 = 52 bytes at least per PMU.
    let mut pmus = Vec::with_capacity(cap(usize::from(num_pmu), 52, r.left()));
    for _ in 0..num_pmu {
        let stn = name_var(&mut r, "STN")?;
        let idcode = r.u16("IDCODE")?;
        let mut p = PmuConfig::empty(stn, idcode);
        p.g_pmu_id = Some(hex::encode(r.take(16, "G_PMU_ID")?));
        let n = p.counts(&mut r)?;
        // Each name field is at least its length byte.
        r.need(n, "CHNAM")?;
        let mut names = Vec::with_capacity(n as usize);
        for _ in 0..n {
            names.push(name_var(&mut r, "CHNAM")?);
        }
        p.split_names(names);
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
        p.digunits(&mut r)?;
        p.lat = geo(r.f32("PMU_LAT")?);
        p.lon = geo(r.f32("PMU_LON")?);
        p.elev = geo(r.f32("PMU_ELEV")?);
        p.svc_class = Some(latin1(&[r.u8("SVC_CLASS")?]));
        p.window = Some(r.i32("WINDOW")?);
        p.grp_dly = Some(r.i32("GRP_DLY")?);
        p.fnom_cfgcnt(&mut r)?;
        pmus.push(p);
    }
    Config::finish(&mut r, Some(cont_idx), tb, num_pmu, pmus)
}
