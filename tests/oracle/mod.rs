//! Checks against independent ground truth: the generator manifests (per-direction sha256,
//! gaps, conflicts) and Wireshark's C37.118 frame sizes. Used by `manifests.rs` (fixtures in
//! tests/data and samples/) and `shared_oracles.rs` (the full fixture set in ../shared).
#![allow(dead_code)]

use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn sefollow_list(captures: &[&Path]) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_sefollow"))
        .arg("--list")
        .arg("-q")
        .args(captures)
        .output()
        .expect("run sefollow");
    // Exit status 1: output produced although some input had problems (a cut-short capture).
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "sefollow failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

pub fn read_jsonl(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

/// How a capture's directions are judged against the manifest.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Rule {
    /// sha256 == sha256_present, gaps and conflicts equal.
    Exact,
    /// Snaplen-truncated capture: delivered bytes plus gap lengths == manifest len.
    Length,
    /// Capture cut inside its last record: at most one direction may end short (never longer,
    /// never with invented bytes); all others exact.
    CutLast,
}

/// Compares sefollow's flow records with one or more manifests; returns a description of
/// every mismatch (empty when everything matches).
pub fn check_manifests(captures: &[&Path], manifests: &[PathBuf], rule: Rule) -> Vec<String> {
    let got = sefollow_list(captures);
    let mut by_tuple: HashMap<(String, u64, String, u64), Vec<&Value>> = HashMap::new();
    for g in &got {
        let k = (
            g["src"].as_str().unwrap().to_string(),
            g["sport"].as_u64().unwrap(),
            g["dst"].as_str().unwrap().to_string(),
            g["dport"].as_u64().unwrap(),
        );
        by_tuple.entry(k).or_default().push(g);
    }
    let mut bad = Vec::new();
    let mut short = 0;
    let mut expected = 0;
    for mf in manifests {
        for m in read_jsonl(mf) {
            expected += 1;
            let k = (
                m["src"].as_str().unwrap().to_string(),
                m["sport"].as_u64().unwrap(),
                m["dst"].as_str().unwrap().to_string(),
                m["dport"].as_u64().unwrap(),
            );
            let cands = by_tuple.get(&k).cloned().unwrap_or_default();
            // A reused tuple: tell connections apart by ISN (mid-stream ones have none).
            let by_isn: Vec<&Value> = cands
                .iter()
                .copied()
                .filter(|g| g["isn"] == m["isn"])
                .collect();
            let c = if by_isn.is_empty() { cands } else { by_isn };
            let name = format!(
                "{} flow {} {} {}:{}",
                mf.display(),
                m["flow"],
                m["dir"],
                k.0,
                k.1
            );
            if c.len() != 1 {
                bad.push(format!("{name}: {} matching directions", c.len()));
                continue;
            }
            let g = c[0];
            let gap_sum: u64 = g["gaps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x[1].as_u64().unwrap())
                .sum();
            let bytes = g["bytes"].as_u64().unwrap();
            let len = m["len"].as_u64().unwrap();
            let exact = g["sha256"] == m["sha256_present"]
                && g["gaps"] == m["gaps"]
                && g["conflicts"] == m["conflicts"];
            let ok = match rule {
                Rule::Exact => exact,
                Rule::Length => bytes + gap_sum == len && g["conflicts"] == m["conflicts"],
                Rule::CutLast => {
                    if !exact && bytes < len && g["conflicts"] == m["conflicts"] {
                        short += 1;
                        true
                    } else {
                        exact
                    }
                }
            };
            if !ok {
                bad.push(format!(
                    "{name}: got bytes {bytes} gaps {} conflicts {} sha {}; manifest len {len} gaps {} conflicts {}",
                    g["gaps"], g["conflicts"], g["sha256"], m["gaps"], m["conflicts"]
                ));
            }
        }
    }
    if rule == Rule::CutLast && short > 1 {
        bad.push(format!(
            "{short} directions end short; only the cut one may"
        ));
    }
    if got.len() != expected {
        bad.push(format!(
            "{} directions in the output, {expected} in the manifests",
            got.len()
        ));
    }
    bad
}

/// Walks a byte stream by C37.118 FRAMESIZE (c37118.md §1: SYNC 0xAA, FRAMESIZE at 2..4);
/// returns the sizes, or the offset where the walk lost sync.
pub fn walk_framesizes(data: &[u8]) -> Result<Vec<u64>, usize> {
    let mut sizes = Vec::new();
    let mut i = 0;
    while i < data.len() {
        if data.len() - i < 4 || data[i] != 0xAA {
            return Err(i);
        }
        let n = usize::from(u16::from_be_bytes([data[i + 2], data[i + 3]]));
        if n < 16 || i + n > data.len() {
            return Err(i);
        }
        sizes.push(n as u64);
        i += n;
    }
    Ok(sizes)
}

/// Runs the engine on a capture and walks every TCP direction (reassembled) and every UDP
/// datagram (one or more frames each, c37118.md §6) by FRAMESIZE. Keys: "ip:port/transport"
/// of the sender. Panics on a gap or a lost sync.
pub fn c37118_framesizes(capture: &Path) -> HashMap<String, Vec<Vec<u64>>> {
    use sekit::capture::Input;
    use sekit::net::Transport;
    use sekit::pipeline::{run, RunConfig};
    use sekit::reassembly::{Ctx, Sink, StreamEvent};

    #[derive(Default)]
    struct Collect {
        tcp: HashMap<String, Vec<u8>>,
        udp: HashMap<String, Vec<u64>>,
        gaps: u64,
    }
    impl Sink for Collect {
        fn event(&mut self, _ctx: &Ctx<'_>, ev: StreamEvent<'_>) {
            match ev {
                StreamEvent::Data {
                    conn, dir, bytes, ..
                } => {
                    let ep = conn.endpoints(dir);
                    let key = format!("{}:{}/{}", ep.src_ip(), ep.sport, conn.transport.as_str());
                    match conn.transport {
                        Transport::Tcp => self.tcp.entry(key).or_default().extend_from_slice(bytes),
                        Transport::Udp => {
                            let sizes = walk_framesizes(bytes)
                                .unwrap_or_else(|at| panic!("{key}: datagram out of sync at {at}"));
                            self.udp.entry(key).or_default().extend(sizes);
                        }
                    }
                }
                StreamEvent::Gap { .. } => self.gaps += 1,
                _ => {}
            }
        }
    }
    let mut sink = Collect::default();
    let inputs = vec![Input {
        path: capture.to_string_lossy().into_owned(),
        size: None,
    }];
    let report = run(
        &inputs,
        &RunConfig::default(),
        &mut sink,
        &mut |e| panic!("{e}"),
        &mut |_| {},
        &|_| false,
    );
    assert!(report.packets > 0, "{}: no packets", capture.display());
    assert_eq!(
        sink.gaps,
        0,
        "{}: gaps in a clean capture",
        capture.display()
    );
    let mut out: HashMap<String, Vec<Vec<u64>>> = sink
        .udp
        .into_iter()
        .map(|(k, v)| (k, v.into_iter().map(|s| vec![s]).collect()))
        .collect();
    for (k, bytes) in sink.tcp {
        let sizes = walk_framesizes(&bytes)
            .unwrap_or_else(|at| panic!("{}: {k}: out of sync at {at}", capture.display()));
        out.insert(k, sizes.into_iter().map(|s| vec![s]).collect());
    }
    out
}

/// Size only, from an oracle entry `[framesize, pkt]`.
pub fn size_of(v: &Value) -> Vec<u64> {
    vec![v[0].as_u64().unwrap()]
}

/// Size and packet number, from an oracle entry `[framesize, pkt]`.
pub fn size_and_pkt(v: &Value) -> Vec<u64> {
    vec![v[0].as_u64().unwrap(), v[1].as_u64().unwrap()]
}

/// Runs seextract on a capture; returns per sender ("ip:port/transport") the `[len, pkt]` of
/// every C37.118 frame record, in output order, and the number of anomaly records.
pub fn seextract_c37118(capture: &Path) -> (HashMap<String, Vec<Vec<u64>>>, usize) {
    let out = Command::new(env!("CARGO_BIN_EXE_seextract"))
        .arg("-q")
        .arg(capture)
        .output()
        .expect("run seextract");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut frames: HashMap<String, Vec<Vec<u64>>> = HashMap::new();
    let mut anomalies = 0;
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let r: Value = serde_json::from_str(line).unwrap();
        match r["type"].as_str().unwrap() {
            "frame" => {
                assert_eq!(r["proto"], "c37118", "{line}");
                let key = format!(
                    "{}:{}/{}",
                    r["src"].as_str().unwrap(),
                    r["sport"],
                    r["transport"].as_str().unwrap()
                );
                frames
                    .entry(key)
                    .or_default()
                    .push(vec![r["len"].as_u64().unwrap(), r["pkt"].as_u64().unwrap()]);
            }
            "anomaly" => anomalies += 1,
            _ => {}
        }
    }
    (frames, anomalies)
}

/// Compares frame sizes (or any per-frame values) with Wireshark's, per sender: `oracle`
/// maps each sender to `[[framesize, pkt], ...]` and `pick` chooses what to compare (the size
/// alone, or size and packet number). Wireshark never dissects a 16-byte header frame
/// (c37118.md §6): those are removed before comparing, and their count is returned.
pub fn compare_frames(
    trace: &str,
    walked: &HashMap<String, Vec<Vec<u64>>>,
    oracle: &serde_json::Map<String, Value>,
    pick: fn(&Value) -> Vec<u64>,
) -> usize {
    let mut header16 = 0;
    assert_eq!(
        walked.len(),
        oracle.len(),
        "{trace}: directions {:?} vs oracle {:?}",
        walked.keys().collect::<Vec<_>>(),
        oracle.keys().collect::<Vec<_>>()
    );
    for (sender, sizes) in oracle {
        let want: Vec<Vec<u64>> = sizes.as_array().unwrap().iter().map(pick).collect();
        let got = walked
            .get(sender)
            .unwrap_or_else(|| panic!("{trace}: no stream from {sender}"));
        let kept: Vec<Vec<u64>> = got.iter().filter(|s| s[0] != 16).cloned().collect();
        header16 += got.len() - kept.len();
        assert_eq!(kept, want, "{trace}: {sender}: frames differ");
    }
    header16
}
