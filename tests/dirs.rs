//! Directory inputs: subdirectories skipped with a warning each, or read with -r; FIFOs and
//! file names that are not UTF-8 skipped with one line each saying why; every skipped entry
//! counted in the summary's warnings.

#![cfg(unix)]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::{Command, Output};

const GOOD_PCAP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/samples/c37118/C37.118_1PMU_TCP.pcap"
);

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin).args(args).output().expect("run tool")
}

/// `N packets` and `N warnings` of the summary line.
fn counts(stderr: &str, tool: &str) -> (u64, u64) {
    let line = stderr
        .lines()
        .find(|l| l.starts_with(&format!("{tool}: ")) && l.contains(" packets,"))
        .unwrap_or_else(|| panic!("no summary: {stderr}"));
    let num_before = |word: &str| -> u64 {
        let at = line.find(word).unwrap_or_else(|| panic!("{word}: {line}"));
        let head = line[..at].trim_end();
        head.rsplit(' ').next().unwrap().parse().unwrap()
    };
    (num_before(" packets,"), num_before(" warnings"))
}

fn setup() -> PathBuf {
    let d = std::env::temp_dir().join(format!("sekit-dirs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("sub")).unwrap();
    std::fs::copy(GOOD_PCAP, d.join("a.pcap")).unwrap();
    std::fs::copy(GOOD_PCAP, d.join("sub/b.pcap")).unwrap();
    std::fs::write(d.join("notes.txt"), b"not a capture\n").unwrap();
    std::fs::copy(GOOD_PCAP, d.join(OsStr::from_bytes(b"bad-\xff.pcap"))).unwrap();
    let fifo = d.join("pipe.pcap");
    let st = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(st.success());
    d
}

#[test]
fn directory_entries_are_read_or_skipped_with_a_reason_each() {
    let d = setup();
    let ds = d.to_string_lossy().into_owned();
    let (one, _) = {
        let o = run(env!("CARGO_BIN_EXE_seextract"), &[GOOD_PCAP]);
        counts(&String::from_utf8_lossy(&o.stderr), "seextract")
    };
    assert!(one > 0);
    for tool in ["seextract", "sefollow"] {
        let bin = match tool {
            "seextract" => env!("CARGO_BIN_EXE_seextract"),
            _ => env!("CARGO_BIN_EXE_sefollow"),
        };
        let o = run(bin, &[&ds]);
        let err = String::from_utf8_lossy(&o.stderr);
        let warnings: Vec<&str> = err.lines().filter(|l| l.contains(": warning: ")).collect();
        assert_eq!(warnings.len(), 4, "{tool}: {err}");
        let has = |needle: &str| warnings.iter().any(|l| l.contains(needle));
        assert!(
            has("sub: offset 0: skipped: a directory (subdirectories are read with -r"),
            "{err}"
        );
        assert!(has("pipe.pcap: offset 0: skipped: a FIFO"), "{err}");
        assert!(has("skipped: file name is not valid UTF-8"), "{err}");
        assert!(has("notes.txt: offset 0: skipped:"), "{err}");
        // Every line printed is counted in the summary.
        assert_eq!(counts(&err, tool), (one, 4), "{tool}: {err}");
        assert_eq!(o.status.code(), Some(1), "{tool}: {err}");

        let o = run(bin, &["-r", &ds]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("a directory"), "{err}");
        assert_eq!(counts(&err, tool), (2 * one, 3), "{tool} -r: {err}");
        assert_eq!(o.status.code(), Some(1), "{tool}: {err}");
    }
    let _ = std::fs::remove_dir_all(&d);
}
