//! MT-5 framing, CRC and decoding (pi30_tracer.md §8, §10): the request vectors, Golle's
//! captured reply decoded to the documented values, the len > 0 request of a real unit, and
//! the splitter fed whole, cut at every byte and byte by byte. The CRC is checked against the
//! vendor's "augmented" formulation written here.

use sekit::protocols::tracer::frame::{build, parse, CRC};
use sekit::protocols::tracer::session::Session;
use sekit::protocols::tracer::PROTOCOL;
use sekit::protocols::{Envelope, Found, Parsed};
use serde_json::{json, Value};

fn data(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/data/tracer/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The vendor/bmayton form: append two zero bytes, shift every bit through a 16-bit register,
/// XOR 0x1041 whenever a 1 is shifted out.
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

fn golle() -> Vec<u8> {
    unhex(&data("golle_reply.hex"))
}

#[test]
fn crc_vectors() {
    assert_eq!(augmented(b"123456789"), 0xAF1C);
    assert_eq!(CRC.checksum(b"123456789"), 0xAF1C);
    for (msg, want) in [
        (&[0x16, 0xA0, 0x00][..], 0xB1A7),
        (&[0x16, 0xAA, 0x01, 0x01][..], 0xEC88),
        (&[0x16, 0xAA, 0x01, 0x00][..], 0xFCC9),
    ] {
        assert_eq!(augmented(msg), want);
        assert_eq!(CRC.checksum(msg), want);
    }
    let g = golle();
    assert_eq!(augmented(&g[6..g.len() - 3]), 0xD969);
    // Residue: over id..data + CRC a good frame gives 0 (Golle).
    assert_eq!(augmented(&g[6..g.len() - 1]), 0);
    // A random message of every length 2..59: the crate's CRC is the augmented form.
    let mut x = 0x1234_5678u32;
    for n in 2..60 {
        let m: Vec<u8> = (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        assert_eq!(CRC.checksum(&m), augmented(&m), "len {n}");
    }
}

#[test]
fn request_frames() {
    for line in data("requests.txt").lines().filter(|l| !l.starts_with('#')) {
        let (name, hex) = line.split_once('\t').unwrap();
        let want = unhex(hex);
        let built = match name {
            "realtime" => build(true, 0x16, 0xA0, &[]),
            "load-on" => build(true, 0x16, 0xAA, &[1]),
            _ => build(true, 0x16, 0xAA, &[0]),
        }
        .unwrap();
        assert_eq!(built, want, "{name}");
        assert!(matches!(parse(&want), Parsed::Frame(f) if f.preamble && f.id == 0x16));
    }
    // Golle's request from a real MT-5: no preamble, id 1, len 1, data 03.
    let body = [0x01, 0xA0, 0x01, 0x03];
    let mut f = vec![0xEB, 0x90, 0xEB, 0x90, 0xEB, 0x90];
    f.extend_from_slice(&body);
    f.extend_from_slice(&augmented(&body).to_be_bytes());
    f.push(0x7F);
    let Parsed::Frame(p) = parse(&f) else {
        panic!()
    };
    assert_eq!((p.preamble, p.id, p.data), (false, 1, &[3u8][..]));
    let v = dec(&mut Session::new(), &f, 0);
    assert_eq!(v["role"], "request");
}

fn dec(s: &mut Session, bytes: &[u8], dir: u8) -> Value {
    let env = Envelope {
        conn: Some(1),
        dir: Some(if dir == 0 {
            sekit::reassembly::Dir::C2S
        } else {
            sekit::reassembly::Dir::S2C
        }),
        ..Default::default()
    };
    serde_json::to_value(s.decode(&env, bytes)).unwrap()
}

#[test]
fn golle_reply_decodes_to_the_documented_values() {
    let v = dec(&mut Session::new(), &golle(), 1);
    let r = &v["realtime"];
    assert_eq!(v["cmd"], 0xa0);
    assert_eq!(v["role"], "reply");
    assert_eq!(v["address"], 0);
    assert_eq!(r["battery_voltage"], json!(12.44));
    assert_eq!(r["pv_voltage"], json!(34.08));
    assert_eq!(r["load_current"], json!(0.0));
    assert_eq!(r["over_discharge_voltage"], json!(11.13));
    assert_eq!(r["battery_full_voltage"], json!(14.32));
    assert_eq!(r["charging"], json!(true));
    assert_eq!(r["battery_temperature"], json!(28));
    assert_eq!(r["charge_current"], json!(3.74));
    for k in [
        "load_on",
        "overload",
        "load_short",
        "battery_overload",
        "over_discharge",
        "battery_full",
    ] {
        assert_eq!(r[k], json!(false), "{k}");
    }
    assert_eq!(r["reserved_15"], json!(0x29));
    // Derived (Golle): 100·(12.44 − 11.13)/(14.32 − 11.13) = 41.07 %; 3.74 A · 12.44 V.
    assert_eq!(r["battery_level"], json!(41.07));
    assert_eq!(r["power_flow"], json!(46.5256));
    assert_eq!(r["units"]["battery_temperature"], "°C");
}

#[test]
fn manual_control_roles_and_unknown_commands() {
    let mut s = Session::new();
    let poll = build(true, 0x16, 0xA0, &[]).unwrap();
    assert_eq!(dec(&mut s, &poll, 0)["role"], "request");
    // Without a preamble a 0xAA frame is a request from the polling side, a reply otherwise.
    let on = build(false, 0x16, 0xAA, &[1]).unwrap();
    let v = dec(&mut s, &on, 0);
    assert_eq!(
        (v["role"].clone(), v["load_on"].clone()),
        (json!("request"), json!(true))
    );
    let off = build(false, 0x00, 0xAA, &[0]).unwrap();
    let v = dec(&mut s, &off, 1);
    assert_eq!(
        (v["role"].clone(), v["load_on"].clone()),
        (json!("reply"), json!(false))
    );
    let unk = build(false, 0x16, 0x41, &[1, 2, 3]).unwrap();
    let v = dec(&mut s, &unk, 1);
    assert_eq!(v["cmd_name"], "unknown-0x41");
    assert_eq!(v["data"], "010203");
    assert_eq!(
        dec(&mut s, b"\xEB\x90", 1)["anomaly"],
        "not a valid MT-5 frame"
    );
}

#[derive(Debug, PartialEq)]
enum Out {
    F(u64, usize, String),
    A(u64, u64),
}

fn feed(chunks: &[&[u8]]) -> (Vec<Out>, bool) {
    let mut st = PROTOCOL.new_state();
    let mut out = Vec::new();
    let mut emit = |f: Found<'_>| match f {
        Found::Frame {
            offset,
            bytes,
            kind,
        } => out.push(Out::F(offset, bytes.len(), kind.to_string())),
        Found::Anomaly { offset, len, .. } => out.push(Out::A(offset, len)),
    };
    let mut off = 0;
    for c in chunks {
        st.data(off, c, &mut emit);
        off += c.len() as u64;
    }
    st.end(&mut emit);
    let c = st.confident();
    (out, c)
}

#[test]
fn splitter_finds_frames_however_cut() {
    let poll = build(true, 0x16, 0xA0, &[]).unwrap();
    let g = golle();
    let mut bad = g.clone();
    bad[20] ^= 1;
    let s = [
        poll.clone(),
        g.clone(),
        b"\x00\x01".to_vec(),
        bad,
        g.clone(),
    ]
    .concat();
    let (pl, gl) = (poll.len() as u64, g.len() as u64);
    let want = vec![
        Out::F(0, poll.len(), "realtime".into()),
        Out::F(pl, g.len(), "realtime".into()),
        Out::A(pl + gl, 2 + gl),
        Out::F(pl + gl + 2 + gl, g.len(), "realtime".into()),
    ];
    let (out, confident) = feed(&[&s]);
    assert_eq!(out, want);
    assert!(confident);
    for cut in 1..s.len() {
        let (a, b) = s.split_at(cut);
        assert_eq!(feed(&[a, b]).0, want, "cut {cut}");
    }
    let bytes: Vec<&[u8]> = s.chunks(1).collect();
    assert_eq!(feed(&bytes).0, want);
}
