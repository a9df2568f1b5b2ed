//! Reassembly against ground truth carried in the repository:
//! - tests/data/gen/*.pcap with their generator manifests (provenance in tests/data/gen/PROVENANCE.txt);
//! - samples/c37118/*.pcap walked by C37.118 FRAMESIZE, and through seextract, against
//!   Wireshark's frames (tests/data/c37118/tshark_frames.json, provenance beside it).

mod oracle;

use oracle::{
    c37118_framesizes, check_manifests, compare_frames, seextract_c37118, size_and_pkt, size_of,
    Rule,
};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn gen_case(name: &str, rule: Rule) {
    let cap = root().join("tests/data/gen").join(name);
    let man = root()
        .join("tests/data/gen")
        .join(format!("{name}.manifest.jsonl"));
    let bad = check_manifests(&[cap.as_path()], &[man], rule);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn mixed_impairments() {
    gen_case("mixed.pcap", Rule::Exact);
}

#[test]
fn conflicting_overlaps() {
    gen_case("conflict.pcap", Rule::Exact);
}

#[test]
fn port_reuse_and_fragments() {
    gen_case("reuse_frag6.pcap", Rule::Exact);
}

#[test]
fn tfo_keepalive_qinq() {
    gen_case("tfo_keepalive_qinq.pcap", Rule::Exact);
}

#[test]
fn ipv6_extension_headers_on_null_link() {
    gen_case("v6ext_null.pcap", Rule::Exact);
}

#[test]
fn snaplen_truncation_sll2_bigendian_nsec() {
    gen_case("snaplen96_sll2.pcap", Rule::Length);
}

fn tshark_frames() -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/data/c37118/tshark_frames.json")).unwrap(),
    )
    .unwrap()
}

#[test]
fn c37118_samples_frame_walk_matches_wireshark() {
    let mut header16 = 0;
    for (trace, per_sender) in tshark_frames().as_object().unwrap() {
        let cap = root().join("samples/c37118").join(format!("{trace}.pcap"));
        let walked = c37118_framesizes(Path::new(&cap));
        header16 += compare_frames(trace, &walked, per_sender.as_object().unwrap(), size_of);
    }
    // The one 16-byte header frame of c37_1100_clean_tcp (c37118.md §7).
    assert_eq!(header16, 1);
}

/// seextract with no flags: per direction the same frames as Wireshark, in the same order,
/// completed by the same packets, UDP and the non-default port included; plus the 16-byte
/// header frame Wireshark skips; no anomalies.
#[test]
fn seextract_c37118_samples_match_wireshark() {
    let mut header16 = 0;
    for (trace, per_sender) in tshark_frames().as_object().unwrap() {
        let cap = root().join("samples/c37118").join(format!("{trace}.pcap"));
        let (frames, anomalies) = seextract_c37118(&cap);
        assert_eq!(anomalies, 0, "{trace}");
        header16 += compare_frames(
            trace,
            &frames,
            per_sender.as_object().unwrap(),
            size_and_pkt,
        );
    }
    assert_eq!(header16, 1);
}
