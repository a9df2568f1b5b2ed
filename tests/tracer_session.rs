//! Whole MT-5 polling sessions over TCP through a transparent serial bridge (pi30_tracer.md §8
//! "Over TCP"), on a port no rule knows. Values are chosen here, frames built here (own CRC in
//! the vendor's augmented form) and the expected records computed from the chosen values; each
//! reply is split at a different byte position (the sync straddles segments), two polls share
//! segments, one reply has a bad CRC. `seextract | sedecode` must find every frame by content
//! and return the values. Modbus RTU and Modbus-TCP Tracer-AN traffic (§9) must not be taken
//! for MT-5 (nor for PI30).
//!
//! `samples/tracer/bridge-session.pcap` is [`sample`], kept byte-identical here.

mod common;

use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn augmented(msg: &[u8]) -> u16 {
    let mut r = 0u16;
    for &b in msg.iter().chain(&[0, 0]) {
        for k in (0..8).rev() {
            let out = r & 0x8000 != 0;
            r = (r << 1) | u16::from((b >> k) & 1);
            if out {
                r ^= 0x1041;
            }
        }
    }
    r
}

fn mt5(preamble: bool, id: u8, cmd: u8, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    if preamble {
        v.extend_from_slice(&[0xAA, 0x55, 0xAA, 0x55, 0xAA, 0x55]);
    }
    v.extend_from_slice(&[0xEB, 0x90, 0xEB, 0x90, 0xEB, 0x90]);
    let mut body = vec![id, cmd, data.len() as u8];
    body.extend_from_slice(data);
    v.extend_from_slice(&body);
    v.extend_from_slice(&augmented(&body).to_be_bytes());
    v.push(0x7F);
    v
}

/// A realtime reply with values chosen from `rng`, and the expected record fields.
fn reply(rng: &mut Rng) -> (Vec<u8>, Vec<(&'static str, Value)>) {
    let bat = 1100 + rng.range(0, 400) as u16;
    let pv = rng.range(0, 4000) as u16;
    let load = rng.range(0, 1000) as u16;
    let chg = rng.range(0, 1500) as u16;
    let temp = rng.range(0, 80) as u8;
    let charging = rng.range(0, 1) == 1;
    let mut d = Vec::new();
    for v in [bat, pv, 0, load, 1080, 1440] {
        d.extend_from_slice(&v.to_le_bytes());
    }
    d.extend_from_slice(&[1, 0, 0, 0x41, 0, 0, 0, u8::from(charging), temp]);
    d.extend_from_slice(&chg.to_le_bytes());
    d.push(0);
    let c = |x: u16| json!(f64::from(x) / 100.0);
    let want = vec![
        ("battery_voltage", c(bat)),
        ("pv_voltage", c(pv)),
        ("load_current", c(load)),
        ("over_discharge_voltage", json!(10.8)),
        ("battery_full_voltage", json!(14.4)),
        ("load_on", json!(true)),
        ("charging", json!(charging)),
        ("battery_temperature", json!(i32::from(temp) - 30)),
        ("charge_current", c(chg)),
    ];
    (mt5(false, 0x00, 0xA0, &d), want)
}

struct Script {
    segs: Vec<(usize, Vec<u8>)>,
    /// Expected replies' realtime fields, in order.
    replies: Vec<Vec<(&'static str, Value)>>,
    requests: usize,
}

fn session(seed: u64, every_cut: bool) -> Script {
    let mut rng = Rng(seed);
    let poll = mt5(true, 0x16, 0xA0, &[]);
    let mut s = Script {
        segs: Vec::new(),
        replies: Vec::new(),
        requests: 0,
    };
    let n = reply(&mut Rng(seed)).0.len();
    let cuts: Vec<usize> = if every_cut {
        (1..n).collect()
    } else {
        vec![3, n - 1]
    };
    for cut in cuts {
        let (r, want) = reply(&mut rng);
        s.segs.push((C2S, poll.clone()));
        s.requests += 1;
        s.segs.push((S2C, r[..cut].to_vec()));
        s.segs.push((S2C, r[cut..].to_vec()));
        s.replies.push(want);
    }
    // Two polls in one segment each way (Golle's request form: no preamble, len 1).
    let golle_poll = mt5(false, 0x01, 0xA0, &[0x03]);
    s.segs
        .push((C2S, [golle_poll.clone(), golle_poll].concat()));
    s.requests += 2;
    let (a, wa) = reply(&mut rng);
    let (b, wb) = reply(&mut rng);
    s.segs.push((S2C, [a, b].concat()));
    s.replies.push(wa);
    s.replies.push(wb);
    // A reply with a bad CRC: an anomaly, no frame.
    s.segs.push((C2S, poll.clone()));
    s.requests += 1;
    let (mut bad, _) = reply(&mut rng);
    bad[10] ^= 0x10;
    s.segs.push((S2C, bad));
    // Load off, answered.
    s.segs.push((C2S, mt5(true, 0x16, 0xAA, &[0])));
    s.segs.push((S2C, mt5(false, 0x00, 0xAA, &[0])));
    s
}

fn capture(sc: &Script, port: u16) -> Vec<u8> {
    let mut tcp = Tcp::new(ep("192.168.9.5", 40200), ep("192.168.9.77", port), 10, 20);
    tcp.handshake();
    for (d, seg) in &sc.segs {
        tcp.data(*d, seg);
        tcp.ack(1 - d);
    }
    tcp.close();
    pcap_le(1, &tcp.frames(&Link::Eth(vec![])))
}

fn sample() -> Vec<u8> {
    capture(&session(5, false), 20108)
}

fn lines(b: &[u8]) -> Vec<Value> {
    String::from_utf8(b.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn tmp(name: &str, bytes: &[u8]) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tracer_session");
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

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

#[test]
fn bridged_polling_session_decodes() {
    for every_cut in [true, false] {
        let sc = session(3, every_cut);
        let (ex, de) = pipeline(&tmp("session.pcap", &capture(&sc, 20108)));
        let frames: Vec<&Value> = ex.iter().filter(|r| r["type"] == "frame").collect();
        assert!(frames.iter().all(|r| r["proto"] == "tracer"));
        assert_eq!(frames.len(), sc.requests + sc.replies.len() + 2);
        let anomalies: Vec<&Value> = ex.iter().filter(|r| r["type"] == "anomaly").collect();
        assert_eq!(anomalies.len(), 1, "{anomalies:?}");
        assert_eq!(anomalies[0]["reason"], "bad MT-5 CRC");
        let got: Vec<&Value> = de
            .iter()
            .filter(|r| r["type"] == "decoded" && r["dir"] == "s2c" && r["cmd"] == 0xa0)
            .collect();
        assert_eq!(got.len(), sc.replies.len());
        for (g, want) in got.iter().zip(&sc.replies) {
            assert_eq!(g["role"], "reply");
            for (k, v) in want {
                assert_eq!(&g["realtime"][*k], v, "{k} in {g}");
            }
        }
        let reqs = de
            .iter()
            .filter(|r| r["type"] == "decoded" && r["role"] == "request")
            .count();
        assert_eq!(reqs, sc.requests + 1);
        let load: Vec<&Value> = de.iter().filter(|r| r["cmd"] == 0xaa).collect();
        assert_eq!(load.len(), 2);
        assert_eq!(
            (
                load[0]["role"].clone(),
                load[1]["role"].clone(),
                load[1]["load_on"].clone()
            ),
            (json!("request"), json!("reply"), json!(false))
        );
    }
}

fn modbus_crc(d: &[u8]) -> [u8; 2] {
    let mut c = 0xFFFFu16;
    for &b in d {
        c ^= u16::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xA001
            } else {
                c >> 1
            };
        }
    }
    c.to_le_bytes()
}

/// Tracer-AN polling (pi30_tracer.md §9): FC 04 reads of 0x3100.. with register values that
/// include `EB 90 EB 90 EB 90` and `AA 55`; as Modbus-TCP (MBAP) or raw RTU.
fn modbus(tcp_framing: bool, rng: &mut Rng) -> Vec<(usize, Vec<u8>)> {
    let mut segs = Vec::new();
    for tid in 0..60u16 {
        let pdu_req = [0x04, 0x31, 0x00, 0x00, 0x10];
        let mut regs = vec![0xEB, 0x90, 0xEB, 0x90, 0xEB, 0x90, 0xAA, 0x55];
        regs.extend(rng.bytes(24));
        let mut pdu_resp = vec![0x04, regs.len() as u8];
        pdu_resp.extend_from_slice(&regs);
        for (d, pdu) in [(C2S, pdu_req.to_vec()), (S2C, pdu_resp)] {
            let mut adu = Vec::new();
            if tcp_framing {
                adu.extend_from_slice(&tid.to_be_bytes());
                adu.extend_from_slice(&[0, 0]);
                adu.extend_from_slice(&((pdu.len() + 1) as u16).to_be_bytes());
                adu.push(1);
                adu.extend_from_slice(&pdu);
            } else {
                adu.push(1);
                adu.extend_from_slice(&pdu);
                let c = modbus_crc(&adu);
                adu.extend_from_slice(&c);
            }
            segs.push((d, adu));
        }
    }
    segs
}

#[test]
fn modbus_tracer_an_is_not_mt5() {
    let mut rng = Rng(99);
    for (tcp_framing, port) in [(true, 502), (false, 8899)] {
        let sc = Script {
            segs: modbus(tcp_framing, &mut rng),
            replies: Vec::new(),
            requests: 0,
        };
        let (ex, _) = pipeline(&tmp("modbus.pcap", &capture(&sc, port)));
        let found: Vec<&Value> = ex
            .iter()
            .filter(|r| r["proto"] == "tracer" || r["proto"] == "pi30")
            .collect();
        assert!(found.is_empty(), "modbus (tcp {tcp_framing}): {found:?}");
    }
}

#[test]
fn sample_capture_is_this_session() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/tracer/bridge-session.pcap");
    let built = sample();
    if std::env::var_os("SEKIT_WRITE_SAMPLES").is_some() {
        std::fs::write(&path, &built).expect("write sample");
    }
    let file = std::fs::read(&path).expect("samples/tracer/bridge-session.pcap");
    assert!(file == built, "the sample differs from the session built here; regenerate it with SEKIT_WRITE_SAMPLES=1 cargo test --release --test tracer_session");
}
