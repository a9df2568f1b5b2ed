//! The SEL splitter on the synthetic Telnet session of the sekit fixture set
//! (tests/data/sel/, provenance in PROVENANCE.txt), through the whole pipeline
//! (`pipeline::run` → one `SelState` per direction), against Wireshark 4.0.17's decode of the
//! same capture (`.tshark-4.0.17.json` for the message types in order, `.txt` for the lengths,
//! directions and sequence numbers).

use sekit::capture::Input;
use sekit::pipeline::{run, RunConfig};
use sekit::protocols::sel::frame::{build, fix_checksum, parse_message};
use sekit::protocols::sel::state::SelState;
use sekit::protocols::{Found, Label, Parsed, StreamState};
use sekit::reassembly::{Ctx, Dir, Sink, StreamEvent};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/sel")
        .join(name)
}

const PCAP: &str = "sel_synthetic_telnet_session.pcap";

#[derive(Clone, Debug, PartialEq, Eq)]
enum Out {
    F(u64, Vec<u8>, &'static str),
    A(u64, u64, &'static str),
}

fn record(v: &mut Vec<Out>) -> impl FnMut(Found<'_>) + '_ {
    move |f| {
        v.push(match f {
            Found::Frame {
                offset,
                bytes,
                kind: Label::Name(n),
            } => Out::F(offset, bytes.to_vec(), n),
            Found::Frame { kind, .. } => panic!("unexpected label {kind}"),
            Found::Anomaly {
                offset,
                len,
                reason,
            } => Out::A(offset, len, reason),
        })
    }
}

/// Per direction: what the state found, the data events as delivered, and the state.
#[derive(Default)]
struct Side {
    out: Vec<Out>,
    events: Vec<(u64, Vec<u8>)>,
    state: SelState,
}

#[derive(Default)]
struct SelSink {
    sides: BTreeMap<(u64, usize), Side>,
}

impl Sink for SelSink {
    fn event(&mut self, _ctx: &Ctx<'_>, ev: StreamEvent<'_>) {
        match ev {
            StreamEvent::Data {
                conn,
                dir,
                offset,
                bytes,
            } => {
                let s = self.sides.entry((conn.id, dir.index())).or_default();
                s.events.push((offset, bytes.to_vec()));
                s.state.data(offset, bytes, &mut record(&mut s.out));
            }
            StreamEvent::Gap {
                conn,
                dir,
                offset,
                len,
            } => {
                let s = self.sides.entry((conn.id, dir.index())).or_default();
                s.state.gap(offset, len, &mut record(&mut s.out));
            }
            StreamEvent::Close { conn, .. } => {
                for d in [Dir::C2S, Dir::S2C] {
                    let s = self.sides.entry((conn.id, d.index())).or_default();
                    s.state.end(&mut record(&mut s.out));
                }
            }
            _ => {}
        }
    }
}

fn run_capture() -> SelSink {
    let inputs = vec![Input {
        path: data(PCAP).to_string_lossy().into_owned(),
        size: None,
    }];
    let mut sink = SelSink::default();
    run(
        &inputs,
        &RunConfig::default(),
        &mut sink,
        &mut |e| panic!("{e}"),
        &mut |_| {},
        &|_| false,
    );
    sink
}

/// One SEL message as Wireshark shows it.
#[derive(Clone, Debug)]
struct WsMsg {
    frame: u64,
    /// 0xA5xx.
    msgtype: u16,
    /// "Length:" of the details; none for a bare 2-byte request.
    len: Option<usize>,
}

/// Per packet of the text decode: sender port, relative Seq, the bytes of earlier segments
/// reassembled into it, and its SEL messages.
#[derive(Clone, Debug, Default)]
struct WsFrame {
    number: u64,
    sport: u16,
    seq: u64,
    reassembled_before: u64,
    msgs: Vec<WsMsg>,
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let i = line.find(key)? + key.len();
    Some(line[i..].split([',', ' ']).next().unwrap_or(""))
}

fn parse_txt() -> Vec<WsFrame> {
    let txt =
        std::fs::read_to_string(data("sel_synthetic_telnet_session.tshark-4.0.17.txt")).unwrap();
    let mut frames: Vec<WsFrame> = Vec::new();
    for line in txt.lines() {
        if let Some(rest) = line.strip_prefix("Frame ") {
            let number = rest.split(':').next().unwrap().parse().unwrap();
            frames.push(WsFrame {
                number,
                ..Default::default()
            });
            continue;
        }
        let Some(f) = frames.last_mut() else { continue };
        if line.starts_with("Transmission Control Protocol") {
            f.sport = field(line, "Src Port: ").unwrap().parse().unwrap();
            f.seq = field(line, "Seq: ").unwrap().parse().unwrap();
        } else if line.starts_with('[') && line.contains("Reassembled TCP Segments") {
            // "[2 Reassembled TCP Segments (70 bytes): #26(30), #27(40)]"
            let parts: Vec<u64> = line
                .split('#')
                .skip(1)
                .map(|p| {
                    p[p.find('(').unwrap() + 1..p.find(')').unwrap()]
                        .parse()
                        .unwrap()
                })
                .collect();
            f.reassembled_before = parts[..parts.len() - 1].iter().sum();
        } else if line.contains("Message Type: ") {
            let hex = &line[line.rfind("(0x").unwrap() + 3..line.len() - 1];
            f.msgs.push(WsMsg {
                frame: f.number,
                msgtype: u16::from_str_radix(hex, 16).unwrap(),
                len: None,
            });
        } else if let Some(l) = line.trim_start().strip_prefix("Length: ") {
            let m = f.msgs.last_mut().unwrap();
            if m.len.is_none() {
                m.len = Some(l.parse().unwrap());
            }
        }
    }
    frames
}

/// `(frame.number, selfm.msgtype)` in order from the JSON export. Read as text because the
/// export repeats the key "selfm" for a packet with two messages (a JSON map would keep one).
fn parse_json_types() -> Vec<(u64, u16)> {
    let path = data("sel_synthetic_telnet_session.tshark-4.0.17.json");
    let text = std::fs::read_to_string(path).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v.as_array().unwrap().len(),
        12,
        "packets in the JSON export"
    );
    let mut out = Vec::new();
    let mut frame = 0;
    for line in text.lines() {
        let val = |l: &str| l.split('"').nth(3).unwrap().to_string();
        if line.contains("\"frame.number\"") {
            frame = val(line).parse().unwrap();
        } else if line.contains("\"selfm.msgtype\"") {
            let t = val(line);
            out.push((frame, u16::from_str_radix(&t[2..], 16).unwrap()));
        }
    }
    out
}

fn vectors() -> Vec<(String, Vec<u8>)> {
    let text = std::fs::read_to_string(data("vectors.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, h)| {
            let h = h.as_str().unwrap();
            let b = (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                .collect();
            (k.clone(), b)
        })
        .collect()
}

fn binary(out: &[Out]) -> Vec<(u64, Vec<u8>, &'static str)> {
    out.iter()
        .filter_map(|o| match o {
            Out::F(off, b, l) if l.starts_with("A5") => Some((*off, b.clone(), *l)),
            _ => None,
        })
        .collect()
}

fn labelled<'a>(out: &'a [Out], label: &str) -> Vec<&'a [u8]> {
    out.iter()
        .filter_map(|o| match o {
            Out::F(_, b, l) if *l == label => Some(b.as_slice()),
            _ => None,
        })
        .collect()
}

/// The SEL-700G reply lines of fixtures/sel/real/peat_sel700g_ID_response.txt (real device
/// output, published by sandialabs/PEAT docs/sel.rst, GPL-3.0), as carried by the session.
const ID_LINES: [&str; 13] = [
    r#""FID=SEL-700G-R200-V0-Z006003-D20180629","08F0""#,
    r#""BFID=BOOTLDR-R501-V0-Z000000-D20140224","0947""#,
    r#""CID=59A0","025C""#,
    r#""DEVID=SEL-700G","0408""#,
    r#""DEVCODE=74","0312""#,
    r#""PARTNO=0700G12B1B1B7281A230","06C2""#,
    r#""CONFIG=112222010","041E""#,
    r#""SEL DISPLAY PACKAGE=1.0.50700.2000","087C""#,
    r#""CUSTOMER DISPLAY PACKAGE=1.574871567","09A2""#,
    r#""iedName=","0360""#,
    r#""type=","026F""#,
    r#""configVersion=","0609""#,
    r#""LIB61850ID=5C9A14CB","04F1""#,
];

#[test]
fn session_matches_wireshark() {
    let sink = run_capture();
    assert_eq!(sink.sides.len(), 2, "one connection, two directions");
    let c2s = &sink.sides[&(1, Dir::C2S.index())];
    let s2c = &sink.sides[&(1, Dir::S2C.index())];

    // The JSON and the text decode agree on the messages.
    let ws_frames = parse_txt();
    let ws: Vec<WsMsg> = ws_frames.iter().flat_map(|f| f.msgs.clone()).collect();
    let json = parse_json_types();
    assert_eq!(
        json,
        ws.iter().map(|m| (m.frame, m.msgtype)).collect::<Vec<_>>()
    );
    assert_eq!(ws.len(), 13);

    let vectors = vectors();
    for (side, port) in [(c2s, 50000u16), (s2c, 23)] {
        let ours = binary(&side.out);
        // Wireshark's messages of this direction, with the raw offset of each message start.
        let mut expected = Vec::new();
        for f in ws_frames.iter().filter(|f| f.sport == port) {
            // Relative Seq 1 is stream offset 0.
            let mut off = Some(f.seq - 1 - f.reassembled_before);
            for m in &f.msgs {
                expected.push((m.clone(), off));
                off = None; // later messages of the segment: checked below by adjacency
            }
        }
        // Wireshark's messages are ours, in order; ours has exactly one more: the bare A5C1
        // request of frame 21, which Wireshark 4.0.17 does not decode (sel.md §1).
        let mut k = 0;
        let mut extra = Vec::new();
        for (off, bytes, label) in &ours {
            let name = format!("A5{:02X}", bytes[1]);
            match expected.get(k) {
                Some((m, want_off)) if u16::from_be_bytes([bytes[0], bytes[1]]) == m.msgtype => {
                    match m.len {
                        Some(n) => {
                            assert_eq!(*label, name, "frame {}", m.frame);
                            assert_eq!(bytes.len(), n, "frame {}", m.frame);
                            assert_eq!(usize::from(bytes[2]), n);
                            // Byte for byte the vector Wireshark decoded (0xFF undoubled).
                            assert!(
                                vectors.iter().any(|(_, v)| v == bytes),
                                "frame {}: {bytes:02X?}",
                                m.frame
                            );
                        }
                        None => {
                            assert_eq!(*label, format!("{name}-req"), "frame {}", m.frame);
                            assert_eq!(bytes.len(), 2);
                        }
                    }
                    if let Some(w) = want_off {
                        assert_eq!(off, w, "offset of the message of frame {}", m.frame);
                    }
                    k += 1;
                }
                _ => extra.push(*label),
            }
        }
        assert_eq!(
            k,
            expected.len(),
            "port {port}: missing {:?}",
            &expected[k..]
        );
        if port == 50000 {
            assert_eq!(extra, ["A5C1-req"]);
        } else {
            assert!(extra.is_empty(), "{extra:?}");
        }
        assert!(side.state.confident(), "port {port}");
        let anomalies: Vec<&Out> = side
            .out
            .iter()
            .filter(|o| matches!(o, Out::A(..)))
            .collect();
        assert!(anomalies.is_empty(), "port {port}: {anomalies:?}");
    }

    // Relay messages: contiguous on the wire, each taking len + (number of 0xFF) raw bytes.
    let relay = binary(&s2c.out);
    let names: Vec<&str> = relay.iter().map(|m| m.2).collect();
    assert_eq!(names, ["A5C0", "A5C1", "A5CE", "A5D1", "A546", "A546"]);
    let raw_len = |b: &[u8]| (b.len() + b.iter().filter(|&&x| x == 0xFF).count()) as u64;
    for w in relay[..4].windows(2) {
        assert_eq!(w[0].0 + raw_len(&w[0].1), w[1].0);
    }
    // The A5C1 config holds 9 × 0xFF: 81 bytes on the wire (frame 22), 72 decoded.
    assert_eq!(raw_len(&relay[1].1), 81);
    // Fast Meter data split over frames 26 (30 bytes) and 27 (40 bytes), found joined.
    let d1 = &relay[3];
    assert_eq!((d1.1.len(), raw_len(&d1.1)), (69, 70));
    assert_eq!(d1.0, 1469);
    // The two A546 of frame 35 (Seq 1573): separate frames, the second with 0xFF undoubled.
    assert_eq!((relay[4].0, relay[4].1.len()), (1572, 14));
    assert_eq!((relay[5].0, relay[5].1.len()), (1586, 42));
    assert!(relay[5].1.windows(4).any(|w| w == [0xFF, 0xFF, 0xFF, 0xFE]));

    // ASCII from the client: every command line, in order; the passwords (OTTER after ACC,
    // TAIL after 2AC) are redacted markers (sel.md §3.4).
    assert_eq!(
        labelled(&c2s.out, "ascii-line"),
        [&b"ACC"[..], b"ID", b"DNA", b"BNA", b"SNS", b"2AC", b"QUI"]
    );
    let secrets = labelled(&c2s.out, "ascii-secret");
    assert_eq!(secrets.len(), 2);
    for (m, pw) in secrets.iter().zip(["OTTER", "TAIL"]) {
        let text = std::str::from_utf8(m).unwrap();
        assert!(text.starts_with("<redacted sha256="), "{text}");
        assert!(
            text.ends_with(&format!(" len={} default=1>", pw.len())),
            "{text}"
        );
        assert!(!text.contains(pw));
    }
    assert!(labelled(&c2s.out, "ascii-prompt").is_empty());
    assert!(labelled(&c2s.out, "cascii-line").is_empty());
    // ASCII from the relay: echoes, banners, prompts.
    assert_eq!(
        labelled(&s2c.out, "ascii-line"),
        [
            &b"ACC"[..],
            b"SEL-551                          Date: 11/21/25    Time: 14:30:40.000",
            b"Level 1",
            b"ID",
            b"DNA",
            b"BNA",
            b"SNS",
            b"2AC",
            b"Level 2",
            b"QUI"
        ]
    );
    assert_eq!(
        labelled(&s2c.out, "ascii-prompt"),
        [
            &b"="[..],
            b"Password: ? ",
            b"=>",
            b"=>",
            b"=>",
            b"=>",
            b"=>",
            b"Password: ? ",
            b"=>>",
            b"="
        ]
    );
    // Compressed ASCII: the 13 real ID lines, then DNA (15 rows), BNA, SNS; all checksums OK.
    let cascii = labelled(&s2c.out, "cascii-line");
    assert_eq!(cascii.len(), 13 + 15 + 1 + 1);
    for (got, want) in cascii.iter().zip(ID_LINES) {
        assert_eq!(*got, want.as_bytes());
    }
    assert_eq!(cascii[28], br#""*","*","*","STSET","*","*","*","*","0639""#);
    assert_eq!(cascii[29], br#""IN101","IN102","OUT101","52A","0645""#);
    // Raw offsets of ASCII too: the first prompt follows the relay's 6 IAC bytes and CRLF.
    assert_eq!(s2c.out[0], Out::F(8, b"=".to_vec(), "ascii-prompt"));
    assert_eq!(c2s.out[0], Out::F(6, b"ACC".to_vec(), "ascii-line"));
}

/// Feeding each direction's stream one byte at a time, or all at once, gives what the
/// per-segment run gave.
#[test]
fn session_bytewise_and_whole_agree_with_segments() {
    let sink = run_capture();
    for side in sink.sides.values() {
        let mut stream = Vec::new();
        for (off, b) in &side.events {
            assert_eq!(*off, stream.len() as u64);
            stream.extend_from_slice(b);
        }
        let mut st = SelState::default();
        let mut one = Vec::new();
        for (i, b) in stream.iter().enumerate() {
            st.data(i as u64, std::slice::from_ref(b), &mut record(&mut one));
        }
        st.end(&mut record(&mut one));
        assert!(st.confident());
        assert_eq!(one, side.out);
        let mut st = SelState::default();
        let mut all = Vec::new();
        st.data(0, &stream, &mut record(&mut all));
        st.end(&mut record(&mut all));
        assert_eq!(all, side.out);
    }
}

/// Every binary message of the session (both directions, Telnet removed) parses, and
/// `build` of its type and body gives the same bytes (sel.md §1: length byte, then sum8 or
/// CRC-16 as the type requires); a spoilt check is repaired by `fix_checksum`.
#[test]
fn session_messages_rebuild() {
    let sink = run_capture();
    let mut n = 0;
    for side in sink.sides.values() {
        for (off, bytes, label) in binary(&side.out) {
            if label.ends_with("-req") {
                continue;
            }
            let Parsed::Frame(m) = parse_message(&bytes) else {
                panic!("message at {off} does not parse");
            };
            assert_eq!(m.bytes, &bytes[..], "at {off}");
            assert_eq!(build(m.kind(), m.body()).as_ref(), Ok(&bytes), "at {off}");
            let mut bad = bytes.clone();
            *bad.last_mut().unwrap() ^= 0xA5;
            assert!(fix_checksum(&mut bad), "at {off}");
            assert_eq!(bad, bytes, "at {off}");
            n += 1;
        }
    }
    // 6 relay messages and 4 framed client messages (A5E0, A5E3, two A546).
    assert_eq!(n, 10);
}
