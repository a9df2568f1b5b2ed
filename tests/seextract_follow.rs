//! `seextract -f` on captures still being written: a SolarEdge capture built here (one TCP
//! connection, real frames from tests/data/solaredge/verified-messages.hex and 0x0500 frames
//! whose payloads hold the magic) is split into two pcap files (tcpdump -C style rotation: the
//! connection continues in the second file), each written in chunks cut at pseudo-random byte
//! offsets (inside the pcap header and inside records) while `seextract -f` watches the
//! directory, or follows the growing file. Every frame must appear exactly once, as the test
//! built it and as `seextract` without `-f` reports it on the finished files; the latency from
//! the write that completes a frame to its line on stdout is measured and printed.
//! Further cases: rotation by compression (tcpdump `-z gzip`), a followed file truncated or
//! replaced, the CPU an idle follower uses, and a followed file that is not a capture.

mod common;
use common::Rng;

use common::solaredge::{se_frame, verified_frames, MAGIC};

use common::{ep, pcap_le, Frame, Link, Tcp, C2S, S2C};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The follow tests run one at a time (latency is measured).
static SERIAL: Mutex<()> = Mutex::new(());

// ---------------------------------------------------------------------------------------------
// SolarEdge frames (shared/specs/solaredge.md §1–2), built independently of the crate.

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// ---------------------------------------------------------------------------------------------
// The capture: one connection over two files.

/// A frame as built: direction, stream offset, bytes, and the capture packet (global index
/// from 0) whose arrival completes it.
#[derive(Clone, Debug)]
struct Exp {
    dir: usize,
    offset: u64,
    bytes: Vec<u8>,
    pkt: usize,
}

struct Capture {
    /// The two files' bytes.
    files: [Vec<u8>; 2],
    /// Per global packet: (file index, byte offset in that file where its record ends).
    rec_end: Vec<(usize, usize)>,
    exp: Vec<Exp>,
}

fn capture() -> Capture {
    capture_on(40500)
}

/// The capture with the client on port `port`.
fn capture_on(port: u16) -> Capture {
    let real = verified_frames();
    let mut rng = Rng(0xf011_0a5e_ed00_0001);
    let mut frames: [Vec<Vec<u8>>; 2] = [Vec::new(), Vec::new()];
    for i in 0..40u16 {
        let f = if i % 3 == 1 {
            real[usize::from(i) % real.len()].clone()
        } else {
            let n = rng.range(24, 400);
            let mut p: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            for _ in 0..3 {
                let at = rng.range(0, n - 4);
                p[at..at + 4].copy_from_slice(&MAGIC);
            }
            se_frame(0x300 + i, 0x7f10_4920, 0xffff_fffe, 0x0500, &p)
        };
        let ack = se_frame(0x300 + i, 0xffff_fffe, 0x7f10_4920, 0x0080, &[]);
        frames[C2S].push(f);
        frames[S2C].push(ack);
    }
    let mut exp = Vec::new();
    for (d, list) in frames.iter().enumerate() {
        let mut off = 0;
        for f in list {
            exp.push(Exp {
                dir: d,
                offset: off,
                bytes: f.clone(),
                pkt: usize::MAX,
            });
            off += f.len() as u64;
        }
    }
    // Each direction's stream cut at pseudo-random positions, the two interleaved at random.
    let streams = [frames[C2S].concat(), frames[S2C].concat()];
    let mut t = Tcp::new(ep("10.9.0.10", port), ep("10.9.0.1", 22222), 0xabc, 0xdef);
    t.handshake();
    let mut sent = [0usize; 2];
    while sent[0] < streams[0].len() || sent[1] < streams[1].len() {
        let d = if sent[1] == streams[1].len()
            || (sent[0] < streams[0].len() && !rng.next().is_multiple_of(3))
        {
            C2S
        } else {
            S2C
        };
        let n = rng.range(1, 180).min(streams[d].len() - sent[d]);
        t.data(d, &streams[d][sent[d]..sent[d] + n]);
        sent[d] += n;
        let pkt = t.pkts.len() - 1;
        for e in exp.iter_mut().filter(|e| e.dir == d && e.pkt == usize::MAX) {
            if e.offset + e.bytes.len() as u64 <= sent[d] as u64 {
                e.pkt = pkt;
            }
        }
    }
    t.close();
    let all: Vec<Frame> = t.frames(&Link::Eth(vec![]));
    // Rotation: the first half of the packets in one file, the rest in the next.
    let half = all.len() / 2;
    let files = [pcap_le(1, &all[..half]), pcap_le(1, &all[half..])];
    let mut rec_end = Vec::new();
    for (fi, part) in [&all[..half], &all[half..]].into_iter().enumerate() {
        let mut at = 24;
        for f in part {
            at += 16 + f.data.len();
            rec_end.push((fi, at));
        }
        assert_eq!(at, files[fi].len());
    }
    // Frames complete in both files.
    assert!(exp.iter().any(|e| e.pkt < half) && exp.iter().any(|e| e.pkt >= half));
    Capture {
        files,
        rec_end,
        exp,
    }
}

// ---------------------------------------------------------------------------------------------
// Writing in chunks while seextract follows.

fn tmp(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("seextract_follow")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

/// One write: which file, the file's length after it, and when it was done.
#[derive(Clone, Copy, Debug)]
struct Write1 {
    file: usize,
    end: usize,
    at: Instant,
}

/// Writes `bytes` to `f` in chunks cut at pseudo-random offsets: the first one inside the
/// 24-byte pcap header, the others 1..=700 bytes, with 15–70 ms pauses.
fn write_chunks(
    f: &mut std::fs::File,
    file: usize,
    bytes: &[u8],
    rng: &mut Rng,
    log: &mut Vec<Write1>,
) {
    let mut at = 0;
    let mut first = true;
    while at < bytes.len() {
        let n = if std::mem::take(&mut first) {
            rng.range(1, 23)
        } else {
            rng.range(1, 700)
        }
        .min(bytes.len() - at);
        // Timed from the start of the write: seextract may answer before write() returns.
        let t = Instant::now();
        f.write_all(&bytes[at..at + n]).expect("write");
        f.flush().expect("flush");
        at += n;
        log.push(Write1 {
            file,
            end: at,
            at: t,
        });
        std::thread::sleep(Duration::from_millis(rng.range(15, 70) as u64));
    }
}

/// Starts seextract with stdout read line by line on a thread, each line timestamped.
type Lines = Arc<Mutex<Vec<(Instant, String)>>>;
fn spawn(args: &[&str]) -> (Child, Lines, std::thread::JoinHandle<()>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_seextract"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn seextract");
    let out = child.stdout.take().expect("stdout");
    let lines: Lines = Arc::new(Mutex::new(Vec::new()));
    let l2 = Arc::clone(&lines);
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let line = line.expect("stdout line");
            l2.lock().expect("lock").push((Instant::now(), line));
        }
    });
    (child, lines, reader)
}

/// Seconds without new data after which seextract -f stops. Generous: on a loaded machine the
/// writer can stall for seconds between chunks, and an early stop would lose frames.
const QUIT_AFTER: &str = "10";

/// Waits for the child to exit on its own (--follow-quit), at most `limit`.
fn wait(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            return st;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("seextract -f did not stop within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn parse(lines: &[(Instant, String)]) -> Vec<(Instant, Value)> {
    lines
        .iter()
        .map(|(t, l)| {
            (
                *t,
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")),
            )
        })
        .collect()
}

fn dir_name(d: usize) -> &'static str {
    ["c2s", "s2c"][d]
}

/// Checks the followed output against the built frames (each exactly once, exact bytes) and
/// against a run without -f on the finished `inputs`; returns the latencies (ms) of the
/// frames completed after detection.
fn check_and_measure(
    cap: &Capture,
    recs: &[(Instant, Value)],
    writes: &[Write1],
    inputs: &[&str],
) -> Vec<f64> {
    let frames: Vec<&(Instant, Value)> = recs.iter().filter(|r| r.1["type"] == "frame").collect();
    // Each built frame exactly once, with its bytes; nothing else.
    let mut seen: BTreeMap<(String, u64), usize> = BTreeMap::new();
    for (_, r) in &frames {
        let key = (
            r["dir"].as_str().expect("dir").to_string(),
            r["offset"].as_u64().expect("offset"),
        );
        *seen.entry(key).or_default() += 1;
    }
    let dups: Vec<_> = seen.iter().filter(|(_, n)| **n != 1).collect();
    assert!(dups.is_empty(), "frames reported more than once: {dups:?}");
    let by_key: BTreeMap<(&str, u64), &Exp> = cap
        .exp
        .iter()
        .map(|e| ((dir_name(e.dir), e.offset), e))
        .collect();
    let missing: Vec<_> = by_key
        .iter()
        .filter(|((d, o), _)| !seen.contains_key(&(d.to_string(), *o)))
        .map(|((d, o), e)| (*d, *o, e.pkt))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} frames missing (dir, offset, packet index): {missing:?}",
        missing.len(),
        cap.exp.len()
    );
    assert_eq!(frames.len(), cap.exp.len(), "frame count");
    for (_, r) in &frames {
        let e = by_key
            .get(&(
                r["dir"].as_str().expect("dir"),
                r["offset"].as_u64().expect("offset"),
            ))
            .unwrap_or_else(|| panic!("unexpected frame {r}"));
        assert_eq!(r["hex"], to_hex(&e.bytes), "{r}");
        assert_eq!(r["proto"], "solaredge");
    }
    assert!(!recs
        .iter()
        .any(|r| r.1["type"] == "anomaly" || r.1["type"] == "gap"));

    // The same records as seextract without -f on the finished files.
    let mut args = vec!["-q"];
    args.extend_from_slice(inputs);
    let out = Command::new(env!("CARGO_BIN_EXE_seextract"))
        .args(&args)
        .output()
        .expect("seextract");
    assert!(out.status.success());
    let batch: Vec<Value> = String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let followed: Vec<Value> = recs.iter().map(|r| r.1.clone()).collect();
    assert_eq!(followed.len(), batch.len(), "records: followed vs batch");
    for (i, (a, b)) in followed.iter().zip(&batch).enumerate() {
        assert_eq!(a, b, "record {i}: followed vs batch");
    }

    // Latency: from the write that completed the frame's packet to the frame's line. Frames
    // completed before the detection decision (the second frame of a direction) are held
    // until it by design and are not counted.
    let decided = (0..2)
        .map(|d| {
            let mut v: Vec<usize> = cap
                .exp
                .iter()
                .filter(|e| e.dir == d)
                .map(|e| e.pkt)
                .collect();
            v.sort_unstable();
            v[1]
        })
        .min()
        .expect("two directions");
    let mut lat = Vec::new();
    for (t, r) in &frames {
        let e = by_key[&(
            r["dir"].as_str().expect("dir"),
            r["offset"].as_u64().expect("offset"),
        )];
        if e.pkt < decided {
            continue;
        }
        let (file, end) = cap.rec_end[e.pkt];
        // The write that completed the packet (none when the file was finished by a later
        // writer step than the one recorded: not counted).
        let Some(w) = writes.iter().find(|w| w.file == file && w.end >= end) else {
            continue;
        };
        let d = t
            .checked_duration_since(w.at)
            .unwrap_or_else(|| panic!("line before the write that completes it: {r}"));
        lat.push(d.as_secs_f64() * 1000.0);
    }
    assert!(lat.len() >= cap.exp.len() / 2, "{} latencies", lat.len());
    lat
}

fn report(name: &str, lat: &[f64]) {
    let mut v = lat.to_vec();
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    let over = v.iter().filter(|x| **x > 250.0).count();
    eprintln!(
        "seextract -f latency ({name}): {} frames, median {:.1} ms, p90 {:.1} ms, max {:.1} ms, min {:.1} ms; {} over the 250 ms target",
        v.len(),
        q(0.5),
        q(0.9),
        q(1.0),
        q(0.0),
        over
    );
    assert!(
        q(1.0) <= 1000.0,
        "{name}: max latency {:.1} ms over 1000 ms",
        q(1.0)
    );
}

#[test]
fn follow_directory_with_rotation() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cap = capture();
    let dir = tmp("rotation");
    let dir_s = dir.to_string_lossy().into_owned();
    let (mut child, lines, reader) = spawn(&["-f", "--follow-quit", QUIT_AFTER, "-q", &dir_s]);
    // Give it time to start watching the empty directory.
    std::thread::sleep(Duration::from_millis(300));
    let mut rng = Rng(0xc40c_4ed5);
    let mut writes = Vec::new();
    for (i, name) in ["a.pcap", "b.pcap"].into_iter().enumerate() {
        let mut f = std::fs::File::create(dir.join(name)).expect("create");
        write_chunks(&mut f, i, &cap.files[i], &mut rng, &mut writes);
    }
    let status = wait(&mut child, Duration::from_secs(60));
    reader.join().expect("reader");
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    assert!(status.success(), "seextract -f: {status}: {err}");
    let recs = parse(&lines.lock().expect("lock"));
    let lat = check_and_measure(&cap, &recs, &writes, &[&dir_s]);
    eprintln!(
        "rotation: {} writes ({} + {} bytes)",
        writes.len(),
        cap.files[0].len(),
        cap.files[1].len()
    );
    report("directory, rotation a.pcap -> b.pcap", &lat);
}

#[test]
fn follow_growing_file() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cap = capture();
    // One file: the two halves' packets in one pcap (the second header left out).
    let mut bytes = cap.files[0].clone();
    bytes.extend_from_slice(&cap.files[1][24..]);
    let shift = cap.files[0].len() - 24;
    let single = Capture {
        files: [bytes, Vec::new()],
        rec_end: cap
            .rec_end
            .iter()
            .map(|&(f, end)| (0, if f == 0 { end } else { end + shift }))
            .collect(),
        exp: cap.exp.clone(),
    };
    let dir = tmp("growing");
    let path = dir.join("live.pcap");
    let path_s = path.to_string_lossy().into_owned();
    // The file exists (empty) before seextract starts, as with tcpdump -w.
    let mut f = std::fs::File::create(&path).expect("create");
    let (mut child, lines, reader) = spawn(&["-f", "--follow-quit", QUIT_AFTER, "-q", &path_s]);
    std::thread::sleep(Duration::from_millis(300));
    let mut rng = Rng(0x09e0_111a);
    let mut writes = Vec::new();
    write_chunks(&mut f, 0, &single.files[0], &mut rng, &mut writes);
    let status = wait(&mut child, Duration::from_secs(60));
    reader.join().expect("reader");
    assert!(status.success(), "seextract -f: {status}");
    let recs = parse(&lines.lock().expect("lock"));
    let lat = check_and_measure(&single, &recs, &writes, &[&path_s]);
    report("growing file", &lat);
}

// ---------------------------------------------------------------------------------------------
// Idle cost and bad files.

/// CPU time (user + system) the process `pid` has used so far, from /proc/PID/stat.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .map(|x| x.parse().expect("ticks"))
        .collect();
    let hz: u64 = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100);
    Duration::from_millis((f[0] + f[1]) * 1000 / hz)
}

/// Share of one core the child uses over `span`.
fn cpu_share(child: &Child, span: Duration) -> f64 {
    let before = cpu_time(child.id());
    std::thread::sleep(span);
    let used = cpu_time(child.id()) - before;
    used.as_secs_f64() / span.as_secs_f64()
}

/// Waits until `n` lines were written (at most 20 s).
fn wait_lines(lines: &Lines, n: usize) {
    let start = Instant::now();
    while lines.lock().expect("lock").len() < n {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{} of {n} lines",
            lines.lock().expect("lock").len()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stderr_of(child: &mut Child) -> String {
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    err
}

/// A followed directory with nothing new: the follower sleeps (its own file opens must not
/// wake it up).
#[test]
fn follow_idle_directory_uses_little_cpu() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cap = capture();
    let dir = tmp("idle");
    std::fs::write(dir.join("a.pcap"), &cap.files[0]).expect("write");
    std::fs::write(dir.join("b.pcap"), &cap.files[1]).expect("write");
    std::fs::write(dir.join("notes.txt"), b"not a capture").expect("write");
    let dir_s = dir.to_string_lossy().into_owned();
    let (mut child, lines, reader) = spawn(&["-f", "-q", &dir_s]);
    wait_lines(&lines, cap.exp.len());
    let share = cpu_share(&child, Duration::from_secs(3));
    let _ = child.kill();
    let _ = child.wait();
    reader.join().expect("reader");
    eprintln!("seextract -f DIR, idle: {:.1} % CPU", share * 100.0);
    assert!(
        share < 0.05,
        "idle follower used {:.1} % CPU",
        share * 100.0
    );
}

/// `-f` on a file that is not a capture: one message, no busy loop, and once the file becomes
/// a capture its frames are read.
#[test]
fn follow_bad_file_is_reported_once_and_watched() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cap = capture();
    let dir = tmp("bad_file");
    let path = dir.join("live.pcap");
    let path_s = path.to_string_lossy().into_owned();
    std::fs::write(&path, b"this is not a capture file at all").expect("write");
    let (mut child, lines, reader) = spawn(&["-f", "--follow-quit", "5", "-q", &path_s]);
    std::thread::sleep(Duration::from_millis(500));
    let share = cpu_share(&child, Duration::from_secs(3));
    eprintln!("seextract -f BADFILE: {:.1} % CPU", share * 100.0);
    // The file becomes a capture (rewritten in place).
    let mut bytes = cap.files[0].clone();
    bytes.extend_from_slice(&cap.files[1][24..]);
    std::fs::write(&path, &bytes).expect("write");
    let status = wait(&mut child, Duration::from_secs(60));
    reader.join().expect("reader");
    let err = stderr_of(&mut child);
    assert!(matches!(status.code(), Some(0 | 1)), "{status}: {err}");
    assert!(share < 0.05, "follower used {:.1} % CPU", share * 100.0);
    let msgs: Vec<&str> = err.lines().filter(|l| l.contains(&path_s)).collect();
    assert_eq!(msgs.len(), 1, "{err}");
    assert!(
        msgs[0].contains(&format!("{path_s}: offset 0: not a pcap or pcapng file")),
        "{err}"
    );
    let recs = parse(&lines.lock().expect("lock"));
    let frames = recs.iter().filter(|r| r.1["type"] == "frame").count();
    assert_eq!(frames, cap.exp.len(), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Rotation by compression, truncation, replacement.

/// The capture as one pcap file (the second file's header left out).
fn single_file(cap: &Capture) -> Vec<u8> {
    let mut bytes = cap.files[0].clone();
    bytes.extend_from_slice(&cap.files[1][24..]);
    bytes
}

/// Every frame of the captures (client port, capture) exactly once, with its bytes, and
/// nothing else.
fn check_frames(caps: &[(u16, &Capture)], recs: &[(Instant, Value)], err: &str) {
    let mut seen: BTreeMap<(u64, String, u64), usize> = BTreeMap::new();
    for (_, r) in recs.iter().filter(|r| r.1["type"] == "frame") {
        let dir = r["dir"].as_str().expect("dir").to_string();
        let port = if dir == "c2s" {
            &r["sport"]
        } else {
            &r["dport"]
        };
        let key = (
            port.as_u64().expect("port"),
            dir,
            r["offset"].as_u64().expect("offset"),
        );
        *seen.entry(key).or_default() += 1;
    }
    let mut want = BTreeMap::new();
    for (port, cap) in caps {
        for e in &cap.exp {
            want.insert((u64::from(*port), dir_name(e.dir).to_string(), e.offset), 1);
        }
    }
    let wrong: Vec<_> = want
        .keys()
        .chain(seen.keys())
        .filter(|k| seen.get(*k) != want.get(*k))
        .map(|k| (k, seen.get(k).copied().unwrap_or(0)))
        .collect();
    assert!(
        wrong.is_empty(),
        "frames (port, dir, offset) not seen exactly once, with the times seen: {wrong:?}\n{err}"
    );
}

/// tcpdump `-C N -z gzip`: once `cap.pcap1` is started, `cap.pcap` is compressed to
/// `cap.pcap.gz` and removed. The compressed copy is not read again, and the file being
/// followed meanwhile is followed to its end.
#[test]
fn follow_directory_rotation_compressed() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cap = capture();
    let dir = tmp("rotation_gzip");
    let dir_s = dir.to_string_lossy().into_owned();
    let (mut child, lines, reader) = spawn(&["-f", "--follow-quit", QUIT_AFTER, "-q", &dir_s]);
    std::thread::sleep(Duration::from_millis(300));
    let mut rng = Rng(0x7a11_9e01);
    let mut writes = Vec::new();
    let first = dir.join("cap.pcap");
    let mut f = std::fs::File::create(&first).expect("create");
    write_chunks(&mut f, 0, &cap.files[0], &mut rng, &mut writes);
    drop(f);
    let mut f = std::fs::File::create(dir.join("cap.pcap1")).expect("create");
    let cut = cap.files[1].len() / 3;
    write_chunks(&mut f, 1, &cap.files[1][..cut], &mut rng, &mut writes);
    // gzip writes the compressed copy (in two steps here), then removes the original.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&cap.files[0]).expect("gzip");
    let gz = e.finish().expect("gzip");
    let mut g = std::fs::File::create(dir.join("cap.pcap.gz")).expect("create");
    g.write_all(&gz[..gz.len() / 2]).expect("write");
    std::thread::sleep(Duration::from_millis(300));
    g.write_all(&gz[gz.len() / 2..]).expect("write");
    drop(g);
    std::fs::remove_file(&first).expect("remove");
    std::thread::sleep(Duration::from_millis(300));
    write_chunks(&mut f, 1, &cap.files[1][cut..], &mut rng, &mut writes);
    let status = wait(&mut child, Duration::from_secs(60));
    reader.join().expect("reader");
    let err = stderr_of(&mut child);
    assert!(status.success(), "{status}: {err}");
    let recs = parse(&lines.lock().expect("lock"));
    check_frames(&[(40500, &cap)], &recs, &err);
    assert!(
        !recs
            .iter()
            .any(|r| r.1["file"].as_str().is_some_and(|f| f.ends_with(".gz"))),
        "records from the compressed copy\n{err}"
    );
}

/// Follows a file holding one capture, lets `rewrite` give a handle to the path's new content
/// (the same file truncated, or a new file), writes a second capture through it in chunks, and
/// checks that both captures' frames are read and that exactly one message about the path,
/// containing `message`, was printed.
fn follow_rewritten(
    name: &str,
    seed: u64,
    rewrite: fn(&std::path::Path) -> std::fs::File,
    message: &str,
) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (a, b) = (capture_on(40500), capture_on(40501));
    let dir = tmp(name);
    let path = dir.join("live.pcap");
    let path_s = path.to_string_lossy().into_owned();
    std::fs::write(&path, single_file(&a)).expect("write");
    let (mut child, lines, reader) = spawn(&["-f", "--follow-quit", QUIT_AFTER, "-q", &path_s]);
    wait_lines(&lines, a.exp.len());
    let mut f = rewrite(&path);
    write_chunks(&mut f, 0, &single_file(&b), &mut Rng(seed), &mut Vec::new());
    let status = wait(&mut child, Duration::from_secs(60));
    reader.join().expect("reader");
    let err = stderr_of(&mut child);
    assert!(matches!(status.code(), Some(0 | 1)), "{status}: {err}");
    let recs = parse(&lines.lock().expect("lock"));
    check_frames(&[(40500, &a), (40501, &b)], &recs, &err);
    let msgs: Vec<&str> = err.lines().filter(|l| l.contains(&path_s)).collect();
    assert_eq!(msgs.len(), 1, "{err}");
    assert!(msgs[0].contains(message), "{err}");
}

/// A followed file truncated and written again from its start: what it held is read, the
/// truncation is reported, and the new content is read from its start.
#[test]
fn follow_truncated_file() {
    follow_rewritten(
        "truncated",
        0x7c0a,
        |path| {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(path)
                .expect("truncate");
            std::thread::sleep(Duration::from_millis(300));
            f
        },
        "truncated to 0 bytes: reading it again from the start",
    );
}

/// A followed file deleted and created again at the same path: the new file is followed.
#[test]
fn follow_replaced_file() {
    follow_rewritten(
        "replaced",
        0x4e91,
        |path| {
            std::fs::remove_file(path).expect("remove");
            std::thread::sleep(Duration::from_millis(300));
            std::fs::File::create(path).expect("create")
        },
        "replaced by a new file",
    );
}
