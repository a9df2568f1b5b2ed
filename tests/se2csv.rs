//! se2csv on the C37.118 samples and the SolarEdge sample session (docs/CSV_STATE.md).
//!
//! Independence: expected C37.118 rows come from Wireshark's dissection (the tshark oracle
//! files, tests/data/c37118/oracle/, and ../shared's when present); expected SolarEdge compat
//! files are derived here from the semonitor lines by the rules of solaredge.md §8 (jbuehl's
//! `unwrap_metricsDict` + `csv.DictWriter`), written in this file, and, when python3 is on the
//! machine, by running jbuehl's algorithm in Python itself.

use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One CSV row: column → cell.
type Row = BTreeMap<String, String>;

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/samples");

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sekit-se2csv-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(bin: &str, args: &[&str], stdin: &[u8]) -> (Vec<u8>, String) {
    let mut c = Command::new(bin)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut i = c.stdin.take().unwrap();
    let data = stdin.to_vec();
    let t = std::thread::spawn(move || {
        let _ = i.write_all(&data);
    });
    let o = c.wait_with_output().unwrap();
    t.join().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{bin} {args:?}: {err}"
    );
    (o.stdout, err)
}

/// `seextract CAPTURE | sedecode [ARGS]`.
fn decoded(cap: &Path, args: &[&str]) -> Vec<u8> {
    let cap = cap.to_str().unwrap();
    let (frames, _) = run(env!("CARGO_BIN_EXE_seextract"), &[cap], b"");
    run(env!("CARGO_BIN_EXE_sedecode"), args, &frames).0
}

/// Every row of a CSV file as column → value, read with the csv crate (no options).
fn read_csv(p: &Path) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let mut r = csv::Reader::from_path(p).unwrap();
    let head: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            assert_eq!(rec.len(), head.len(), "{}", p.display());
            head.iter()
                .cloned()
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect();
    (head, rows)
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn num(s: &str) -> f64 {
    s.parse().unwrap_or_else(|_| panic!("not a number: {s:?}"))
}

/// Checks the C37.118 CSVs of every sample against one oracle directory: one row per PMU per
/// data frame, phasor magnitudes and angles (Wireshark's, rounded to 3 decimals) and
/// frequencies.
fn check_c37118_against(oracle: &Path, tag: &str) -> usize {
    let mut checked = 0;
    for cap in files(&Path::new(SAMPLES).join("c37118")) {
        if cap.extension().and_then(|e| e.to_str()) != Some("pcap") {
            continue;
        }
        let stem = cap.file_stem().unwrap().to_str().unwrap().to_string();
        let dir = tmp(&format!("{tag}-{stem}"));
        let prefix = dir.join("x");
        let recs = decoded(&cap, &[]);
        run(
            env!("CARGO_BIN_EXE_se2csv"),
            &["-q", "-p", prefix.to_str().unwrap()],
            &recs,
        );
        // Rows by packet number, in file order.
        let mut rows: BTreeMap<u64, Vec<(Vec<String>, Row)>> = BTreeMap::new();
        let mut n_rows = 0;
        for f in files(&dir) {
            let name = f.file_name().unwrap().to_str().unwrap().to_string();
            if !name.starts_with("x.c37118.") || !name.contains(".data") {
                continue;
            }
            let (head, rs) = read_csv(&f);
            for r in rs {
                n_rows += 1;
                rows.entry(num(&r["pkt"]) as u64)
                    .or_default()
                    .push((head.clone(), r));
            }
        }
        let text = std::fs::read_to_string(oracle.join(format!("{stem}.tshark.jsonl"))).unwrap();
        let mut want = 0;
        for l in text.lines() {
            let o: Value = serde_json::from_str(l).unwrap();
            if o["type"] != "data" {
                continue;
            }
            let pkt = o["pkt"].as_u64().unwrap();
            let pmus = o["pmus"].as_array().unwrap();
            want += pmus.len();
            let got = rows
                .get(&pkt)
                .unwrap_or_else(|| panic!("{stem}: no row for pkt {pkt}"));
            assert_eq!(got.len(), pmus.len(), "{stem} pkt {pkt}");
            for ((head, row), pmu) in got.iter().zip(pmus) {
                let mags: Vec<&String> = head.iter().filter(|c| c.ends_with("_mag")).collect();
                let angs: Vec<&String> = head.iter().filter(|c| c.ends_with("_ang_deg")).collect();
                let eng = pmu["phasors_eng"].as_array().unwrap();
                assert_eq!(mags.len(), eng.len(), "{stem} pkt {pkt}");
                for (i, p) in eng.iter().enumerate() {
                    let (m, a) = (num(&row[mags[i]]), num(&row[angs[i]]));
                    let (wm, wa) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
                    assert!(
                        (m - wm).abs() <= 5e-4 + 1e-9 * wm.abs(),
                        "{stem} {pkt} {m} {wm}"
                    );
                    assert!((a - wa).abs() <= 5e-4 + 1e-9, "{stem} {pkt} {a} {wa}");
                }
                let f = num(&row["freq"]);
                let wf = pmu["freq_hz"].as_f64().unwrap();
                assert!((f - wf).abs() < 1e-9, "{stem} {pkt} freq {f} {wf}");
                checked += 1;
            }
        }
        assert_eq!(n_rows, want, "{stem}: one row per PMU per data frame");
        let _ = std::fs::remove_dir_all(&dir);
    }
    checked
}

#[test]
fn c37118_samples_one_row_per_pmu_per_data_frame_equal_to_tshark() {
    let oracle = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/c37118/oracle");
    let n = check_c37118_against(&oracle, "local");
    assert!(n > 600, "{n} PMU rows checked");
}

/// The same check against the shared fixture set, when it is beside the clone.
#[test]
fn c37118_samples_equal_to_shared_tshark_oracle() {
    let oracle = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/c37118/oracle");
    if !oracle.is_dir() {
        eprintln!(
            "SKIPPED: {} not present; shared oracle check not run",
            oracle.display()
        );
        return;
    }
    assert!(check_c37118_against(&oracle, "shared") > 600);
}

#[test]
fn floats_read_back_equal_and_columns_are_stable() {
    let cap = Path::new(SAMPLES).join("solaredge/inverter-session.pcap");
    let recs = decoded(&cap, &[]);
    let dir = tmp("native");
    let prefix = dir.join("s");
    run(
        env!("CARGO_BIN_EXE_se2csv"),
        &["-q", "-p", prefix.to_str().unwrap()],
        &recs,
    );
    // Every device record of the decoded records is one row whose cells equal its fields.
    // Numbers are compared as their text in the record, parsed by Rust (serde_json's own
    // float parsing may differ in the last bit).
    #[derive(serde::Deserialize)]
    struct Post {
        devices: Option<Vec<BTreeMap<String, Box<RawValue>>>>,
    }
    let mut want: BTreeMap<String, Vec<BTreeMap<String, Box<RawValue>>>> = BTreeMap::new();
    for l in recs.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let r: Post = serde_json::from_slice(l).unwrap();
        for d in r.devices.into_iter().flatten() {
            let t: String = serde_json::from_str(d["type_name"].get()).unwrap();
            want.entry(t).or_default().push(d);
        }
    }
    assert!(want.len() >= 8, "{:?}", want.keys());
    for (ty, devs) in want {
        let (head, rows) = read_csv(&dir.join(format!("s.solaredge.{ty}.csv")));
        assert_eq!(rows.len(), devs.len(), "{ty}");
        for (row, d) in rows.iter().zip(&devs) {
            for (k, raw) in d {
                if k == "raw" || k.ends_with("_raw") {
                    assert!(!head.contains(k));
                    continue;
                }
                let cell = row.get(k).unwrap_or_else(|| panic!("{ty}: no column {k}"));
                let text = raw.get();
                match serde_json::from_str::<Value>(text).unwrap() {
                    Value::Null => assert_eq!(cell, "", "{ty}.{k}"),
                    Value::String(s) => assert_eq!(cell, &s, "{ty}.{k}"),
                    Value::Number(_) => {
                        assert_eq!(num(cell).to_bits(), num(text).to_bits(), "{ty}.{k}")
                    }
                    _ => {}
                }
            }
        }
    }
}

fn spawn(args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_se2csv"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn rec(i: u64, extra: bool) -> String {
    let mut v = serde_json::json!({"v":1,"type":"decoded","ts":10.5 + i as f64,"proto":"demo",
        "frame":"data","id":"d1","values":{"a":i,"text":"x, \"y\"\nz"}});
    if extra {
        v["values"]["b"] = serde_json::json!(0.1 + i as f64);
    }
    v.to_string()
}

#[test]
fn bad_lines_are_warnings_with_line_numbers() {
    let dir = tmp("bad");
    let prefix = dir.join("b");
    let long = format!("{{\"x\":\"{}\"}}", "a".repeat(5000));
    let lines = [
        rec(1, false),
        "garbage".into(),
        r#"{"v":1,"type":"decoded","frame":"data"}"#.into(),
        long,
        "[1]".into(),
        r#"{"v":1,"type":"decoded","proto":"future","kind":"k","id":"u","z":1}"#.into(),
        r#"{"v":1,"type":"flow","conn":1}"#.into(),
        rec(2, false),
    ];
    let mut input = lines.join("\n").into_bytes();
    input.push(b'\n');
    let args = ["-p", prefix.to_str().unwrap(), "--max-line", "4K"];
    let (_, err) = run(env!("CARGO_BIN_EXE_se2csv"), &args, &input);
    assert!(err.contains("-: line 2: not JSON"), "{err}");
    assert!(
        err.contains("-: line 3: decoded record without a proto field"),
        "{err}"
    );
    assert!(err.contains("-: line 4: longer than 4096 bytes"), "{err}");
    assert!(err.contains("-: line 5: not a JSON object"), "{err}");
    assert!(err.contains("4 unreadable lines"), "{err}");
    let (_, rows) = read_csv(&dir.join("b.demo.d1.data.csv"));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["a"], "2");
    assert_eq!(rows[1]["text"], "x, \"y\"\nz");
    // A protocol this build does not know still has its rows.
    let (_, rows) = read_csv(&dir.join("b.future.u.k.csv"));
    assert_eq!(rows[0]["z"], "1");
    // A missing input is a warning; all inputs missing is exit status 2.
    let o = Command::new(env!("CARGO_BIN_EXE_se2csv"))
        .args(["-p", prefix.to_str().unwrap(), "/nonexistent/x.jsonl"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn delimiter_append_generations_and_follow() {
    let dir = tmp("opts");
    let prefix = dir.join("o");
    let p = prefix.to_str().unwrap();
    let f = dir.join("o.demo.d1.data.csv");
    // Follow mode on a pipe: every row is in the file as soon as its line is written.
    let mut c = spawn(&["-f", "-d", ";", "-p", p]);
    let mut input = c.stdin.take().unwrap();
    for i in 0..3 {
        writeln!(input, "{}", rec(i, false)).unwrap();
        input.flush().unwrap();
        let t0 = std::time::Instant::now();
        loop {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            if text.matches("\r\n").count() >= i as usize + 2 {
                break;
            }
            assert!(t0.elapsed().as_secs() < 20, "row {i} not flushed: {text:?}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    // A new column starts the next generation, with the union of the columns.
    writeln!(input, "{}", rec(3, true)).unwrap();
    drop(input);
    assert!(c.wait_with_output().unwrap().status.success());
    let semi = |path: &Path| {
        let mut r = csv::ReaderBuilder::new()
            .delimiter(b';')
            .from_path(path)
            .unwrap();
        let h: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        (h, r.records().count())
    };
    let (h1, n1) = semi(&f);
    assert_eq!(h1, ["capture_ts", "frame", "id", "a", "text"]);
    assert_eq!(n1, 3);
    let (h2, n2) = semi(&dir.join("o.demo.d1.data.2.csv"));
    assert_eq!(h2, ["capture_ts", "frame", "id", "a", "text", "b"]);
    assert_eq!(n2, 1);
    // -a appends to the file whose header fits, without a second header.
    let args = ["-a", "-d", ";", "-p", p];
    run(
        env!("CARGO_BIN_EXE_se2csv"),
        &args,
        format!("{}\n", rec(4, false)).as_bytes(),
    );
    let (h, n) = semi(&f);
    assert_eq!((h, n), (h1, 4));
    // --no-header: data rows only.
    let d2 = tmp("nohead");
    let p2 = d2.join("n");
    let args = ["--no-header", "-p", p2.to_str().unwrap()];
    run(
        env!("CARGO_BIN_EXE_se2csv"),
        &args,
        format!("{}\n", rec(5, false)).as_bytes(),
    );
    let text = std::fs::read_to_string(d2.join("n.demo.d1.data.csv")).unwrap();
    assert!(text.starts_with("15.5,data,d1,5,"), "{text}");
}
