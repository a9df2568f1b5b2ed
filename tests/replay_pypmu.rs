//! Interop with an independent C37.118 implementation: pypmu's `Pdc` (PyPI package
//! `synchrophasor`, installed here into a venv under the target directory) connects to
//! `sereplay serve`, asks for the header and CFG-2, turns data on and reads 1,000 data frames
//! (the sample's 252, looped); what it decoded must equal sedecode's records of the capture.
//! pypmu 1.0.0-alpha needs `collections.Sequence`, gone since Python 3.10: the driver
//! (tests/data/replay/pypmu_pdc.py) puts it back before importing.
//!
//! Skipped, loudly, only when the venv cannot be made or the package cannot be installed
//! (no network to the Python registry).

mod replay_common;

use replay_common::*;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

const TCP: &str = "samples/c37118/C37.118_1PMU_TCP.pcap";
const N: usize = 1000;

fn venv() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pypmu-venv");
    let py = dir.join("bin/python");
    let ok = |c: &mut Command| c.status().map(|s| s.success()).unwrap_or(false);
    if !py.exists() && !ok(Command::new("python3").args(["-m", "venv"]).arg(&dir)) {
        return None;
    }
    let have = ok(Command::new(&py).args(["-c", "import synchrophasor"]));
    if !have
        && !ok(Command::new(&py).args(["-m", "pip", "install", "-q", "synchrophasor==1.0.0a0"]))
        && !ok(Command::new(&py).args(["-m", "pip", "install", "-q", "synchrophasor"]))
    {
        return None;
    }
    Some(py)
}

#[test]
fn pypmu_pdc_reads_what_sedecode_reads() {
    let Some(py) = venv() else {
        eprintln!("\n\n*** SKIPPED replay_pypmu: could not create a venv with pypmu (pip install synchrophasor failed) ***\n\n");
        return;
    };
    let server = Server::start(&[
        &sample(TCP),
        "--loop",
        "0",
        "--rate",
        "100",
        "--exit-after",
        "1",
    ]);
    let out = tmp("pypmu.json");
    let status = Command::new(&py)
        .arg(sample("tests/data/replay/pypmu_pdc.py"))
        .args(["127.0.0.1", &server.addr.port().to_string(), &N.to_string()])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "pypmu PDC failed");
    let log = server.wait();
    let got: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let data = got["data"].as_array().unwrap();
    assert_eq!(data.len(), N, "{log}");

    let recs = decode(&sample(TCP));
    let s2c = of(&recs, "decoded", "s2c");
    let cfg = s2c.iter().find(|r| r["frame"] == "cfg2").unwrap();
    let want: Vec<&&Value> = s2c.iter().filter(|r| r["frame"] == "data").collect();
    assert_eq!(want.len(), 252);
    assert_eq!(got["cfg2"]["idcode"], cfg["idcode"]);
    assert_eq!(got["cfg2"]["time_base"], cfg["time_base"]);
    // Frames are compared in order from the one pypmu received first: where in the looped
    // sample the data starts depends on when pypmu's start command arrives, not on sereplay.
    let key = |v: &Value| {
        (
            v["soc"].as_u64(),
            v["fracsec"].as_u64().map(|c| c & 0x7f_ffff),
        )
    };
    let first = (data[0]["soc"].as_u64(), data[0]["count"].as_u64());
    let start = want
        .iter()
        .position(|w| key(w) == first)
        .unwrap_or_else(|| panic!("pypmu's first frame {first:?} is not in the capture"));
    for (i, d) in data.iter().enumerate() {
        let w = want[(start + i) % want.len()];
        assert_eq!(d["soc"], w["soc"], "frame {i}");
        // pypmu reads the FRACSEC count without its bit 23 (0x800000 comes back as 0): its
        // own decoding, compared as it is.
        let count = w["fracsec"].as_u64().unwrap() & 0x7f_ffff;
        assert_eq!(d["count"].as_u64(), Some(count), "frame {i}");
        let m = &d["measurements"][0];
        let pmu = &w["pmus"][0];
        assert_eq!(m["stat"], "ok");
        assert_eq!(pmu["data_error"], "ok");
        let (ph, wph) = (
            m["phasors"].as_array().unwrap(),
            pmu["phasors"].as_array().unwrap(),
        );
        assert_eq!(ph.len(), wph.len());
        for (p, q) in ph.iter().zip(wph) {
            let (mag, ang) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
            let (wm, wa) = (q["mag"].as_f64().unwrap(), q["ang_deg"].as_f64().unwrap());
            assert!(
                (mag - wm).abs() <= 1e-6 * wm.abs().max(1.0),
                "frame {i}: {mag} vs {wm}"
            );
            assert!(
                (ang.to_degrees() - wa).abs() < 1e-6,
                "frame {i}: {ang} rad vs {wa}°"
            );
        }
        let f = m["frequency"].as_f64().unwrap();
        assert!(
            (f - pmu["freq"].as_f64().unwrap()).abs() < 1e-9,
            "frame {i}"
        );
    }
}
