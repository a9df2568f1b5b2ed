//! `sereplay serve` as an SEL relay (sel.md §1–4), from the synthetic Telnet session of
//! tests/data/sel: a master written here sends the captured master's messages in order (ASCII
//! lines with CR LF, binary requests as they are, 0xFF doubled for Telnet); the exchanged
//! bytes go into a pcap; seextract finds the same SEL frames in it as in the original (frame
//! records, kind and bytes), and each binary request is answered by the response of its own
//! type.

mod replay_common;

use replay_common::*;
use serde_json::Value;

const PCAP: &str = "tests/data/sel/sel_synthetic_telnet_session.pcap";

/// The captured master's messages as they go on the wire (RFC 854: 0xFF doubled).
fn master_messages() -> Vec<(String, Vec<u8>)> {
    extract_with(&sample(PCAP), &["--reveal-secrets"])
        .into_iter()
        .filter(|(r, _)| r["dir"] == "c2s")
        .map(|(r, mut b)| {
            let kind = r["kind"].as_str().unwrap().to_string();
            if kind.ends_with("line") || kind == "ascii-secret" {
                b.extend_from_slice(b"\r\n");
            }
            let wire = b
                .iter()
                .flat_map(|&x| if x == 0xFF { vec![x, x] } else { vec![x] })
                .collect();
            (kind, wire)
        })
        .collect()
}

#[test]
fn round_trip_gives_the_original_frames() {
    let server = Server::start(&[&sample(PCAP), "--exit-after", "1", "-q"]);
    let mut rec = Recorder::new(("10.0.0.1", 50000), ("10.0.0.2", 23));
    let msgs = master_messages();
    assert_eq!(msgs.len(), 17);
    let wires: Vec<Vec<u8>> = msgs.iter().map(|(_, w)| w.clone()).collect();
    let answers = drive(server.addr, &mut rec, &wires, false);
    let out = tmp("sel_round_trip.pcap");
    rec.write(&out);
    server.wait();

    // Each bare binary request gets the response of its type first.
    for ((kind, _), got) in msgs.iter().zip(&answers[1..]) {
        if let Some(t) = kind.strip_prefix("A5").and_then(|k| k.strip_suffix("-req")) {
            let t = u8::from_str_radix(t, 16).unwrap();
            let at = got.windows(2).position(|w| w[0] == 0xA5).expect(kind);
            assert_eq!(
                got[at + 1],
                t,
                "{kind} answered by {:02x?}",
                &got[at..at + 2]
            );
        }
    }
    // Frame records (seextract's), compared as kind and bytes.
    let frames = |p: &str| -> Vec<Value> { extract(p).into_iter().map(|(r, _)| r).collect() };
    let want = frames(&sample(PCAP));
    let have = frames(out.to_str().unwrap());
    for dir in ["c2s", "s2c"] {
        let (w, h) = (frame_set(&want, dir), frame_set(&have, dir));
        assert!(!w.is_empty());
        assert_eq!(w, h, "{dir}");
    }
}
