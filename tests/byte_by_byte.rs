//! Every protocol's stream state fed the same input (a) whole, (b) one byte at a time and
//! (c) in pseudo-random chunk sizes must report the same frames `(offset, bytes, kind)` and
//! anomalies `(offset, len, reason)`. Inputs: SolarEdge streams built here (with garbage, bad
//! CRCs, a gap and a truncated tail) and the RS485 dump (tests/data/solaredge/); the C37.118
//! captures of samples/c37118/ reassembled by `pipeline::run`, as captured and with garbage and a
//! bad CRC inserted; the SEL session of tests/data/sel/ and an SEL stream built from its vectors.
//! Where the test can predict the frames itself (SolarEdge, C37.118: length-driven framing
//! with a CRC), they are also checked against the test's own scan.

mod common;
use common::Rng;

use common::solaredge::{se_crc, se_frame, solaredge_data, verified_frames};
use sekit::capture::Input;
use sekit::net::Transport;
use sekit::pipeline::{run, RunConfig};
use sekit::protocols::{c37118, sel, solaredge, Found, Protocol};
use sekit::reassembly::{Ctx, Sink, StreamEvent};
use std::collections::BTreeMap;
use std::path::PathBuf;

// ---------------------------------------------------------------------------------------------
// Inputs as a list of steps, and the three ways of feeding them.

/// One step of a direction's input: contiguous bytes at an offset, a gap, or an end (of the
/// stream, or of a UDP datagram).
#[derive(Clone, Debug)]
enum Step {
    Data(u64, Vec<u8>),
    Gap(u64, u64),
    End,
}

/// What a state reported.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Out {
    F(u64, Vec<u8>, String),
    A(u64, u64, &'static str),
}

/// Merges adjacent contiguous data steps into one (the "whole" input between gaps and ends).
fn merged(steps: &[Step]) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    for s in steps {
        if let (Step::Data(o, b), Some(Step::Data(po, pb))) = (s, out.last_mut()) {
            if *po + pb.len() as u64 == *o {
                pb.extend_from_slice(b);
                continue;
            }
        }
        out.push(s.clone());
    }
    out
}

/// Feeds `steps` to a fresh state of `p`, each contiguous run cut by `chunk` (given the bytes
/// left, returns the next chunk size).
fn feed(p: Protocol, steps: &[Step], chunk: &mut dyn FnMut(usize) -> usize) -> Vec<Out> {
    let mut st = p.new_state();
    let mut out = Vec::new();
    let mut emit = |f: Found<'_>| {
        out.push(match f {
            Found::Frame {
                offset,
                bytes,
                kind,
            } => Out::F(offset, bytes.to_vec(), kind.to_string()),
            Found::Anomaly {
                offset,
                len,
                reason,
            } => Out::A(offset, len, reason),
        })
    };
    for s in merged(steps) {
        match s {
            Step::Data(off, bytes) => {
                let mut at = 0;
                while at < bytes.len() {
                    let n = chunk(bytes.len() - at).clamp(1, bytes.len() - at);
                    st.data(off + at as u64, &bytes[at..at + n], &mut emit);
                    at += n;
                }
            }
            Step::Gap(off, len) => st.gap(off, len, &mut emit),
            Step::End => st.end(&mut emit),
        }
    }
    out
}

/// Whole, byte by byte, and in random chunks (several seeds, small and large chunks) must all
/// agree; returns the whole-input result.
fn consistent(p: Protocol, name: &str, steps: &[Step]) -> Vec<Out> {
    let whole = feed(p, steps, &mut |left| left);
    let bytewise = feed(p, steps, &mut |_| 1);
    assert_same(&whole, &bytewise, &format!("{p} {name}: byte by byte"));
    for (seed, max) in [(1u64, 3usize), (2, 17), (3, 64), (4, 300), (5, 1500)] {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed);
        let chunked = feed(p, steps, &mut |_| rng.range(1, max));
        assert_same(
            &whole,
            &chunked,
            &format!("{p} {name}: chunks of 1..={max} (seed {seed})"),
        );
    }
    whole
}

fn assert_same(a: &[Out], b: &[Out], what: &str) {
    if a == b {
        return;
    }
    let i = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    panic!(
        "{what}: results differ at item {i} ({} vs {} items)\n whole: {:?}\n other: {:?}",
        a.len(),
        b.len(),
        a.get(i),
        b.get(i)
    );
}

fn frames(v: &[Out]) -> Vec<(u64, u64)> {
    v.iter()
        .filter_map(|o| match o {
            Out::F(off, b, _) => Some((*off, b.len() as u64)),
            Out::A(..) => None,
        })
        .collect()
}

fn anomalies(v: &[Out]) -> Vec<(u64, u64)> {
    v.iter()
        .filter_map(|o| match o {
            Out::A(off, len, _) => Some((*off, *len)),
            Out::F(..) => None,
        })
        .collect()
}

/// The test's own receiver: a scan of every contiguous run (steps merged), taking a valid
/// frame whole where one starts (`valid` gives its size) and moving on by one byte otherwise.
/// Returns the frames and the maximal runs of bytes outside them.
type Ranges = Vec<(u64, u64)>;
fn oracle(steps: &[Step], valid: &dyn Fn(&[u8]) -> Option<usize>) -> (Ranges, Ranges) {
    let (mut fr, mut runs) = (Vec::new(), Vec::new());
    for s in merged(steps) {
        let Step::Data(base, b) = s else { continue };
        let mut run: Option<usize> = None;
        let mut i = 0;
        while i < b.len() {
            match valid(&b[i..]) {
                Some(n) => {
                    if let Some(st) = run.take() {
                        runs.push((base + st as u64, (i - st) as u64));
                    }
                    fr.push((base + i as u64, n as u64));
                    i += n;
                }
                None => {
                    run.get_or_insert(i);
                    i += 1;
                }
            }
        }
        if let Some(st) = run {
            runs.push((base + st as u64, (b.len() - st) as u64));
        }
    }
    (fr, runs)
}

/// Cuts `stream` into steps at `gaps` (offset, len: bytes left out), then an end.
fn stream_steps(stream: &[u8], gaps: &[(u64, u64)]) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut at = 0u64;
    for &(g, n) in gaps {
        steps.push(Step::Data(at, stream[at as usize..g as usize].to_vec()));
        steps.push(Step::Gap(g, n));
        at = g + n;
    }
    steps.push(Step::Data(at, stream[at as usize..].to_vec()));
    steps.push(Step::End);
    steps
}

// ---------------------------------------------------------------------------------------------
// SolarEdge (shared/specs/solaredge.md §1–2), written here independently of the crate.

const SE_MAGIC: [u8; 4] = [0x12, 0x34, 0x56, 0x79];

fn se_valid(b: &[u8]) -> Option<usize> {
    let u16le = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
    if b.len() < 22 || b[..4] != SE_MAGIC || u16le(6) != !u16le(4) {
        return None;
    }
    let size = 22 + usize::from(u16le(4));
    if b.len() < size {
        return None;
    }
    let mut covered = Vec::new();
    covered.extend([
        b[9], b[8], b[13], b[12], b[11], b[10], b[17], b[16], b[15], b[14],
    ]);
    covered.extend([b[19], b[18]]);
    covered.extend_from_slice(&b[20..size - 2]);
    (se_crc(&covered) == u16le(size - 2)).then_some(size)
}

fn rs485_dump() -> Vec<u8> {
    let text = std::fs::read_to_string(solaredge_data("jbuehl-issue8-rs485-hexdump-20160129.hex"))
        .expect("fixture");
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        for t in line
            .split_whitespace()
            .skip(1)
            .take_while(|t| !t.starts_with('|'))
        {
            out.push(u8::from_str_radix(t, 16).expect("hex"));
        }
    }
    out
}

/// Real frames and 0x0500 frames whose payloads hold the magic, with garbage, a bad CRC, a
/// bad ~length and a frame cut short at the end. Returns the stream and the offsets of the
/// gaps to leave out in the gap variant (inside the 0x0500 frame at index 5 of the list).
fn solaredge_stream() -> (Vec<u8>, (u64, u64)) {
    let real = verified_frames();
    let mut rng = Rng(0x5012_ed6e);
    let mut payload = |n: usize| {
        let mut p: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        for at in [0, n / 3, n / 2, n - 4] {
            p[at..at + 4].copy_from_slice(&SE_MAGIC);
        }
        p
    };
    let posts: Vec<Vec<u8>> = [130usize, 44, 300, 9, 64]
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            se_frame(
                0x200 + i as u16,
                0x7f10_4920,
                0xffff_fffe,
                0x0500,
                &payload(n),
            )
        })
        .collect();
    let mut s = Vec::new();
    s.extend_from_slice(&posts[0]);
    s.extend_from_slice(&real[0]);
    s.extend_from_slice(b"garbage\r\n");
    s.extend_from_slice(&real[1]);
    let mut bad = real[2].clone();
    bad[21] ^= 0x80; // bad CRC
    s.extend_from_slice(&bad);
    s.extend_from_slice(&posts[1]);
    s.extend_from_slice(&[0x12, 0x34, 0x56, 0x79, 0x01, 0x00, 0x01, 0x00]); // bad ~length
    s.extend_from_slice(&real[3]);
    let victim = s.len() as u64;
    s.extend_from_slice(&posts[2]);
    s.extend_from_slice(&[0x12, 0x34, 0x56]); // a partial magic
    s.extend_from_slice(&real[4]);
    let mut bad = posts[3].clone();
    bad[25] ^= 0x01; // bad payload byte
    s.extend_from_slice(&bad);
    for f in &real[5..] {
        s.extend_from_slice(f);
    }
    s.extend_from_slice(&posts[4]);
    s.extend_from_slice(&posts[0][..40]); // cut short by the end
    (s, (victim + 50, 30))
}

fn check_solaredge(name: &str, steps: &[Step]) {
    let got = consistent(solaredge::PROTOCOL, name, steps);
    let (fr, runs) = oracle(steps, &se_valid);
    assert!(!fr.is_empty());
    assert_eq!(frames(&got), fr, "{name}: frames");
    // Without gaps, the skipped bytes are exactly the runs outside frames. With gaps, a run
    // ends at the gap (the gap itself is no anomaly).
    assert_eq!(anomalies(&got), runs, "{name}: anomalies");
}

#[test]
fn solaredge_stream_with_garbage_and_bad_crcs() {
    let (s, _) = solaredge_stream();
    check_solaredge("synthetic", &stream_steps(&s, &[]));
}

#[test]
fn solaredge_stream_with_a_gap_inside_a_frame() {
    let (s, gap) = solaredge_stream();
    check_solaredge("synthetic+gap", &stream_steps(&s, &[gap]));
}

#[test]
fn solaredge_rs485_dump() {
    let dump = rs485_dump();
    assert_eq!(dump.len(), 253);
    check_solaredge("rs485", &stream_steps(&dump, &[]));
    // The same bytes as UDP-like units: each end resets the framing.
    let mut steps = Vec::new();
    for (i, c) in dump.chunks(60).enumerate() {
        steps.push(Step::Data(i as u64 * 60, c.to_vec()));
        steps.push(Step::End);
    }
    consistent(solaredge::PROTOCOL, "rs485 in 60-byte units", &steps);
}

// ---------------------------------------------------------------------------------------------
// Streams of captures, reassembled by the engine.

/// Per (connection, direction): the steps as the engine delivered them.
#[derive(Default)]
struct Collect {
    dirs: BTreeMap<(u64, usize), Vec<Step>>,
}

impl Sink for Collect {
    fn event(&mut self, _ctx: &Ctx<'_>, ev: StreamEvent<'_>) {
        match ev {
            StreamEvent::Data {
                conn,
                dir,
                offset,
                bytes,
            } => {
                let v = self.dirs.entry((conn.id, dir.index())).or_default();
                v.push(Step::Data(offset, bytes.to_vec()));
                if conn.transport == Transport::Udp {
                    v.push(Step::End);
                }
            }
            StreamEvent::Gap {
                conn,
                dir,
                offset,
                len,
            } => self
                .dirs
                .entry((conn.id, dir.index()))
                .or_default()
                .push(Step::Gap(offset, len)),
            StreamEvent::Close { conn, .. } if conn.transport == Transport::Tcp => {
                for d in 0..2 {
                    self.dirs.entry((conn.id, d)).or_default().push(Step::End);
                }
            }
            _ => {}
        }
    }
}

fn streams_of(path: PathBuf) -> BTreeMap<(u64, usize), Vec<Step>> {
    let inputs = vec![Input {
        path: path.to_string_lossy().into_owned(),
        size: None,
    }];
    let mut sink = Collect::default();
    run(
        &inputs,
        &RunConfig::default(),
        &mut sink,
        &mut |e| panic!("{e}"),
        &mut |_: u64| {},
        &|_| false,
    );
    sink.dirs
}

// ---------------------------------------------------------------------------------------------
// C37.118 (IEEE C37.118.2 §6.2, shared/specs/c37118.md §1), checked here independently.

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

fn c37_valid(b: &[u8]) -> Option<usize> {
    if b.len() < 4 || b[0] != 0xaa || b[1] & 0x80 != 0 || (b[1] >> 4) > 5 || b[1] & 0x0f == 0 {
        return None;
    }
    let size = usize::from(u16::from_be_bytes([b[2], b[3]]));
    if size < 16 || b.len() < size {
        return None;
    }
    (c37_crc(&b[..size - 2]) == u16::from_be_bytes([b[size - 2], b[size - 1]])).then_some(size)
}

fn c37_samples() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/c37118");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("samples/c37118")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    v.sort();
    assert!(v.len() >= 6, "{v:?}");
    v
}

#[test]
fn c37118_sample_streams() {
    let mut total = 0;
    for path in c37_samples() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for ((conn, dir), steps) in streams_of(path) {
            let what = format!("{name} conn {conn} dir {dir}");
            let got = consistent(c37118::PROTOCOL, &what, &steps);
            let (fr, runs) = oracle(&steps, &c37_valid);
            assert_eq!(frames(&got), fr, "{what}: frames");
            assert_eq!(anomalies(&got), runs, "{what}: anomalies");
            total += fr.len();
        }
    }
    assert!(total > 1000, "{total} frames");
}

#[test]
fn c37118_stream_with_garbage_and_bad_crc() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/c37118/C37.118_1PMU_TCP.pcap");
    let dirs = streams_of(path);
    // The PMU's direction: cfg-2 then data frames.
    let steps = &dirs[&(1, 1)];
    let stream: Vec<u8> = merged(steps)
        .into_iter()
        .filter_map(|s| match s {
            Step::Data(_, b) => Some(b),
            _ => None,
        })
        .flatten()
        .collect();
    // Frame boundaries by the test's own framing.
    let mut bounds = vec![0usize];
    while let Some(n) = c37_valid(&stream[*bounds.last().unwrap()..]) {
        bounds.push(bounds.last().unwrap() + n);
    }
    assert_eq!(
        *bounds.last().unwrap(),
        stream.len(),
        "stream made only of frames"
    );
    assert!(bounds.len() > 20);
    let frame = |k: usize| &stream[bounds[k]..bounds[k + 1]];
    let mut s: Vec<u8> = b"\x00\x01junk".to_vec();
    for k in 0..bounds.len() - 1 {
        match k {
            3 => s.extend_from_slice(b"GARBAGE WITHOUT SYNC"),
            5 => {
                let mut bad = frame(k).to_vec();
                *bad.last_mut().unwrap() ^= 0x5a; // bad CRC
                s.extend(bad);
                continue;
            }
            8 => s.extend_from_slice(&[0xaa, 0x00, 0x00]), // SYNC, version 0
            11 => s.extend_from_slice(&[0xaa, 0x01, 0x00, 0x05]), // FRAMESIZE below 16
            _ => {}
        }
        s.extend_from_slice(frame(k));
    }
    s.extend_from_slice(&frame(1)[..30]); // cut short by the end
    let gap = (bounds[15] as u64 + 40, 7);
    for (name, steps) in [
        ("garbage", stream_steps(&s, &[])),
        ("garbage+gap", stream_steps(&s, &[gap])),
    ] {
        let got = consistent(c37118::PROTOCOL, name, &steps);
        let (fr, runs) = oracle(&steps, &c37_valid);
        assert_eq!(frames(&got), fr, "{name}: frames");
        assert_eq!(anomalies(&got), runs, "{name}: anomalies");
        // Every frame but the corrupted one (and the one cut by the gap) is found.
        let expect = bounds.len() - 1 - 1 - usize::from(name.ends_with("gap"));
        assert_eq!(fr.len(), expect, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// SEL (shared/specs/sel.md): Telnet-wrapped binary messages and ASCII lines.

fn sel_data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/sel")
        .join(name)
}

fn sel_vectors() -> BTreeMap<String, Vec<u8>> {
    let text = std::fs::read_to_string(sel_data("vectors.json")).expect("vectors");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    v.as_object()
        .expect("object")
        .iter()
        .map(|(k, h)| {
            let h = h.as_str().expect("hex");
            let b = (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&h[i..i + 2], 16).expect("hex"))
                .collect();
            (k.clone(), b)
        })
        .collect()
}

/// Telnet data escaping: FF doubled.
fn iac_escape(b: &[u8]) -> Vec<u8> {
    b.iter()
        .flat_map(|&x| if x == 0xff { vec![0xff, 0xff] } else { vec![x] })
        .collect()
}

/// A relay's side built from the vectors: Telnet negotiation, text lines (with a prompt when
/// `prompt`), binary messages (FF doubled), binary junk, a message with a bad checksum, a
/// compressed-ASCII reply, a message cut short at the end. Returns the stream and the raw
/// offsets of the intact binary messages with their decoded bytes.
fn sel_stream(prompt: bool) -> (Vec<u8>, Vec<(u64, Vec<u8>)>) {
    let v = sel_vectors();
    let mut s: Vec<u8> = vec![0xff, 0xfb, 0x01, 0xff, 0xfb, 0x03];
    let mut msgs = Vec::new();
    let mut msg = |s: &mut Vec<u8>, name: &str| {
        let m = &v[name];
        msgs.push((s.len() as u64, m.clone()));
        s.extend(iac_escape(m));
    };
    s.extend_from_slice(b"\r\nLevel 1\r\n");
    if prompt {
        s.extend_from_slice(b"=>");
    }
    s.extend_from_slice(
        b"ID\r\n\x02\r\n\"FID=SEL-700G-R200-V0-Z006003-D20180629\",\"08F0\"\r\n\x03\r\n",
    );
    msg(&mut s, "sel551_A5C0_relay_definition");
    msg(&mut s, "sel551_A5C1_fastmeter_config");
    s.extend_from_slice(&[0x80, 0x81, 0x00, 0x9c, 0xfe, 0x90]); // binary junk
    msg(&mut s, "sel551_A5D1_fastmeter_data_SYNTH");
    let mut bad = v["A5E0_set_RB1"].clone();
    *bad.last_mut().unwrap() ^= 0x01; // bad checksum
    s.extend(iac_escape(&bad));
    msg(&mut s, "A546_81_ack_enable_success");
    msg(&mut s, "A546_18_unsolicited_SER_2elem_SYNTH");
    s.extend_from_slice(b"\r\nMET\r\n");
    msg(&mut s, "sel701_A5CE_fastop_config");
    msg(&mut s, "A5ED_target_reset");
    s.extend_from_slice(b"QUI\r\n");
    let tail = iac_escape(&v["A546_18_SER_records_lost_SYNTH"]);
    s.extend_from_slice(&tail[..12]); // cut short by the end
    (s, msgs)
}

/// Whole and byte by byte only (the random chunkings are in `sel_random_chunks`).
fn sel_whole_vs_bytewise(name: &str, steps: &[Step]) -> Vec<Out> {
    let whole = feed(sel::PROTOCOL, steps, &mut |left| left);
    let bytewise = feed(sel::PROTOCOL, steps, &mut |_| 1);
    assert_same(&whole, &bytewise, &format!("sel {name}: byte by byte"));
    whole
}

#[test]
fn sel_whole_and_byte_by_byte() {
    for ((conn, dir), steps) in streams_of(sel_data("sel_synthetic_telnet_session.pcap")) {
        let got = sel_whole_vs_bytewise(&format!("session conn {conn} dir {dir}"), &steps);
        assert!(!frames(&got).is_empty());
    }
    let (s, msgs) = sel_stream(true);
    for (name, steps) in [
        ("relay", stream_steps(&s, &[])),
        ("relay+gap", stream_steps(&s, &[(msgs[2].0 + 10, 5)])),
    ] {
        let got = sel_whole_vs_bytewise(name, &steps);
        // Every intact binary message is found at its raw offset with its bytes; the one the
        // gap cuts is not reported as a frame.
        for (i, (off, bytes)) in msgs.iter().enumerate() {
            let found = got
                .iter()
                .any(|o| matches!(o, Out::F(x, b, _) if x == off && b == bytes));
            if name == "relay+gap" && i == 2 {
                assert!(
                    !got.iter().any(|o| matches!(o, Out::F(x, ..) if x == off)),
                    "message cut by the gap reported as a frame"
                );
            } else {
                assert!(found, "{name}: message {i} at {off} not found: {got:?}");
            }
        }
        // The junk, the bad checksum and the cut tail are reported.
        assert!(anomalies(&got).len() >= 3, "{name}: {got:?}");
    }
}

#[test]
fn sel_random_chunks() {
    // Splits `raw` after `first` bytes; the result must equal the whole-input result.
    let split_after = |raw: &[u8], first: usize| {
        let steps = vec![Step::Data(0, raw.to_vec()), Step::End];
        let whole = feed(sel::PROTOCOL, &steps, &mut |left| left);
        let mut once = true;
        let split = feed(sel::PROTOCOL, &steps, &mut |left| {
            if std::mem::take(&mut once) {
                first
            } else {
                left
            }
        });
        (whole, split)
    };
    let mut wrong = Vec::new();
    let (whole, split) = split_after(b"\r\nLevel 1\r\n=>ID\r\n", 12);
    assert_eq!(whole[1], Out::F(11, b"=>".to_vec(), "ascii-prompt".into()));
    if whole != split {
        wrong.push(format!("prompt cut after `=`: {split:?}"));
    }
    let mut raw = b"MET\r\n".to_vec();
    raw.extend(&sel_vectors()["sel701_A5CE_fastop_config"]);
    let (whole, split) = split_after(&raw, 7);
    assert_eq!(frames(&whole), vec![(0, 3), (5, 24)]);
    if whole != split {
        wrong.push(format!("A5CE cut after its first 2 bytes: {split:?}"));
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    for ((conn, dir), steps) in streams_of(sel_data("sel_synthetic_telnet_session.pcap")) {
        consistent(
            sel::PROTOCOL,
            &format!("session conn {conn} dir {dir}"),
            &steps,
        );
    }
    let (s, _) = sel_stream(true);
    consistent(sel::PROTOCOL, "relay", &stream_steps(&s, &[]));
}
