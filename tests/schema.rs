//! Every record the tools write on the samples and test captures validates against the
//! published JSON Schema of its kind (docs/schema/*.json, format version 2), and a file mixing
//! every protocol has one JSON type per field path (so DuckDB and pandas give each column one
//! type; docs/FORMAT.md "Version 2").
//!
//! The validator below implements the subset of JSON Schema draft 2020-12 the schemas use
//! (`type`, `const`, `enum`, `properties`, `required`, `additionalProperties: false`, `items`,
//! `oneOf`, local `$ref`, `minimum`, boolean schemas); it is tested on its own first. A crate
//! (`jsonschema`) would pull in an HTTP client and a regex engine for what is ~100 lines here.

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn is_type(v: &Value, t: &str) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        _ => false,
    }
}

/// Errors of `v` against `s` (empty when valid); `root` resolves `$ref`.
fn validate(root: &Value, s: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
    match s {
        Value::Bool(true) => return,
        Value::Bool(false) => {
            errs.push(format!("{at}: not allowed"));
            return;
        }
        _ => {}
    }
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/$defs/").expect("only local $ref");
        let target = &root["$defs"][name];
        assert!(!target.is_null(), "unresolved $ref {r}");
        validate(root, target, v, at, errs);
    }
    if let Some(t) = s.get("type") {
        let ok = match t {
            Value::String(t) => is_type(v, t),
            Value::Array(ts) => ts.iter().any(|t| is_type(v, t.as_str().unwrap())),
            _ => panic!("bad type {t}"),
        };
        if !ok {
            errs.push(format!("{at}: {v} is not of type {t}"));
            return;
        }
    }
    if let Some(c) = s.get("const") {
        if c != v {
            errs.push(format!("{at}: {v} is not {c}"));
        }
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        if !e.contains(v) {
            errs.push(format!("{at}: {v} not in {e:?}"));
        }
    }
    if let (Some(m), Some(x)) = (s.get("minimum").and_then(Value::as_f64), v.as_f64()) {
        if x < m {
            errs.push(format!("{at}: {x} below {m}"));
        }
    }
    if let Some(o) = v.as_object() {
        let props = s.get("properties").and_then(Value::as_object);
        for r in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !o.contains_key(r.as_str().unwrap()) {
                errs.push(format!("{at}: missing {r}"));
            }
        }
        for (k, x) in o {
            match props.and_then(|p| p.get(k)) {
                Some(ps) => validate(root, ps, x, &format!("{at}.{k}"), errs),
                None => {
                    if s.get("additionalProperties") == Some(&Value::Bool(false)) {
                        errs.push(format!("{at}: unexpected field {k}"));
                    }
                }
            }
        }
    }
    if let (Some(items), Some(a)) = (s.get("items"), v.as_array()) {
        for (i, x) in a.iter().enumerate() {
            validate(root, items, x, &format!("{at}[{i}]"), errs);
        }
    }
    if let Some(alts) = s.get("oneOf").and_then(Value::as_array) {
        let mut all = Vec::new();
        let n = alts
            .iter()
            .filter(|a| {
                let mut e = Vec::new();
                validate(root, a, v, at, &mut e);
                all.push(e.join("; "));
                e.is_empty()
            })
            .count();
        if n != 1 {
            errs.push(format!("{at}: matches {n} of oneOf: [{}]", all.join(" | ")));
        }
    }
}

fn errors(schema: &Value, v: &Value) -> Vec<String> {
    let mut e = Vec::new();
    validate(schema, schema, v, "$", &mut e);
    e
}

#[test]
fn validator_subset_behaves_like_json_schema() {
    let s = json!({
        "type": "object",
        "required": ["a"],
        "properties": {
            "a": {"type": "integer", "minimum": 0},
            "b": {"type": ["string", "null"]},
            "c": {"type": "array", "items": {"$ref": "#/$defs/x"}},
            "old": false,
            "k": {"enum": ["p", "q"]},
            "v": {"const": 2}
        },
        "additionalProperties": false,
        "$defs": {"x": {"oneOf": [{"type": "string"}, {"type": "number"}]}}
    });
    assert!(errors(
        &s,
        &json!({"a": 1, "b": null, "c": ["x", 2], "k": "p", "v": 2})
    )
    .is_empty());
    assert!(
        errors(&s, &json!({"a": 3.0})).is_empty(),
        "3.0 is an integer"
    );
    for bad in [
        json!({}),
        json!({"a": -1}),
        json!({"a": 1.5}),
        json!({"a": "1"}),
        json!({"a": 1, "b": 2}),
        json!({"a": 1, "c": [true]}),
        json!({"a": 1, "old": 0}),
        json!({"a": 1, "k": "r"}),
        json!({"a": 1, "v": 1}),
        json!({"a": 1, "zz": 1}),
        json!([1]),
    ] {
        assert!(!errors(&s, &bad).is_empty(), "{bad} must fail");
    }
    // oneOf: exactly one.
    let o = json!({"oneOf": [{"type": "number"}, {"type": "integer"}]});
    assert!(!errors(&o, &json!(1)).is_empty());
    assert!(errors(&o, &json!(1.5)).is_empty());
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn schema(kind: &str) -> Value {
    let p = root().join("docs/schema").join(format!("{kind}.json"));
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let s: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        s["$schema"], "https://json-schema.org/draft/2020-12/schema",
        "{kind}"
    );
    s
}

fn run(bin: &str, args: &[&str], stdin: Option<&[u8]>) -> String {
    let mut c = Command::new(bin);
    c.args(args)
        .current_dir(root())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    if let Some(b) = stdin {
        use std::io::Write;
        let mut i = child.stdin.take().unwrap();
        let b = b.to_vec();
        std::thread::spawn(move || i.write_all(&b));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{bin} {args:?}: {:?}", out.status);
    String::from_utf8(out.stdout).unwrap()
}

/// Every capture the tests have: the samples and the test-data captures.
fn inputs() -> Vec<String> {
    let mut v: Vec<String> = [
        "samples/c37118",
        "samples/solaredge",
        "samples/pi30",
        "samples/tracer",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for dir in ["tests/data/sel", "tests/data/gen"] {
        let mut files: Vec<_> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
            .collect();
        files.sort();
        v.extend(files.iter().map(|p| rel(p)));
    }
    v
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap().display().to_string()
}

/// Field path (array indices as `[]`) → JSON types seen (integer and float both "number").
fn types(v: &Value, at: String, out: &mut BTreeMap<String, BTreeSet<&'static str>>) {
    let t = match v {
        Value::Null => return,
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(a) => {
            for x in a {
                types(x, format!("{at}[]"), out);
            }
            "array"
        }
        Value::Object(m) => {
            for (k, x) in m {
                let p = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                types(x, p, out);
            }
            "object"
        }
    };
    out.entry(at).or_default().insert(t);
}

#[test]
fn every_record_of_every_tool_validates_and_each_field_has_one_type() {
    let kinds = ["frame", "anomaly", "gap", "flow", "decoded"];
    let schemas: BTreeMap<&str, Value> = kinds.iter().map(|k| (*k, schema(k))).collect();
    let (ex, de, fo) = (
        env!("CARGO_BIN_EXE_seextract"),
        env!("CARGO_BIN_EXE_sedecode"),
        env!("CARGO_BIN_EXE_sefollow"),
    );
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    let mut cols = BTreeMap::new();
    let mut bad = Vec::new();
    let mut check = |line: &str, src: &str, count: &mut BTreeMap<String, usize>| {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{src}: {e}: {line}"));
        let ty = v["type"].as_str().unwrap_or("?").to_string();
        let Some(s) = schemas.get(ty.as_str()) else {
            bad.push(format!("{src}: record type {ty} has no schema: {line}"));
            return;
        };
        let e = errors(s, &v);
        if !e.is_empty() && bad.len() < 20 {
            bad.push(format!("{src}: {e:?}\n  {line}"));
        }
        *count
            .entry(format!("{}/{ty}", v["proto"].as_str().unwrap_or("-")))
            .or_default() += 1;
        types(&v, String::new(), &mut cols);
    };
    for input in inputs() {
        let frames = run(ex, &[&input], None);
        for l in frames.lines() {
            check(l, &format!("seextract {input}"), &mut count);
        }
        let decoded = run(de, &[], Some(frames.as_bytes()));
        for l in decoded.lines() {
            check(l, &format!("sedecode {input}"), &mut count);
        }
        for l in run(fo, &["--list", &input], None).lines() {
            check(l, &format!("sefollow {input}"), &mut count);
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    eprintln!("validated: {count:?}");
    // Every protocol's decoded records were seen (the test covers them all).
    for p in ["c37118", "solaredge", "sel", "pi30", "tracer"] {
        assert!(
            count.get(&format!("{p}/decoded")).copied().unwrap_or(0) > 0,
            "no decoded {p} records: {count:?}"
        );
    }
    let drift: Vec<_> = cols.iter().filter(|(_, t)| t.len() > 1).collect();
    assert!(
        drift.is_empty(),
        "fields with more than one type: {drift:?}"
    );
    for old in ["time", "timestamp", "utc", "ser_time"] {
        assert!(!cols.contains_key(old), "old v1 field {old} still written");
    }
    assert!(cols.contains_key("device_time") && cols.contains_key("device_local_time"));
    assert!(cols.contains_key("pmus[].phasors[].name"));
}

#[test]
fn c37118_command_frame_has_the_same_device_time_with_and_without_a_configuration() {
    // The first sample's command frames: before (pkt 4 send_cfg2) and after the CFG-2 (pkt 8
    // turn_on_data) the SOC and FRACSEC are 0; the device time is null both times.
    let ex = env!("CARGO_BIN_EXE_seextract");
    let frames = run(ex, &["samples/c37118/C37.118_1PMU_TCP.pcap"], None);
    let decoded = run(env!("CARGO_BIN_EXE_sedecode"), &[], Some(frames.as_bytes()));
    let cmds: Vec<Value> = decoded
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["frame"] == "cmd")
        .collect();
    assert_eq!(cmds.len(), 3, "three commands in the TCP sample");
    for c in &cmds {
        assert_eq!(c["device_time"], Value::Null, "{c}");
        assert!(c.get("time").is_none());
    }
    let data: Vec<Value> = decoded
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["frame"] == "data")
        .collect();
    assert_eq!(data.len(), 252);
    let p = &data[0]["pmus"][0];
    assert_eq!(p["stn"], "Blue PMU");
    // The configuration's PHNAM, in order, now on each phasor.
    let cfg: Value = decoded
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["frame"] == "cfg2")
        .unwrap();
    let names: Vec<&Value> = p["phasors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| &x["name"])
        .collect();
    let phnam: Vec<&Value> = cfg["pmus"][0]["phnam"].as_array().unwrap().iter().collect();
    assert_eq!(names, phnam);
    assert_eq!(
        data[0]["device_time"].as_f64().unwrap().floor(),
        1_217_606_730.0
    );
}
