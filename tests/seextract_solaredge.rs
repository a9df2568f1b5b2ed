//! `seextract` on SolarEdge streams built here from the spec (shared/specs/solaredge.md §1–2,
//! §6): real 22-byte frames (tests/data/solaredge/verified-messages.hex) and synthetic frames
//! whose payloads hold the magic `12 34 56 79`, carried over TCP (cut at pseudo-random byte
//! positions, with out-of-order segments, a retransmission, garbage, a bad CRC and a gap) and
//! over UDP; and the RS485 hex dump with corrupted CRCs (tests/data/solaredge/, provenance in
//! PROVENANCE.txt) fed to the library and to the tool.
//!
//! Every expectation is computed from what the test built (its own CRC, framing and scan), never
//! from seextract's output.

mod common;
use common::{unhex, Rng};

use common::solaredge::{se_crc, se_fields_crc, se_frame, solaredge_data, verified_frames, MAGIC};

use common::{ep, merge, pcap_le, Ep, Link, Tcp, Udp, C2S, NS, S2C, T0};
use sekit::protocols::{solaredge, Found};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

// ---------------------------------------------------------------------------------------------
// SolarEdge framing, written from solaredge.md §1–2 (independent of the crate).

const SERVER: u32 = 0xffff_fffe;
const INVERTER: u32 = 0x7f10_4920;
const STEP: u64 = 1_000_000;

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Size of the valid frame at the start of `b` (magic, ~len, complete, CRC), if any.
fn se_valid(b: &[u8]) -> Option<usize> {
    if b.len() < 22 || b[..4] != MAGIC || le16(b, 6) != !le16(b, 4) {
        return None;
    }
    let size = 22 + usize::from(le16(b, 4));
    if b.len() < size {
        return None;
    }
    let crc = se_fields_crc(
        le16(b, 8),
        le32(b, 10),
        le32(b, 14),
        le16(b, 18),
        &b[20..size - 2],
    );
    (crc == le16(b, size - 2)).then_some(size)
}

fn function(frame: &[u8]) -> u16 {
    le16(frame, 18)
}

fn seq_of(frame: &[u8]) -> u16 {
    le16(frame, 8)
}

fn from_of(frame: &[u8]) -> u32 {
    le32(frame, 10)
}

/// Independent scan of a whole stream, length-driven like a receiver: a valid frame at the
/// current position is taken whole (a magic inside its payload is not a frame start), otherwise
/// the position moves on by one byte. Returns the frames `(offset, len)` and the maximal runs of
/// bytes outside frames `(offset, len)`.
type Ranges = Vec<(u64, u64)>;
fn scan(b: &[u8]) -> (Ranges, Ranges) {
    let (mut frames, mut runs) = (Vec::new(), Vec::new());
    let mut run: Option<usize> = None;
    let mut i = 0;
    while i < b.len() {
        match se_valid(&b[i..]) {
            Some(n) => {
                if let Some(s) = run.take() {
                    runs.push((s as u64, (i - s) as u64));
                }
                frames.push((i as u64, n as u64));
                i += n;
            }
            None => {
                run.get_or_insert(i);
                i += 1;
            }
        }
    }
    if let Some(s) = run {
        runs.push((s as u64, (b.len() - s) as u64));
    }
    (frames, runs)
}

// ---------------------------------------------------------------------------------------------
// Fixtures, randomness, test data.

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The RS485 dump (`hexdump -C` layout: offset, up to 16 hex bytes, `|ascii|`).
fn rs485_dump() -> Vec<u8> {
    let text = std::fs::read_to_string(solaredge_data("jbuehl-issue8-rs485-hexdump-20160129.hex"))
        .expect("fixture");
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let mut toks = line.split_whitespace();
        let Some(off) = toks.next() else { continue };
        assert_eq!(
            usize::from_str_radix(off, 16).expect("offset column"),
            out.len(),
            "hexdump offset"
        );
        for t in toks.take_while(|t| !t.starts_with('|')) {
            out.push(u8::from_str_radix(t, 16).expect("hex byte"));
        }
    }
    out
}

/// A 0x0500 payload of `len` random bytes with the magic written at its start, its end and
/// `extra` more places.
fn payload_with_magic(rng: &mut Rng, len: usize, extra: usize) -> Vec<u8> {
    let mut p = rng.bytes(len);
    let mut at = vec![0, len - 4];
    for _ in 0..extra {
        at.push(rng.range(0, len - 4));
    }
    for a in at {
        p[a..a + 4].copy_from_slice(&MAGIC);
    }
    p
}

/// The inverter's frames (c2s) and the server's answers (s2c), in conversation order. The
/// 0x0500 payloads hold the magic several times, one of them a whole valid frame, one a magic
/// followed by a consistent length/~length (a frame header whose CRC cannot match).
fn conversation() -> [Vec<Vec<u8>>; 2] {
    let real = verified_frames();
    assert_eq!(real.len(), 10);
    let mut rng = Rng(0x5eed_5a1a_2e00_0001);
    let post = |seq: u16, payload: Vec<u8>| se_frame(seq, INVERTER, SERVER, 0x0500, &payload);
    let p_a = payload_with_magic(&mut rng, 120, 3);
    let p_b = payload_with_magic(&mut rng, 57, 2);
    let mut p_inner = payload_with_magic(&mut rng, 90, 1);
    p_inner[30..52].copy_from_slice(&real[3]);
    let mut p_hdr = payload_with_magic(&mut rng, 64, 0);
    p_hdr[10..18].copy_from_slice(&[0x12, 0x34, 0x56, 0x79, 0x08, 0x00, 0xf7, 0xff]);
    let p_long = payload_with_magic(&mut rng, 1000, 12);
    let c2s = vec![
        post(0x0100, p_a),
        real[0].clone(),
        real[1].clone(),
        post(0x0101, p_b),
        real[2].clone(),
        real[3].clone(),
        real[4].clone(),
        post(0x0102, p_inner),
        real[5].clone(),
        real[6].clone(),
        post(0x0103, p_hdr),
        se_frame(0x0104, INVERTER, SERVER, 0x0501, &[]),
        real[7].clone(),
        real[8].clone(),
        real[9].clone(),
        post(0x0105, p_long),
        post(0x0106, Vec::new()),
    ];
    let s2c = c2s
        .iter()
        .map(|f| match function(f) {
            0x0501 => {
                let mut p = 1_700_000_000u32.to_le_bytes().to_vec();
                p.extend(3600i32.to_le_bytes());
                se_frame(seq_of(f), SERVER, from_of(f), 0x0580, &p)
            }
            _ => se_frame(seq_of(f), SERVER, from_of(f), 0x0080, &[]),
        })
        .collect();
    [c2s, s2c]
}

/// A frame as the test expects it: direction, stream offset, bytes, and the number (from 1)
/// of the packet that completes it.
#[derive(Clone, Debug)]
struct Exp {
    dir: usize,
    offset: u64,
    bytes: Vec<u8>,
    pkt: u64,
}

fn with_offsets(dir: usize, frames: &[Vec<u8>]) -> Vec<Exp> {
    let mut off = 0;
    frames
        .iter()
        .map(|f| {
            let e = Exp {
                dir,
                offset: off,
                bytes: f.clone(),
                pkt: 0,
            };
            off += f.len() as u64;
            e
        })
        .collect()
}

/// A segment to send: direction, stream offset, bytes.
#[derive(Clone, Debug)]
struct Seg {
    dir: usize,
    off: u64,
    bytes: Vec<u8>,
}

/// Cuts a stream at pseudo-random positions into pieces of 1..=max bytes.
fn cut(dir: usize, stream: &[u8], rng: &mut Rng, max: usize) -> Vec<Seg> {
    let mut v = Vec::new();
    let mut at = 0;
    while at < stream.len() {
        let n = rng.range(1, max).min(stream.len() - at);
        v.push(Seg {
            dir,
            off: at as u64,
            bytes: stream[at..at + n].to_vec(),
        });
        at += n;
    }
    v
}

/// Tracks what each side has received in capture order (contiguous prefix per direction) and
/// which expected frames each packet completes.
struct Tracker {
    have: [Vec<bool>; 2],
    prefix: [usize; 2],
}

impl Tracker {
    fn new(lens: [usize; 2]) -> Tracker {
        Tracker {
            have: [vec![false; lens[0]], vec![false; lens[1]]],
            prefix: [0; 2],
        }
    }
    fn got(&mut self, s: &Seg, pkt: u64, exp: &mut [Exp]) {
        let d = s.dir;
        for i in 0..s.bytes.len() {
            self.have[d][s.off as usize + i] = true;
        }
        while self.prefix[d] < self.have[d].len() && self.have[d][self.prefix[d]] {
            self.prefix[d] += 1;
        }
        for e in exp.iter_mut().filter(|e| e.dir == d && e.pkt == 0) {
            if e.offset + e.bytes.len() as u64 <= self.prefix[d] as u64 {
                e.pkt = pkt;
            }
        }
    }
}

struct Built {
    /// The link-layer frames (to merge with other connections) and the pcap of them alone.
    frames: Vec<common::Frame>,
    pcap: Vec<u8>,
    exp: Vec<Exp>,
    ep: [Ep; 2],
}

/// One TCP connection carrying the conversation: both streams cut at pseudo-random positions,
/// interleaved at random; with `disorder`, some segments swapped with their successor (sent
/// out of order) and one c2s segment sent again later (retransmission). Every ACK covers only
/// what the receiver has contiguously, so no hole is ever ACKed past.
fn tcp_conversation(client: Ep, server: Ep, seed: u64, disorder: bool) -> Built {
    let frames = conversation();
    let mut exp = with_offsets(C2S, &frames[0]);
    exp.extend(with_offsets(S2C, &frames[1]));
    let streams = [frames[0].concat(), frames[1].concat()];
    let mut rng = Rng(seed);
    let mut segs = [
        cut(C2S, &streams[0], &mut rng, 97),
        cut(S2C, &streams[1], &mut rng, 61),
    ];
    if disorder {
        for (d, list) in segs.iter_mut().enumerate() {
            let mut k = 2 + d;
            while k + 1 < list.len() {
                list.swap(k, k + 1);
                k += 7;
            }
        }
    }
    let mut order = Vec::new();
    let (mut a, mut b) = (segs[0].iter().peekable(), segs[1].iter().peekable());
    while a.peek().is_some() || b.peek().is_some() {
        let pick_a = b.peek().is_none() || (a.peek().is_some() && rng.next().is_multiple_of(2));
        order.push(
            if pick_a { a.next() } else { b.next() }
                .expect("segment")
                .clone(),
        );
    }
    if disorder {
        // Retransmit the 6th c2s segment after the 12th c2s segment went out.
        let sixth = segs[0][5].clone();
        let pos = order
            .iter()
            .enumerate()
            .filter(|(_, s)| s.dir == C2S)
            .nth(11)
            .map(|(i, _)| i)
            .expect("12 c2s segments");
        order.insert(pos + 1, sixth);
    }
    let mut t = Tcp::new(client, server, 0xffff_ff00, 0x1234_5678);
    t.handshake();
    let mut tr = Tracker::new([streams[0].len(), streams[1].len()]);
    let mut ahead = 0;
    for s in &order {
        if s.off as usize > tr.prefix[s.dir] {
            ahead += 1; // arrives before the bytes in front of it
        }
        t.ack_limit[s.dir] = Some(tr.prefix[1 - s.dir] as u64);
        t.data_at(s.dir, s.off, &s.bytes);
        tr.got(s, t.pkts.len() as u64, &mut exp);
    }
    assert_eq!(tr.prefix, [streams[0].len(), streams[1].len()]);
    if disorder {
        assert!(ahead >= 4, "{ahead} out-of-order segments");
    }
    t.ack_limit = [None, None];
    t.close();
    let frames = t.frames(&Link::Eth(vec![]));
    Built {
        pcap: pcap_le(1, &frames),
        frames,
        exp,
        ep: [client, server],
    }
}

// ---------------------------------------------------------------------------------------------
// Running seextract and reading its records.

fn tmp(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("seextract_solaredge")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

fn write_capture(name: &str, bytes: &[u8]) -> String {
    let p = tmp(name).join("capture.pcap");
    std::fs::write(&p, bytes).expect("write capture");
    p.to_string_lossy().into_owned()
}

fn seextract(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seextract"))
        .args(args)
        .output()
        .expect("run seextract")
}

fn records(args: &[&str]) -> Vec<Value> {
    let out = seextract(args);
    assert!(
        out.status.success(),
        "seextract {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn of_type<'a>(recs: &'a [Value], ty: &str) -> Vec<&'a Value> {
    recs.iter().filter(|r| r["type"] == ty).collect()
}

fn dir_name(d: usize) -> &'static str {
    ["c2s", "s2c"][d]
}

/// A frame record reduced to what the test predicts.
#[derive(Debug, PartialEq)]
struct FrameRec {
    dir: String,
    offset: u64,
    kind: String,
    hex: String,
    len: u64,
}

fn frame_recs(recs: &[Value]) -> Vec<FrameRec> {
    of_type(recs, "frame")
        .into_iter()
        .map(|r| FrameRec {
            dir: r["dir"].as_str().expect("dir").to_string(),
            offset: r["offset"].as_u64().expect("offset"),
            kind: r["kind"].as_str().expect("kind").to_string(),
            hex: r["hex"].as_str().expect("hex").to_string(),
            len: r["len"].as_u64().expect("len"),
        })
        .collect()
}

fn expected_recs(exp: &[Exp]) -> Vec<FrameRec> {
    exp.iter()
        .map(|e| FrameRec {
            dir: dir_name(e.dir).to_string(),
            offset: e.offset,
            kind: format!("0x{:04x}", function(&e.bytes)),
            hex: to_hex(&e.bytes),
            len: e.bytes.len() as u64,
        })
        .collect()
}

/// `(dir, offset, len)` of the anomaly (or gap) records.
fn ranges(recs: &[Value], ty: &str) -> Vec<(String, u64, u64)> {
    of_type(recs, ty)
        .into_iter()
        .map(|r| {
            (
                r["dir"].as_str().expect("dir").to_string(),
                r["offset"].as_u64().expect("offset"),
                r["len"].as_u64().expect("len"),
            )
        })
        .collect()
}

/// Expected frames in the order seextract reports them: by the packet that completes them,
/// then by stream offset (one packet completes frames of one direction only).
fn capture_order(exp: &[Exp]) -> Vec<Exp> {
    let mut v = exp.to_vec();
    v.sort_by_key(|e| (e.pkt, e.offset));
    v
}

/// Checks every frame record of a TCP or UDP conversation field by field.
fn check_frames(recs: &[Value], b: &Built, transport: &str) {
    let exp = capture_order(&b.exp);
    let frames = of_type(recs, "frame");
    assert_eq!(frame_recs(recs), expected_recs(&exp));
    for (r, e) in frames.iter().zip(&exp) {
        let (src, dst) = (b.ep[e.dir], b.ep[1 - e.dir]);
        assert_eq!(r["v"], 2);
        assert_eq!(r["proto"], "solaredge", "{r}");
        assert_eq!(r["transport"], transport, "{r}");
        assert_eq!(r["conn"], 1, "{r}");
        assert_eq!(r["pkt"], e.pkt, "{r}");
        assert_eq!(r["src"], src.0.to_string(), "{r}");
        assert_eq!(r["sport"], src.1, "{r}");
        assert_eq!(r["dst"], dst.0.to_string(), "{r}");
        assert_eq!(r["dport"], dst.1, "{r}");
        let ts = (T0 + (e.pkt - 1) * STEP) as f64 / NS as f64;
        let got = r["ts"].as_f64().expect("ts");
        assert!((got - ts).abs() < 1e-6, "ts {got} != {ts}: {r}");
    }
}

/// Flow records at the end: one per direction, detected as SolarEdge, all bytes delivered.
fn check_flows(recs: &[Value], lens: [u64; 2]) {
    let flows = of_type(recs, "flow");
    assert_eq!(flows.len(), 2, "{flows:?}");
    for (d, f) in flows.iter().enumerate() {
        assert_eq!(f["dir"], dir_name(d));
        assert_eq!(f["proto"], "solaredge", "{f}");
        assert_eq!(f["bytes"], lens[d], "{f}");
        assert_eq!(f["gaps"], serde_json::json!([]), "{f}");
    }
}

fn stream_lens(exp: &[Exp]) -> [u64; 2] {
    let mut l = [0; 2];
    for e in exp {
        l[e.dir] += e.bytes.len() as u64;
    }
    l
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn own_crc_matches_spec_and_real_frames() {
    assert_eq!(se_crc(b""), 0x5a5a);
    assert_eq!(se_crc(b"123456789"), 0x5b3a);
    // solaredge.md §2 worked example.
    assert_eq!(
        se_crc(&unhex("00 06 7e 1a 08 23 ff ff ff fe 03 9a")),
        0x37f4
    );
    let real = verified_frames();
    assert_eq!(real.len(), 10);
    for f in &real {
        assert_eq!(f.len(), 22);
        assert_eq!(se_valid(f), Some(22), "{}", to_hex(f));
        let rebuilt = se_frame(seq_of(f), from_of(f), le32(f, 14), function(f), &[]);
        assert_eq!(&rebuilt, f);
    }
    // The conversation's frames are valid and a receiver's scan finds exactly them: the
    // magics inside the 0x0500 payloads (one a whole frame) are not frame starts.
    for frames in conversation() {
        let stream = frames.concat();
        let (found, runs) = scan(&stream);
        let exp: Vec<(u64, u64)> = with_offsets(0, &frames)
            .iter()
            .map(|e| (e.offset, e.bytes.len() as u64))
            .collect();
        assert_eq!(found, exp);
        assert!(runs.is_empty());
    }
    let c2s = conversation()[0].concat();
    let magics = c2s.windows(4).filter(|w| *w == MAGIC).count();
    // 17 frame starts, and at least two more in each of the six non-empty 0x0500 payloads.
    assert!(magics >= 17 + 6 * 2, "magic occurs {magics} times");
}

#[test]
fn tcp_cut_reordered_retransmitted_yields_every_frame_in_order() {
    let b = tcp_conversation(ep("10.1.1.10", 40000), ep("10.1.1.1", 22222), 0x1111, true);
    let cap = write_capture("tcp_22222", &b.pcap);
    let recs = records(&["-q", &cap]);
    check_frames(&recs, &b, "tcp");
    assert_eq!(ranges(&recs, "anomaly"), vec![]);
    assert_eq!(ranges(&recs, "gap"), vec![]);
    check_flows(&recs, stream_lens(&b.exp));
    // The segments really were out of order and one was sent twice (retx_bytes > 0).
    let flows = of_type(&recs, "flow");
    assert!(flows[0]["retx_bytes"].as_u64().expect("retx") > 0);
    let kinds: Vec<String> = frame_recs(&recs).into_iter().map(|f| f.kind).collect();
    for k in ["0x0500", "0x0302", "0x039a", "0x0501", "0x0080", "0x0580"] {
        assert!(kinds.iter().any(|x| x == k), "kind {k} missing");
    }
}

#[test]
fn raw_output_is_the_frames_of_both_directions_in_capture_order() {
    let b = tcp_conversation(ep("10.1.1.10", 40000), ep("10.1.1.1", 22222), 0x2222, true);
    let cap = write_capture("raw", &b.pcap);
    // Expected: every frame's bytes, ordered by the packet that completes the frame (then
    // by stream offset), c2s and s2c interleaved as the capture delivers them.
    let expected: Vec<u8> = capture_order(&b.exp)
        .iter()
        .flat_map(|e| e.bytes.clone())
        .collect();
    for args in [
        &["-q", "--raw", "--proto", "solaredge", &cap][..],
        &["-q", "--raw", &cap][..],
    ] {
        let out = seextract(args);
        assert!(out.status.success(), "{args:?}");
        assert_eq!(out.stdout.len(), expected.len(), "{args:?}");
        assert!(out.stdout == expected, "{args:?}: raw bytes differ");
    }
}

/// A C37.118 command frame (IEEE C37.118.2 §6.2): CRC-16/CCITT-FALSE computed here.
fn c37_crc(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0xffff;
    for &b in bytes {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn c37_cmd(idcode: u16, soc: u32, cmd: u16) -> Vec<u8> {
    let mut f = vec![0xaa, 0x41, 0x00, 0x12];
    f.extend(idcode.to_be_bytes());
    f.extend(soc.to_be_bytes());
    f.extend(0u32.to_be_bytes());
    f.extend(cmd.to_be_bytes());
    f.extend(c37_crc(&f).to_be_bytes());
    f
}

#[test]
fn raw_needs_proto_when_two_protocols_are_present() {
    assert_eq!(c37_crc(b"123456789"), 0x29b1);
    // IEEE C37.118.2-2011 Annex D.3 command frame.
    let d3 = unhex("aa 41 00 12 1e 36 44 85 60 30 0f 0b bf d0 00 02 ce 00");
    assert_eq!(c37_crc(&d3[..16]), 0xce00);
    let se = tcp_conversation(ep("10.1.1.10", 40000), ep("10.1.1.1", 22222), 0x3333, false);
    let cmds = [c37_cmd(7, 1_700_000_000, 2), c37_cmd(7, 1_700_000_001, 5)];
    let mut pmu = Tcp::new(ep("10.1.1.20", 50000), ep("10.1.1.21", 4712), 100, 200);
    pmu.clock = T0 + STEP / 2;
    pmu.handshake();
    pmu.data(C2S, &cmds.concat());
    pmu.ack(S2C);
    pmu.close();
    let link = Link::Eth(vec![]);
    let all = merge(vec![se.frames.clone(), pmu.frames(&link)]);
    let cap = write_capture("mixed", &pcap_le(1, &all));

    let out = seextract(&["-q", "--raw", &cap]);
    assert!(!out.status.success(), "--raw over two protocols must fail");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stdout.is_empty(),
        "--raw wrote {} bytes before failing",
        out.stdout.len()
    );
    let err = String::from_utf8_lossy(&out.stderr);
    for word in ["--proto", "solaredge", "c37118"] {
        assert!(err.contains(word), "message lacks {word:?}: {err}");
    }

    let out = seextract(&["-q", "--raw", "--proto", "c37118", &cap]);
    assert!(out.status.success());
    assert!(out.stdout == cmds.concat(), "c37118 raw bytes");

    let out = seextract(&["-q", "--raw", "--proto", "solaredge", &cap]);
    assert!(out.status.success());
    let expected: Vec<u8> = capture_order(&se.exp)
        .iter()
        .flat_map(|e| e.bytes.clone())
        .collect();
    assert!(out.stdout == expected, "solaredge raw bytes");

    // Without --raw both protocols are reported, each on its own connection.
    let recs = records(&["-q", &cap]);
    let c37: Vec<&Value> = of_type(&recs, "frame")
        .into_iter()
        .filter(|r| r["proto"] == "c37118")
        .collect();
    assert_eq!(c37.len(), 2);
    assert_eq!(c37[0]["hex"], to_hex(&cmds[0]));
    assert_eq!(c37[1]["offset"], 18);
    assert_eq!(c37[1]["kind"], "cmd");
}

#[test]
fn non_standard_port_gives_the_same_frames() {
    let b = tcp_conversation(ep("10.1.1.10", 40000), ep("10.1.1.1", 51234), 0x4444, true);
    let cap = write_capture("port_51234", &b.pcap);
    let recs = records(&["-q", &cap]);
    check_frames(&recs, &b, "tcp");
    assert_eq!(ranges(&recs, "anomaly"), vec![]);
    check_flows(&recs, stream_lens(&b.exp));
    // The filters select by port, not the detection.
    let recs = records(&["-q", "--port", "51234", &cap]);
    check_frames(&recs, &b, "tcp");
    let recs = records(&["-q", "--port", "22222", &cap]);
    assert!(recs.is_empty(), "{recs:?}");
}

/// UDP: datagrams of `group` frames at most (1 = one frame per datagram; otherwise a
/// pseudo-random 1..=group), request datagram then the matching answers.
fn udp_conversation(group: usize, seed: u64) -> Built {
    let frames = conversation();
    let (client, server) = (ep("10.1.1.10", 40001), ep("10.1.1.1", 22222));
    let mut u = Udp::new(client, server);
    let mut rng = Rng(seed);
    let mut exp = Vec::new();
    let mut off = [0u64; 2];
    let mut i = 0;
    while i < frames[0].len() {
        let n = rng.range(1, group).min(frames[0].len() - i);
        for (d, list) in frames.iter().enumerate() {
            let mut dgram = Vec::new();
            for f in &list[i..i + n] {
                exp.push(Exp {
                    dir: d,
                    offset: off[d],
                    bytes: f.clone(),
                    pkt: u.pkts.len() as u64 + 1,
                });
                off[d] += f.len() as u64;
                dgram.extend_from_slice(f);
            }
            u.send(d, &dgram);
        }
        i += n;
    }
    let frames = common::frames(&u.pkts, &Link::Eth(vec![]), 0);
    Built {
        pcap: pcap_le(1, &frames),
        frames,
        exp,
        ep: [client, server],
    }
}

#[test]
fn udp_one_frame_per_datagram() {
    let b = udp_conversation(1, 0x5555);
    assert_eq!(b.exp.len(), 34);
    let cap = write_capture("udp1", &b.pcap);
    let recs = records(&["-q", &cap]);
    check_frames(&recs, &b, "udp");
    assert_eq!(ranges(&recs, "anomaly"), vec![]);
    check_flows(&recs, stream_lens(&b.exp));
}

#[test]
fn udp_several_frames_per_datagram() {
    let b = udp_conversation(4, 0x6666);
    let cap = write_capture("udp4", &b.pcap);
    let recs = records(&["-q", &cap]);
    check_frames(&recs, &b, "udp");
    assert_eq!(ranges(&recs, "anomaly"), vec![]);
    check_flows(&recs, stream_lens(&b.exp));
}

/// Sends one c2s stream in order, cut at pseudo-random positions; the server only ACKs.
fn tcp_one_way(stream: &[u8], seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    let mut t = Tcp::new(ep("10.2.2.10", 40100), ep("10.2.2.1", 22222), 7, 9);
    t.handshake();
    for s in cut(C2S, stream, &mut rng, 80) {
        t.data(C2S, &s.bytes);
        if rng.next().is_multiple_of(3) {
            t.ack(S2C);
        }
    }
    t.close();
    pcap_le(1, &t.frames(&Link::Eth(vec![])))
}

/// Frames with garbage between them, a frame with a corrupted CRC, another with a corrupted
/// seq byte, a magic with a consistent length of 300 that is no frame, and a frame cut
/// short at the end. Returns the stream and the intact frames `(offset, len)` as built.
fn garbage_stream() -> (Vec<u8>, Ranges, Vec<(u64, &'static str)>) {
    let frames = conversation()[0].clone();
    let mut rng = Rng(0x9a7b_a9e5);
    let mut s: Vec<u8> = b"\r\nAT+GARBAGE\r\n".to_vec();
    let mut good = Vec::new();
    // Where a run of skipped bytes starts with a complete frame whose CRC fails.
    let mut crc_runs = Vec::new();
    let push = |s: &mut Vec<u8>, f: &[u8], good: &mut Ranges| {
        good.push((s.len() as u64, f.len() as u64));
        s.extend_from_slice(f);
    };
    for (i, f) in frames.iter().enumerate() {
        match i {
            2 => {
                // Random bytes without 0x12.
                let g: Vec<u8> = rng.bytes(37).into_iter().map(|b| b | 0x80).collect();
                s.extend(g);
            }
            4 => s.extend([0x12, 0x34, 0x56, 0x00, 0x12, 0x34]),
            6 => s.extend([0x12, 0x34, 0x56, 0x79, 0x05, 0x00, 0x00, 0x00, 0xee]),
            8 => {
                // Corrupted CRC: a whole frame, last byte flipped.
                crc_runs.push((s.len() as u64, "CRC"));
                let mut bad = f.clone();
                *bad.last_mut().expect("byte") ^= 0x01;
                s.extend(bad);
                continue;
            }
            10 => {
                // Magic, length 300 and its complement: no frame (CRC cannot match once the
                // 322 bytes are there), and the frames inside those 322 bytes still count.
                s.extend([0x12, 0x34, 0x56, 0x79, 0x2c, 0x01, 0xd3, 0xfe]);
                s.extend(rng.bytes(5).into_iter().map(|b| b | 0x80));
            }
            13 => {
                // Corrupted header byte (seq, covered by the CRC) of a 22-byte frame.
                crc_runs.push((s.len() as u64, "CRC"));
                let mut bad = f.clone();
                bad[9] ^= 0x40;
                s.extend(bad);
                continue;
            }
            _ => {}
        }
        push(&mut s, f, &mut good);
    }
    // The start of one more frame, cut short by the end of the stream.
    s.extend_from_slice(&frames[0][..15]);
    (s, good, crc_runs)
}

#[test]
fn garbage_and_bad_crc_skipped_and_reported() {
    let (stream, good, crc_runs) = garbage_stream();
    let (found, runs) = scan(&stream);
    // The test's own scan agrees with the construction.
    assert_eq!(found, good);
    assert_eq!(runs.len(), 8, "{runs:?}");
    for (at, _) in &crc_runs {
        assert!(
            runs.iter().any(|r| r.0 == *at),
            "bad frame at {at} starts a run"
        );
    }

    // Library, whole stream at once.
    let mut st = solaredge::PROTOCOL.new_state();
    let (mut frames, mut anomalies) = (Vec::new(), Vec::new());
    {
        let mut emit = |f: Found<'_>| match f {
            Found::Frame { offset, bytes, .. } => frames.push((offset, bytes.len() as u64)),
            Found::Anomaly {
                offset,
                len,
                reason,
            } => anomalies.push((offset, len, reason)),
        };
        st.data(0, &stream, &mut emit);
        st.end(&mut emit);
    }
    assert_eq!(frames, good);
    let got: Ranges = anomalies.iter().map(|a| (a.0, a.1)).collect();
    assert_eq!(got, runs);
    for (at, word) in &crc_runs {
        let a = anomalies.iter().find(|a| a.0 == *at).expect("anomaly");
        assert!(a.2.contains(word), "anomaly at {at}: {:?}", a.2);
    }

    // seextract over TCP.
    let cap = write_capture("garbage", &tcp_one_way(&stream, 0x7777));
    let recs = records(&["-q", &cap]);
    let exp: Vec<Exp> = good
        .iter()
        .map(|&(o, n)| Exp {
            dir: C2S,
            offset: o,
            bytes: stream[o as usize..(o + n) as usize].to_vec(),
            pkt: 0,
        })
        .collect();
    assert_eq!(frame_recs(&recs), expected_recs(&exp));
    let exp_anoms: Vec<(String, u64, u64)> = runs
        .iter()
        .map(|&(o, n)| ("c2s".to_string(), o, n))
        .collect();
    assert_eq!(ranges(&recs, "anomaly"), exp_anoms);
    for a in of_type(&recs, "anomaly") {
        assert_eq!(a["proto"], "solaredge");
        assert!(!a["reason"].as_str().expect("reason").is_empty());
        let at = a["offset"].as_u64().expect("offset");
        if crc_runs.iter().any(|r| r.0 == at) {
            assert!(a["reason"].as_str().expect("reason").contains("CRC"), "{a}");
        }
    }
}

#[test]
fn gap_inside_a_frame_drops_that_frame_only() {
    let frames = conversation();
    let c2s = with_offsets(C2S, &frames[0]);
    // Frame 3: 0x0500 with 57 payload bytes holding the magic (79 bytes, no whole frame
    // inside); lose 20 bytes from its 16th byte.
    let victim = c2s[3].clone();
    assert_eq!(victim.bytes.len(), 79);
    assert!(victim.bytes[35..].windows(4).any(|w| w == MAGIC));
    let lost = (victim.offset + 15, 20u64);
    let stream = frames[0].concat();
    let mut rng = Rng(0x8888);
    let mut t = Tcp::new(ep("10.3.3.10", 40200), ep("10.3.3.1", 22222), 1000, 2000);
    t.handshake();
    let mut answers = frames[1].iter();
    // Cut points: pseudo-random, plus both ends of the lost range.
    let mut cuts = vec![0u64, lost.0, lost.0 + lost.1, stream.len() as u64];
    let mut at = 0;
    while at < stream.len() {
        at += rng.range(5, 70);
        cuts.push(at.min(stream.len()) as u64);
    }
    // The lost bytes are one segment.
    cuts.retain(|&c| c <= lost.0 || c >= lost.0 + lost.1);
    cuts.sort_unstable();
    cuts.dedup();
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        if a == lost.0 {
            t.lose(C2S, lost.1);
        } else {
            t.data(C2S, &stream[a as usize..b as usize]);
        }
        // The server answers now and then; its ACK covers everything sent, the lost bytes too.
        if rng.next().is_multiple_of(2) {
            if let Some(ans) = answers.next() {
                t.data(S2C, ans);
            }
        }
    }
    for ans in answers {
        t.data(S2C, ans);
    }
    t.close();
    let cap = write_capture("gap", &pcap_le(1, &t.frames(&Link::Eth(vec![]))));
    let recs = records(&["-q", &cap]);

    let mut exp: Vec<Exp> = c2s
        .iter()
        .filter(|e| e.offset != victim.offset)
        .cloned()
        .collect();
    exp.extend(with_offsets(S2C, &frames[1]));
    let mut got = frame_recs(&recs);
    got.sort_by(|a, b| (&a.dir, a.offset).cmp(&(&b.dir, b.offset)));
    assert_eq!(got, expected_recs(&exp));
    // No frame record overlaps the victim (nothing invented from its remains).
    let vend = victim.offset + victim.bytes.len() as u64;
    assert_eq!(ranges(&recs, "gap"), vec![("c2s".into(), lost.0, lost.1)]);
    // The rest of the victim is reported: the part before the gap ("cut by a gap") and the
    // part after it (skipped up to the next frame).
    assert_eq!(
        ranges(&recs, "anomaly"),
        vec![
            ("c2s".into(), victim.offset, lost.0 - victim.offset),
            ("c2s".into(), lost.0 + lost.1, vend - lost.0 - lost.1),
        ]
    );
    let flows = of_type(&recs, "flow");
    assert_eq!(flows[0]["gaps"], serde_json::json!([[lost.0, lost.1]]));
}

/// The RS485 dump: frames and anomalies a receiver's scan predicts.
fn rs485_expectation() -> (Vec<u8>, Ranges, Ranges) {
    let dump = rs485_dump();
    assert_eq!(dump.len(), 253);
    let (frames, runs) = scan(&dump);
    // Sanity of the fixture (its notes): one valid frame, at 0x44, 22 bytes.
    assert_eq!(frames, vec![(0x44, 22)]);
    // Twelve magics: eleven complete frames (ten with a bad CRC) and a header cut at the end.
    let starts = dump.windows(4).filter(|w| *w == MAGIC).count();
    assert_eq!(starts, 12);
    (dump, frames, runs)
}

#[test]
fn rs485_dump_library_finds_the_valid_frame_and_reports_the_rest() {
    let (dump, frames, runs) = rs485_expectation();
    assert_eq!(runs, vec![(0, 0x44), (0x5a, 253 - 0x5a)]);
    let mut st = solaredge::PROTOCOL.new_state();
    let (mut got_f, mut got_a) = (Vec::new(), Vec::new());
    {
        let mut emit = |f: Found<'_>| match f {
            Found::Frame {
                offset,
                bytes,
                kind,
            } => got_f.push((offset, bytes.to_vec(), kind.to_string())),
            Found::Anomaly {
                offset,
                len,
                reason,
            } => got_a.push((offset, len, reason)),
        };
        st.data(0, &dump, &mut emit);
        st.end(&mut emit);
    }
    let (o, n) = frames[0];
    assert_eq!(
        got_f,
        vec![(
            o,
            dump[o as usize..(o + n) as usize].to_vec(),
            "0x0302".into()
        )]
    );
    let ranges_got: Ranges = got_a.iter().map(|a| (a.0, a.1)).collect();
    assert_eq!(ranges_got, runs);
    // The first run starts with a complete frame whose CRC fails.
    assert!(got_a[0].2.contains("CRC"), "{got_a:?}");
    // One valid frame does not meet the detection rule (two back to back, or only frames).
    assert!(!st.confident());
}

fn rs485_capture(stream: &[u8], seed: u64) -> String {
    write_capture(&format!("rs485_{seed:x}"), &tcp_one_way(stream, seed))
}

#[test]
fn rs485_dump_through_seextract() {
    let (dump, frames, runs) = rs485_expectation();
    let frame_exp = |shift: u64, extra: &[Vec<u8>]| {
        let mut v = with_offsets(C2S, extra);
        for &(o, n) in &frames {
            v.push(Exp {
                dir: C2S,
                offset: o + shift,
                bytes: dump[o as usize..(o + n) as usize].to_vec(),
                pkt: 0,
            });
        }
        v
    };
    let anom_exp = |shift: u64| -> Vec<(String, u64, u64)> {
        runs.iter()
            .map(|&(o, n)| ("c2s".to_string(), o + shift, n))
            .collect()
    };

    // Forced protocol: no detection needed.
    let cap = rs485_capture(&dump, 0xa1);
    let recs = records(&["-q", "--proto", "solaredge", &cap]);
    assert_eq!(frame_recs(&recs), expected_recs(&frame_exp(0, &[])));
    assert_eq!(ranges(&recs, "anomaly"), anom_exp(0));

    // Detected: the dump alone holds one valid frame, which is not enough to detect.
    let recs = records(&["-q", &cap]);
    assert!(of_type(&recs, "frame").is_empty(), "{recs:?}");

    // Two real frames first meet the detection rule; everything after is reported.
    let real = verified_frames();
    let lead = vec![real[0].clone(), real[1].clone()];
    let mut stream = lead.concat();
    stream.extend_from_slice(&dump);
    let cap = rs485_capture(&stream, 0xa2);
    let recs = records(&["-q", &cap]);
    assert_eq!(frame_recs(&recs), expected_recs(&frame_exp(44, &lead)));
    assert_eq!(ranges(&recs, "anomaly"), anom_exp(44));
}

/// What a fresh SolarEdge state reports for a sequence of data/gap calls and the end:
/// frames `(offset, len)` and anomalies `(offset, len, reason)`.
enum Op<'a> {
    Data(u64, &'a [u8]),
    Gap(u64, u64),
}

type Reported = (Ranges, Vec<(u64, u64, &'static str)>);

fn run_state(ops: &[Op<'_>]) -> Reported {
    let mut st = solaredge::PROTOCOL.new_state();
    let (mut frames, mut anomalies) = (Vec::new(), Vec::new());
    let mut emit = |f: Found<'_>| match f {
        Found::Frame { offset, bytes, .. } => frames.push((offset, bytes.len() as u64)),
        Found::Anomaly {
            offset,
            len,
            reason,
        } => anomalies.push((offset, len, reason)),
    };
    for op in ops {
        match *op {
            Op::Data(o, b) => st.data(o, b, &mut emit),
            Op::Gap(o, n) => st.gap(o, n, &mut emit),
        }
    }
    st.end(&mut emit);
    (frames, anomalies)
}

#[test]
fn false_frame_start_before_end_or_gap_does_not_hide_frames() {
    // A magic with a consistent length/~length claiming 200 payload bytes, followed by two
    // valid frames: 8 + 44 bytes. The claimed frame cannot complete before the end (or the
    // gap), so a receiver resyncs past its magic and finds both frames.
    let real = verified_frames();
    let mut s = vec![0x12, 0x34, 0x56, 0x79, 0xc8, 0x00, 0x37, 0xff];
    s.extend_from_slice(&real[2]);
    s.extend_from_slice(&real[3]);
    let (frames, runs) = scan(&s);
    assert_eq!(frames, vec![(8, 22), (30, 22)]);
    assert_eq!(runs, vec![(0, 8)]);

    // Every case is checked; the failures are listed together.
    let mut wrong = Vec::new();
    // (a) End of the stream or of a UDP datagram right after.
    let (f, a) = run_state(&[Op::Data(0, &s)]);
    let a: Ranges = a.iter().map(|x| (x.0, x.1)).collect();
    if (&f, &a) != (&frames, &runs) {
        wrong.push(format!("(a) end: frames {f:?} anomalies {a:?}"));
    }
    // (b) A gap right after, then one more valid frame.
    let (f, a) = run_state(&[Op::Data(0, &s), Op::Gap(52, 10), Op::Data(62, &real[4])]);
    if f != [(8, 22), (30, 22), (62, 22)] {
        wrong.push(format!("(b) gap: frames {f:?} anomalies {a:?}"));
    }
    // (c) seextract, the same bytes as one UDP datagram.
    let mut u = Udp::new(ep("10.4.4.10", 40300), ep("10.4.4.1", 22222));
    u.send(C2S, &s);
    let cap = write_capture(
        "false_start_udp",
        &pcap_le(1, &common::frames(&u.pkts, &Link::Eth(vec![]), 0)),
    );
    let recs = records(&["-q", "--proto", "solaredge", &cap]);
    let got: Ranges = of_type(&recs, "frame")
        .iter()
        .map(|r| {
            (
                r["offset"].as_u64().expect("offset"),
                r["len"].as_u64().expect("len"),
            )
        })
        .collect();
    if got != frames {
        wrong.push(format!(
            "(c) seextract UDP: frames {got:?} anomalies {:?}",
            ranges(&recs, "anomaly")
        ));
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
