//! Whole PI30 polling sessions over TCP (pi30_tracer.md §7), on ports no rule knows: through a
//! transparent serial bridge and through the Eybond dongle wrapper (the dongle dials out, the
//! server asks). Values are chosen here, frames built here (own CRC), and the expected records
//! computed from the chosen values; every QPIGS reply is split at a different byte position,
//! some segments carry several messages, one reply has a bad CRC and one setter is NAKed.
//! `seextract | sedecode` must find every frame by content and return the values.
//!
//! `samples/pi30/bridge-and-eybond.pcap` is [`sample`], kept byte-identical here.

mod common;

use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn xmodem(d: &[u8]) -> u16 {
    let mut c = 0u16;
    for &b in d {
        c ^= u16::from(b) << 8;
        for _ in 0..8 {
            c = if c & 0x8000 != 0 {
                (c << 1) ^ 0x1021
            } else {
                c << 1
            };
        }
    }
    c
}

/// A PI30 frame with Voltronic's bumped CRC (pi30_tracer.md §2).
fn fr(text: &str) -> Vec<u8> {
    let mut v = text.as_bytes().to_vec();
    for b in xmodem(text.as_bytes()).to_be_bytes() {
        v.push(if matches!(b, 0x28 | 0x0D | 0x0A) {
            b + 1
        } else {
            b
        });
    }
    v.push(0x0D);
    v
}

/// Eybond message around a PI30 frame (brilthor `Protocol.md`): counter, 00 01, len, FF 04.
fn eyb(counter: u16, pi30: &[u8]) -> Vec<u8> {
    let mut v = counter.to_be_bytes().to_vec();
    v.extend_from_slice(&[0, 1]);
    v.extend_from_slice(&((pi30.len() + 2) as u16).to_be_bytes());
    v.extend_from_slice(&[0xFF, 0x04]);
    v.extend_from_slice(pi30);
    v
}

/// QPIGS values chosen by the test: (text, expected values).
fn qpigs(rng: &mut Rng) -> (String, Vec<(&'static str, Value)>) {
    let grid = 2000 + rng.range(0, 600) as u32; // tenths of a volt
    let watt = rng.range(0, 5000) as u32;
    let batt = 4400 + rng.range(0, 1400) as u32; // hundredths
    let pv = rng.range(0, 4000) as u32;
    let status = ["00010110", "00010101", "00010000"][rng.range(0, 2)];
    let text = format!(
        "({:03}.{} 50.0 230.0 50.0 {:04} {:04} 010 400 {:02}.{:02} 010 080 0040 0012 120.5 {:02}.{:02} 00000 {status} 00 00 {:05} 010",
        grid / 10, grid % 10, watt + 10, watt, batt / 100, batt % 100, batt / 100, batt % 100, pv
    );
    let src: Vec<&str> = match status {
        "00010110" => vec!["solar_charging"],
        "00010101" => vec!["ac_charging"],
        _ => vec![],
    };
    let want = vec![
        ("command", json!("QPIGS")),
        ("grid_volt", json!(f64::from(grid) / 10.0)),
        ("ac_va", json!(watt + 10)),
        ("ac_watt", json!(watt)),
        ("batt_volt", json!(f64::from(batt) / 100.0)),
        ("batt_volt_scc", json!(f64::from(batt) / 100.0)),
        ("pv_watts", json!(pv)),
        ("raw_status", json!(status)),
        ("load_status", json!(true)),
        ("charge_source", json!(src)),
        ("chk_ok", json!(true)),
    ];
    (text, want)
}

/// What one side sends: the bytes of each segment, and the records expected from it.
struct Script {
    /// (direction, segment)
    segs: Vec<(usize, Vec<u8>)>,
    /// Expected decoded records of this connection, in stream order per direction:
    /// (direction, fields).
    want: Vec<(usize, Vec<(&'static str, Value)>)>,
}

/// A polling session; `wrap` puts each message in the Eybond header. `asker` is the side that
/// sends commands (the client on a bridge, the server for a dongle).
/// With `every_cut` the QPIGS replies are split at every position, else at three (the sample).
fn session(seed: u64, wrap: bool, asker: usize, every_cut: bool) -> Script {
    let dev = 1 - asker;
    let mut rng = Rng(seed);
    let mut counter = 0u16;
    let mut w = |f: Vec<u8>| {
        counter += 1;
        if wrap {
            eyb(counter, &f)
        } else {
            f
        }
    };
    let mut s = Script {
        segs: Vec::new(),
        want: Vec::new(),
    };
    let req = |c: &str| {
        vec![
            ("role", json!("request")),
            ("command", json!(c.to_string())),
        ]
    };
    // Every QPIGS reply split at a different position (1 ..= len-1).
    let (probe, _) = qpigs(&mut Rng(seed));
    let n = fr(&probe).len();
    let cuts: Vec<usize> = if every_cut {
        (1..n).collect()
    } else {
        vec![1, n / 2, n - 1]
    };
    for cut in cuts {
        let (text, want) = qpigs(&mut rng);
        s.segs.push((asker, w(fr("QPIGS"))));
        s.want.push((asker, req("QPIGS")));
        let reply = w(fr(&text));
        let at = cut + reply.len() - n; // the cut is inside the PI30 frame
        s.segs.push((dev, reply[..at].to_vec()));
        s.segs.push((dev, reply[at..].to_vec()));
        s.want.push((dev, want));
    }
    // Several messages per segment: two commands, then both replies together.
    let both = [w(fr("QMOD")), w(fr("QPIWS"))].concat();
    s.segs.push((asker, both));
    s.want.push((asker, req("QMOD")));
    s.want.push((asker, req("QPIWS")));
    let warn = format!("(0{}{}", "1", "0".repeat(30)); // b2 inverter fault
    let replies = [w(fr("(L")), w(fr(&warn))].concat();
    s.segs.push((dev, replies));
    s.want.push((
        dev,
        vec![("mode_name", json!("line")), ("command", json!("QMOD"))],
    ));
    s.want.push((
        dev,
        vec![
            ("warnings", json!(["inverter_fault"])),
            ("command", json!("QPIWS")),
        ],
    ));
    // A setter, NAKed.
    s.segs.push((asker, w(fr("PBFT53.0"))));
    s.want.push((
        asker,
        vec![("command", json!("PBFT")), ("value", json!(53.0))],
    ));
    s.segs.push((dev, w(fr("(NAK"))));
    s.want.push((
        dev,
        vec![
            ("command", json!("PBFT")),
            ("answer", json!("NAK")),
            ("accepted", json!(false)),
        ],
    ));
    // A reply with a bad CRC: shown, chk_ok false, and an anomaly.
    s.segs.push((asker, w(fr("QPIRI"))));
    s.want.push((asker, req("QPIRI")));
    let mut bad = fr("(230.0 21.7 230.0 50.0 21.7 5000 4000 48.0 46.0 42.0 56.4 54.0 0 10 010 1 0 0 6 01 0 0 54.0 0 1");
    let k = bad.len() - 2;
    bad[k] ^= 0x01;
    s.segs.push((dev, w(bad)));
    s.want.push((
        dev,
        vec![("chk_ok", json!(false)), ("command", json!("QPIRI"))],
    ));
    // 2400 baud: one reply arriving 8 bytes at a time, with USB-HID NUL padding after it.
    s.segs.push((asker, w(fr("QPIGS"))));
    s.want.push((asker, req("QPIGS")));
    let (text, want) = qpigs(&mut rng);
    let mut slow = w(fr(&text));
    slow.extend_from_slice(&[0, 0, 0]);
    for c in slow.chunks(8) {
        s.segs.push((dev, c.to_vec()));
    }
    s.want.push((dev, want));
    s
}

fn conn(tcp: &mut Tcp, sc: &Script) {
    tcp.handshake();
    for (d, seg) in &sc.segs {
        tcp.data(*d, seg);
        tcp.ack(1 - d);
    }
    tcp.close();
}

/// Connection 1: bridge at 192.168.7.20:18123, polled by 192.168.7.5. Connection 2: an Eybond
/// dongle 192.168.7.30 dialling the server 10.1.1.1:15020; the server asks.
fn capture(every_cut: bool) -> (Vec<u8>, Script, Script) {
    let bridge = session(11, false, C2S, every_cut);
    let dongle = session(12, true, S2C, every_cut);
    let mut a = Tcp::new(
        ep("192.168.7.5", 40100),
        ep("192.168.7.20", 18123),
        1000,
        5000,
    );
    conn(&mut a, &bridge);
    let mut b = Tcp::new(ep("192.168.7.30", 3125), ep("10.1.1.1", 15020), 77, 99);
    b.clock = a.clock + NS;
    conn(&mut b, &dongle);
    let frames = merge(vec![
        a.frames(&Link::Eth(vec![])),
        b.frames(&Link::Eth(vec![])),
    ]);
    (pcap_le(1, &frames), bridge, dongle)
}

fn sample() -> Vec<u8> {
    capture(false).0
}

// ---------------------------------------------------------------------------------------------

fn lines(b: &[u8]) -> Vec<Value> {
    String::from_utf8(b.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn tmp(name: &str, bytes: &[u8]) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pi30_session");
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// (seextract records, sedecode records).
fn pipeline(cap: &Path) -> (Vec<Value>, Vec<Value>) {
    let ex = run(
        env!("CARGO_BIN_EXE_seextract"),
        &["-q", cap.to_str().unwrap()],
        &[],
    )
    .stdout;
    let de = run(env!("CARGO_BIN_EXE_sedecode"), &["-q"], &ex).stdout;
    (lines(&ex), lines(&de))
}

fn check_conn(recs: &[Value], conn: u64, sc: &Script) {
    for d in [C2S, S2C] {
        let dir = ["c2s", "s2c"][d];
        let got: Vec<&Value> = recs
            .iter()
            .filter(|r| r["type"] == "decoded" && r["conn"] == conn && r["dir"] == dir)
            .collect();
        let want: Vec<_> = sc.want.iter().filter(|w| w.0 == d).collect();
        assert_eq!(got.len(), want.len(), "conn {conn} {dir}: records");
        for (g, (_, fields)) in got.iter().zip(want) {
            assert_eq!(g["proto"], "pi30");
            for (k, v) in fields {
                assert_eq!(&g[*k], v, "conn {conn} {dir}: {k} in {g}");
            }
        }
    }
}

#[test]
fn bridge_and_eybond_sessions_decode() {
    for every_cut in [true, false] {
        let (cap, bridge, dongle) = capture(every_cut);
        let (ex, de) = pipeline(&tmp("sessions.pcap", &cap));
        check_capture(&ex, &de, &bridge, &dongle);
    }
}

fn check_capture(ex: &[Value], de: &[Value], bridge: &Script, dongle: &Script) {
    // Every frame by content: both connections, both directions, nothing else.
    let frames: Vec<&Value> = ex.iter().filter(|r| r["type"] == "frame").collect();
    assert!(frames.iter().all(|r| r["proto"] == "pi30"));
    assert_eq!(frames.len(), bridge.want.len() + dongle.want.len());
    // The bad CRC is an anomaly too, and the only one.
    let anomalies: Vec<&Value> = ex.iter().filter(|r| r["type"] == "anomaly").collect();
    assert_eq!(anomalies.len(), 2, "{anomalies:?}");
    assert!(anomalies.iter().all(|a| a["reason"] == "bad PI30 CRC"));
    check_conn(de, 1, bridge);
    check_conn(de, 2, dongle);
    // Eybond frames lie after their 8-byte header on the wire.
    let first = frames.iter().find(|r| r["conn"] == 2).unwrap();
    assert_eq!(
        (first["dir"].clone(), first["offset"].clone()),
        (json!("s2c"), json!(8))
    );
}

#[test]
fn sample_capture_is_this_session() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/pi30/bridge-and-eybond.pcap");
    let built = sample();
    if std::env::var_os("SEKIT_WRITE_SAMPLES").is_some() {
        std::fs::write(&path, &built).expect("write sample");
    }
    let file = std::fs::read(&path).expect("samples/pi30/bridge-and-eybond.pcap");
    assert!(file == built, "the sample differs from the session built here; regenerate it with SEKIT_WRITE_SAMPLES=1 cargo test --release --test pi30_session");
}
