//! sedecode: decoded records from seextract's frame records (JSON Lines, files or stdin), or
//! from a raw byte stream of one protocol (`--proto P FILE`).

use anyhow::{bail, Context, Result};
use clap::Parser;
use sekit::cli;
use sekit::output::semonitor::Semonitor;
use sekit::output::{decoded_record, item_record_raw, unhex, InRecord};
use sekit::protocols::decoders::{decoder_for, FrameCtx, FrameDecoder};
use sekit::protocols::solaredge::crypto::{self, Key};
use sekit::protocols::solaredge::session::Session;
use sekit::protocols::{Found, Protocol};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;

/// Decode protocol frames into JSON Lines records (docs/FORMAT.md, docs/C37118.md,
/// docs/SOLAREDGE.md).
///
/// Input is seextract's output (frame records are decoded; every other record is passed on
/// unchanged), or with --proto a raw byte stream of that protocol (e.g. a semonitor .rec file,
/// an RS485 dump, a file of C37.118 frames). Decoder state (C37.118 configurations, SolarEdge
/// session keys) is kept across the whole input.
#[derive(Parser, Debug)]
#[command(name = "sedecode", version)]
struct Args {
    /// Input that is not JSON Lines is a raw byte stream of this protocol.
    #[arg(long, value_name = "PROTO", value_parser = ["solaredge", "c37118", "sel"])]
    proto: Option<String>,
    /// Write to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<String>,
    /// No summary on stderr.
    #[arg(short, long)]
    quiet: bool,
    /// SolarEdge inverter key: a key file (32 hex characters, as sekey.py writes, or 16 raw
    /// bytes) or the 32 hex characters themselves. Repeat for several inverters.
    #[arg(long, value_name = "FILE|HEX")]
    key: Vec<String>,
    /// Keep the last SolarEdge 0x0503 (session-key exchange) of every inverter in DIR, so a
    /// later run can decrypt frames whose 0x0503 it does not see.
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// Write SolarEdge telemetry as jbuehl's semonitor.py does: one JSON line per non-empty
    /// 0x0500 (plain or decrypted), Date/Time in the local time zone (TZ); nothing else.
    #[arg(long, conflicts_with = "derive_key")]
    semonitor: bool,
    /// Print the SolarEdge inverter key recovered from the reads of parameters 0x0239–0x023c
    /// in the input (32 hex characters; "ID KEY" lines if several inverters); nothing else.
    #[arg(long)]
    derive_key: bool,
    /// Files of records or raw frames; - (the default) is standard input.
    #[arg(value_name = "INPUT", default_values_t = ["-".to_string()])]
    inputs: Vec<String>,
}

#[derive(Default)]
struct Counts {
    decoded: u64,
    passed: u64,
    bad_lines: u64,
    anomalies: u64,
}

/// What is written for each decoded frame.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Records,
    Semonitor,
    DeriveKey,
}

struct Decoders {
    mode: Mode,
    se: Session,
    semonitor: Option<Semonitor>,
    others: HashMap<Protocol, Box<dyn FrameDecoder>>,
}

impl Decoders {
    /// Whether frames of `p` are decoded (otherwise their records are passed on).
    fn decodes(&self, p: Protocol) -> bool {
        p == Protocol::SolarEdge || (self.mode == Mode::Records && p != Protocol::Sel)
    }

    /// Decodes one frame of `p` and writes what the mode asks for: `record` writes a decoded
    /// record around the JSON object it is given.
    fn frame(
        &mut self,
        p: Protocol,
        ctx: &FrameCtx,
        frame: &[u8],
        out: &mut Vec<u8>,
        record: impl FnOnce(&mut dyn FnMut(&mut Vec<u8>), &mut Vec<u8>),
    ) {
        match (self.mode, p) {
            (Mode::Records, Protocol::SolarEdge) => {
                record(&mut |o| self.se.decode_json(ctx, frame, o), out)
            }
            (Mode::Records, _) => {
                let d = match self.others.entry(p) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => match decoder_for(p) {
                        Some(d) => e.insert(d),
                        None => return,
                    },
                };
                record(&mut |o| d.decode_json(ctx, frame, o), out)
            }
            (Mode::Semonitor, _) => {
                let m = self.se.decode(ctx, frame);
                if let Some(line) = self.semonitor.as_ref().and_then(|s| s.message_line(&m)) {
                    out.extend_from_slice(line.as_bytes());
                    out.push(b'\n');
                }
            }
            (Mode::DeriveKey, _) => {
                self.se.decode(ctx, frame);
            }
        }
    }

    /// Passes a record that is not decoded on (in record mode only).
    fn pass(&self, text: &str, out: &mut Vec<u8>) -> bool {
        if self.mode == Mode::Records {
            out.extend_from_slice(text.as_bytes());
            out.push(b'\n');
        }
        self.mode == Mode::Records
    }
}

/// The number in a raw JSON value, if it is one.
fn num<T: std::str::FromStr>(v: Option<&serde_json::value::RawValue>) -> Option<T> {
    v.and_then(|v| v.get().parse().ok())
}

fn main() {
    cli::exit("sedecode", real_main())
}

fn open(path: &str) -> io::Result<Box<dyn BufRead>> {
    Ok(if path == "-" {
        Box::new(BufReader::with_capacity(1 << 16, io::stdin()))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, File::open(path)?))
    })
}

/// Decodes JSON Lines records; returns false if the input turned out not to be JSON Lines.
fn records(
    name: &str,
    mut input: Box<dyn BufRead>,
    dec: &mut Decoders,
    out: &mut dyn Write,
    counts: &mut Counts,
) -> Result<()> {
    let mut line = String::new();
    let mut buf = Vec::with_capacity(1 << 16);
    let mut n = 0u64;
    loop {
        line.clear();
        if input
            .read_line(&mut line)
            .with_context(|| name.to_string())?
            == 0
        {
            break;
        }
        n += 1;
        let text = line.trim_end();
        if text.is_empty() {
            continue;
        }
        let rec: InRecord = match serde_json::from_str(text) {
            Ok(r) => r,
            Err(e) => {
                counts.bad_lines += 1;
                eprintln!("sedecode: warning: {name}: line {n}: not a record: {e}");
                continue;
            }
        };
        let proto = match rec.ty {
            "frame" => rec.proto.and_then(Protocol::from_name),
            _ => None,
        }
        .filter(|&p| dec.decodes(p));
        match proto {
            Some(p) => {
                let Some(frame) = rec.hex.and_then(unhex) else {
                    counts.bad_lines += 1;
                    eprintln!(
                        "sedecode: warning: {name}: line {n}: frame record without valid hex"
                    );
                    continue;
                };
                let ctx = FrameCtx {
                    conn: num(rec.conn),
                    ts: num(rec.ts),
                };
                dec.frame(p, &ctx, &frame, &mut buf, |body, o| {
                    decoded_record(&rec, body, o)
                });
                counts.decoded += 1;
            }
            None => {
                if dec.pass(text, &mut buf) {
                    counts.passed += 1;
                }
            }
        }
        if buf.len() >= 1 << 16 {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)?;
    Ok(())
}

/// Splits a raw byte stream of one protocol into frames and decodes them.
fn raw(
    name: &str,
    mut input: Box<dyn BufRead>,
    p: Protocol,
    dec: &mut Decoders,
    out: &mut dyn Write,
    counts: &mut Counts,
) -> Result<()> {
    let mut state = p.new_state();
    let mut chunk = vec![0u8; 1 << 16];
    let mut offset = 0u64;
    let mut buf = Vec::with_capacity(1 << 16);
    let file_json = serde_json::to_string(name)?;
    let handle = |f: Found<'_>, buf: &mut Vec<u8>, dec: &mut Decoders, counts: &mut Counts| match f
    {
        Found::Frame { offset, bytes, .. } => {
            let envelope = format!(
                    "{{\"type\":\"frame\",\"proto\":\"{}\",\"file\":{file_json},\"offset\":{offset},\"len\":{}}}",
                    p.name(),
                    bytes.len()
                );
            let rec: InRecord = serde_json::from_str(&envelope).expect("own JSON");
            if dec.decodes(p) {
                dec.frame(p, &FrameCtx::default(), bytes, buf, |body, o| {
                    decoded_record(&rec, body, o)
                });
                counts.decoded += 1;
            } else if dec.mode == Mode::Records {
                item_record_raw(buf, p, name, offset, Some(bytes), None);
                counts.passed += 1;
            }
        }
        Found::Anomaly {
            offset,
            len,
            reason,
        } => {
            counts.anomalies += 1;
            if dec.mode == Mode::Records {
                item_record_raw(buf, p, name, offset, None, Some((len, reason)));
            }
        }
    };
    loop {
        let n = input.read(&mut chunk).with_context(|| name.to_string())?;
        if n == 0 {
            break;
        }
        state.data(offset, &chunk[..n], &mut |f| {
            handle(f, &mut buf, dec, counts)
        });
        offset += n as u64;
        if buf.len() >= 1 << 16 {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    state.end(&mut |f| handle(f, &mut buf, dec, counts));
    out.write_all(&buf)?;
    Ok(())
}

fn real_main() -> Result<i32> {
    let args = Args::parse();
    let proto = args.proto.as_deref().and_then(Protocol::from_name);
    let out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(File::create(p).with_context(|| format!("creating {p}"))?),
        None => Box::new(io::stdout().lock()),
    };
    let mut out = BufWriter::with_capacity(1 << 16, out);
    let mut keys = Vec::new();
    for k in &args.key {
        keys.push(read_key(k)?);
    }
    let mut se = Session::new(keys);
    if let Some(dir) = &args.state {
        se = se
            .with_state_dir(dir)
            .with_context(|| format!("state directory {}", dir.display()))?;
    }
    let mode = if args.semonitor {
        Mode::Semonitor
    } else if args.derive_key {
        Mode::DeriveKey
    } else {
        Mode::Records
    };
    let semonitor = match mode {
        // Like the C library, an unusable TZ means UTC (with a warning here).
        Mode::Semonitor => Some(Semonitor::from_env().unwrap_or_else(|e| {
            eprintln!("sedecode: warning: {e}; using UTC");
            Semonitor::utc()
        })),
        _ => None,
    };
    let mut dec = Decoders {
        mode,
        se,
        semonitor,
        others: HashMap::new(),
    };
    let mut counts = Counts::default();
    let mut failed = 0;
    for name in &args.inputs {
        let mut input = match open(name) {
            Ok(i) => i,
            Err(e) => {
                eprintln!("sedecode: warning: {name}: {e}");
                failed += 1;
                continue;
            }
        };
        // JSON Lines start with '{'; anything else is a raw stream.
        let first = input
            .fill_buf()
            .with_context(|| name.clone())?
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .copied();
        match (first, proto) {
            (None, _) => continue,
            (Some(b'{'), _) => records(name, input, &mut dec, &mut out, &mut counts)?,
            (Some(_), Some(p)) => raw(name, input, p, &mut dec, &mut out, &mut counts)?,
            (Some(_), None) => {
                bail!("{name}: not JSON Lines records; give --proto to decode a raw byte stream")
            }
        }
    }
    for w in dec.se.warnings.drain(..) {
        eprintln!("sedecode: warning: {w}");
    }
    let mut found_key = true;
    if mode == Mode::DeriveKey {
        let keys = dec.se.derived_keys();
        found_key = !keys.is_empty();
        for id in dec.se.zero_key_inverters() {
            eprintln!(
                "sedecode: inverter {} answered 0 for all four key parameters (a SetApp unit: no key to recover)",
                sekit::protocols::solaredge::codes::device_id(id)
            );
        }
        match keys.as_slice() {
            [] => eprintln!(
                "sedecode: no key: the input holds no complete reads of parameters 0x0239-0x023c"
            ),
            [(_, k)] => writeln!(out, "{}", hex(k))?,
            many => {
                for (id, k) in many {
                    writeln!(
                        out,
                        "{} {}",
                        sekit::protocols::solaredge::codes::device_id(*id),
                        hex(k)
                    )?;
                }
            }
        }
    }
    out.flush().context("writing output")?;
    if !args.quiet {
        eprintln!(
            "sedecode: {} decoded, {} records passed on, {} anomalies, {} not decrypted, {} unreadable lines, {} inputs failed",
            counts.decoded, counts.passed, counts.anomalies, dec.se.locked, counts.bad_lines, failed
        );
    }
    Ok(if failed == args.inputs.len() {
        2
    } else if !found_key {
        1
    } else {
        0
    })
}

fn hex(k: &Key) -> String {
    k.iter().map(|b| format!("{b:02x}")).collect()
}

/// A key given as a file or as 32 hex characters.
fn read_key(arg: &str) -> Result<Key> {
    let is_hex = arg.len() == 32 && arg.bytes().all(|b| b.is_ascii_hexdigit());
    if is_hex && !std::path::Path::new(arg).exists() {
        return crypto::parse_key(arg.as_bytes()).with_context(|| "--key".to_string());
    }
    let bytes = std::fs::read(arg).with_context(|| format!("--key {arg}"))?;
    crypto::parse_key(&bytes).with_context(|| format!("--key {arg}"))
}
