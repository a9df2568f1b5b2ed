//! The pure parsers on truncated and forged payloads, and records of input that is no frame.

use super::*;
use crate::protocols::c37118::testdata::*;

/// The pure parsers never panic on any prefix of any payload, and report truncation on every
/// strict prefix of a valid payload.
#[test]
fn parsers_on_every_prefix() {
    let cfg = parse_config12(&annex_d2()[14..452]).unwrap().0;
    for f in &all_frames() {
        for n in 0..=f.len() {
            let body = f.get(14..n).unwrap_or(&[]);
            let _ = Header::parse(&f[..n]);
            let _ = open(&f[..n]);
            let _ = parse_command(body);
            let _ = header_text(body);
            let _ = parse_config12(body);
            let _ = parse_config3(body);
            let _ = decode_data(body, &cfg);
        }
    }
    let d2 = annex_d2();
    let p = &d2[14..d2.len() - 2];
    for n in 0..p.len() {
        assert!(parse_config12(&p[..n]).is_err(), "cfg prefix {n}");
    }
    let c3 = cfg3_whole();
    let p3 = &c3[14..c3.len() - 2];
    for n in 0..p3.len() {
        assert!(parse_config3(&p3[..n]).is_err(), "cfg3 prefix {n}");
    }
    let d1 = unhex(ANNEX_D1);
    let pd = &d1[14..50];
    for n in 0..pd.len() {
        assert!(decode_data(&pd[..n], &cfg).is_err(), "data prefix {n}");
    }
    assert!(parse_command(&[0]).is_err());
}

/// Forged counts never allocate beyond the frame: NUM_PMU 65535 and PHNMR 65535 in a
/// tiny frame fail cleanly.
#[test]
fn forged_counts() {
    assert!(parse_config12(&forged_cfg12()).is_err());
    let mut q = vec![0, 0, 0, 0x0f, 0x42, 0x40, 0xff, 0xff, 1, b'X', 0, 1];
    q.extend([0u8; 16]);
    q.extend([0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    assert!(parse_config3(&q).is_err());
}

/// Input that is no frame keeps today's records: short input is "malformed" with its bytes;
/// a wrong first SYNC byte names the frame "malformed"; FRAMESIZE below 16 or beyond the
/// input leaves CHK unknown; bytes after FRAMESIZE are ignored.
#[test]
fn records_of_non_frames() {
    let r = malformed(&[0xAA, 0x01]);
    assert_eq!((r.frame, r.chk_ok), ("malformed", false));
    assert_eq!(
        r.anomalies,
        ["2 bytes: shorter than the 16-byte minimum frame"]
    );
    assert_eq!(
        serde_json::to_value(&r).unwrap()["payload"],
        serde_json::json!("aa01")
    );
    assert!(open(&[0xAA; 15]).is_none());
    let d3 = unhex(ANNEX_D3);
    let mut bad = d3.clone();
    bad[0] = 0xAB;
    let fr = open(&bad).unwrap();
    assert_eq!(fr.name, "malformed");
    assert_eq!(fr.anomalies[0], "first SYNC byte 0xab, not 0xAA");
    assert!(fr.raw_body().is_some());
    let mut small = d3.clone();
    small[3] = 3;
    let fr = open(&small).unwrap();
    assert!(fr.frame.is_none());
    assert_eq!(fr.anomalies, ["FRAMESIZE 3 below 16"]);
    let fr = open(&d3[..17]).unwrap();
    assert_eq!(fr.anomalies, ["truncated: FRAMESIZE 18, 17 bytes present"]);
    assert_eq!(fr.payload, &d3[14..17]);
    let r = fr.finish(Body::raw(&d3[14..17]), None);
    assert_eq!((r.chk, r.chk_calc, r.chk_ok), (None, None, false));
    let mut long = d3.clone();
    long.push(0);
    let fr = open(&long).unwrap();
    assert_eq!(fr.anomalies, ["1 bytes after FRAMESIZE 18 ignored"]);
    assert_eq!(fr.payload, [0, 2]);
    assert!(fr.chk_ok() && fr.raw_body().is_none());
}
