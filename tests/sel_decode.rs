//! SEL decoding of whole sessions (`seextract | sedecode`): a Telnet session on port 23 and the
//! same conversation over raw TCP on port 3001, built here from the layouts of sel.md §2 and
//! §3 with a separately written builder (sum8, CRC-16/MODBUS, Telnet escaping), and every
//! expected value computed here from the numbers put in, not from the decoder.
//!
//! Covered: logins with a default and a non-default password (never in any output unless
//! `--reveal-secrets`), ID/DNA/BNA/SNS, the relay definition, a Fast Meter configuration with
//! int16 and float channels and scale factors in the data message, ten data messages, a
//! configuration change mid-stream to one with its scale factor in the configuration, a data
//! message before any configuration, Fast Operate commands, unsolicited Fast SER with several
//! records, 0xFF inside binary data (doubled on Telnet, single on raw TCP), messages split
//! across segments and several per segment; fed one byte per segment, the same records.

mod common;

use common::*;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

// ------------------------------------------------------------------ builder (sel.md §1, §2)

fn sum8(b: &[u8]) -> u8 {
    b.iter().fold(0u8, |a, x| a.wrapping_add(*x))
}

/// CRC-16/MODBUS bit by bit (poly 0xA001 reflected, init 0xFFFF).
fn crc16(b: &[u8]) -> u16 {
    let mut c = 0xFFFFu16;
    for x in b {
        c ^= u16::from(*x);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xA001
            } else {
                c >> 1
            };
        }
    }
    c
}

/// `A5 t len body sum8`.
fn msg(t: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xA5, t, (body.len() + 4) as u8];
    m.extend_from_slice(body);
    m.push(sum8(&m));
    m
}

/// `A5 46 len routing(5) status fc seq resp# body CRC-BE`.
fn fast_msg(status: u8, fc: u8, seq: u8, rn: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xA5, 0x46, (body.len() + 14) as u8, 0, 0, 0, 0, 0];
    m.extend_from_slice(&[status, fc, seq, rn]);
    m.extend_from_slice(body);
    let c = crc16(&m);
    m.extend_from_slice(&c.to_be_bytes());
    m
}

/// A compressed-ASCII line with its checksum (sel.md §3.2).
fn cascii(fields: &[&str]) -> String {
    let mut l = String::new();
    for f in fields {
        l.push('"');
        l.push_str(f);
        l.push_str("\",");
    }
    let s: u32 = l.bytes().map(u32::from).sum();
    format!("{l}\"{:04X}\"\r\n", s & 0xFFFF)
}

fn ts8(mo: u8, d: u8, y: u8, h: u8, mi: u8, s: u8, ms: u16) -> Vec<u8> {
    let mut t = vec![mo, d, y, h, mi, s];
    t.extend(ms.to_be_bytes());
    t
}

fn name6(n: &str) -> Vec<u8> {
    let mut b = n.as_bytes().to_vec();
    b.resize(6, 0);
    b
}

/// Configuration A (sel.md §2.2): scale factors in the data message (sfLoc 0); IA, IB int16
/// with the f32 scale factor at data offset 4, VA float32 without; 1 sample, 2 digital banks.
/// Data layout: status(3) sf(4..8) IA(8) IB(10) VA(12..16) ts(16..24) dig(24..26) pad sum.
fn config_a() -> Vec<u8> {
    let mut b = vec![1, 0, 1, 3, 1, 2, 0];
    b.extend(8u16.to_be_bytes());
    b.extend(16u16.to_be_bytes());
    b.extend(24u16.to_be_bytes());
    for (n, t, sft) in [("IA", 0u8, 1u8), ("IB", 0, 1), ("VA", 1, 0xFF)] {
        b.extend(name6(n));
        b.extend([t, sft]);
        b.extend(4u16.to_be_bytes());
    }
    b.push(0);
    msg(0xC1, &b)
}

/// Data for configuration A: IA = 100·i, IB = −1 (0xFFFF: an FF pair), VA = 1000.5 + i,
/// scale 0.25, 2025-11-21 14:30:(10+i).(50·i), banks 0x80 | i, 0xFF.
fn data_a(i: u16) -> Vec<u8> {
    let mut b = vec![0u8];
    b.extend(0.25f32.to_be_bytes());
    b.extend((100 * i as i16).to_be_bytes());
    b.extend((-1i16).to_be_bytes());
    b.extend((1000.5f32 + f32::from(i)).to_be_bytes());
    b.extend(ts8(11, 21, 25, 14, 30, 10 + i as u8, 50 * i));
    b.extend([0x80 | i as u8, 0xFF]);
    b.push(0);
    msg(0xD1, &b)
}

/// Configuration B (the change mid-stream): scale factor in the configuration (sfLoc 1),
/// IA int16 with the f32 2.0 at config offset 36, P float64; 1 sample; 1 digital bank.
/// Config: header 16, 2 channels (20) → sf at 36, pad, sum: 42 bytes.
/// Data: status(3) IA(4) P(6..14) ts(14..22) dig(22) pad sum = 25 bytes.
fn config_b() -> Vec<u8> {
    let mut b = vec![1, 1, 1, 2, 1, 1, 0];
    b.extend(4u16.to_be_bytes());
    b.extend(14u16.to_be_bytes());
    b.extend(22u16.to_be_bytes());
    b.extend(name6("IA"));
    b.extend([0, 1]);
    b.extend(36u16.to_be_bytes());
    b.extend(name6("P"));
    b.extend([2, 0xFF]);
    b.extend(0u16.to_be_bytes());
    b.extend(2.0f32.to_be_bytes());
    b.push(0);
    msg(0xC1, &b)
}

/// Data for configuration B: IA = −3·i, P = −1234.5·i, 2025-11-21 15:00:0i.000, bank i.
fn data_b(i: u16) -> Vec<u8> {
    let mut b = vec![0x10u8]; // STSET
    b.extend((-3 * i as i16).to_be_bytes());
    b.extend((-1234.5 * f64::from(i)).to_be_bytes());
    b.extend(ts8(11, 21, 25, 15, 0, i as u8, 0));
    b.push(i as u8);
    b.push(0);
    msg(0xD1, &b)
}

/// Relay definition (sel.md §2.1): 1 protocol (SEL + Fast Operate + Fast Message), one Fast
/// Meter pair, one status flag (STSET → A5C1).
fn relay_def() -> Vec<u8> {
    let mut b = vec![1, 1, 1, 0xA5, 0xC1, 0xA5, 0xD1, 0x00, 0x04];
    b.extend([0xA5, 0xC1, 0, 0, 0, 0]);
    b.extend([0x03, 0x00, 0x00]);
    msg(0xC0, &b)
}

/// Fast Operate configuration: 1 breaker (open 31, close 11), 2 remote bits with pulse.
fn fo_config() -> Vec<u8> {
    msg(
        0xCE,
        &[1, 0, 2, 1, 0, 0x31, 0x11, 0, 0x20, 0x40, 1, 0x21, 0x41, 0],
    )
}

fn fo_cmd(t: u8, code: u8) -> Vec<u8> {
    msg(t, &[code, code.wrapping_mul(4).wrapping_add(1)])
}

/// Unsolicited Fast SER (sel.md §2.5), 2025 DOY 325, TOD 14:30:45.500: records
/// (idx, dt µs) and the status word.
fn ser(recs: &[(u8, u32)], status: u32) -> Vec<u8> {
    let mut b = vec![0, 0, 0, 0];
    b.extend(325u16.to_be_bytes());
    b.extend(2025u16.to_be_bytes());
    b.extend(52_245_500u32.to_be_bytes());
    for (i, dt) in recs {
        b.push(*i);
        b.extend(&dt.to_be_bytes()[1..]);
    }
    b.extend([0xFF, 0xFF, 0xFF, 0xFE]);
    b.extend(status.to_be_bytes());
    fast_msg(0x01, 0x18, 0xC0, 0, &b)
}

/// Telnet escaping: every 0xFF doubled (sel.md §4).
fn dbl(b: &[u8]) -> Vec<u8> {
    b.iter()
        .flat_map(|&x| if x == 0xFF { vec![0xFF, 0xFF] } else { vec![x] })
        .collect()
}

pub const SECRET: &str = "s3cret!";

/// The conversation as (direction, segment) in order; relay segments are not yet escaped.
fn script() -> Vec<(usize, Vec<u8>)> {
    let mut s: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut c = |d: usize, b: &[u8]| s.push((d, b.to_vec()));
    c(S2C, b"\r\n=");
    c(C2S, b"ACC\r\n");
    c(S2C, b"ACC\r\nPassword: ? ");
    c(C2S, b"OTTER\r\n");
    c(S2C, b"\r\nLevel 1\r\n=>");
    c(C2S, b"ID\r\n");
    let mut id = "ID\r\n\x02\r\n".to_string();
    id += &cascii(&["FID=SEL-351A-R509-V0-Z103103-D20110429"]);
    id += &cascii(&["CID=ABCD"]);
    id += &cascii(&["DEVID=FEEDER 7"]);
    id += "\x03\r\n=>";
    c(S2C, id.as_bytes());
    c(C2S, b"DNA\r\n");
    let mut dna = "DNA\r\n\x02\r\n".to_string();
    dna += &cascii(&["EN", "TRIP", "*", "*", "*", "*", "*", "52A"]);
    dna += &cascii(&["IN101", "IN102", "*", "*", "*", "*", "*", "*"]);
    dna += "\x03\r\n=>";
    c(S2C, dna.as_bytes());
    c(C2S, b"SNS\r\n");
    let mut sns = "SNS\r\n\x02\r\n".to_string();
    sns += &cascii(&["IN101", "IN102", "52A", "TRIP"]);
    sns += "\x03\r\n=>";
    c(S2C, sns.as_bytes());
    // Binary, the first data before any configuration.
    c(C2S, &[0xA5, 0xD1]);
    c(S2C, &data_a(0));
    c(C2S, &[0xA5, 0xC0]);
    c(S2C, &relay_def());
    c(C2S, &[0xA5, 0xC1]);
    c(S2C, &config_a());
    // Ten data messages: 1–5 one per segment (the third split in two), 6–10 in one segment.
    for i in 1..=5u16 {
        c(C2S, &[0xA5, 0xD1]);
        let d = data_a(i);
        if i == 3 {
            c(S2C, &d[..11]);
            c(S2C, &d[11..]);
        } else {
            c(S2C, &d);
        }
    }
    c(
        C2S,
        &[0xA5, 0xD1, 0xA5, 0xD1, 0xA5, 0xD1, 0xA5, 0xD1, 0xA5, 0xD1],
    );
    let five: Vec<u8> = (6..=10).flat_map(data_a).collect();
    c(S2C, &five);
    // Configuration change, then data with the new one (prompt and message in one segment).
    c(C2S, &[0xA5, 0xC1]);
    let mut b = b"=>".to_vec();
    b.extend(config_b());
    c(S2C, &b);
    for i in 1..=2u16 {
        c(C2S, &[0xA5, 0xD1]);
        c(S2C, &data_b(i));
    }
    // Level 2 with a non-default password, then Fast Operate.
    c(C2S, b"2AC\r\n");
    c(S2C, b"2AC\r\nPassword: ? ");
    c(C2S, format!("{SECRET}\r\n").as_bytes());
    c(S2C, b"\r\nLevel 2\r\n=>>");
    c(C2S, &[0xA5, 0xCE]);
    c(S2C, &fo_config());
    let mut ops = fo_cmd(0xE0, 0x20);
    ops.extend(fo_cmd(0xE3, 0x31));
    ops.extend(fo_cmd(0xED, 0x00));
    c(C2S, &ops);
    // Unsolicited Fast SER enabled, two messages with several records, acked.
    c(C2S, &fast_msg(0x01, 0x01, 0xC0, 0, &[0x18, 0, 0, 0x20]));
    c(S2C, &fast_msg(0x00, 0x81, 0x00, 0, &[]));
    let mut two = ser(&[(0, 0), (2, 1000), (3, 2500)], 0b011);
    two.extend(ser(&[(1, 250_000)], 0b1));
    c(S2C, &two);
    c(C2S, &fast_msg(0x00, 0x98, 0x00, 0, &[]));
    c(C2S, b"QUI\r\n");
    c(S2C, b"QUI\r\n=");
    s
}

/// A capture of the script: Telnet (negotiation first, relay's 0xFF doubled) on port 23, or
/// raw TCP on 3001; `bytewise`: one byte per segment.
fn capture(name: &str, telnet: bool, bytewise: bool) -> PathBuf {
    capture_losing(name, telnet, bytewise, None)
}

/// [`capture`], with the relay segment equal to `lost` never sent (a gap in the capture).
fn capture_losing(name: &str, telnet: bool, bytewise: bool, lost: Option<&[u8]>) -> PathBuf {
    let port = if telnet { 23 } else { 3001 };
    let mut t = Tcp::new(ep("10.1.0.10", 50000), ep("10.1.0.20", port), 7000, 9000);
    t.handshake();
    let mut segs = script();
    if telnet {
        for (_, b) in segs.iter_mut() {
            *b = dbl(b);
        }
        segs.insert(0, (S2C, vec![0xFF, 0xFB, 0x01, 0xFF, 0xFB, 0x03]));
        segs.insert(1, (C2S, vec![0xFF, 0xFD, 0x01, 0xFF, 0xFD, 0x03]));
    }
    for (d, b) in &segs {
        if lost == Some(b.as_slice()) {
            t.lose(*d, b.len() as u64);
            continue;
        }
        if bytewise {
            for x in b.chunks(1) {
                t.data(*d, x);
            }
        } else {
            t.data(*d, b);
        }
        t.ack(1 - *d);
    }
    t.close();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sel_decode");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, pcap_le(1, &t.frames(&Link::Eth(vec![])))).unwrap();
    p
}

fn run(tool: &str, args: &[&str], input: Option<Vec<u8>>) -> Vec<u8> {
    let mut c = Command::new(tool);
    c.args(args)
        .env("SEKIT_SECRET_SALT", "test")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut ch = c.spawn().expect("spawn");
    let mut stdin = ch.stdin.take().unwrap();
    let w = std::thread::spawn(move || {
        if let Some(i) = input {
            stdin.write_all(&i).unwrap();
        }
    });
    let out = ch.wait_with_output().unwrap();
    w.join().unwrap();
    assert!(
        out.status.success(),
        "{tool}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// seextract's and sedecode's output.
fn extract_decode(cap: &Path, reveal: bool) -> (Vec<u8>, Vec<u8>) {
    let c = cap.to_str().unwrap();
    let mut a = vec!["-q", c];
    let mut b = vec!["-q"];
    if reveal {
        a.push("--reveal-secrets");
        b.push("--reveal-secrets");
    }
    let frames = run(env!("CARGO_BIN_EXE_seextract"), &a, None);
    let dec = run(env!("CARGO_BIN_EXE_sedecode"), &b, Some(frames.clone()));
    (frames, dec)
}

fn records(out: &[u8]) -> Vec<Value> {
    String::from_utf8(out.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &Value| r["type"] == "decoded" && r["proto"] == "sel")
        .collect()
}

fn by_msg<'a>(r: &'a [Value], m: &str) -> Vec<&'a Value> {
    r.iter().filter(|x| x["msg"] == m).collect()
}

fn check_session(recs: &[Value]) {
    for r in recs.iter().filter(|r| r["decoded"] == true) {
        assert_eq!(r["anomalies"], serde_json::json!([]), "{r}");
    }
    // Identity, name tables.
    let ids: Vec<&Value> = recs.iter().filter(|r| r.get("id").is_some()).collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(ids[0]["id"]["model"], "SEL-351A");
    assert_eq!(ids[0]["id"]["revision"], "R509");
    assert_eq!(ids[0]["id"]["date"], "2011-04-29");
    assert_eq!(ids[2]["id"]["value"], "FEEDER 7");
    assert!(recs
        .iter()
        .filter(|r| r["msg"] == "cascii-line")
        .all(|r| r["line_checksum_ok"] == true));
    // Relay definition.
    let rd = by_msg(recs, "A5C0");
    assert_eq!(rd.len(), 1);
    assert_eq!(rd[0]["fast_meter"][0]["data"], "A5D1");
    assert_eq!(rd[0]["protocols"][0]["fast_message"], true);
    // Data: the first has no configuration before it.
    let d = by_msg(recs, "A5D1");
    assert_eq!(d.len(), 13);
    assert_eq!(d[0]["decoded"], false);
    assert!(d[0]["anomalies"][0]
        .as_str()
        .unwrap()
        .contains("no A5C1 configuration"));
    assert!(d[0].get("values").is_none());
    let cfgs = by_msg(recs, "A5C1");
    assert_eq!(cfgs.len(), 2);
    assert_eq!(cfgs[0]["sf_location"], "data");
    assert_eq!(cfgs[1]["sf_location"], "config");
    for (k, r) in d[1..11].iter().enumerate() {
        let i = k as f64 + 1.0;
        assert_eq!(r["decoded"], true, "{r}");
        assert_eq!(r["chk_ok"], true);
        assert_eq!(r["config_record"], cfgs[0]["record"]);
        let v = &r["values"];
        assert_eq!(v["IA"].as_f64(), Some(25.0 * i), "{r}");
        assert_eq!(v["IB"].as_f64(), Some(-0.25));
        assert_eq!(v["VA"].as_f64(), Some(1000.5 + i));
        assert_eq!(
            r["device_local_time"].as_str().unwrap(),
            format!("2025-11-21T14:30:{:02}.{:03}", 10 + k + 1, 50 * (k + 1))
        );
        // DNA names for bank 0 (EN TRIP * * * * * 52A) and 1 (IN101 IN102 …).
        assert_eq!(r["digital"]["EN"], 1);
        assert_eq!(r["digital"]["52A"].as_u64(), Some(((k as u64) + 1) & 1));
        assert_eq!(r["digital"]["IN101"], 1);
        assert!(r["digital"].get("bank0.bit5").is_none());
        assert_eq!(r["digital"]["IN102"], 1);
        assert_eq!(r["digital"].as_object().unwrap().len(), 3 + 2);
    }
    for (k, r) in d[11..].iter().enumerate() {
        let i = k as f64 + 1.0;
        assert_eq!(r["config_record"], cfgs[1]["record"]);
        assert_eq!(r["values"]["IA"].as_f64(), Some(-6.0 * i), "{r}");
        assert_eq!(r["values"]["P"].as_f64(), Some(-1234.5 * i));
        assert_eq!(r["status_set"], serde_json::json!(["STSET"]));
        assert_eq!(
            r["device_local_time"].as_str().unwrap(),
            format!("2025-11-21T15:00:{:02}.000", k + 1)
        );
    }
    // Fast Operate → control events.
    let ctl: Vec<&Value> = recs.iter().filter(|r| r.get("control").is_some()).collect();
    let got: Vec<(String, Value)> = ctl
        .iter()
        .map(|r| {
            (
                r["control"]["operation"].as_str().unwrap().to_string(),
                r["control"]["number"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("set".to_string(), Value::from(1)),
            ("open".to_string(), Value::from(1)),
            ("target-reset".to_string(), Value::Null)
        ]
    );
    assert!(ctl.iter().all(|r| r["control"]["validation_ok"] == true));
    // Fast SER: names from SNS, absolute times, states from the status word.
    let sers: Vec<&Value> = by_msg(recs, "A546")
        .into_iter()
        .filter(|r| r["fc"] == 0x18)
        .collect();
    assert_eq!(sers.len(), 2);
    let ev: Vec<(String, String, String)> = sers
        .iter()
        .flat_map(|r| r["ser"].as_array().unwrap().iter())
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["state"].as_str().unwrap().to_string(),
                e["device_local_time"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        ("IN101", "asserted", "2025-11-21T14:30:45.500000"),
        ("52A", "asserted", "2025-11-21T14:30:45.501000"),
        ("TRIP", "deasserted", "2025-11-21T14:30:45.502500"),
        ("IN102", "asserted", "2025-11-21T14:30:45.750000"),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(ev, want);
    // Logins: ACC with the default OTTER (a finding), 2AC with a non-default password.
    let logins: Vec<&Value> = recs
        .iter()
        .filter(|r| r["security"]["event"] == "login")
        .map(|r| &r["security"])
        .collect();
    assert_eq!(logins.len(), 2, "{logins:?}");
    assert_eq!(logins[0]["command"], "ACC");
    assert_eq!(logins[0]["success"], true);
    assert_eq!(logins[0]["level_reached"], "1");
    assert_eq!(logins[0]["default_credential"], true);
    assert_eq!(logins[1]["command"], "2AC");
    assert_eq!(logins[1]["success"], true);
    assert_eq!(logins[1]["level_reached"], "2");
    assert!(logins[1].get("default_credential").is_none());
    assert_eq!(logins[1]["password"]["length"], SECRET.len());
    assert_ne!(logins[0]["password"]["hash"], logins[1]["password"]["hash"]);
    // Prompts and their levels, commands normalised, responses paired.
    let levels: Vec<&str> = by_msg(recs, "ascii-prompt")
        .iter()
        .filter_map(|r| r["access_level"].as_str())
        .collect();
    assert!(levels.contains(&"0") && levels.contains(&"1") && levels.contains(&"2"));
    assert!(recs
        .iter()
        .any(|r| r["response_to"] == "DNA" && r["names"]["row"] == 1));
}

/// Records without what depends on segmentation (packet numbers, capture times).
fn stable(recs: &[Value]) -> Vec<Value> {
    recs.iter()
        .map(|r| {
            let mut r = r.clone();
            let o = r.as_object_mut().unwrap();
            o.remove("pkt");
            o.remove("ts");
            o.remove("file");
            r
        })
        .collect()
}

fn no_password(out: &[u8], what: &str) {
    let text = String::from_utf8_lossy(out);
    let hexed = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    for pw in ["OTTER", SECRET] {
        assert!(!text.contains(pw), "{what} contains {pw}");
        assert!(
            !text.contains(&hexed(pw)),
            "{what} contains the hex of {pw}"
        );
    }
}

#[test]
fn telnet_and_raw_tcp_sessions_decode_alike() {
    let tn = capture("telnet23.pcap", true, false);
    let raw = capture("raw3001.pcap", false, false);
    let (tf, td) = extract_decode(&tn, false);
    let (rf, rd) = extract_decode(&raw, false);
    let t = records(&td);
    let r = records(&rd);
    check_session(&t);
    check_session(&r);
    // The same records but for ports and offsets (Telnet bytes are on the wire).
    let strip = |v: &[Value]| -> Vec<Value> {
        v.iter()
            .map(|x| {
                let mut x = x.clone();
                let o = x.as_object_mut().unwrap();
                for k in ["pkt", "ts", "sport", "dport", "offset", "len", "file"] {
                    o.remove(k);
                }
                x
            })
            .collect()
    };
    assert_eq!(strip(&t), strip(&r));
    for (o, w) in [(&tf, "seextract telnet"), (&td, "sedecode telnet")] {
        no_password(o, w);
    }
    for (o, w) in [(&rf, "seextract raw"), (&rd, "sedecode raw")] {
        no_password(o, w);
    }
}

#[test]
fn byte_at_a_time_gives_the_same_records() {
    for telnet in [true, false] {
        let whole = capture(&format!("whole{telnet}.pcap"), telnet, false);
        let bytes = capture(&format!("bytes{telnet}.pcap"), telnet, true);
        let a = records(&extract_decode(&whole, false).1);
        let b = records(&extract_decode(&bytes, false).1);
        let (a, b) = (stable(&a), stable(&b));
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x, y, "telnet {telnet}");
        }
        assert_eq!(a.len(), b.len());
        check_session(&b);
    }
}

#[test]
fn reveal_secrets_shows_the_passwords() {
    let tn = capture("reveal23.pcap", true, false);
    let (f, d) = extract_decode(&tn, true);
    let (f, d) = (String::from_utf8_lossy(&f), String::from_utf8_lossy(&d));
    assert!(d.contains("\"password\":\"OTTER\""));
    assert!(d.contains(&format!("\"password\":\"{SECRET}\"")));
    assert!(f.contains(
        &"OTTER"
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    ));
    // Revealed in the splitter only: sedecode still redacts.
    let frames = run(
        env!("CARGO_BIN_EXE_seextract"),
        &["-q", "--reveal-secrets", tn.to_str().unwrap()],
        None,
    );
    let dec = run(env!("CARGO_BIN_EXE_sedecode"), &["-q"], Some(frames));
    no_password(&dec, "sedecode without --reveal-secrets");
}

/// The real ASCII lines of the fixture set (tests/data/sel, see PROVENANCE.txt): the 17
/// lines that the manuals and the SEL-700G print verify; one changed byte fails.
#[test]
fn real_ascii_checksum_lines() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/sel");
    let tsv = std::fs::read_to_string(dir.join("sel_manual_ascii_checksum_lines.tsv")).unwrap();
    let mut ok = 0;
    let check = |l: &str| sekit::protocols::sel::frame::cascii_checksum(l.as_bytes()).unwrap();
    for row in tsv.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        let (s, c) = check(cols[2]);
        if cols[5] == "OK" {
            assert_eq!(s, c, "{}", cols[2]);
            ok += 1;
            let mut b = cols[2].as_bytes().to_vec();
            b[3] ^= 0x01;
            let (s, c) = sekit::protocols::sel::frame::cascii_checksum(&b).unwrap();
            assert_ne!(s, c);
        } else {
            assert_ne!(s, c, "{}", cols[2]);
        }
    }
    assert_eq!(ok, 17);
    let peat = std::fs::read_to_string(dir.join("peat_sel700g_ID_response.txt")).unwrap();
    let mut n = 0;
    for row in peat
        .lines()
        .filter(|l| l.ends_with(|c: char| c.is_ascii_hexdigit()) && l.contains("OK"))
    {
        let line = row.split('\t').next().unwrap().trim_matches('\'');
        let (s, c) = check(line);
        assert_eq!(s, c, "{line}");
        n += 1;
    }
    assert_eq!(n, 13);
}

/// A lost segment (the first 11 bytes of the third data message): the splitter reports the
/// gap and resyncs; the conversation keeps its configuration and DNA names, so every later
/// data message decodes as before.
#[test]
fn state_survives_a_gap() {
    let d3 = data_a(3);
    let cap = capture_losing("gap3001.pcap", false, false, Some(&d3[..11]));
    let (_, out) = extract_decode(&cap, false);
    let all: Vec<Value> = String::from_utf8(out.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        all.iter()
            .any(|r| r["type"] == "gap" || r["type"] == "anomaly"),
        "the gap is reported"
    );
    let recs = records(&out);
    let cfg = by_msg(&recs, "A5C1")[0]["record"].clone();
    let data: Vec<&Value> = by_msg(&recs, "A5D1")
        .into_iter()
        .filter(|r| r["decoded"] == true && r["config_record"] == cfg)
        .collect();
    let ia: Vec<f64> = data
        .iter()
        .map(|r| r["values"]["IA"].as_f64().unwrap())
        .collect();
    assert_eq!(
        ia,
        [25.0, 50.0, 100.0, 125.0, 150.0, 175.0, 200.0, 225.0, 250.0]
    );
    assert!(data.iter().all(|r| r["digital"]["EN"] == 1));
}

/// Arbitrary frames through the session (as the fuzz target does): no panic, every record
/// valid JSON with a message name.
#[test]
fn random_frames_never_panic() {
    use sekit::protocols::sel::session::Session;
    use sekit::protocols::Envelope;
    use sekit::reassembly::Dir;
    let mut seed = 0x5EED_u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut seeds: Vec<Vec<u8>> = script().into_iter().map(|s| s.1).collect();
    seeds.extend([
        config_a(),
        config_b(),
        data_a(1),
        data_b(1),
        ser(&[(0, 0)], 1),
    ]);
    let mut dec = Session::new(false);
    for i in 0..20_000u64 {
        let mut f = seeds[(next() % seeds.len() as u64) as usize].clone();
        for _ in 0..(next() % 4) {
            if f.is_empty() {
                break;
            }
            let at = (next() % f.len() as u64) as usize;
            match next() % 3 {
                0 => f[at] = next() as u8,
                1 => f.truncate(at),
                _ => f.insert(at, next() as u8),
            }
        }
        let env = Envelope {
            conn: Some(i % 3),
            dir: Some(if next() % 2 == 0 { Dir::C2S } else { Dir::S2C }),
            ..Envelope::default()
        };
        let r = dec.decode(&env, &f);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["proto"], "sel");
        assert!(v["msg"].is_string());
    }
}
