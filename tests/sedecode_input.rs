//! sedecode on bad input: a bad line is a warning naming the file and line, a bad input is a
//! warning and the next input is still read, records decoded before any of it are written,
//! over-long lines are skipped without being kept, and read errors mid-file end that input only.

use sekit::output::sinks::Jsonl;
use sekit::pipeline::decode::{DecodeStage, InputError};
use sekit::protocols::DecodeConfig;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A C37.118 command frame (its CHK is wrong, which the decoder reports, not rejects).
const FRAME: &str = r#"{"v":1,"type":"frame","proto":"c37118","offset":0,"len":18,"hex":"aa410012000100000000000000000002ffff"}"#;

fn dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("sedecode_input")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn sedecode(args: &[&str], files: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sedecode"))
        .args(args)
        .args(files)
        .output()
        .expect("run sedecode")
}

fn lines(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(o.stdout.clone())
        .expect("output is UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("output line is JSON"))
        .collect()
}

fn decoded(o: &Output) -> usize {
    lines(o).iter().filter(|r| r["type"] == "decoded").count()
}

#[test]
fn bad_lines_and_bad_inputs_are_warnings_and_everything_decoded_is_written() {
    let d = dir("bad");
    let mut a = Vec::new();
    for _ in 0..11 {
        a.extend_from_slice(FRAME.as_bytes());
        a.push(b'\n');
    }
    a.extend_from_slice(b"\xff\xfe not text\n");
    a.extend_from_slice(b"{\"v\":1,\"type\":\"fr\xffame\"}\n");
    // Escaped keys and values are the same record.
    a.extend_from_slice(
        br#"{"\u0076":1,"type":"\u0066rame","\u0070roto":"c\u00337118","hex":"aa410012000100000000000000000002ffff"}"#,
    );
    a.extend_from_slice(b"\n{\"v\":1,\"type\":\"note\",\"x\":\"\\u00e9\"}\n");
    let a_path = d.join("a.jsonl");
    std::fs::write(&a_path, &a).unwrap();
    // Binary garbage, with and without a leading `{`.
    let garbage: Vec<u8> = (0..4000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let g1 = d.join("garbage.bin");
    std::fs::write(&g1, [&[0x80u8][..], &garbage].concat()).unwrap();
    let g2 = d.join("garbage.jsonl");
    std::fs::write(
        &g2,
        [&b"{"[..], &garbage, b"\n", FRAME.as_bytes(), b"\n"].concat(),
    )
    .unwrap();
    let missing = d.join("missing.jsonl");

    let o = sedecode(&[], &[&a_path, &g1, &missing, &d, &g2, &a_path]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    // 12 per copy of a.jsonl, 1 after the garbage of g2.
    assert_eq!(decoded(&o), 25, "{err}");
    let notes = lines(&o).iter().filter(|r| r["type"] == "note").count();
    assert_eq!(notes, 2);
    let a_name = a_path.display().to_string();
    assert!(
        err.contains(&format!("{a_name}: line 12: not UTF-8")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{a_name}: line 13: not UTF-8")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{}: not JSON Lines", g1.display())),
        "{err}"
    );
    assert!(
        err.contains(&format!("{}: No such file", missing.display())),
        "{err}"
    );
    assert!(
        err.contains(&format!("{}: offset 0: read error", d.display())),
        "{err}"
    );
    assert!(err.contains(&format!("{}: line 1:", g2.display())), "{err}");
    assert!(err.contains("25 decoded, 2 records passed on"), "{err}");
    assert!(err.contains("3 inputs failed"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn every_input_failing_is_status_2() {
    let d = dir("all_fail");
    let g = d.join("garbage.bin");
    std::fs::write(&g, b"\x00\x01\x02").unwrap();
    let o = sedecode(&["-q"], &[&g, &d.join("missing")]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn lines_over_max_line_are_skipped_and_the_rest_is_read() {
    let d = dir("long");
    let mut a = Vec::new();
    a.extend_from_slice(FRAME.as_bytes());
    a.push(b'\n');
    a.push(b'{');
    a.extend(std::iter::repeat_n(b'x', 3 << 20));
    a.push(b'\n');
    a.extend_from_slice(FRAME.as_bytes());
    a.push(b'\n');
    let p = d.join("long.jsonl");
    std::fs::write(&p, &a).unwrap();

    let o = sedecode(&["--max-line", "1M"], &[&p]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(decoded(&o), 2, "{err}");
    assert!(
        err.contains(&format!(
            "{}: line 2: longer than 1048576 bytes",
            p.display()
        )),
        "{err}"
    );
    // The default (64 MiB) reads the line, which is then not JSON.
    let o = sedecode(&[], &[&p]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(decoded(&o), 2, "{err}");
    assert!(!err.contains("longer than"), "{err}");
    assert!(err.contains("line 2:"), "{err}");
}

/// An endless line without a newline: the stage keeps no more than the limit of it.
struct Endless {
    served: u64,
    limit: u64,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.served >= self.limit {
            return Ok(0);
        }
        let n = buf.len().min((self.limit - self.served) as usize);
        buf[..n].fill(b'x');
        if self.served == 0 {
            buf[0] = b'{';
        }
        self.served += n as u64;
        Ok(n)
    }
}

#[test]
fn an_endless_line_is_not_buffered() {
    let mut stage = DecodeStage::new(&DecodeConfig::default()).unwrap();
    let warnings = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let w = warnings.clone();
    stage.warn = Box::new(move |s| w.borrow_mut().push(s.to_string()));
    stage.max_line = 4096;
    let mut out = Vec::new();
    let mut sink = Jsonl::new(&mut out);
    // 64 MiB of one line; BufReader::read_until would hold all of it.
    let input = Tracking {
        inner: BufReader::with_capacity(
            1 << 16,
            Endless {
                served: 0,
                limit: 64 << 20,
            },
        ),
    };
    stage.records("endless", input, &mut sink).unwrap();
    assert_eq!(stage.counts.bad_lines, 1);
    assert_eq!(
        warnings.borrow().as_slice(),
        ["endless: line 1: longer than 4096 bytes (--max-line), skipped"]
    );
}

/// A BufRead that refuses to be read through `read_until` (which buffers a whole line).
struct Tracking<R> {
    inner: R,
}

impl<R: BufRead> Read for Tracking<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<R: BufRead> BufRead for Tracking<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, n: usize) {
        self.inner.consume(n)
    }
    fn read_until(&mut self, _: u8, _: &mut Vec<u8>) -> io::Result<usize> {
        panic!("read_until keeps the whole line")
    }
}

/// Two good lines, then a read error.
struct FailsAfter {
    data: io::Cursor<Vec<u8>>,
}

impl Read for FailsAfter {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.data.read(buf)? {
            0 => Err(io::Error::other("device gone")),
            n => Ok(n),
        }
    }
}

#[test]
fn a_read_error_mid_file_keeps_what_was_decoded_and_names_the_line() {
    let mut stage = DecodeStage::new(&DecodeConfig::default()).unwrap();
    let data = format!("{FRAME}\n{FRAME}\n{{\"v\":1,").into_bytes();
    let input = BufReader::with_capacity(
        16,
        FailsAfter {
            data: io::Cursor::new(data),
        },
    );
    let mut out = Vec::new();
    let mut sink = Jsonl::new(&mut out);
    let e = stage.records("f.jsonl", input, &mut sink).unwrap_err();
    assert!(matches!(e, InputError::Read(..)), "{e}");
    assert_eq!(e.to_string(), "f.jsonl: line 3: read error: device gone");
    sekit::output::sinks::Sink::finish(&mut sink).unwrap();
    drop(sink);
    assert_eq!(stage.counts.decoded, 2);
    assert_eq!(String::from_utf8(out).unwrap().lines().count(), 2);
}

#[test]
fn a_flood_of_bad_lines_shows_the_first_hundred_then_a_count() {
    let d = dir("flood");
    let mut a = b"{".to_vec();
    for i in 0..250u32 {
        a.extend_from_slice(format!("not a record {i}\n").as_bytes());
    }
    a.extend_from_slice(FRAME.as_bytes());
    a.push(b'\n');
    let p = d.join("flood.jsonl");
    std::fs::write(&p, &a).unwrap();
    let o = sedecode(&[], &[&p, &p]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(decoded(&o), 2, "{err}");
    let name = p.display().to_string();
    assert_eq!(err.matches(&format!("{name}: line ")).count(), 200, "{err}");
    assert!(err.contains(&format!("{name}: line 100: ")), "{err}");
    assert!(!err.contains(&format!("{name}: line 101: ")), "{err}");
    assert_eq!(
        err.matches(&format!("{name}: 150 more unreadable lines not shown"))
            .count(),
        2
    );
    assert!(err.contains("500 unreadable lines"), "{err}");
}
