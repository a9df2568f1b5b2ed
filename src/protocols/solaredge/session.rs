//! SolarEdge decoding with state across the whole input (solaredge.md §5): inverter keys,
//! session keys from each 0x0503, decryption of 0x003d frames, the last 0x0503 per inverter
//! persisted in a state directory, and keys recovered from parameter reads.
//!
//! Which session key opens a 0x003d frame: the inverter's own (its address is the frame's
//! `from`, or its `to` when the server sends), else the one last set up on the same connection,
//! else the last one set up at all (the server's encrypted frames go from 0xfffffffd to
//! 0xffffffff and name no inverter). A candidate is accepted only if the inner bytes are one
//! valid frame (magic, length, CRC), so a wrong guess is reported, never decoded.

use super::codes::device_id;
use super::crypto::{self, Key, KeyDeriver};
use super::decode::{self, Decoded};
use super::frame::{parse_frame, Frame};
use crate::protocols::Envelope;
use crate::protocols::Parsed;
use serde::Serialize;
use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Function code of the session-key exchange (solaredge.md §3).
pub const FN_SESSION: u16 = 0x0503;
/// Caps on the inverters and connections remembered (memory bounded by configuration).
const MAX_INVERTERS: usize = 4096;
const MAX_CONNECTIONS: usize = 65_536;
/// Function code of a parameter read's reply (solaredge.md §3).
const FN_PARAMS_RESPONSE: u16 = 0x0090;
/// Function code of telemetry (solaredge.md §3–4).
pub const FN_TELEMETRY: u16 = 0x0500;
/// Function code of the encrypted wrapper (solaredge.md §3).
pub const FN_ENCRYPTED: u16 = 0x003d;

/// The plain form of a frame.
pub enum Opened {
    /// Not encrypted.
    Plain,
    /// A 0x003d whose inner frame was recovered.
    Decrypted(crypto::Decrypted),
    /// A 0x003d that could not be decrypted, and why.
    Locked(String),
}

/// Session state of all inverters in the input.
#[derive(Default)]
pub struct Session {
    /// Inverter keys from `--key` and from parameter reads, in the order they were learned.
    keys: Vec<Key>,
    /// Payload of the last 0x0503 per inverter (masked id).
    exchanges: HashMap<u32, Vec<u8>>,
    /// Inverter of the last 0x0503 per connection, and overall.
    by_conn: HashMap<u64, u32>,
    last: Option<u32>,
    state_dir: Option<PathBuf>,
    deriver: KeyDeriver,
    /// Problems with the state directory, for the caller to report.
    pub warnings: Vec<String>,
    /// 0x003d frames that could not be decrypted.
    pub locked: u64,
}

/// Server and broadcast addresses have bit 31 set; device serials do not (docs/SOLAREDGE.md).
fn is_server(addr: u32) -> bool {
    addr & 0x8000_0000 != 0
}

fn mask(addr: u32) -> u32 {
    addr & !0x0080_0000
}

impl Session {
    pub fn new(keys: Vec<Key>) -> Session {
        Session {
            keys,
            deriver: KeyDeriver::new(),
            ..Session::default()
        }
    }

    /// Uses `dir` to persist the last 0x0503 of every inverter (one file `<ID>.0503.json` per
    /// inverter, one line as [`crypto::state_line`] writes it) and loads what it holds.
    /// Unreadable files are skipped with a warning.
    pub fn with_state_dir(mut self, dir: &Path) -> io::Result<Session> {
        fs::create_dir_all(dir)?;
        let mut names: Vec<PathBuf> = fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with(".0503.json"))
            .collect();
        names.sort();
        for p in names {
            match fs::read_to_string(&p)
                .map_err(|e| e.to_string())
                .and_then(|s| crypto::parse_state_line(s.trim()).map_err(|e| e.to_string()))
            {
                Ok((inv, _, payload)) => {
                    self.exchanges.insert(mask(inv), payload);
                    self.last.get_or_insert(mask(inv));
                }
                Err(e) => self
                    .warnings
                    .push(format!("{}: not a saved 0x0503: {e}", p.display())),
            }
        }
        self.state_dir = Some(dir.to_path_buf());
        Ok(self)
    }

    /// Inverter keys recovered so far from parameter reads (solaredge.md §5).
    pub fn derived_keys(&self) -> Vec<(u32, Key)> {
        self.deriver.keys()
    }

    /// Inverters that answered 0 for all four key parameters (SetApp units).
    pub fn zero_key_inverters(&self) -> Vec<u32> {
        self.deriver.zero_keys()
    }

    /// Learns from a plain frame: a 0x0503 sets up a session, parameter reads may give a key.
    fn learn(&mut self, ctx: &Envelope<'_>, f: &Frame<'_>) {
        self.deriver.observe(f);
        if f.function == FN_PARAMS_RESPONSE {
            for (_, k) in self.deriver.keys() {
                if !self.keys.contains(&k) {
                    self.keys.push(k);
                }
            }
        }
        if f.function != FN_SESSION || f.payload.len() < 32 {
            return;
        }
        let inv = mask(f.from);
        let ts = ctx.ts.map_or(0.0, |t| t.nearest_f64());
        // Memory stays bounded: the session key needs 32 bytes, and a capture with more
        // inverters or connections than the caps starts over rather than grow.
        let payload = &f.payload[..f.payload.len().min(crypto::MAX_STATE_PAYLOAD)];
        if self.exchanges.len() >= MAX_INVERTERS && !self.exchanges.contains_key(&inv) {
            self.exchanges.clear();
        }
        self.exchanges.insert(inv, payload.to_vec());
        if let Some(c) = ctx.conn {
            if self.by_conn.len() >= MAX_CONNECTIONS {
                self.by_conn.clear();
            }
            self.by_conn.insert(c, inv);
        }
        self.last = Some(inv);
        self.persist(f.from, ts, payload);
    }

    fn persist(&mut self, inverter: u32, ts: f64, payload: &[u8]) {
        let Some(dir) = &self.state_dir else { return };
        let name = format!("{}.0503.json", device_id(inverter));
        let path = dir.join(&name);
        // Keep a later exchange saved by an earlier run over a later capture.
        if let Ok((_, old_ts, _)) = fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|s| crypto::parse_state_line(s.trim()).map_err(|e| e.to_string()))
        {
            if old_ts > ts {
                return;
            }
        }
        let tmp = dir.join(format!(".{name}.tmp"));
        let line = crypto::state_line(inverter, ts, payload) + "\n";
        if let Err(e) = fs::write(&tmp, line).and_then(|_| fs::rename(&tmp, &path)) {
            self.warnings
                .push(format!("{}: cannot save the 0x0503: {e}", path.display()));
        }
    }

    /// The inverter whose session should open `f`.
    fn inverter_for(&self, ctx: &Envelope<'_>, f: &Frame<'_>) -> Option<u32> {
        [f.from, f.to]
            .into_iter()
            .find(|&a| !is_server(a))
            .map(mask)
            .filter(|i| self.exchanges.contains_key(i))
            .or_else(|| ctx.conn.and_then(|c| self.by_conn.get(&c).copied()))
            .or(self.last)
    }

    /// Tracks session state for `f` and recovers its plain form.
    pub fn open(&mut self, ctx: &Envelope<'_>, f: &Frame<'_>) -> Opened {
        let o = self.open_inner(ctx, f);
        if matches!(o, Opened::Locked(_)) {
            self.locked += 1;
        }
        o
    }

    fn open_inner(&mut self, ctx: &Envelope<'_>, f: &Frame<'_>) -> Opened {
        if f.function != FN_ENCRYPTED {
            self.learn(ctx, f);
            return Opened::Plain;
        }
        if self.keys.is_empty() {
            return Opened::Locked("no inverter key (give --key)".into());
        }
        let Some((inv, payload)) = self
            .inverter_for(ctx, f)
            .and_then(|i| Some((i, self.exchanges.get(&i)?)))
        else {
            return Opened::Locked("no session key yet: no 0x0503 seen (see --state)".into());
        };
        let mut last_err = String::from("no key fits");
        let mut opened = None;
        for key in &self.keys {
            let Ok(session) = crypto::session_key(key, payload) else {
                continue;
            };
            match crypto::decrypt_003d(&session, f.payload) {
                Ok(d) => {
                    opened = Some(d);
                    break;
                }
                Err(e) => last_err = e.to_string(),
            }
        }
        if let Some(d) = opened {
            if let Parsed::Frame(inner) = parse_frame(&d.frame) {
                self.learn(ctx, &inner);
            }
            return Opened::Decrypted(d);
        }
        Opened::Locked(format!(
            "cannot decrypt with the session of inverter {}: {last_err}",
            device_id(inv)
        ))
    }

    /// Decodes `frame` with the session state (solaredge.md §5): a plain frame as itself, a
    /// 0x003d as its inner frame when it can be decrypted (plus the wrapper's fields), else
    /// as the wrapper with the reason in `anomaly`.
    pub fn decode(&mut self, ctx: &Envelope<'_>, frame: &[u8]) -> Message {
        let Parsed::Frame(f) = parse_frame(frame) else {
            return Message::NotAFrame(NotAFrame::default());
        };
        let (decoded, wrapper, plain) = match self.open(ctx, &f) {
            Opened::Plain => (decode::decode(&f), None, Some(PlainFrame::of(&f))),
            Opened::Locked(why) => {
                let mut d = decode::decode(&f);
                d.anomaly = Some(why);
                (d, None, None)
            }
            Opened::Decrypted(dec) => match parse_frame(&dec.frame) {
                Parsed::Frame(inner) => {
                    // Bytes after the inner frame (no known sender adds any) are counted.
                    let extra = f.payload.len() - crypto::WRAP_OVERHEAD - dec.frame.len();
                    let wrapper = Wrapper {
                        encrypted: true,
                        outer_seq: f.seq,
                        inner_seq: dec.inner_seq,
                        inner_trailing_bytes: (extra > 0).then_some(extra),
                    };
                    let plain = PlainFrame::of(&inner);
                    (decode::decode(&inner), Some(wrapper), Some(plain))
                }
                _ => {
                    let mut d = decode::decode(&f);
                    d.anomaly = Some("decrypted bytes are not one valid frame".into());
                    (d, None, None)
                }
            },
        };
        Message::Frame(Box::new(FrameMessage {
            decoded,
            wrapper,
            plain,
        }))
    }
}

/// What [`Session::decode`] makes of one frame. Serialises as one JSON object (schema in
/// docs/SOLAREDGE.md "Decoded records").
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Message {
    /// The bytes are not one valid frame.
    NotAFrame(NotAFrame),
    /// A frame: plain, or a 0x003d wrapper, decrypted or not.
    Frame(Box<FrameMessage>),
}

impl Message {
    /// The decoded frame: the inner frame of a decrypted 0x003d, else the frame itself.
    pub fn decoded(&self) -> Option<&Decoded> {
        match self {
            Message::Frame(m) => Some(&m.decoded),
            Message::NotAFrame(_) => None,
        }
    }

    /// Function code and payload of the plain frame (the frame itself, or the inner frame of
    /// a decrypted 0x003d); `None` when there is none (not a frame, or not decrypted).
    pub fn plain(&self) -> Option<&PlainFrame> {
        match self {
            Message::Frame(m) => m.plain.as_ref(),
            Message::NotAFrame(_) => None,
        }
    }

    /// The telemetry payload of a plain (or decrypted) 0x0500 (solaredge.md §4).
    pub fn telemetry_payload(&self) -> Option<&[u8]> {
        self.plain()
            .filter(|p| p.function == FN_TELEMETRY)
            .map(|p| p.payload.as_slice())
    }
}

/// Bytes that are not one valid frame: `{"anomaly":…,"proto":"solaredge"}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NotAFrame {
    pub anomaly: &'static str,
    pub proto: &'static str,
}

impl Default for NotAFrame {
    fn default() -> Self {
        NotAFrame {
            anomaly: "not a valid SolarEdge frame",
            proto: "solaredge",
        }
    }
}

/// A decoded frame with what its 0x003d wrapper said, if it had one.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FrameMessage {
    #[serde(flatten)]
    pub decoded: Decoded,
    #[serde(flatten)]
    pub wrapper: Option<Wrapper>,
    /// Not serialised: see [`Message::plain`].
    #[serde(skip)]
    pub plain: Option<PlainFrame>,
}

/// The 0x003d wrapper of a decrypted frame (solaredge.md §5), after the inner frame's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Wrapper {
    /// Always true.
    pub encrypted: bool,
    /// The wrapper frame's seq.
    pub outer_seq: u16,
    /// The sender's encryption counter (plaintext bytes 0–1).
    pub inner_seq: u16,
    /// Decrypted bytes after the inner frame, when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inner_trailing_bytes: Option<usize>,
}

/// Function code and payload of a plain frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlainFrame {
    pub function: u16,
    pub payload: Vec<u8>,
}

impl PlainFrame {
    fn of(f: &Frame<'_>) -> PlainFrame {
        PlainFrame {
            function: f.function,
            payload: f.payload.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(seq: u16, from: u32, to: u32, function: u16, payload: &[u8]) -> Vec<u8> {
        crate::protocols::solaredge::frame::build(seq, from, to, function, payload).unwrap()
    }

    /// More inverters and connections than the caps: the tables start over, and a frame whose
    /// connection or inverter was forgotten is reported, never a panic.
    #[test]
    fn caps_forget_without_panicking() {
        let mut s = Session::new(vec![[7u8; 16]]);
        let p0503 = [0x11u8; 34];
        for i in 0..(MAX_INVERTERS as u32 + 10) {
            let ctx = Envelope {
                conn: Some(u64::from(i)),
                ts: Some(crate::capture::Timestamp::new(i64::from(i), 0)),
                ..Envelope::default()
            };
            s.decode(
                &ctx,
                &frame(1, 0x1000_0000 + i, 0xffff_fffe, FN_SESSION, &p0503),
            );
        }
        assert!(s.exchanges.len() <= MAX_INVERTERS);
        let enc = frame(2, 0xffff_fffd, 0xffff_ffff, FN_ENCRYPTED, &[0u8; 60]);
        for conn in [0u64, 5, 4100, 99_999] {
            let ctx = Envelope {
                conn: Some(conn),
                ..Envelope::default()
            };
            let v = serde_json::to_value(s.decode(&ctx, &enc)).unwrap();
            assert!(v["anomaly"].as_str().is_some(), "{v}");
        }
        // Forget the exchanges but not the connection map: still no panic.
        s.exchanges.clear();
        let v = serde_json::to_value(s.decode(&Envelope::default(), &enc)).unwrap();
        assert!(v["anomaly"].as_str().unwrap().contains("no 0x0503"), "{v}");
    }

    /// Each kind of message serialises to the exact JSON sedecode has always written
    /// (solaredge.md §5 synthetic test vector; the wrapper fields follow the inner frame's).
    #[test]
    fn message_json_by_case() {
        use crate::protocols::test_hex as hex;
        let key: Key = hex("e1992523f4ddbb47d5336f6f177e3278").try_into().unwrap();
        let p0503 = hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021");
        let f0503 = frame(1, 0x7e1a_0823, 0xffff_fffe, FN_SESSION, &p0503);
        let f003d = hex(
            "123456792c00d3ff5d0023081a7efeffffff3d00a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\
             9de031ce053edd99a0056eb3e8ec358560d411b0a3267493f25cde485185",
        );
        let json = |m: &Message| serde_json::to_string(m).unwrap();
        let ctx = Envelope::default();
        let head = r#"{"proto":"solaredge","seq":93,"from":"7E1A0823","to":"FFFFFFFE","from_raw":"7e1a0823","to_raw":"fffffffe","function":"0x003d","function_name":"ENCRYPTED","crc":"ok","payload":"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf9de031ce053edd99a0056eb3e8ec358560d411b0a3267493f25cde48","anomaly":"#;

        let mut locked = Session::new(Vec::new());
        let m = locked.decode(&ctx, &f003d);
        assert_eq!(
            json(&m),
            format!(r#"{head}"no inverter key (give --key)"}}"#)
        );
        assert_eq!((m.plain(), locked.locked), (None, 1));

        let mut s = Session::new(vec![key]);
        let m = s.decode(&ctx, &f003d);
        assert_eq!(
            json(&m),
            format!(r#"{head}"no session key yet: no 0x0503 seen (see --state)"}}"#)
        );
        let m = s.decode(&ctx, &f0503);
        assert_eq!(m.plain().map(|p| p.function), Some(FN_SESSION));
        assert_eq!(m.telemetry_payload(), None);
        let m = s.decode(&ctx, &f003d);
        assert_eq!(
            json(&m),
            r#"{"proto":"solaredge","seq":6,"from":"7E1A0823","to":"FFFFFFFE","from_raw":"7e1a0823","to_raw":"fffffffe","function":"0x039a","function_name":"RESP_POLESTAR_MASTER_GRANT_ACK","crc":"ok","encrypted":true,"outer_seq":93,"inner_seq":4660}"#
        );
        assert_eq!(
            m.plain(),
            Some(&PlainFrame {
                function: 0x039a,
                payload: Vec::new()
            })
        );

        let t = frame(7, 0x7e1a_0823, 0xffff_fffe, FN_TELEMETRY, &[]);
        let m = s.decode(&ctx, &t);
        assert_eq!(m.telemetry_payload(), Some(&[][..]));
        assert!(
            json(&m).ends_with(r#""function_name":"SERVER_POST_DATA","crc":"ok","devices":[]}"#)
        );

        // Bytes after the inner frame are counted after the wrapper's fields.
        let session = crypto::session_key(&key, &p0503).unwrap();
        let mut inner = t.clone();
        inner.extend([1, 2, 3]);
        let enc = crypto::encrypt_003d(&session, [9; 16], 5, [1, 2, 3, 4], &inner);
        let m = s.decode(
            &ctx,
            &frame(8, 0xffff_fffd, 0xffff_ffff, FN_ENCRYPTED, &enc),
        );
        assert!(json(&m).ends_with(
            r#""devices":[],"encrypted":true,"outer_seq":8,"inner_seq":5,"inner_trailing_bytes":3}"#
        ));
        assert_eq!(m.telemetry_payload(), Some(&[][..]));

        let m = s.decode(&ctx, &f003d[..30]);
        assert_eq!(
            json(&m),
            r#"{"anomaly":"not a valid SolarEdge frame","proto":"solaredge"}"#
        );
        assert_eq!((m.decoded(), m.plain()), (None, None));
    }
}
