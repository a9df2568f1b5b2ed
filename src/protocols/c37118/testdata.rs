//! Frames and payloads shared by the C37.118 unit tests: the Annex D examples of
//! c37118.md §10 and hand-built CFG-1/2/3 and data frames.

use super::frame::{build, Header};

/// Builds a frame: SYNC 0xAA + `tv`, FRAMESIZE, IDCODE, SOC, FRACSEC (TQ in the top
/// byte), payload, CHK (c37118.md §1).
pub(crate) fn frame(tv: u8, idcode: u16, soc: u32, fracsec: u32, payload: &[u8]) -> Vec<u8> {
    let h = Header {
        sync: 0xAA00 | u16::from(tv),
        framesize: 0,
        idcode,
        soc,
        fracsec,
    };
    build(&h, payload).expect("test payload fits")
}

pub(crate) use crate::protocols::test_hex as unhex;

pub(crate) fn name16b(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.resize(16, b' ');
    v
}

pub(crate) fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[track_caller]
pub(crate) fn assert_close(a: Option<f64>, b: f64, tol: f64) {
    let a = a.expect("value present");
    assert!(close(a, b, tol), "{a} vs {b} (tol {tol})");
}

/// A CFG-1/2 payload for one PMU block list.
pub(crate) struct Pmu12<'a> {
    pub(crate) stn: &'a str,
    pub(crate) idcode: u16,
    pub(crate) format: u16,
    pub(crate) phnam: &'a [&'a str],
    pub(crate) annam: &'a [&'a str],
    pub(crate) dgnam: &'a [&'a str],
    pub(crate) phunit: &'a [u32],
    pub(crate) anunit: &'a [u32],
    pub(crate) digunit: &'a [[u16; 2]],
    pub(crate) fnom: u16,
    pub(crate) cfgcnt: u16,
}

pub(crate) fn cfg12_payload(time_base: u32, pmus: &[Pmu12<'_>], data_rate: i16) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend(time_base.to_be_bytes());
    p.extend((pmus.len() as u16).to_be_bytes());
    for m in pmus {
        p.extend(name16b(m.stn));
        p.extend(m.idcode.to_be_bytes());
        p.extend(m.format.to_be_bytes());
        p.extend((m.phnam.len() as u16).to_be_bytes());
        p.extend((m.annam.len() as u16).to_be_bytes());
        p.extend((m.digunit.len() as u16).to_be_bytes());
        for n in m.phnam.iter().chain(m.annam).chain(m.dgnam) {
            p.extend(name16b(n));
        }
        for u in m.phunit.iter().chain(m.anunit) {
            p.extend(u.to_be_bytes());
        }
        for d in m.digunit {
            p.extend(d[0].to_be_bytes());
            p.extend(d[1].to_be_bytes());
        }
        p.extend(m.fnom.to_be_bytes());
        p.extend(m.cfgcnt.to_be_bytes());
    }
    p.extend(data_rate.to_be_bytes());
    p
}

/// Annex D.1 data frame, as printed in c37118.md §10.
pub(crate) const ANNEX_D1: &str =
    "AA01 0034 1E36 44853600 000041B1 0000 392B 0000 E36A CE7C E36A 3183 \
                        0444 0000 09C4 0000 42C80000 447A0000 461C4000 3C12 D43F";
/// Annex D.3 command frame, as printed in c37118.md §10.
pub(crate) const ANNEX_D3: &str = "AA41 0012 1E36 44856030 0F0BBFD0 0002 CE00";

/// The Annex D.2 configuration, built from the values stated in c37118.md §10/§2/§3:
/// IDCODE 7734 (0x1E36), SOC 0x44853600, FRACSEC 0x56071098, TIME_BASE 1 000 000,
/// FORMAT 0x0004 (rectangular, integer phasors, float analogs, integer FREQ), three
/// voltage phasors with PHUNIT 0x000DF847 and one current with 0x0100B2D0, three analogs,
/// one digital word. Names, ANUNIT, DIGUNIT, FNOM (60 Hz), CFGCNT and DATA_RATE are not
/// given there and are chosen here; none of them changes the D.1 values except FNOM.
pub(crate) fn annex_d2() -> Vec<u8> {
    let dg: Vec<String> = (0..16).map(|i| format!("BREAKER {i} STATUS")).collect();
    let dg: Vec<&str> = dg.iter().map(String::as_str).collect();
    let payload = cfg12_payload(
        1_000_000,
        &[Pmu12 {
            stn: "Station A",
            idcode: 7734,
            format: 0x0004,
            phnam: &["VA", "VB", "VC", "I1"],
            annam: &["ANALOG1", "ANALOG2", "ANALOG3"],
            dgnam: &dg,
            phunit: &[0x000D_F847, 0x000D_F847, 0x000D_F847, 0x0100_B2D0],
            anunit: &[0x0000_0001, 0x0100_0001, 0x0200_0001],
            digunit: &[[0x0000, 0xFFFF]],
            fnom: 0,
            cfgcnt: 22,
        }],
        30,
    );
    frame(0x31, 7734, 0x4485_3600, 0x5607_1098, &payload)
}

/// A CFG-3 payload (from CONT_IDX on) with two PMUs, polar float phasors:
/// PMU "Alpha" id 11: FORMAT 0x000B (polar, float phasors, int analogs, float FREQ),
///   2 phasors VA (PHSCALE type 0x04: voltage, phase A), IA (type 0x0C: current, phase A),
///   1 analog "AN1" with ANSCALE M 0.5 B 10, no digitals, lat 46.5 lon 6.6 elev +inf,
///   svc 'M', window 40000, grp_dly −100, 50 Hz, CFGCNT 3;
/// PMU "Beta" id 12: FORMAT 0x0000 (rect int), 1 phasor "VB" with PHSCALE Y 2.0,
///   θ 0.5 rad, 0 analogs, 1 digital word, lat −inf, 60 Hz, CFGCNT 4.
/// TIME_BASE 1 000 000, DATA_RATE −5 (one frame every 5 s).
pub(crate) fn cfg3_payload(cont_idx: u16) -> Vec<u8> {
    let name = |s: &str| {
        let mut v = vec![s.len() as u8];
        v.extend(s.as_bytes());
        v
    };
    let mut p = Vec::new();
    p.extend(cont_idx.to_be_bytes());
    p.extend(1_000_000u32.to_be_bytes());
    p.extend(2u16.to_be_bytes());
    // PMU 1
    p.extend(name("Alpha"));
    p.extend(11u16.to_be_bytes());
    p.extend((0u8..16).collect::<Vec<_>>());
    p.extend([0, 0x0B, 0, 2, 0, 1, 0, 0]);
    for n in ["VA", "IA", "AN1"] {
        p.extend(name(n));
    }
    // PHSCALE VA: flags 0x0100 (phase cal), type 0x04 (V, phase A), user 0, Y 1, θ 0.
    p.extend([0x01, 0x00, 0x04, 0x00]);
    p.extend(1f32.to_be_bytes());
    p.extend(0f32.to_be_bytes());
    // PHSCALE IA: flags 0, type 0x0C (I, phase A), user 7, Y 1, θ 0.
    p.extend([0, 0, 0x0C, 7]);
    p.extend(1f32.to_be_bytes());
    p.extend(0f32.to_be_bytes());
    // ANSCALE AN1: M 0.5, B 10.
    p.extend(0.5f32.to_be_bytes());
    p.extend(10f32.to_be_bytes());
    p.extend(46.5f32.to_be_bytes());
    p.extend(6.6f32.to_be_bytes());
    p.extend(f32::INFINITY.to_be_bytes());
    p.push(b'M');
    p.extend(40_000i32.to_be_bytes());
    p.extend((-100i32).to_be_bytes());
    p.extend(1u16.to_be_bytes()); // FNOM: 50 Hz
    p.extend(3u16.to_be_bytes());
    // PMU 2
    p.extend(name("Beta"));
    p.extend(12u16.to_be_bytes());
    p.extend([0xEE; 16]);
    p.extend([0, 0, 0, 1, 0, 0, 0, 1]);
    p.extend(name("VB"));
    for i in 0..16 {
        p.extend(name(&format!("D{i}")));
    }
    p.extend([0, 0, 0x05, 0]);
    p.extend(2f32.to_be_bytes());
    p.extend(0.5f32.to_be_bytes());
    p.extend([0x00, 0x0F, 0xFF, 0xFF]); // DIGUNIT
    p.extend(f32::NEG_INFINITY.to_be_bytes());
    p.extend(0f32.to_be_bytes());
    p.extend(12.0f32.to_be_bytes());
    p.push(b'P');
    p.extend(0i32.to_be_bytes());
    p.extend(0i32.to_be_bytes());
    p.extend(0u16.to_be_bytes()); // FNOM: 60 Hz
    p.extend(4u16.to_be_bytes());
    p.extend((-5i16).to_be_bytes());
    p
}

pub(crate) fn cfg3_whole() -> Vec<u8> {
    frame(0x52, 77, 1_700_000_000, 250_000, &cfg3_payload(0))
}

/// The same CFG-3 split into 3 fragments (CONT_IDX 1, 2, 0xFFFF), each with its own
/// header and CHK; the body after CONT_IDX is cut at two arbitrary points.
pub(crate) fn cfg3_fragments() -> Vec<Vec<u8>> {
    let body = cfg3_payload(0)[2..].to_vec();
    let (a, rest) = body.split_at(37);
    let (b, c) = rest.split_at(50);
    [(1u16, a), (2, b), (0xFFFF, c)]
        .iter()
        .map(|(ci, part)| {
            let mut p = ci.to_be_bytes().to_vec();
            p.extend(*part);
            frame(0x52, 77, 1_700_000_000, 250_000, &p)
        })
        .collect()
}

/// The data frame for the CFG-3 above: PMU Alpha: STAT 0x8000 (bits 15–14 = 10: test
/// mode), VA polar float (230.0, −π/6), IA polar float
/// (NaN, 0) absent, 1 int analog 100, FREQ 50.01 f32, DFREQ −0.25 f32; PMU Beta: STAT
/// 0x2031, VB rect int (3, 4), DIGITAL 0xA5A5.
pub(crate) fn cfg3_data() -> Vec<u8> {
    let mut p = Vec::new();
    p.extend(0x8000u16.to_be_bytes());
    p.extend(230f32.to_be_bytes());
    p.extend((-std::f32::consts::FRAC_PI_6).to_be_bytes());
    p.extend(f32::NAN.to_be_bytes());
    p.extend(0f32.to_be_bytes());
    p.extend(50.01f32.to_be_bytes());
    p.extend((-0.25f32).to_be_bytes());
    p.extend(100i16.to_be_bytes());
    p.extend(0x2031u16.to_be_bytes());
    p.extend(3i16.to_be_bytes());
    p.extend(4i16.to_be_bytes());
    p.extend(0i16.to_be_bytes());
    p.extend(0i16.to_be_bytes());
    p.extend(0xA5A5u16.to_be_bytes());
    frame(0x01, 77, 1_700_000_001, 500_000, &p)
}

pub(crate) fn cfg2_rect_int(idcode: u16, phasors: usize, cfgcnt: u16) -> Vec<u8> {
    let names: Vec<String> = (0..phasors).map(|i| format!("P{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let units = vec![100_000u32; phasors]; // 1.0 V per count
    frame(
        0x31,
        idcode,
        1000,
        0,
        &cfg12_payload(
            1000,
            &[Pmu12 {
                stn: "S",
                idcode,
                format: 0,
                phnam: &names,
                annam: &[],
                dgnam: &[],
                phunit: &units,
                anunit: &[],
                digunit: &[],
                fnom: 1,
                cfgcnt,
            }],
            10,
        ),
    )
}

pub(crate) fn data_rect_int(idcode: u16, phasors: &[(i16, i16)], freq: i16) -> Vec<u8> {
    let mut p = vec![0, 0];
    for (a, b) in phasors {
        p.extend(a.to_be_bytes());
        p.extend(b.to_be_bytes());
    }
    p.extend(freq.to_be_bytes());
    p.extend(0i16.to_be_bytes());
    frame(0x01, idcode, 1001, 500, &p)
}

/// One frame of each kind, whole and (the CFG-3 fragments) concatenated.
pub(crate) fn all_frames() -> [Vec<u8>; 6] {
    [
        unhex(ANNEX_D1),
        unhex(ANNEX_D3),
        annex_d2(),
        frame(0x11, 1, 0, 0, b"text"),
        cfg3_fragments().concat(),
        cfg3_whole(),
    ]
}

/// A CFG-1/2 payload with NUM_PMU 65535 and PHNMR 65535 in a few bytes.
pub(crate) fn forged_cfg12() -> Vec<u8> {
    let mut p = vec![0, 0x0f, 0x42, 0x40, 0xff, 0xff];
    p.extend(name16b("X"));
    p.extend([0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    p
}
