//! The stateful part of SEL decoding (sel.md §3.3, §5 "State per TCP conversation"): one
//! [`Conversation`] per connection, holding the relay definition, the Fast Meter
//! configurations (C1/C2/C3), the Fast Operate configuration, the `DNA`/`BNA`/`SNS` name
//! tables, identity fields, the access level, the command a response answers, and logins in
//! progress. Each frame becomes one [`Record`] through the pure functions of
//! [`super::decode`] (binary) and [`ascii`] (text).
//!
//! # Rules
//! - A data message `A5D1/D2/D3` is decoded with the **latest** configuration `A5C1/C2/C3`
//!   with a good checksum that **precedes** it in the same conversation (never a later one,
//!   unlike Wireshark's re-dissection, sel.md §5). No configuration yet, or a message that
//!   does not fit it: `decoded: false`, an anomaly, the raw bytes; nothing is guessed.
//! - Direction: the client side of the connection (`c2s`) is the master (it sends commands and
//!   requests), the server side the relay; without a direction (a raw byte stream) every
//!   line is read as both.
//! - State survives gaps: a gap shows up as splitter anomalies, configuration and names stay.
//! - Passwords (sel.md §3.4): see [`super::secrets`]; records never carry one in clear unless
//!   the decoder was built with `reveal_secrets`.

pub mod ascii;

use super::decode::{self, fastmeter, fastmsg, Binary, FmConfig, Names};
use super::secrets::Secret;
use crate::protocols::Envelope;
use rustc_hash::FxHashMap;
use serde::Serialize;

/// Most conversations held at once; past it the oldest-numbered is dropped.
pub const MAX_CONVERSATIONS: usize = 65_536;
/// Most bytes of a multi-frame Fast Message read response held (sel.md §2.5 FIR..FIN).
pub const MAX_JOINED: usize = 1 << 16;

/// A control action (a Fast Operate command, or an ASCII `OPE`/`CLO`/`PUL`/`TAR R`).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Control {
    /// `fast-operate` or `ascii`.
    pub source: &'static str,
    pub operation: String,
    pub target: String,
    pub number: Option<u16>,
    /// For Fast Operate: whether the validation byte was right; `None` for ASCII.
    pub validation_ok: Option<bool>,
}

/// A security event (sel.md §3.4).
#[derive(Clone, Debug, Serialize, PartialEq, Default)]
pub struct Security {
    /// `login`, `password-change`, `control`, `settings`.
    pub event: &'static str,
    pub command: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level_requested: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level_reached: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// The password is a factory default (a finding).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub default_credential: bool,
}

/// One decoded SEL frame (docs/FORMAT.md "SEL").
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    /// Always "sel".
    pub proto: &'static str,
    /// `A5D1`, `A5C1-req`, `unknown-0x41`, `ascii-line`, `ascii-prompt`, `cascii-line`,
    /// `ascii-secret`.
    pub msg: String,
    pub name: &'static str,
    /// The conversation's record number (from 0).
    pub record: u64,
    /// sum8 / CRC-16 verifies (`None` for requests and text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chk_ok: Option<bool>,
    pub decoded: bool,
    #[serde(flatten)]
    pub binary: Option<Binary>,
    #[serde(flatten)]
    pub ascii: Option<ascii::Ascii>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control: Option<Control>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security: Option<Security>,
    pub anomalies: Vec<String>,
    /// The frame's bytes (a password replaced by its marker unless revealed).
    pub raw_hex: String,
}

impl Record {
    fn new(msg: String, name: &'static str, record: u64, bytes: &[u8]) -> Record {
        Record {
            proto: "sel",
            msg,
            name,
            record,
            chk_ok: None,
            decoded: true,
            binary: None,
            ascii: None,
            control: None,
            security: None,
            anomalies: Vec::new(),
            raw_hex: decode::hexs(bytes),
        }
    }
}

/// A login in progress (access command seen, password and outcome pending).
#[derive(Clone, Debug, Default)]
struct Login {
    command: String,
    level: String,
    user: Option<String>,
    password: Option<Secret>,
    /// The relay asked for the password (`Password: ?`).
    asked: bool,
    /// The level the relay's next prompt showed.
    reached: Option<String>,
    /// The relay answered "Invalid".
    failed: bool,
}

/// Per-connection state (see the module docs).
#[derive(Debug, Default)]
pub struct Conversation {
    records: u64,
    pub relay_def: Option<decode::RelayDef>,
    /// Fast Meter configurations C1, C2, C3 with their record numbers.
    pub fm_configs: [Option<(FmConfig, u64)>; 3],
    pub fo_config: Option<decode::FoConfig>,
    pub names: Names,
    /// Identity from `ID` (key → value, in order).
    pub identity: Vec<(String, String)>,
    /// Access level shown by the latest prompt.
    pub level: Option<String>,
    /// Last master command word and its line.
    last_cmd: Option<(String, String)>,
    /// Rows of the name table being read (DNA/BNA/SNS), cleared by its command.
    table_rows: usize,
    /// The master's next line is a password.
    secret_next: bool,
    login: Option<Login>,
    ftp_user: Option<String>,
    /// Fast Message read response being joined (FIR..FIN).
    joined: Vec<u16>,
    joining: bool,
    /// Unsolicited data enabled (function codes requested).
    pub unsolicited: Vec<u8>,
    /// Column names of the compressed `MET` reply being read.
    met_header: Vec<String>,
    /// A command the relay echoed before the master's line was seen (the two directions
    /// are delivered in acknowledgement order): that line, not to restart the command.
    echoed: Option<String>,
}

/// Decodes SEL frames in input order, with one [`Conversation`] per connection.
#[derive(Debug, Default)]
pub struct Session {
    convs: FxHashMap<u64, Conversation>,
    /// Passwords in clear (`--reveal-secrets`).
    pub reveal: bool,
}

impl Session {
    pub fn new(reveal: bool) -> Self {
        Session {
            convs: FxHashMap::default(),
            reveal,
        }
    }

    /// The state of connection `conn` (0 for a raw stream).
    pub fn conversation(&self, conn: u64) -> Option<&Conversation> {
        self.convs.get(&conn)
    }

    /// Decodes one frame seen at `env` (as the splitter emitted it). Never panics.
    pub fn decode(&mut self, env: &Envelope<'_>, frame: &[u8]) -> Record {
        let conn = env.conn.unwrap_or(0);
        if !self.convs.contains_key(&conn) && self.convs.len() >= MAX_CONVERSATIONS {
            if let Some(k) = self.convs.keys().min().copied() {
                self.convs.remove(&k);
            }
        }
        let reveal = self.reveal;
        let conv = self.convs.entry(conn).or_default();
        let index = conv.records;
        conv.records += 1;
        if frame.first() == Some(&super::frame::SYNC) && frame.len() >= 2 {
            binary(conv, index, frame)
        } else {
            ascii::line(conv, index, env.dir, frame, reveal)
        }
    }
}

/// A binary message record.
fn binary(conv: &mut Conversation, index: u64, m: &[u8]) -> Record {
    let Some(o) = decode::open(m) else {
        let mut r = Record::new("A5??".into(), "unknown", index, m);
        r.decoded = false;
        return r;
    };
    let t = o.msg_type;
    let ty = super::codes::MsgType(t);
    let msg = if o.request {
        ty.request_name()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{ty}-req"))
    } else {
        ty.to_string()
    };
    let mut r = Record::new(msg, decode::type_title(t), index, m);
    r.chk_ok = o.chk_ok;
    let a = &mut r.anomalies;
    if o.chk_ok == Some(false) {
        a.push(match ty.check() {
            super::codes::Check::Crc16 => "CRC-16 mismatch".to_string(),
            _ => "checksum mismatch".to_string(),
        });
    }
    if o.request {
        r.binary = Some(Binary::Request {
            request_for: decode::request_for(t),
        });
        return r;
    }
    let good = o.chk_ok == Some(true);
    let body = match t {
        0xC0 => decode::relay_def(o.body, a).map(|d| {
            if good {
                conv.relay_def = Some(d.clone());
            }
            Binary::RelayDef(d)
        }),
        0xC1..=0xC3 => fastmeter::config(m, a).map(|c| {
            if good {
                conv.fm_configs[usize::from(t - 0xC1)] = Some((c.clone(), index));
            }
            Binary::FmConfig(Box::new(c))
        }),
        0xD1..=0xD3 => match &conv.fm_configs[usize::from(t - 0xD1)] {
            None => {
                a.push(format!(
                    "no {} configuration precedes this data in the conversation: not decoded",
                    super::codes::MsgType(t - 0x10)
                ));
                None
            }
            Some((cfg, at)) => fastmeter::data(m, cfg, t - 0x10, *at, &conv.names, a)
                .map(|d| Binary::FmData(Box::new(d))),
        },
        0xCE => decode::fo_config(o.body, a).map(|c| {
            if good {
                conv.fo_config = Some(c.clone());
            }
            Binary::FoConfig(c)
        }),
        0xCF => decode::fo_alt_config(o.body).map(Binary::FoAltConfig),
        0xCD => decode::fo_reset_def(o.body).map(Binary::FoResetDef),
        t if decode::is_fast_operate(t) => decode::fast_operate(t, o.body).map(|f| {
            if f.validation_ok == Some(false) {
                a.push("Fast Operate validation byte is not (4·code + 1) & 0xFF".into());
            }
            r.control = Some(Control {
                source: "fast-operate",
                operation: f.operation.clone(),
                target: f.target.to_string(),
                number: f.number,
                validation_ok: f.validation_ok,
            });
            Binary::FastOperate(f)
        }),
        0x46 => fastmsg::decode(m, &conv.names.sns, a).map(|mut f| {
            fast_msg_state(conv, &mut f, a);
            Binary::FastMsg(Box::new(f))
        }),
        _ => None,
    };
    r.decoded = body.is_some();
    r.binary = Some(body.unwrap_or(Binary::Raw {}));
    r
}

/// Conversation effects of a Fast Message: joined read responses, unsolicited data enabled,
/// settings-changed signals.
fn fast_msg_state(conv: &mut Conversation, f: &mut decode::FastMsg, a: &mut Vec<String>) {
    match f.fc {
        0x90 => {
            if f.fir == Some(true) {
                conv.joined.clear();
                conv.joining = true;
            } else if !conv.joining {
                a.push("read response continuation without its first frame (FIR)".into());
            }
            if conv.joining {
                if let Some(w) = &f.body.words {
                    if conv.joined.len() + w.len() <= MAX_JOINED {
                        conv.joined.extend_from_slice(w);
                    }
                }
            }
            if f.fin == Some(true) && conv.joining {
                if f.fir != Some(true) {
                    f.body.words = Some(std::mem::take(&mut conv.joined));
                }
                conv.joining = false;
            }
        }
        0x81 if f.response_code == Some(0) => {}
        0x01 => {
            if let Some(fc) = &f.body.target_fc {
                if let Ok(v) = u8::from_str_radix(fc.trim_start_matches("0x"), 16) {
                    if !conv.unsolicited.contains(&v) && conv.unsolicited.len() < 8 {
                        conv.unsolicited.push(v);
                    }
                }
            }
        }
        _ => {}
    }
    if f.settings_changed {
        a.push("relay reports settings changed: SNS names may be stale until re-read".into());
    }
}
