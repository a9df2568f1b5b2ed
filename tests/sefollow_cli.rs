//! sefollow's command line on a real capture: `--format ascii` direction headers, `--conn`
//! with `--list` and `--write`. Expected values were read with tcpdump from the sample
//! (`tcpdump -nr samples/c37118/C37.118_1PMU_TCP.pcap`: packet 4 is the client's first 18-byte
//! command, packet 6 the server's 134-byte configuration frame).

use std::process::{Command, Output};

const CAP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/samples/c37118/C37.118_1PMU_TCP.pcap"
);

fn sefollow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sefollow"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn ascii_marks_each_chunks_direction() {
    let o = sefollow(&["-q", "--conn", "1", "--format", "ascii", CAP]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        ">>> 192.168.0.20:36835 -> 192.168.0.241:4712 (client, 18 bytes, pkt 4)"
    );
    assert_eq!(lines[1].len(), 18);
    assert_eq!(
        lines[2],
        "<<< 192.168.0.241:4712 -> 192.168.0.20:36835 (server, 134 bytes, pkt 6)"
    );
    assert!(lines[3].contains("Blue PMU"), "{}", lines[3]);
    // Every header's byte count adds up to the connection's bytes (54 + 13742 per --list).
    let (mut c2s, mut s2c) = (0u64, 0u64);
    for l in &lines {
        let Some(rest) = l.strip_prefix(">>> ").or_else(|| l.strip_prefix("<<< ")) else {
            continue;
        };
        let n: u64 = rest
            .split(", ")
            .nth(1)
            .and_then(|x| x.strip_suffix(" bytes"))
            .unwrap()
            .parse()
            .unwrap();
        if l.starts_with(">>>") {
            c2s += n
        } else {
            s2c += n
        }
    }
    assert_eq!((c2s, s2c), (54, 13742));
}

#[test]
fn list_with_conn_lists_only_that_connection() {
    let all = sefollow(&["-q", "--list", CAP]);
    let all = String::from_utf8(all.stdout).unwrap();
    let o = sefollow(&["-q", "--list", "--conn", "1", CAP]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    for l in &lines {
        assert!(l.contains("\"conn\":1,"), "{l}");
        assert!(all.lines().any(|a| a == *l), "{l} not in the full list");
    }
    let o = sefollow(&["-q", "--list", "--conn", "99", CAP]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert!(String::from_utf8_lossy(&o.stderr).contains("connection 99 not found"));
}

#[test]
fn write_with_conn_writes_only_its_files() {
    let d = std::env::temp_dir().join(format!("sekit-follow-w-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let o = sefollow(&["-q", "-w", d.to_str().unwrap(), "--conn", "1", CAP]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "conn000001-tcp-c2s-192.168.0.20.36835-192.168.0.241.4712.bin",
            "conn000001-tcp-s2c-192.168.0.241.4712-192.168.0.20.36835.bin",
            "index.jsonl",
        ]
    );
    let index = std::fs::read_to_string(d.join("index.jsonl")).unwrap();
    assert_eq!(index.lines().count(), 2);
    let s2c = std::fs::metadata(d.join(&names[1])).unwrap().len();
    assert_eq!(s2c, 13742);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn format_needs_conn_alone() {
    // --format is about one connection's bytes: it stays an error with --list.
    let o = sefollow(&["--list", "--conn", "1", "--format", "hex", CAP]);
    assert_eq!(o.status.code(), Some(2));
}
