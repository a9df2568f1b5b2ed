//! Every registered protocol reaches every place derived from the registry: both binaries'
//! `--proto` values, the detector's candidates, the decoder table, the fuzz harness and the
//! protocol docs. A protocol added to `protocols::registry::PROTOCOLS` needs no other list.

use sekit::pipeline::decode::DecodeStage;
use sekit::protocols::extract::ExtractConfig;
use sekit::protocols::registry::{self, PROTOCOLS};
use sekit::protocols::DecodeConfig;
use std::process::Command;

fn names() -> Vec<&'static str> {
    PROTOCOLS.iter().map(|p| p.name()).collect()
}

/// The values clap lists for `--proto` in a binary's `--help`.
fn proto_values(bin: &str) -> Vec<String> {
    let out = Command::new(bin).arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let at = help.find("--proto").expect("--proto in --help");
    let rest = &help[at..];
    let start = rest
        .find("[possible values: ")
        .expect("possible values listed")
        + 18;
    let end = start + rest[start..].find(']').unwrap();
    rest[start..end].split(", ").map(str::to_string).collect()
}

#[test]
fn proto_option_lists_every_protocol() {
    for bin in [
        env!("CARGO_BIN_EXE_seextract"),
        env!("CARGO_BIN_EXE_sedecode"),
    ] {
        assert_eq!(proto_values(bin), names(), "{bin}");
    }
    assert_eq!(registry::names(), names());
}

#[test]
fn detector_probes_every_protocol() {
    assert_eq!(ExtractConfig::default().candidates, PROTOCOLS.to_vec());
}

#[test]
fn decoder_table_follows_the_descriptors() {
    let mut stage = DecodeStage::new(&DecodeConfig::default()).unwrap();
    let mut decoding = 0;
    for &p in PROTOCOLS {
        assert_eq!(stage.decoder(p).is_some(), p.decodes(), "{p}");
        decoding += usize::from(p.decodes());
        assert_eq!(registry::find(p.name()), Some(p));
    }
    assert!(decoding >= 2, "C37.118 and SolarEdge decode");
}

#[test]
fn fuzz_harness_and_docs_take_the_registry() {
    let root = env!("CARGO_MANIFEST_DIR");
    let target = std::fs::read_to_string(format!("{root}/fuzz/fuzz_targets/protocols.rs")).unwrap();
    assert!(
        target.contains("registry::PROTOCOLS"),
        "the harness iterates the registry"
    );
    for n in names() {
        assert!(
            !target.contains(&format!("{n}::")),
            "the harness names no protocol ({n})"
        );
    }
    let manifest = std::fs::read_to_string(format!("{root}/fuzz/Cargo.toml")).unwrap();
    assert!(manifest.contains("fuzz_targets/protocols.rs"));
    // The docs' protocol table lists the registry, in its order, with each protocol's title.
    let docs = std::fs::read_to_string(format!("{root}/docs/PROTOCOLS.md")).unwrap();
    let rows: Vec<(String, String)> = docs
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((name.to_string(), cells.get(2)?.to_string()))
        })
        .collect();
    let expected: Vec<(String, String)> = PROTOCOLS
        .iter()
        .map(|p| (p.name().to_string(), p.0.title.to_string()))
        .collect();
    assert_eq!(rows, expected, "docs/PROTOCOLS.md protocol table");
}

/// What the fuzz harness runs, on every protocol: real frames are found and decoded whatever
/// the chunking, and random bytes never panic.
#[test]
fn every_protocol_survives_the_harness() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for &p in PROTOCOLS {
        for round in 0..200 {
            let len = (rnd() % 3000) as usize;
            let stream: Vec<u8> = (0..len).map(|_| rnd() as u8).collect();
            let cuts: Vec<u8> = (0..1 + round % 7).map(|_| rnd() as u8).collect();
            registry::exercise(p, &cuts, &stream);
        }
    }
    // Frames of each protocol from its samples, raw (as seextract --raw writes them).
    for (p, input) in [
        ("c37118", "samples/c37118"),
        ("solaredge", "samples/solaredge"),
        ("sel", "tests/data/sel"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_seextract"))
            .args(["-q", "--raw", "--proto", p, &format!("{root}/{input}")])
            .output()
            .unwrap();
        let p = registry::find(p).unwrap();
        let whole = registry::exercise(p, &[], &out.stdout);
        assert!(whole > 10, "{p}: {whole} frames");
        for cuts in [&[1u8][..], &[7, 0, 200], &[255]] {
            let n = registry::exercise(p, cuts, &out.stdout);
            assert!(n > 0, "{p} cut {cuts:?}");
        }
    }
}
