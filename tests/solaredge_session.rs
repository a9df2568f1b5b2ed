//! Complete SolarEdge inverter sessions, built here from the layouts of solaredge.md §1–5, run
//! through the binaries: `seextract | sedecode` (native records, with and without the key, with
//! a state directory across two runs), `sedecode --semonitor`, `sedecode --derive-key` and
//! `seextract --raw`.
//!
//! Independence: frames are built with the tests' own CRC (tests/common/solaredge.rs), device
//! records are written field by field at the offsets of the spec's tables, encryption uses the
//! AES block cipher directly with a counter written here (not the crate's CTR code), and every
//! expected value is the number the test wrote (or the spec's scaling of it computed here).
//! The inverter key is the real one of inverter 7F104920 (tests/data/solaredge/7f104920.key),
//! sent in the session as the four parameter reads of jbuehl issue #72.

mod common;

use common::solaredge::se_frame;
use common::{ep, pcap_le, Link, Tcp, C2S, NS, S2C};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const INV: u32 = 0x7f10_4920;
const SERVER: u32 = 0xffff_fffe;
const CONFTOOL: u32 = 0xffff_fffd;
const BROADCAST: u32 = 0xffff_ffff;
/// Telemetry time stamps: 2016-07-19 08:45:00Z and five minutes later.
const TS1: u32 = 1_468_917_900;
const TS2: u32 = TS1 + 300;
/// The four values of parameters 0x0239..0x023c of inverter 7F104920 (jbuehl issue #72,
/// tests/data/solaredge/jbuehl-issue72-key-params-7f104920.jsonl).
const KEY_PARAMS: [u32; 4] = [589_666_785, 1_203_494_388, 1_869_558_741, 2_016_574_999];

// ---------------------------------------------------------------------------------------------
// Device records (solaredge.md §4): header `type u16 | id u32 | len u16`, then the body.

/// A device record body written field by field.
struct Body(Vec<u8>);

impl Body {
    fn new(len: usize) -> Body {
        Body(vec![0; len])
    }
    fn u8(mut self, at: usize, v: u8) -> Body {
        self.0[at] = v;
        self
    }
    fn u16(mut self, at: usize, v: u16) -> Body {
        self.0[at..at + 2].copy_from_slice(&v.to_le_bytes());
        self
    }
    fn u32(mut self, at: usize, v: u32) -> Body {
        self.0[at..at + 4].copy_from_slice(&v.to_le_bytes());
        self
    }
    fn f32(mut self, at: usize, v: f32) -> Body {
        self.0[at..at + 4].copy_from_slice(&v.to_le_bytes());
        self
    }
    /// The "no value" float `ff ff 7f ff`.
    fn none(mut self, at: usize) -> Body {
        self.0[at..at + 4].copy_from_slice(&[0xff, 0xff, 0x7f, 0xff]);
        self
    }
    fn bytes(mut self, at: usize, v: &[u8]) -> Body {
        self.0[at..at + v.len()].copy_from_slice(v);
        self
    }
}

fn record(ty: u16, id: u32, body: &Body) -> Vec<u8> {
    let mut r = ty.to_le_bytes().to_vec();
    r.extend(id.to_le_bytes());
    r.extend((body.0.len() as u16).to_le_bytes());
    r.extend_from_slice(&body.0);
    r
}

// ---------------------------------------------------------------------------------------------
// Encryption (solaredge.md §5), written here with the AES block cipher only.

fn aes(key: &[u8; 16], block: [u8; 16]) -> [u8; 16] {
    use aes::cipher::{BlockCipherEncrypt, KeyInit};
    let c = aes::Aes128::new(&(*key).into());
    let mut b = block.into();
    c.encrypt_block(&mut b);
    b.into()
}

/// The inverter key: the four parameter values, each as u32 LE.
fn inverter_key() -> [u8; 16] {
    let mut k = [0u8; 16];
    for (i, v) in KEY_PARAMS.iter().enumerate() {
        k[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
    }
    k
}

/// `AES(key, P[0..16]) XOR P[16..32]`.
fn session_key(key: &[u8; 16], p0503: &[u8]) -> [u8; 16] {
    let mut s = aes(key, p0503[..16].try_into().unwrap());
    for (s, p) in s.iter_mut().zip(&p0503[16..32]) {
        *s ^= p;
    }
    s
}

/// The 0x003d payload carrying `inner`: IV, then CTR-encrypted (inner seq, mask, masked frame).
fn wrap(session: &[u8; 16], iv: [u8; 16], inner_seq: u16, mask: [u8; 4], inner: &[u8]) -> Vec<u8> {
    let mut plain = inner_seq.to_le_bytes().to_vec();
    plain.extend(mask);
    plain.extend(inner.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    let mut out = iv.to_vec();
    let mut counter = u128::from_be_bytes(iv);
    for chunk in plain.chunks(16) {
        let ks = aes(session, counter.to_be_bytes());
        out.extend(chunk.iter().zip(ks).map(|(p, k)| p ^ k));
        counter = counter.wrapping_add(1);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The session.

/// One frame as sent, and what it should decode to.
struct Sent {
    dir: usize,
    frame: Vec<u8>,
    /// The plain frame inside a 0x003d (None for a plain frame).
    inner: Option<Vec<u8>>,
}

/// What a session holds, in the order sent.
struct Script {
    sent: Vec<Sent>,
    telemetry: Vec<Vec<u8>>,
}

fn params_reads(s: &mut Vec<Sent>, seq0: u16) {
    for (i, v) in KEY_PARAMS.iter().enumerate() {
        let seq = seq0 + i as u16;
        let param = 0x0239 + i as u16;
        s.push(Sent {
            dir: S2C,
            frame: se_frame(seq, CONFTOOL, INV, 0x0012, &param.to_le_bytes()),
            inner: None,
        });
        let mut reply = v.to_le_bytes().to_vec();
        reply.extend(0u16.to_le_bytes());
        s.push(Sent {
            dir: C2S,
            frame: se_frame(seq, INV, CONFTOOL, 0x0090, &reply),
            inner: None,
        });
    }
}

/// A session on one TCP connection (inverter = client): GMT request and reply, a plain
/// telemetry post and its ACK, the key parameter reads when `with_key_reads`, then a 0x0503 and
/// an encrypted telemetry post, encrypted ACKs from the server.
fn script(t1: &[u8], t2: &[u8], with_key_reads: bool, with_0503: bool) -> Script {
    let mut s = Vec::new();
    let plain = |dir, frame| Sent {
        dir,
        frame,
        inner: None,
    };
    s.push(plain(C2S, se_frame(0x0100, INV, SERVER, 0x0501, &[])));
    let mut gmt = TS1.to_le_bytes().to_vec();
    gmt.extend(7200i32.to_le_bytes());
    s.push(plain(S2C, se_frame(0x0100, SERVER, INV, 0x0580, &gmt)));
    s.push(plain(C2S, se_frame(0x0101, INV, SERVER, 0x0500, t1)));
    s.push(plain(S2C, se_frame(0x0101, SERVER, INV, 0x0080, &[])));
    if with_key_reads {
        params_reads(&mut s, 149);
    }
    let p0503: Vec<u8> = (0u8..34).map(|i| i.wrapping_mul(37) ^ 0x5c).collect();
    let session = session_key(&inverter_key(), &p0503);
    if with_0503 {
        s.push(plain(C2S, se_frame(0x0102, INV, SERVER, 0x0503, &p0503)));
    }
    // The server acknowledges the 0x0503 encrypted with the new key (solaredge.md §3).
    let enc = |dir, outer_seq, from, to, inner: Vec<u8>, n: u8| {
        let iv: [u8; 16] = std::array::from_fn(|i| 0xa0u8.wrapping_add(i as u8).wrapping_mul(n));
        let payload = wrap(
            &session,
            iv,
            0x1000 + u16::from(n),
            [0xde, 0xad, 0xbe, n],
            &inner,
        );
        Sent {
            dir,
            frame: se_frame(outer_seq, from, to, 0x003d, &payload),
            inner: Some(inner),
        }
    };
    s.push(enc(
        S2C,
        1000 + 0x0102,
        CONFTOOL,
        BROADCAST,
        se_frame(0x0102, SERVER, INV, 0x0080, &[]),
        1,
    ));
    s.push(enc(
        C2S,
        0x0103,
        INV,
        SERVER,
        se_frame(0x0103, INV, SERVER, 0x0500, t2),
        2,
    ));
    s.push(enc(
        S2C,
        1000 + 0x0103,
        CONFTOOL,
        BROADCAST,
        se_frame(0x0103, SERVER, INV, 0x0080, &[]),
        3,
    ));
    // An empty telemetry post (semonitor writes no line for it).
    s.push(plain(C2S, se_frame(0x0104, INV, SERVER, 0x0500, &[])));
    Script {
        sent: s,
        telemetry: vec![t1.to_vec(), t2.to_vec()],
    }
}

/// The capture of a script: handshake, each frame in its own segment (the larger ones cut in
/// two), close.
fn capture(sc: &Script) -> Vec<u8> {
    let mut tcp = Tcp::new(
        ep("192.168.1.50", 40312),
        ep("10.9.8.7", 22222),
        7_000,
        9_000_000,
    );
    tcp.step = NS / 10;
    tcp.handshake();
    for s in &sc.sent {
        if s.frame.len() > 200 {
            let (a, b) = s.frame.split_at(s.frame.len() / 2);
            tcp.data(s.dir, a);
            tcp.data(s.dir, b);
        } else {
            tcp.data(s.dir, &s.frame);
        }
        tcp.ack(1 - s.dir);
    }
    tcp.close();
    pcap_le(1, &tcp.frames(&Link::Eth(vec![])))
}

// ---------------------------------------------------------------------------------------------
// Running the binaries.

fn tmp(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("solaredge_session-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn key_file(dir: &Path) -> PathBuf {
    let p = dir.join("7f104920.key");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/solaredge/7f104920.key"),
        &p,
    )
    .expect("copy key");
    p
}

fn run(bin: &str, args: &[&str], stdin: &[u8]) -> Output {
    let mut c = Command::new(bin)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut i = c.stdin.take().expect("stdin");
    let input = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = i.write_all(&input);
    });
    let out = c.wait_with_output().expect("wait");
    feeder.join().expect("feeder");
    out
}

fn ok(o: Output, what: &str) -> Vec<u8> {
    assert!(
        o.status.success(),
        "{what} failed ({}): {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// `seextract -q CAPTURE`'s records.
fn extract(cap: &Path) -> Vec<u8> {
    ok(
        run(
            env!("CARGO_BIN_EXE_seextract"),
            &["-q", cap.to_str().unwrap()],
            &[],
        ),
        "seextract",
    )
}

/// The top-level keys of a JSON object, in order, duplicates kept.
struct Keys(Vec<String>);

impl<'de> serde::Deserialize<'de> for Keys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Keys, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Keys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Keys, A::Error> {
                let mut k = Vec::new();
                while let Some((key, _)) = m.next_entry::<String, serde::de::IgnoredAny>()? {
                    k.push(key);
                }
                Ok(Keys(k))
            }
        }
        d.deserialize_map(V)
    }
}

/// `seextract -q CAPTURE | sedecode -q ARGS`, as parsed JSON lines; no line may repeat a key
/// (a decoder field must not shadow the envelope).
fn pipeline(cap: &Path, args: &[&str]) -> Vec<Value> {
    let ex = extract(cap);
    let mut a = vec!["-q"];
    a.extend_from_slice(args);
    let out = ok(run(env!("CARGO_BIN_EXE_sedecode"), &a, &ex), "sedecode");
    let text = String::from_utf8(out).expect("utf-8");
    for l in text.lines() {
        let Keys(mut k) = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        k.sort();
        let n = k.len();
        k.dedup();
        assert_eq!(k.len(), n, "repeated key in {l}");
    }
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p
}

// ---------------------------------------------------------------------------------------------
// Tests that do not depend on the device records.

fn function_of(r: &Value) -> u16 {
    u16::from_str_radix(
        r["function"]
            .as_str()
            .expect("function")
            .trim_start_matches("0x"),
        16,
    )
    .expect("hex function")
}

/// A small telemetry payload: one 1-phase inverter record.
fn small_telemetry(ts: u32, pac: f32) -> Vec<u8> {
    let b = Body::new(124)
        .u32(0, ts)
        .u32(8, 300)
        .f32(24, 230.5)
        .f32(92, pac);
    record(0x0010, INV | 0x0080_0000, &b)
}

#[test]
fn raw_output_is_the_frame_stream() {
    let d = tmp("raw");
    let sc = script(
        &small_telemetry(TS1, 100.0),
        &small_telemetry(TS2, 200.0),
        true,
        true,
    );
    let cap = write(&d, "s.pcap", &capture(&sc));
    let raw = ok(
        run(
            env!("CARGO_BIN_EXE_seextract"),
            &["-q", "--raw", cap.to_str().unwrap()],
            &[],
        ),
        "seextract --raw",
    );
    let expected: Vec<u8> = sc.sent.iter().flat_map(|s| s.frame.clone()).collect();
    assert_eq!(raw.len(), expected.len());
    assert!(raw == expected, "--raw output differs from the frames sent");
    // The stream reads back frame by frame as a semonitor .rec file.
    let rec = write(&d, "s.rec", &raw);
    let out = ok(
        run(
            env!("CARGO_BIN_EXE_sedecode"),
            &["-q", "--proto", "solaredge", "--key"]
                .into_iter()
                .chain([key_file(&d).to_str().unwrap(), rec.to_str().unwrap()])
                .collect::<Vec<_>>(),
            &[],
        ),
        "sedecode --proto solaredge",
    );
    let recs: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), sc.sent.len());
    let mut at = 0u64;
    for (r, s) in recs.iter().zip(&sc.sent) {
        assert_eq!(r["type"], "decoded");
        assert_eq!(r["offset"], at);
        assert_eq!(r["len"], s.frame.len());
        at += s.frame.len() as u64;
        let want = s.inner.as_deref().unwrap_or(&s.frame);
        assert_eq!(
            function_of(r),
            u16::from_le_bytes([want[18], want[19]]),
            "{r}"
        );
        assert_eq!(
            r["encrypted"].as_bool().unwrap_or(false),
            s.inner.is_some(),
            "{r}"
        );
        assert!(r.get("anomaly").is_none(), "{r}");
    }
}

#[test]
fn derive_key_prints_the_key_file() {
    let d = tmp("derive");
    let sc = script(
        &small_telemetry(TS1, 1.0),
        &small_telemetry(TS2, 2.0),
        true,
        false,
    );
    let cap = write(&d, "s.pcap", &capture(&sc));
    let ex = extract(&cap);
    let out = ok(
        run(env!("CARGO_BIN_EXE_sedecode"), &["-q", "--derive-key"], &ex),
        "sedecode --derive-key",
    );
    let file = std::fs::read_to_string(key_file(&d)).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!("{}\n", file.trim())
    );
    // Without the reads there is no key: exit status 1, nothing on stdout.
    let sc = script(
        &small_telemetry(TS1, 1.0),
        &small_telemetry(TS2, 2.0),
        false,
        true,
    );
    let cap = write(&d, "n.pcap", &capture(&sc));
    let ex = extract(&cap);
    let o = run(env!("CARGO_BIN_EXE_sedecode"), &["-q", "--derive-key"], &ex);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
}

/// Decoded records of the frames sent, in order (the pipeline keeps capture order).
fn decoded(recs: &[Value]) -> Vec<&Value> {
    recs.iter().filter(|r| r["type"] == "decoded").collect()
}

#[test]
fn encrypted_frames_need_key_and_session() {
    let d = tmp("locked");
    let sc = script(
        &small_telemetry(TS1, 1.0),
        &small_telemetry(TS2, 2.0),
        false,
        true,
    );
    let cap = write(&d, "s.pcap", &capture(&sc));
    // No key: the three 0x003d frames are written as themselves with an anomaly.
    let recs = pipeline(&cap, &[]);
    let dec = decoded(&recs);
    assert_eq!(dec.len(), sc.sent.len());
    for (r, s) in dec.iter().zip(&sc.sent) {
        assert_eq!(
            function_of(r),
            u16::from_le_bytes([s.frame[18], s.frame[19]])
        );
        if s.inner.is_some() {
            assert!(
                r["anomaly"].as_str().unwrap().contains("no inverter key"),
                "{r}"
            );
            assert!(r.get("encrypted").is_none(), "{r}");
        } else {
            assert!(r.get("anomaly").is_none(), "{r}");
        }
    }
    // With the key: decrypted, the inner frame decoded.
    let key = key_file(&d);
    let recs = pipeline(&cap, &["--key", key.to_str().unwrap()]);
    for (r, s) in decoded(&recs).iter().zip(&sc.sent) {
        let want = s.inner.as_deref().unwrap_or(&s.frame);
        assert_eq!(
            function_of(r),
            u16::from_le_bytes([want[18], want[19]]),
            "{r}"
        );
        assert_eq!(r["seq"], u16::from_le_bytes([want[8], want[9]]), "{r}");
        assert!(r.get("anomaly").is_none(), "{r}");
        if s.inner.is_some() {
            assert_eq!(r["encrypted"], true, "{r}");
            assert_eq!(r["outer_seq"], u16::from_le_bytes([s.frame[8], s.frame[9]]));
        }
    }
    // The key as hex on the command line works the same; a wrong key is reported.
    let hex = std::fs::read_to_string(&key).unwrap();
    let recs2 = pipeline(&cap, &["--key", hex.trim()]);
    assert_eq!(recs, recs2);
    let recs = pipeline(&cap, &["--key", "00112233445566778899aabbccddeeff"]);
    let bad: Vec<_> = decoded(&recs)
        .into_iter()
        .filter(|r| r.get("anomaly").is_some())
        .collect();
    assert_eq!(bad.len(), 3);
    assert!(
        bad[0]["anomaly"]
            .as_str()
            .unwrap()
            .contains("cannot decrypt"),
        "{}",
        bad[0]
    );
}

#[test]
fn key_learned_from_parameter_reads() {
    let d = tmp("learned");
    let sc = script(
        &small_telemetry(TS1, 1.0),
        &small_telemetry(TS2, 2.0),
        true,
        true,
    );
    let cap = write(&d, "s.pcap", &capture(&sc));
    let recs = pipeline(&cap, &[]);
    let enc: Vec<_> = decoded(&recs)
        .into_iter()
        .filter(|r| r["encrypted"] == true)
        .collect();
    assert_eq!(
        enc.len(),
        3,
        "all three 0x003d decrypted with the key read in the capture"
    );
}

#[test]
fn state_dir_carries_the_session_to_a_later_capture() {
    let d = tmp("state");
    let key = key_file(&d);
    let state = d.join("state");
    let a = script(
        &small_telemetry(TS1, 1.0),
        &small_telemetry(TS2, 2.0),
        false,
        true,
    );
    let cap_a = write(&d, "a.pcap", &capture(&a));
    // The later capture has the encrypted frames but not the 0x0503.
    let b = script(
        &small_telemetry(TS1, 3.0),
        &small_telemetry(TS2, 4.0),
        false,
        false,
    );
    let cap_b = write(&d, "b.pcap", &capture(&b));
    let k = key.to_str().unwrap();
    let s = state.to_str().unwrap();
    let recs = pipeline(&cap_b, &["--key", k]);
    let locked: Vec<_> = decoded(&recs)
        .into_iter()
        .filter(|r| r.get("anomaly").is_some())
        .collect();
    assert_eq!(locked.len(), 3);
    assert!(locked[0]["anomaly"].as_str().unwrap().contains("no 0x0503"));
    pipeline(&cap_a, &["--key", k, "--state", s]);
    let saved = std::fs::read_to_string(state.join("7F104920.0503.json")).expect("state file");
    assert!(saved.contains("\"inverter\":\"7F104920\""), "{saved}");
    let recs = pipeline(&cap_b, &["--key", k, "--state", s]);
    let enc = decoded(&recs)
        .into_iter()
        .filter(|r| r["encrypted"] == true && r.get("anomaly").is_none())
        .count();
    assert_eq!(enc, 3);
}

// ---------------------------------------------------------------------------------------------
// Every device type, plain and encrypted, through seextract | sedecode.

/// Expected named values of one device record.
struct Dev {
    type_name: &'static str,
    id: &'static str,
    ts: u32,
    values: Vec<(&'static str, Value)>,
    raw: Option<&'static str>,
}

fn f(x: f32) -> Value {
    Value::from(f64::from(x))
}

/// A packed optimizer word (solaredge.md §4, 0x0080): Vmod, Vopt 10 bits each, Imod 12 bits.
fn packed(vmod: u32, vopt: u32, imod: u32) -> u32 {
    vmod | vopt << 10 | imod << 20
}

/// A telemetry payload holding every device type of solaredge.md §4, and what each decodes to.
fn all_devices(ts: u32, k: f32) -> (Vec<u8>, Vec<Dev>) {
    let mut p = Vec::new();
    let mut want = Vec::new();
    // 0x0010 single-phase inverter, 124 bytes; the id carries the 0x00800000 bit.
    let b = Body::new(124)
        .u32(0, ts)
        .u32(4, 26_551)
        .u32(8, 300)
        .f32(12, 26.97681 * k)
        .f32(16, 5627.02)
        .f32(20, 15.75)
        .f32(24, 250.25)
        .f32(28, 12.65625)
        .f32(32, 49.906242)
        .none(36)
        .none(40)
        .f32(44, 401.875)
        .none(48)
        .f32(52, 1_619_399.0)
        .f32(56, 0.0065)
        .f32(64, 1.0)
        .u32(68, 4)
        .f32(72, 6000.0)
        .f32(76, 100.0)
        .f32(92, 3160.0 * k)
        .f32(96, 3200.5)
        .f32(100, -74.0)
        .u32(116, 1_619_399);
    p.extend(record(0x0010, INV | 0x0080_0000, &b));
    want.push(Dev {
        type_name: "inverter_1ph",
        id: "7F104920",
        ts,
        values: vec![
            ("uptime", 26_551.into()),
            ("interval", 300.into()),
            ("temp", f(26.97681 * k)),
            ("e_day", f(5627.02)),
            ("e_interval", f(15.75)),
            ("v_ac", f(250.25)),
            ("i_ac", f(12.65625)),
            ("freq", f(49.906242)),
            ("e_day_dc", Value::Null),
            ("e_interval_dc", Value::Null),
            ("v_dc", f(401.875)),
            ("i_dc", Value::Null),
            ("e_total", f(1_619_399.0)),
            ("i_rcd", f(0.0065)),
            ("cos_phi", f(1.0)),
            ("mode", 4.into()),
            ("mode_name", "MPPT".into()),
            ("pmax_semonitor", f(6000.0)),
            ("isolation_resistance", f(6000.0)),
            ("power_limit", f(100.0)),
            ("p_ac", f(3160.0 * k)),
            ("p_apparent", f(3200.5)),
            ("p_reactive", f(-74.0)),
            ("e_total_int", 1_619_399.into()),
        ],
        raw: None,
    });
    // 0x0011 three-phase inverter, se-logger's 200-byte layout, values of jbuehl issue #11.
    let mut b = Body::new(200)
        .u32(0, ts)
        .u32(4, 8006)
        .u32(8, 300)
        .f32(12, 39.92)
        .f32(16, 2963.71)
        .f32(20, 36.0)
        .none(60)
        .none(64)
        .f32(68, 748.69)
        .none(72)
        .f32(76, 614_241.0)
        .f32(80, 0.0028)
        .u32(108, 4)
        .f32(112, 6900.05)
        .f32(116, 100.0)
        .u32(192, 614_241);
    let three = [
        (24, [229.41f32, 229.48, 227.42], ["v_ac1", "v_ac2", "v_ac3"]),
        (36, [0.867, 0.883, 0.898], ["i_ac1", "i_ac2", "i_ac3"]),
        (48, [50.0, 49.99, 50.01], ["freq1", "freq2", "freq3"]),
        (96, [1.0, 0.99, 0.98], ["cos_phi1", "cos_phi2", "cos_phi3"]),
        (
            132,
            [396.9, 396.1, 395.2],
            ["v_l1_l2", "v_l2_l3", "v_l3_l1"],
        ),
        (144, [157.0, 157.0, 152.0], ["p_ac1", "p_ac2", "p_ac3"]),
        (
            156,
            [198.0, 205.0, 202.0],
            ["p_apparent1", "p_apparent2", "p_apparent3"],
        ),
        (
            168,
            [-120.0, -133.0, -137.0],
            ["p_reactive1", "p_reactive2", "p_reactive3"],
        ),
    ];
    let mut values = vec![
        ("uptime", 8006.into()),
        ("interval", 300.into()),
        ("temp", f(39.92)),
        ("e_day", f(2963.71)),
        ("e_interval", f(36.0)),
        ("e_day_dc", Value::Null),
        ("e_interval_dc", Value::Null),
        ("v_dc", f(748.69)),
        ("i_dc", Value::Null),
        ("e_total", f(614_241.0)),
        ("i_rcd", f(0.0028)),
        ("mode", 4.into()),
        ("gndfrr_semonitor", f(6900.05)),
        ("isolation_resistance", f(6900.05)),
        ("power_limit", f(100.0)),
        ("e_total_int", 614_241.into()),
    ];
    for (off, vals, names) in three {
        for i in 0..3 {
            b = b.f32(off + 4 * i, vals[i]);
            values.push((names[i], f(vals[i])));
        }
    }
    p.extend(record(0x0011, 0x7e9a_06db, &b));
    want.push(Dev {
        type_name: "inverter_3ph",
        id: "7E1A06DB",
        ts,
        values,
        raw: None,
    });
    // 0x0000 old optimizer, 36 bytes.
    let b = Body::new(36)
        .u32(0, ts)
        .u32(4, INV)
        .u32(8, INV)
        .u32(12, 3543)
        .f32(16, 36.625)
        .f32(20, 21.75)
        .f32(24, 0.58)
        .f32(28, 14.0 * k)
        .f32(32, 16.0);
    p.extend(record(0x0000, 0x1010_2016, &b));
    want.push(Dev {
        type_name: "optimizer_old",
        id: "10102016",
        ts,
        values: vec![
            ("inverter", "7F104920".into()),
            ("uptime", 3543.into()),
            ("v_mod", f(36.625)),
            ("v_opt", f(21.75)),
            ("i_mod", f(0.58)),
            ("e_day", f(14.0 * k)),
            ("temp", f(16.0)),
        ],
        raw: None,
    });
    // 0x0080 packed optimizer (the raw values behind jbuehl issue #11's printed decode) and
    // 0x0082 S440 (13 bytes as 0x0080, the rest kept raw).
    for (ty, id, name, len, idhex) in [
        (0x0080u16, 0x2023_74da, "optimizer", 13, "202374DA"),
        (0x0082, 0x15e7_52fd, "optimizer_s440", 21, "156752FD"),
    ] {
        let (vmod, vopt, imod, eday, temp) = (215u32, 271u32, 1209u32, 3724u16, 20i8);
        let mut b = Body::new(len)
            .u32(0, ts)
            .u16(4, 32_159)
            .u32(6, packed(vmod, vopt, imod))
            .u16(10, eday)
            .u8(12, temp as u8);
        if len > 13 {
            b = b.bytes(13, &[0x02, 0x06, 0x00, 0x00, 0x93, 0xf8, 0x95, 0x74]);
        }
        p.extend(record(ty, id, &b));
        want.push(Dev {
            type_name: name,
            id: idhex,
            ts,
            values: vec![
                ("uptime", 32_159.into()),
                ("v_mod", (f64::from(vmod) * 0.125).into()),
                ("v_opt", (f64::from(vopt) * 0.125).into()),
                ("i_mod", (f64::from(imod) * 0.00625).into()),
                ("e_day", (f64::from(eday) * 0.25).into()),
                ("temp", (f64::from(temp) * 2.0).into()),
            ],
            raw: (len > 13).then_some("0206000093f89574"),
        });
    }
    // 0x0300 event, 28 bytes: type 7, start, tz offset, end.
    let b = Body::new(28)
        .u32(0, ts)
        .u32(4, 7)
        .u32(8, ts - 600)
        .u32(12, (-3600i32) as u32)
        .u32(16, ts - 60);
    p.extend(record(0x0300, INV, &b));
    want.push(Dev {
        type_name: "event",
        id: "7F104920",
        ts,
        values: vec![
            ("event_type", 7.into()),
            ("event1", (ts - 600).into()),
            ("event2", (-3600).into()),
            ("event3", (ts - 60).into()),
        ],
        raw: None,
    });
    // 0x0022 meter, 58 bytes: PV production (recType 9), import "not reported".
    let b = Body::new(58)
        .u32(0, ts)
        .u8(4, 9)
        .u32(6, 1_234_567)
        .bytes(12, &[0x00, 0x80])
        .u32(14, 7_654_321)
        .u32(38, 300)
        .u32(42, 173)
        .u32(46, 0)
        .f32(50, 1446.0 * k)
        .none(54);
    p.extend(record(0x0022, 0x7415_f893, &b));
    want.push(Dev {
        type_name: "meter",
        id: "7415F893",
        ts,
        values: vec![
            ("rec_type", 9.into()),
            ("rec_type_name", "pv_production".into()),
            ("total_e_to_grid", 1_234_567.into()),
            ("total_e_from_grid", 7_654_321.into()),
            ("interval", 300.into()),
            ("e_to_x", 173.into()),
            ("e_from_x", 0.into()),
            ("p_to_x", f(1446.0 * k)),
            ("p_from_x", Value::Null),
        ],
        raw: None,
    });
    // 0x0030 battery, 86 bytes.
    let b = Body::new(86)
        .u32(0, ts)
        .bytes(4, b"BAT-7F1049\0\0")
        .f32(16, 52.5)
        .f32(20, -3.25 * k)
        .f32(24, 9800.0)
        .f32(28, 9500.0)
        .f32(32, 4200.5)
        .u32(36, 1_000_000)
        .u32(44, 900_000)
        .f32(60, 24.5)
        .u16(64, 4)
        .u32(74, 300)
        .u32(78, 120)
        .u32(82, 340);
    p.extend(record(0x0030, 0x7f10_4921, &b));
    want.push(Dev {
        type_name: "battery",
        id: "7F104921",
        ts,
        values: vec![
            ("battery_id", "BAT-7F1049".into()),
            ("v_dc", f(52.5)),
            ("i_dc", f(-3.25 * k)),
            ("capacity_nom", f(9800.0)),
            ("capacity_actual", f(9500.0)),
            ("charge", f(4200.5)),
            ("total_e_in", 1_000_000.into()),
            ("total_e_out", 900_000.into()),
            ("temp", f(24.5)),
            ("status", 4.into()),
            ("status_name", "discharging".into()),
            ("interval", 300.into()),
            ("e_in", 120.into()),
            ("e_out", 340.into()),
        ],
        raw: None,
    });
    // A type without a layout (0x0017): time stamp and raw bytes.
    let b = Body::new(12).u32(0, ts).bytes(4, &[1, 2, 3, 4, 5, 6, 7, 8]);
    p.extend(record(0x0017, INV, &b));
    want.push(Dev {
        type_name: "unknown",
        id: "7F104920",
        ts,
        values: vec![],
        raw: Some("0102030405060708"),
    });
    (p, want)
}

fn close(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if !(a.is_u64() && b.is_u64()) => {
            (x - y).abs() <= 1e-9 * y.abs().max(1.0)
        }
        _ => a == b,
    }
}

fn check_devices(r: &Value, want: &[Dev]) {
    let devs = r["devices"]
        .as_array()
        .unwrap_or_else(|| panic!("no devices: {r}"));
    assert_eq!(devs.len(), want.len(), "{r}");
    for (d, w) in devs.iter().zip(want) {
        assert_eq!(d["type_name"], w.type_name, "{d}");
        assert_eq!(d["id"], w.id, "{d}");
        assert_eq!(d["device_time"], w.ts, "{d}");
        assert!(d.get("anomaly").is_none(), "{d}");
        for (name, v) in &w.values {
            assert!(
                close(&d[*name], v),
                "{} {name}: got {}, want {v}",
                w.type_name,
                d[*name]
            );
        }
        assert_eq!(d["raw"].as_str(), w.raw, "{d}");
    }
}

#[test]
fn every_device_type_plain_and_encrypted() {
    let d = tmp("devices");
    let (t1, want1) = all_devices(TS1, 1.0);
    let (t2, want2) = all_devices(TS2, 2.0);
    let sc = script(&t1, &t2, false, true);
    let cap = write(&d, "s.pcap", &capture(&sc));
    let key = key_file(&d);
    let recs = pipeline(&cap, &["--key", key.to_str().unwrap()]);
    let posts: Vec<_> = decoded(&recs)
        .into_iter()
        .filter(|r| {
            r["function"] == "0x0500" && r["devices"].as_array().is_some_and(|a| !a.is_empty())
        })
        .collect();
    assert_eq!(posts.len(), 2);
    assert!(posts[0].get("encrypted").is_none());
    check_devices(posts[0], &want1);
    assert_eq!(posts[1]["encrypted"], true);
    check_devices(posts[1], &want2);
    for p in &posts {
        assert_eq!(p["function_name"], "SERVER_POST_DATA");
        assert_eq!(p["from"], "7F104920");
        assert_eq!(p["to"], "FFFFFFFE");
        assert_eq!(p["transport"], "tcp");
        assert_eq!(p["dport"], 22222);
    }
    // The GMT reply and the ACKs.
    let gmt = decoded(&recs)
        .into_iter()
        .find(|r| r["function"] == "0x0580")
        .expect("0x0580");
    assert_eq!(gmt["device_time"], TS1, "{gmt}");
    assert_eq!(gmt["tz_offset_s"], 7200, "{gmt}");
    let acks = decoded(&recs)
        .into_iter()
        .filter(|r| r["function_name"] == "RESP_ACK")
        .count();
    assert_eq!(acks, 3);
}

#[test]
fn semonitor_lines_for_plain_and_decrypted_posts() {
    let d = tmp("semonitor");
    let (t1, _) = all_devices(TS1, 1.0);
    let (t2, _) = all_devices(TS2, 2.0);
    let sc = script(&t1, &t2, false, true);
    let cap = write(&d, "s.pcap", &capture(&sc));
    let key = key_file(&d);
    let ex = extract(&cap);
    let out = Command::new(env!("CARGO_BIN_EXE_sedecode"))
        .args(["-q", "--semonitor", "--key", key.to_str().unwrap(), "-"])
        .env("TZ", "UTC0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(&ex)?;
            c.wait_with_output()
        })
        .expect("sedecode --semonitor");
    assert!(out.status.success());
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    // One line per non-empty 0x0500 (the empty one writes none).
    assert_eq!(lines.len(), sc.telemetry.len());
    for (l, (ts, k)) in lines.iter().zip([(TS1, 1.0f32), (TS2, 2.0)]) {
        let inv = &l["inverters"]["7F104920"];
        assert_eq!(inv["Pac"], f(3160.0 * k), "{l}");
        assert_eq!(inv["Pmax"], f(6000.0), "{l}");
        let t = ts % 86_400;
        assert_eq!(
            inv["Time"],
            format!("{:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60),
            "{l}"
        );
        assert_eq!(inv["Date"], "2016-07-19");
        assert_eq!(l["optimizers"]["202374DA"]["Vmod"], 26.875, "{l}");
        assert!(
            l["events"].is_object() && l["meters_0x0022"].is_object(),
            "{l}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// samples/solaredge/inverter-session.pcap is this module's session, kept reproducible here.

/// The sample session: every device type plain, then encrypted after a 0x0503; the key
/// parameter reads are in the capture, so it decrypts without --key.
fn sample() -> Vec<u8> {
    let (t1, _) = all_devices(TS1, 1.0);
    let (t2, _) = all_devices(TS2, 2.0);
    capture(&script(&t1, &t2, true, true))
}

#[test]
fn sample_capture_is_this_session() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/solaredge/inverter-session.pcap");
    let built = sample();
    if std::env::var_os("SEKIT_WRITE_SAMPLES").is_some() {
        std::fs::write(&path, &built).expect("write sample");
    }
    let file = std::fs::read(&path).expect("samples/solaredge/inverter-session.pcap");
    assert!(file == built, "the sample differs from the session built here; regenerate it with SEKIT_WRITE_SAMPLES=1 cargo test --release --test solaredge_session");
    let recs = pipeline(&path, &[]);
    let posts = decoded(&recs)
        .into_iter()
        .filter(|r| r["function"] == "0x0500" && r.get("anomaly").is_none())
        .filter(|r| r["devices"].as_array().is_some_and(|a| a.len() == 9))
        .count();
    assert_eq!(
        posts, 2,
        "both telemetry posts decoded, the second decrypted"
    );
}
