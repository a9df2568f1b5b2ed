//! One exit-status contract for every tool (README "Exit status", the end of every `--help`):
//! 0 everything read without problems, 1 some input had problems but output was produced,
//! 2 usage error or nothing could be read. Every binary runs on the same bad inputs here.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const GOOD_PCAP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/samples/c37118/C37.118_1PMU_TCP.pcap"
);

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sekit-exit-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run tool")
}

fn code(bin: &str, args: &[&str]) -> i32 {
    let o = run(bin, args);
    let c = o.status.code().unwrap_or(-1);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{bin} {args:?}: {err}");
    c
}

/// seextract's records of the good capture, as the record tools' good input.
fn good_jsonl(d: &Path) -> String {
    let p = d.join("good.jsonl");
    let o = run(env!("CARGO_BIN_EXE_seextract"), &["-q", GOOD_PCAP]);
    assert_eq!(o.status.code(), Some(0));
    assert!(!o.stdout.is_empty());
    std::fs::write(&p, &o.stdout).unwrap();
    p.to_string_lossy().into_owned()
}

struct Tool {
    bin: &'static str,
    /// Arguments before the inputs.
    pre: &'static [&'static str],
    /// The tool's well-formed input.
    good: String,
}

fn tools(d: &Path) -> Vec<Tool> {
    let jsonl = good_jsonl(d);
    let out = d.join("state.json").to_string_lossy().into_owned();
    let prefix = d.join("csv").to_string_lossy().into_owned();
    let se2csv_pre: &'static [&'static str] = Box::leak(Box::new(["-q", "-p", prefix.leak()]));
    let se2state_pre: &'static [&'static str] = Box::leak(Box::new(["-q", "-o", out.leak()]));
    vec![
        Tool {
            bin: env!("CARGO_BIN_EXE_seextract"),
            pre: &["-q"],
            good: GOOD_PCAP.into(),
        },
        Tool {
            bin: env!("CARGO_BIN_EXE_sefollow"),
            pre: &["-q", "--list"],
            good: GOOD_PCAP.into(),
        },
        Tool {
            bin: env!("CARGO_BIN_EXE_sedecode"),
            pre: &["-q"],
            good: jsonl.clone(),
        },
        Tool {
            bin: env!("CARGO_BIN_EXE_se2csv"),
            pre: se2csv_pre,
            good: jsonl.clone(),
        },
        Tool {
            bin: env!("CARGO_BIN_EXE_se2state"),
            pre: se2state_pre,
            good: jsonl,
        },
        Tool {
            bin: env!("CARGO_BIN_EXE_sereplay"),
            pre: &["udp", "-q", "--dry-run", "--target", "127.0.0.1:9"],
            good: GOOD_PCAP.into(),
        },
    ]
}

#[test]
fn every_tool_has_the_same_exit_status_for_the_same_bad_inputs() {
    let d = dir("table");
    let missing = d.join("nonexistent").to_string_lossy().into_owned();
    let empty_dir = dir("table-empty");
    let empty_dir = empty_dir.to_string_lossy().into_owned();
    let mut table = Vec::new();
    for t in tools(&d) {
        let with = |inputs: &[&str]| {
            let args: Vec<&str> = t
                .pre
                .iter()
                .copied()
                .chain(inputs.iter().copied())
                .collect();
            code(t.bin, &args)
        };
        let name = Path::new(t.bin)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let row = [
            with(&[&t.good]),
            with(&[&t.good, &missing]),
            with(&[&missing]),
            with(&[&empty_dir]),
            code(t.bin, &["--no-such-option"]),
        ];
        table.push((name, row));
    }
    // good; good + missing; missing; empty directory; unknown option.
    for (name, row) in &table {
        assert_eq!(*row, [0, 1, 2, 2, 2], "{name}: {table:?}");
    }
}

#[test]
fn an_empty_capture_file_is_nothing_read() {
    let d = dir("empty");
    let empty = d.join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    let empty = empty.to_string_lossy().into_owned();
    for bin in [
        env!("CARGO_BIN_EXE_seextract"),
        env!("CARGO_BIN_EXE_sefollow"),
    ] {
        assert_eq!(code(bin, &["-q", &empty]), 2, "{bin}");
        // The same file inside a directory: skipped with a warning, nothing left to read.
        assert_eq!(code(bin, &["-q", &d.to_string_lossy()]), 2, "{bin}");
    }
}

#[test]
fn sefollow_conn_not_found_is_a_problem() {
    let o = run(
        env!("CARGO_BIN_EXE_sefollow"),
        &["-q", "--conn", "99", GOOD_PCAP],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("connection 99 not found"), "{err}");
    let o = run(
        env!("CARGO_BIN_EXE_sefollow"),
        &["-q", "--conn", "1", GOOD_PCAP],
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(!o.stdout.is_empty());
}

#[test]
fn help_states_the_contract() {
    for bin in [
        env!("CARGO_BIN_EXE_seextract"),
        env!("CARGO_BIN_EXE_sefollow"),
        env!("CARGO_BIN_EXE_sedecode"),
        env!("CARGO_BIN_EXE_se2csv"),
        env!("CARGO_BIN_EXE_se2state"),
        env!("CARGO_BIN_EXE_sereplay"),
    ] {
        let o = run(bin, &["--help"]);
        assert_eq!(o.status.code(), Some(0));
        let help = String::from_utf8_lossy(&o.stdout);
        assert!(
            help.contains(
                "Exit status: 0 all input read without problems; 1 some input had problems"
            ),
            "{bin}: {help}"
        );
    }
}
