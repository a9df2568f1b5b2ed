//! The one module that writes and reads sekit's JSON Lines records (docs/FORMAT.md).
//!
//! Every record starts `{"v":2,"type":…` and, where it has them, `proto`, then the
//! [`Envelope`] (where it was seen: `ts`, `file`, `pkt`, `conn`, `transport`, `src`, `sport`,
//! `dst`, `dport`, `dir`), `kind`, `offset`, `len`, then what the record type adds (`flow`
//! records, one per connection direction, have their own layout). Writing
//! and reading are inverse: a record written here and read back gives the same envelope, and
//! writing that again gives the same bytes (capture times keep their digits: six decimals, or
//! nine when the time is not a whole number of microseconds).

use crate::capture::Timestamp;
use crate::net::Transport;
use crate::protocols::{Envelope, Label, Message, Protocol};
use crate::reassembly::{ConnInfo, Dir, DirStats};
use crate::util::hex;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::io::Write;
use std::net::IpAddr;

/// Version of the record format; bumped on incompatible changes.
pub const FORMAT_VERSION: u32 = 2;

/// Appends `s` as a JSON string literal: `"` and `\` escaped, `\n`, `\r`, `\t`, other control
/// characters as `\u00XX`; everything else as is.
pub fn json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let mut from = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&s.as_bytes()[from..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.extend_from_slice(esc);
        }
        from = i + 1;
    }
    out.extend_from_slice(&s.as_bytes()[from..]);
    out.push(b'"');
}

/// Appends the decimal digits of `v` (the hot path of every record: no formatter).
fn push_u64(o: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    o.extend_from_slice(&buf[i..]);
}

/// Appends `v` with exactly `width` digits (zero-padded).
fn push_padded(o: &mut Vec<u8>, mut v: u32, width: usize) {
    let mut buf = [b'0'; 9];
    for d in buf[..width].iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
    o.extend_from_slice(&buf[..width]);
}

/// Appends a capture time as `Timestamp`'s `Display` writes it (six decimals, or nine when
/// it is not a whole number of microseconds).
fn push_ts(o: &mut Vec<u8>, ts: Timestamp) {
    if ts.sec < 0 {
        o.push(b'-');
    }
    push_u64(o, ts.sec.unsigned_abs());
    o.push(b'.');
    if ts.nsec.is_multiple_of(1000) {
        push_padded(o, ts.nsec / 1000, 6);
    } else {
        push_padded(o, ts.nsec, 9);
    }
}

/// Appends an address as `IpAddr`'s `Display` writes it.
fn push_ip(o: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, b) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    o.push(b'.');
                }
                push_u64(o, u64::from(b));
            }
        }
        IpAddr::V6(_) => {
            let _ = write!(o, "{ip}");
        }
    }
}

/// Appends `,"key":` .
fn key(o: &mut Vec<u8>, k: &str) {
    o.extend_from_slice(b",\"");
    o.extend_from_slice(k.as_bytes());
    o.extend_from_slice(b"\":");
}

/// Appends `,"key":"text"` for text that needs no escaping.
fn key_text(o: &mut Vec<u8>, k: &str, text: &str) {
    key(o, k);
    o.push(b'"');
    o.extend_from_slice(text.as_bytes());
    o.push(b'"');
}

/// Writes `{"v":2,"type":TY`, `proto`, the envelope, `kind`, `offset` and `len` (each where
/// present); the caller adds the rest and closes the object.
pub fn head(
    o: &mut Vec<u8>,
    ty: &str,
    proto: Option<Protocol>,
    env: &Envelope<'_>,
    kind: Option<Label>,
) {
    o.extend_from_slice(b"{\"v\":");
    push_u64(o, u64::from(FORMAT_VERSION));
    key_text(o, "type", ty);
    if let Some(p) = proto {
        key_text(o, "proto", p.name());
    }
    if let Some(ts) = env.ts {
        key(o, "ts");
        push_ts(o, ts);
    }
    if let Some(f) = &env.file {
        key(o, "file");
        json_str(o, f);
    }
    let num = |o: &mut Vec<u8>, k: &str, v: Option<u64>| {
        if let Some(v) = v {
            key(o, k);
            push_u64(o, v);
        }
    };
    num(o, "pkt", env.pkt);
    num(o, "conn", env.conn);
    if let Some(t) = env.transport {
        key_text(o, "transport", t.as_str());
    }
    let ip = |o: &mut Vec<u8>, k: &str, v: Option<IpAddr>| {
        if let Some(a) = v {
            key(o, k);
            o.push(b'"');
            push_ip(o, a);
            o.push(b'"');
        }
    };
    ip(o, "src", env.src);
    num(o, "sport", env.sport.map(u64::from));
    ip(o, "dst", env.dst);
    num(o, "dport", env.dport.map(u64::from));
    if let Some(d) = env.dir {
        key_text(o, "dir", d.as_str());
    }
    match kind {
        Some(Label::Name(n)) => key_text(o, "kind", n),
        Some(Label::Code(c)) => {
            let _ = write!(o, ",\"kind\":\"0x{c:04x}\"");
        }
        None => {}
    }
    num(o, "offset", env.offset);
    num(o, "len", env.len);
}

/// A `frame` record: the frame's bytes as hex.
pub fn frame_record(
    o: &mut Vec<u8>,
    proto: Protocol,
    env: &Envelope<'_>,
    kind: Option<Label>,
    bytes: &[u8],
) {
    head(o, "frame", Some(proto), env, kind);
    o.extend_from_slice(b",\"hex\":\"");
    hex::push_bytes(o, bytes);
    o.extend_from_slice(b"\"}\n");
}

/// An `anomaly` record (with its reason) or, without a reason, a `gap` record.
pub fn anomaly_record(o: &mut Vec<u8>, proto: Protocol, env: &Envelope<'_>, reason: Option<&str>) {
    head(
        o,
        if reason.is_some() { "anomaly" } else { "gap" },
        Some(proto),
        env,
        None,
    );
    if let Some(r) = reason {
        o.extend_from_slice(b",\"reason\":");
        json_str(o, r);
    }
    o.extend_from_slice(b"}\n");
}

/// A `decoded` record: the envelope, then the message's own fields (the message serializes
/// as a map or struct; its first field is `proto`).
pub fn decoded_record(o: &mut Vec<u8>, env: &Envelope<'_>, msg: &dyn Message) {
    head(o, "decoded", None, env, None);
    let at = o.len();
    if msg.continue_json(o).is_err() {
        // Only a message that is not a map can fail here; the record still closes.
        o.truncate(at);
        o.push(b'}');
    }
    o.push(b'\n');
}

fn pairs(out: &mut Vec<u8>, v: &[(u64, u64)]) {
    out.push(b'[');
    for (i, (a, b)) in v.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let _ = write!(out, "[{a},{b}]");
    }
    out.push(b']');
}

/// Appends one `flow` record and its newline. `sha256` is the hex digest of the delivered
/// bytes, when computed; `proto` the protocol found in the direction (seextract).
pub fn flow_record(
    o: &mut Vec<u8>,
    info: &ConnInfo,
    dir: Dir,
    st: &DirStats,
    sha256: Option<&str>,
    proto: Option<Protocol>,
) {
    let ep = info.endpoints(dir);
    let _ = write!(
        o,
        "{{\"v\":{FORMAT_VERSION},\"type\":\"flow\",\"conn\":{},\"transport\":\"{}\",\"src\":\"{}\",\"sport\":{},\"dst\":\"{}\",\"dport\":{},\"dir\":\"{}\",\"vlan\":",
        info.id,
        info.transport.as_str(),
        ep.src_ip(),
        ep.sport,
        ep.dst_ip(),
        ep.dport,
        dir.as_str()
    );
    let vlans = ep.vlan_ids();
    if vlans.is_empty() {
        o.extend_from_slice(b"null");
    } else {
        let _ = write!(
            o,
            "[{}]",
            vlans
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
    }
    let ts = |t: Option<crate::capture::Timestamp>| t.map_or("null".to_string(), |t| t.to_string());
    let _ = write!(
        o,
        ",\"first_ts\":{},\"last_ts\":{},\"packets\":{},\"bytes\":{},\"sha256\":",
        ts(st.first_ts),
        ts(st.last_ts),
        st.packets,
        st.bytes
    );
    match sha256 {
        Some(h) => json_str(o, h),
        None => o.extend_from_slice(b"null"),
    }
    o.extend_from_slice(b",\"gaps\":");
    pairs(o, &st.gaps);
    o.extend_from_slice(b",\"conflicts\":");
    pairs(o, &st.conflicts);
    let _ = write!(
        o,
        ",\"retx_bytes\":{},\"keepalives\":{},\"midstream\":{},\"isn\":{},\"end\":\"{}\"",
        st.retx_bytes,
        st.keepalives,
        st.midstream,
        st.isn.map_or("null".to_string(), |i| i.to_string()),
        st.end.map_or("eof", |e| e.as_str())
    );
    if let Some(p) = proto {
        let _ = write!(o, ",\"proto\":\"{}\"", p.name());
    }
    o.extend_from_slice(b"}\n");
}

/// A record read back, with its envelope parsed and the rest borrowed from the line.
#[derive(Debug)]
pub struct InRecord<'a> {
    pub ty: Cow<'a, str>,
    /// The `proto` field as written (a name this build may not know).
    pub proto: Option<Cow<'a, str>>,
    pub env: Envelope<'a>,
    pub kind: Option<Cow<'a, str>>,
    /// A frame's bytes, as hex.
    pub hex: Option<Cow<'a, str>>,
}

/// The fields of a record as they are on the line.
#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(rename = "type", borrow)]
    ty: Cow<'a, str>,
    #[serde(borrow)]
    proto: Option<Cow<'a, str>>,
    #[serde(borrow)]
    ts: Option<&'a RawValue>,
    #[serde(borrow)]
    file: Option<Cow<'a, str>>,
    pkt: Option<u64>,
    conn: Option<u64>,
    #[serde(borrow)]
    transport: Option<Cow<'a, str>>,
    #[serde(borrow)]
    src: Option<Cow<'a, str>>,
    sport: Option<u16>,
    #[serde(borrow)]
    dst: Option<Cow<'a, str>>,
    dport: Option<u16>,
    #[serde(borrow)]
    dir: Option<Cow<'a, str>>,
    #[serde(borrow)]
    kind: Option<Cow<'a, str>>,
    offset: Option<u64>,
    len: Option<u64>,
    #[serde(borrow)]
    hex: Option<Cow<'a, str>>,
}

/// Why a line is not a record.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("not a record: {0}")]
    Json(#[from] serde_json::Error),
    #[error("field {0}: {1:?} is not valid")]
    Field(&'static str, String),
}

/// Parses a capture time written as seconds with up to nine decimals (exact), or any other
/// JSON number (rounded to nanoseconds).
pub fn parse_ts(text: &str) -> Option<Timestamp> {
    // The common form, `digits.digits` with at most 18 and 9 digits, in one pass.
    let (mut sec, mut nsec, mut frac_digits, mut in_frac) = (0i64, 0u32, 0u32, false);
    let b = text.as_bytes();
    let plain = !b.is_empty() && b.len() <= 28 && b[0] != b'.' && b[b.len() - 1] != b'.';
    for &c in b.iter().take_while(|_| plain) {
        match c {
            b'0'..=b'9' if in_frac => {
                nsec = nsec * 10 + u32::from(c - b'0');
                frac_digits += 1;
            }
            b'0'..=b'9' => sec = sec * 10 + i64::from(c - b'0'),
            b'.' if !in_frac => in_frac = true,
            _ => {
                frac_digits = 10;
                break;
            }
        }
    }
    if plain && frac_digits <= 9 && b.len() - usize::from(in_frac) - (frac_digits as usize) <= 18 {
        return Some(Timestamp::new(sec, nsec * 10u32.pow(9 - frac_digits)));
    }
    let x: f64 = text.parse().ok()?;
    if !x.is_finite() {
        return None;
    }
    let sec = x.floor();
    let nsec = ((x - sec) * 1e9).round().min(999_999_999.0) as u32;
    Some(Timestamp::new(sec as i64, nsec))
}

/// The value named by `text`, if it is one of `choices`.
fn one_of<T: Copy>(
    field: &'static str,
    text: Option<Cow<'_, str>>,
    choices: &[(&str, T)],
) -> Result<Option<T>, ReadError> {
    let Some(t) = text else { return Ok(None) };
    match choices.iter().find(|(name, _)| *name == t) {
        Some(&(_, v)) => Ok(Some(v)),
        None => Err(ReadError::Field(field, t.into_owned())),
    }
}

/// Reads one record. Envelope fields must have their documented types.
pub fn read_record(line: &str) -> Result<InRecord<'_>, ReadError> {
    let w: Wire<'_> = serde_json::from_str(line)?;
    let bad = |k: &'static str, v: &str| ReadError::Field(k, v.to_string());
    let ip = |k: &'static str, v: Option<Cow<'_, str>>| {
        v.map(|s| s.parse().map_err(|_| bad(k, &s))).transpose()
    };
    let env = Envelope {
        ts: w
            .ts
            .map(|t| parse_ts(t.get()).ok_or_else(|| bad("ts", t.get())))
            .transpose()?,
        file: w.file,
        pkt: w.pkt,
        conn: w.conn,
        transport: one_of(
            "transport",
            w.transport,
            &[("tcp", Transport::Tcp), ("udp", Transport::Udp)],
        )?,
        src: ip("src", w.src)?,
        sport: w.sport,
        dst: ip("dst", w.dst)?,
        dport: w.dport,
        dir: one_of("dir", w.dir, &[("c2s", Dir::C2S), ("s2c", Dir::S2C)])?,
        offset: w.offset,
        len: w.len,
    };
    Ok(InRecord {
        ty: w.ty,
        proto: w.proto,
        env,
        kind: w.kind,
        hex: w.hex,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_record_round_trips_and_decoded_continues_it() {
        let line = r#"{"v":2,"type":"frame","proto":"c37118","ts":1218021007.700230,"file":"a \"b\".pcap","pkt":4,"conn":1,"transport":"tcp","src":"192.168.0.20","sport":36835,"dst":"fd00::1:2","dport":4712,"dir":"c2s","kind":"cmd","offset":0,"len":2,"hex":"aa41"}"#;
        let rec = read_record(line).unwrap();
        assert_eq!(rec.ty, "frame");
        assert_eq!(rec.env.ts, Some(Timestamp::new(1_218_021_007, 700_230_000)));
        let bytes = hex::decode(rec.hex.as_deref().unwrap().as_bytes()).unwrap();
        let proto = crate::protocols::registry::find(rec.proto.as_deref().unwrap()).unwrap();
        let mut out = Vec::new();
        assert_eq!(rec.kind.as_deref(), Some("cmd"));
        frame_record(&mut out, proto, &rec.env, Some(Label::Name("cmd")), &bytes);
        assert_eq!(String::from_utf8(out).unwrap(), format!("{line}\n"));

        let mut out = Vec::new();
        let msg = serde_json::json!({"proto": "c37118", "frame": {"x": [1, {"y": 2}]}});
        decoded_record(&mut out, &rec.env, &msg);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with(
            r#"{"v":2,"type":"decoded","ts":1218021007.700230,"file":"a \"b\".pcap","pkt":4,"#
        ));
        assert!(text.ends_with(
            "\"offset\":0,\"len\":2,\"frame\":{\"x\":[1,{\"y\":2}]},\"proto\":\"c37118\"}\n"
        ));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["frame"]["x"][1]["y"], 2);

        let mut out = Vec::new();
        decoded_record(&mut out, &Envelope::default(), &serde_json::json!({}));
        assert_eq!(out, b"{\"v\":2,\"type\":\"decoded\"}\n");
    }

    #[test]
    fn timestamps_keep_their_digits() {
        for t in [
            "0.000000",
            "1218021007.700230",
            "1700000000.123456789",
            "5.000001",
        ] {
            assert_eq!(parse_ts(t).unwrap().to_string(), t);
        }
        assert_eq!(parse_ts("12").unwrap(), Timestamp::new(12, 0));
        assert_eq!(parse_ts("1.5e1").unwrap(), Timestamp::new(15, 0));
        assert_eq!(parse_ts("\"x\""), None);
        assert_eq!(parse_ts("-1.5").unwrap(), Timestamp::new(-2, 500_000_000));
        assert_eq!(parse_ts("1.").unwrap(), Timestamp::new(1, 0));
        assert_eq!(
            parse_ts("1.1234567891").unwrap(),
            Timestamp::new(1, 123_456_789)
        );
        assert_eq!(
            parse_ts("99999999999999999999.5"),
            Some(Timestamp::new(i64::MAX, 0))
        );
        assert_eq!(parse_ts(""), None);
    }

    #[test]
    fn bad_fields_are_named() {
        let e = read_record(r#"{"type":"frame","dir":"up"}"#).unwrap_err();
        assert_eq!(e.to_string(), "field dir: \"up\" is not valid");
        assert!(read_record("{").is_err());
        let escaped = read_record(r#"{"\u0074ype":"\u0066rame","hex":"a\u0061"}"#).unwrap();
        assert_eq!(
            (&*escaped.ty, escaped.hex.as_deref()),
            ("frame", Some("aa"))
        );
        assert!(read_record(r#"{"type":"frame","src":"1.2.3"}"#).is_err());
        let mut s = Vec::new();
        json_str(&mut s, "a\"\\\n\u{1}é");
        assert_eq!(s, "\"a\\\"\\\\\\n\\u0001é\"".as_bytes());
    }
}
