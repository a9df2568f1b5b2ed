//! `se2csv --semonitor-compat` writes the files jbuehl's `se2csv.py` writes for the same
//! semonitor lines (solaredge.md §8), on the sample SolarEdge session (every device type,
//! plain and encrypted, samples/solaredge/) and on real semonitor output (jbuehl issue #14,
//! tests/data/solaredge/).
//!
//! Independence: the expected files are derived here from the semonitor lines by §8's rules
//! (`unwrap_metricsDict`: the walk to each dict holding "Date", names cleaned, rows in sorted
//! name order, one file per device name, columns `__Identifier__` + the sorted keys of the
//! first row, missing keys empty; `csv.DictWriter`: minimal quoting, CRLF; values as Python's
//! `str` of what `json.loads` made, i.e. the number text semonitor printed). When python3 is
//! present, jbuehl's algorithm also runs in Python itself (with `extrasaction="ignore"` where
//! his script stops with ValueError) and its files must be byte for byte ours.

use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sekit-se2csvc-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(bin: &str, args: &[&str], stdin: &[u8]) -> Vec<u8> {
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
    assert!(
        o.status.success(),
        "{bin}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

fn nice(k: &str) -> String {
    k.replace('\0', "").replace(' ', "_").replace("devices", "")
}

type Obj = BTreeMap<String, Box<RawValue>>;

fn obj(r: &RawValue) -> Option<Obj> {
    r.get()
        .starts_with('{')
        .then(|| serde_json::from_str(r.get()).unwrap())
}

/// `unwrap_metricsDict`.
fn unwrap(d: &Obj) -> Vec<(String, Obj)> {
    let mut out = Vec::new();
    for (k, v) in d {
        let Some(v) = obj(v) else { continue };
        if v.contains_key("Date") {
            out.push((nice(k), v));
            continue;
        }
        for (k2, v2) in unwrap(&v) {
            let name = if nice(&k2).is_empty() {
                nice(k)
            } else if nice(k).is_empty() {
                nice(&k2)
            } else {
                format!("{}.{}", nice(k), nice(&k2))
            };
            out.push((name, v2));
        }
    }
    out
}

/// Python's `str()` of `json.loads(text)` for a scalar, "" for None.
fn py_str(text: &str) -> String {
    match text {
        "null" => String::new(),
        "true" => "True".into(),
        "false" => "False".into(),
        t if t.starts_with('"') => serde_json::from_str(t).unwrap(),
        t => t.to_string(),
    }
}

/// One field as `csv.writer` (QUOTE_MINIMAL) writes it.
fn quote(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The files jbuehl's se2csv.py writes for `lines` (with -t when `header`).
fn expected(lines: &str, header: bool) -> BTreeMap<String, String> {
    let mut cols: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    for l in lines.lines().filter(|l| !l.trim().is_empty()) {
        let top: Obj = serde_json::from_str(l).unwrap();
        let mut devs = unwrap(&top);
        devs.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, attrs) in devs {
            let (dev, id) = name.split_once('.').unwrap();
            let c = cols.entry(dev.to_string()).or_insert_with(|| {
                let mut c = vec!["__Identifier__".to_string()];
                c.extend(attrs.keys().cloned());
                if header {
                    let f = files.entry(dev.to_string()).or_default();
                    f.push_str(&c.iter().map(|x| quote(x)).collect::<Vec<_>>().join(","));
                    f.push_str("\r\n");
                }
                c
            });
            let cells: Vec<String> = c
                .iter()
                .map(|k| match (k.as_str(), attrs.get(k)) {
                    ("__Identifier__", _) => quote(id),
                    (_, Some(v)) => quote(&py_str(v.get())),
                    (_, None) => String::new(),
                })
                .collect();
            let f = files.entry(dev.to_string()).or_default();
            f.push_str(&cells.join(","));
            f.push_str("\r\n");
        }
    }
    files
}

fn written(dir: &Path, prefix: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let n = p.file_name().unwrap().to_str().unwrap().to_string();
        let dev = n
            .strip_prefix(&format!("{prefix}."))
            .and_then(|r| r.strip_suffix(".csv"));
        if let Some(dev) = dev {
            m.insert(dev.to_string(), std::fs::read_to_string(&p).unwrap());
        }
    }
    m
}

/// jbuehl's se2csv.py algorithm, in Python (extrasaction="ignore" where it raises).
const JBUEHL_PY: &str = r#"
import csv, json, sys
def nice(k):
    return str(k).replace("\x00", '').replace(" ", "_").replace("devices", "")
def unwrap_metricsDict(mydict):
    for k, v in mydict.items():
        if "Date" in v.keys():
            yield nice(k), v
        else:
            for k2, v2 in unwrap_metricsDict(v):
                if len(nice(k2)) == 0:
                    yield nice(k), v2
                elif len(nice(k)) == 0:
                    yield nice(k2), v2
                else:
                    yield "{}.{}".format(nice(k), nice(k2)), v2
prefix, headers = sys.argv[1], sys.argv[2] == "1"
devsFile = {}
for jsonStr in sys.stdin:
    for baseName, devAttrs in sorted(unwrap_metricsDict(json.loads(jsonStr)), key=lambda t: t[0]):
        devName, devId = baseName.split(".", 1)
        if devName not in devsFile:
            itemNames = ["__Identifier__"] + sorted(devAttrs.keys())
            devsFile[devName] = csv.DictWriter(open('{}.{}.csv'.format(prefix, devName), "w"), itemNames, extrasaction="ignore")
            if headers:
                devsFile[devName].writeheader()
        devAttrs["__Identifier__"] = devId
        devsFile[devName].writerow(devAttrs)
"#;

fn check(lines: &[u8], tag: &str) {
    for header in [false, true] {
        let dir = tmp(&format!("{tag}-{header}"));
        let prefix = dir.join("jb");
        let mut args = vec!["-q", "--semonitor-compat", "-p", prefix.to_str().unwrap()];
        if header {
            args.push("-t");
        }
        run(env!("CARGO_BIN_EXE_se2csv"), &args, lines);
        let want = expected(std::str::from_utf8(lines).unwrap(), header);
        assert!(!want.is_empty());
        assert_eq!(written(&dir, "jb"), want, "{tag} header={header}");
        let py = Command::new("python3")
            .args(["-c", JBUEHL_PY, dir.join("py").to_str().unwrap()])
            .arg(if header { "1" } else { "0" })
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn();
        match py {
            Ok(mut c) => {
                c.stdin.take().unwrap().write_all(lines).unwrap();
                assert!(c.wait().unwrap().success());
                assert_eq!(written(&dir, "py"), want, "{tag}: Python's files");
            }
            Err(_) => eprintln!("SKIPPED: no python3; jbuehl's algorithm not run in Python"),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn sample_session_semonitor_lines_give_jbuehls_files() {
    let cap = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/samples/solaredge/inverter-session.pcap"
    );
    let frames = run(env!("CARGO_BIN_EXE_seextract"), &[cap], b"");
    let lines = run(env!("CARGO_BIN_EXE_sedecode"), &["--semonitor"], &frames);
    assert_eq!(lines.iter().filter(|&&b| b == b'\n').count(), 2);
    check(&lines, "session");
    // Frame records are turned into semonitor lines by se2csv itself: the same files.
    let dir = tmp("frames");
    let prefix = dir.join("jb");
    let args = ["-q", "--semonitor-compat", "-p", prefix.to_str().unwrap()];
    let mut c = Command::new(env!("CARGO_BIN_EXE_se2csv"));
    let o = c
        .args(args)
        .env("TZ", "UTC")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    o.stdin.as_ref().unwrap().write_all(&frames).unwrap();
    assert!(o.wait_with_output().unwrap().status.success());
    let mut c = Command::new(env!("CARGO_BIN_EXE_sedecode"));
    let s = c
        .arg("--semonitor")
        .env("TZ", "UTC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut s = s.spawn().unwrap();
    s.stdin.take().unwrap().write_all(&frames).unwrap();
    let utc_lines = s.wait_with_output().unwrap().stdout;
    assert_eq!(
        written(&dir, "jb"),
        expected(std::str::from_utf8(&utc_lines).unwrap(), false)
    );
}

#[test]
fn real_semonitor_output_gives_jbuehls_files() {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/solaredge/jbuehl-issue14-semonitor-output.json"
    );
    let lines = std::fs::read(p).unwrap();
    check(&lines, "issue14");
    // Quoting, a delimiter inside a value, a nested id with a space, null and true.
    let extra = br#"{"inverters": {"A,1": {"Date": "d", "Note": "say \"hi\"", "V": 1e-05}}, "meters_0x0022": {"74": {"9_PV Production": {"Date": "d", "P": null, "On": true}}}, "events": {}}
"#;
    check(extra, "quoting");
}
