//! Decoding C37.118 frames into typed, owned, serializable records (c37118.md §1–§5; IEEE
//! C37.118.2-2011 §6.2–6.6, Tables 2–15). Everything here is pure: a frame (and, for data,
//! the configuration in force) in, a [`Decoded`] record out; the configuration state lives
//! in [`super::session::Session`].
//!
//! - payload parsers ([`parse_command`], [`header_text`], [`parse_config12`],
//!   [`parse_config3`], [`decode_data`]): they never panic, return [`Truncated`] when the
//!   input ends early, and size every allocation by the bytes actually present (a count read
//!   from the frame is never trusted for a `with_capacity`);
//! - the record around them: [`open`] judges the header and finds the frame's extent with
//!   [`Frame::parse`] (input that is no frame still gets a record, [`malformed`]), the body
//!   functions build the type-specific part, and [`Framed::finish`] the whole record.
//!
//! # Output schema (JSON through serde)
//! Every [`Decoded`] has `proto` "c37118", `frame` ("data", "header", "cfg1", "cfg2",
//! "cfg3", "cmd"; also "unknown" for the reserved types 6/7 and "malformed" for input that is
//! no frame), `sync` (both SYNC bytes, reserved bit kept), `frame_type`, `version`,
//! `framesize`, `idcode`, `soc`, `fracsec` (24-bit count), `time_quality` (TQ byte) and `tq`
//! (decomposed), `device_time`, `chk`, `chk_calc`, `chk_ok`, the type-specific fields of [`Body`]
//! and `anomalies` (strings, empty when all is well).
//!
//! Command names (`cmd_name`): see [`CmdCode::name`].

mod config;
mod data;

pub use super::codes::{time_quality, TimeQuality};
pub use config::{parse_config12, parse_config3, Config, PhScale, PmuConfig};
pub use data::{decode_data, Analog, DataError, DataPmu, Num, Phasor};

use super::codes::{CmdCode, FrameType};
use super::frame::{Frame, Header, HEADER_LEN, MIN_FRAME, SYNC};
use crate::util::bytes::{Cursor, Truncated};
use crate::util::hex;
use serde::Serialize;

/// The anomaly text of a truncated field.
pub fn truncated_text(t: &Truncated) -> String {
    format!(
        "truncated at byte {} reading {}: need {} bytes, {} left",
        t.offset, t.field, t.need, t.have
    )
}

/// Latin-1 bytes to a string (every byte is one code point, so nothing is lost).
fn latin1(b: &[u8]) -> String {
    b.iter().map(|&c| char::from(c)).collect()
}

/// Capacity for a list of `count` items of at least `min_size` bytes each, bounded by the
/// bytes left so a forged count cannot allocate more than the frame holds.
fn cap(count: usize, min_size: usize, left: usize) -> usize {
    count.min(left / min_size.max(1))
}

// ---------------------------------------------------------------------------------------
// Command and header frames (c37118.md §1, [STD 6.6, T.13–T.15])
// ---------------------------------------------------------------------------------------

/// A command frame's payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Command {
    pub cmd: u16,
    /// [`CmdCode::name`].
    pub cmd_name: &'static str,
    /// EXTFRAME as hex ("" if none).
    pub ext: String,
}

/// Parses a command payload (bytes between header and CHK).
pub fn parse_command(payload: &[u8]) -> Result<Command, Truncated> {
    let mut r = Cursor::new(payload);
    let cmd = r.u16("CMD")?;
    Ok(Command {
        cmd,
        cmd_name: CmdCode(cmd).name(),
        ext: hex::encode(r.rest()),
    })
}

/// A header frame's text: latin-1 to UTF-8, kept as is.
pub fn header_text(payload: &[u8]) -> String {
    latin1(payload)
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
    /// 0-based index (in [`super::session::Session::decode`] calls) of the frame that
    /// delivered it (for an assembled CFG-3: its last fragment).
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

impl Body {
    /// Undecoded bytes, as hex.
    pub fn raw(payload: &[u8]) -> Body {
        Body::Raw {
            payload: hex::encode(payload),
        }
    }
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
    /// `device_time`: SOC + FRACSEC / TIME_BASE (c37118.md §2), seconds since the UNIX epoch
    /// by the sender's clock. Configuration frames use their own TIME_BASE, data frames the
    /// configuration that decodes them; header and command frames carry no TIME_BASE, so
    /// theirs is always null (docs/FORMAT.md, version 2). Null too when the count is not
    /// below the TIME_BASE (with an anomaly).
    pub device_time: Option<f64>,
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
// From input to record
// ---------------------------------------------------------------------------------------

/// The record of input shorter than the 16-byte minimum frame: "malformed", bytes kept.
pub fn malformed(input: &[u8]) -> Decoded {
    Decoded {
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
        device_time: None,
        chk: None,
        chk_calc: None,
        chk_ok: false,
        body: Body::raw(input),
        anomalies: vec![format!(
            "{} bytes: shorter than the 16-byte minimum frame",
            input.len()
        )],
    }
}

/// A record being built: the header judged and the frame's extent found.
#[derive(Clone, Debug)]
pub struct Framed<'a> {
    pub header: Header,
    /// The record's `frame`: the type's name, or "malformed" when the first SYNC byte is
    /// not 0xAA.
    pub name: &'static str,
    /// The whole frame, when FRAMESIZE is at least 16 and all its bytes are there.
    pub frame: Option<Frame<'a>>,
    /// The frame's payload, or everything after the header when the frame is not whole.
    pub payload: &'a [u8],
    pub anomalies: Vec<String>,
}

/// Judges the header of `input` (one frame as found by the splitter, or any record) and finds
/// the frame by FRAMESIZE; bytes after it are ignored, with an anomaly. None when `input` is
/// shorter than the 16-byte minimum frame (see [`malformed`]).
pub fn open(input: &[u8]) -> Option<Framed<'_>> {
    if input.len() < MIN_FRAME {
        return None;
    }
    let header = Header::parse(input).ok()?;
    let mut anomalies = Vec::new();
    let ft = header.frame_type();
    let mut name = ft.name();
    if header.sync >> 8 != u16::from(SYNC) {
        anomalies.push(format!(
            "first SYNC byte 0x{:02x}, not 0xAA",
            header.sync >> 8
        ));
        name = "malformed";
    }
    if header.sync & 0x80 != 0 {
        anomalies.push("reserved SYNC bit 7 set".into());
    }
    if !ft.is_defined() {
        anomalies.push(format!("reserved frame type {}", ft.0));
    }
    if header.version() == 0 {
        anomalies.push("version 0".into());
    }
    if header.time_quality() & 0x80 != 0 {
        anomalies.push("reserved time-quality bit 7 set".into());
    }
    let frame = match Frame::parse(input) {
        Ok(f) => {
            let size = f.bytes.len();
            if size < input.len() {
                anomalies.push(format!(
                    "{} bytes after FRAMESIZE {size} ignored",
                    input.len() - size
                ));
            }
            if !f.chk_ok() {
                anomalies.push(format!("CHK 0x{:04x} != CRC 0x{:04x}", f.chk, f.chk_calc));
            }
            Some(f)
        }
        Err(e) => {
            anomalies.push(e.to_string());
            None
        }
    };
    let payload = match &frame {
        Some(f) => f.payload,
        None => input.get(HEADER_LEN..).unwrap_or(&[]),
    };
    Some(Framed {
        header,
        name,
        frame,
        payload,
        anomalies,
    })
}

impl Framed<'_> {
    /// Whether the frame is whole with a good CHK.
    pub fn chk_ok(&self) -> bool {
        self.frame.as_ref().is_some_and(Frame::chk_ok)
    }

    /// The body of a frame that is not decoded further: a truncated data frame (undecoded,
    /// bytes kept, c37118.md §5), a truncated or malformed frame, a reserved type. None when
    /// the payload is to be decoded.
    pub fn raw_body(&self) -> Option<Body> {
        if self.frame.is_none() && self.name == "data" {
            return Some(Body::Data(undecoded(self.payload, None)));
        }
        if self.frame.is_none() || self.name == "malformed" || self.name == "unknown" {
            return Some(Body::raw(self.payload));
        }
        None
    }

    /// The record, with `device_time` from `time_base` (c37118.md §2).
    pub fn finish(mut self, body: Body, time_base: Option<u32>) -> Decoded {
        let h = self.header;
        let count = h.count();
        let time = match time_base {
            Some(0) => {
                self.anomalies.push("TIME_BASE 0: time not computed".into());
                None
            }
            // Commands may carry the sender's own time base (c37118.md §2): no anomaly.
            Some(tb) if count >= tb && h.frame_type() == FrameType::COMMAND => None,
            Some(tb) if count >= tb => {
                self.anomalies.push(format!(
                    "FRACSEC count {count} not below TIME_BASE {tb}: time not computed"
                ));
                None
            }
            Some(tb) => Some(f64::from(h.soc) + f64::from(count) / f64::from(tb)),
            None => None,
        };
        Decoded {
            proto: "c37118",
            frame: self.name,
            sync: Some(h.sync),
            frame_type: Some(h.frame_type().0),
            version: Some(h.version()),
            framesize: Some(h.framesize),
            idcode: Some(h.idcode),
            soc: Some(h.soc),
            fracsec: Some(count),
            time_quality: Some(h.time_quality()),
            tq: Some(time_quality(h.time_quality())),
            device_time: time,
            chk: self.frame.map(|f| f.chk),
            chk_calc: self.frame.map(|f| f.chk_calc),
            chk_ok: self.chk_ok(),
            body,
            anomalies: self.anomalies,
        }
    }
}

/// The configuration a data frame is decoded with, as its record cites it.
#[derive(Clone, Copy, Debug)]
pub struct CfgRef<'c> {
    /// "cfg1", "cfg2" or "cfg3".
    pub kind: &'static str,
    /// Index of the frame that delivered it (see [`DataFrame::cfg_index`]).
    pub index: u64,
    pub config: &'c Config,
}

fn undecoded(payload: &[u8], cfg: Option<CfgRef<'_>>) -> DataFrame {
    DataFrame {
        decoded: false,
        cfg_frame: cfg.map(|s| s.kind),
        cfg_index: cfg.map(|s| s.index),
        pmus: Vec::new(),
        payload: Some(hex::encode(payload)),
    }
}

/// A data frame's body under the configuration in force for `idcode`, if any (c37118.md §4,
/// §5): undecoded, with an anomaly and the payload kept, when there is none or the payload
/// does not have the size it implies.
pub fn data_body(
    idcode: u16,
    payload: &[u8],
    cfg: Option<CfgRef<'_>>,
    anomalies: &mut Vec<String>,
) -> Body {
    let Some(s) = cfg else {
        anomalies.push(format!("no configuration for IDCODE {idcode} yet"));
        return Body::Data(undecoded(payload, None));
    };
    Body::Data(match decode_data(payload, s.config) {
        Ok(pmus) => DataFrame {
            decoded: true,
            cfg_frame: Some(s.kind),
            cfg_index: Some(s.index),
            pmus,
            payload: None,
        },
        Err(e) => {
            anomalies.push(format!("{e} ({} of frame {})", s.kind, s.index));
            undecoded(payload, Some(s))
        }
    })
}

/// A header frame's body.
pub fn header_body(payload: &[u8]) -> Body {
    Body::Header {
        text: header_text(payload),
    }
}

/// A command frame's body (c37118.md §1): EXTFRAME must be whole 16-bit words.
pub fn command_body(payload: &[u8], anomalies: &mut Vec<String>) -> Body {
    match parse_command(payload) {
        Ok(c) => {
            if c.ext.len() % 4 != 0 {
                anomalies.push("EXTFRAME is not a whole number of words".into());
            }
            Body::Command(c)
        }
        Err(e) => {
            anomalies.push(truncated_text(&e));
            Body::raw(payload)
        }
    }
}

/// A configuration frame's body from its parse (`payload` as parsed, kept as hex when the
/// parse failed), with anomalies for trailing bytes, reserved FORMAT bits and a bad CHK (a
/// configuration is used only with a good CHK, as Wireshark does).
pub fn config_body(
    parsed: Result<(Config, usize), Truncated>,
    payload: &[u8],
    chk_ok: bool,
    anomalies: &mut Vec<String>,
) -> Body {
    match parsed {
        Ok((cfg, trailing)) => {
            if trailing > 0 {
                anomalies.push(format!("{trailing} bytes after DATA_RATE"));
            }
            if cfg.pmus.iter().any(|p| p.format & 0xfff0 != 0) {
                anomalies.push("reserved FORMAT bits set".into());
            }
            if !chk_ok {
                anomalies.push("configuration not used: bad CHK".into());
            }
            Body::Config(cfg)
        }
        Err(e) => {
            anomalies.push(format!("configuration not used: {}", truncated_text(&e)));
            Body::raw(payload)
        }
    }
}

/// The record of a CFG-3 continuation fragment (c37118.md §3), with what is held for its
/// IDCODE after it.
pub fn fragment_body(cont_idx: u16, held: Option<(u32, usize)>) -> Body {
    Body::Fragment(Fragment {
        cont_idx,
        fragment: true,
        fragments: held.map_or(0, |h| h.0),
        assembled_bytes: held.map_or(0, |h| h.1),
    })
}

#[cfg(test)]
mod tests;
