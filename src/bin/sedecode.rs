//! sedecode: decoded records from seextract's frame records (JSON Lines, files or stdin), or
//! from a raw byte stream of one protocol (`--proto P FILE`).

use anyhow::{bail, Context, Result};
use clap::Parser;
use sekit::cli;
use sekit::output::{decoded_record, item_record_raw, unhex, InRecord};
use sekit::protocols::decoders::{decoder_for, FrameDecoder};
use sekit::protocols::{Found, Protocol};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};

/// Decode protocol frames into JSON Lines records (docs/FORMAT.md).
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

struct Decoders {
    by_proto: HashMap<Protocol, Box<dyn FrameDecoder>>,
}

impl Decoders {
    /// The decoder of `p` (created on first use), if `p` has one.
    fn get(&mut self, p: Protocol) -> Option<&mut Box<dyn FrameDecoder>> {
        match self.by_proto.entry(p) {
            std::collections::hash_map::Entry::Occupied(e) => Some(e.into_mut()),
            std::collections::hash_map::Entry::Vacant(e) => Some(e.insert(decoder_for(p)?)),
        }
    }
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
        };
        match proto.and_then(|p| dec.get(p)) {
            Some(d) => {
                let Some(frame) = rec.hex.and_then(unhex) else {
                    counts.bad_lines += 1;
                    eprintln!(
                        "sedecode: warning: {name}: line {n}: frame record without valid hex"
                    );
                    continue;
                };
                decoded_record(&rec, |o| d.decode_json(&frame, o), &mut buf);
                counts.decoded += 1;
            }
            None => {
                buf.extend_from_slice(text.as_bytes());
                buf.push(b'\n');
                counts.passed += 1;
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
            match dec.get(p) {
                Some(d) => {
                    decoded_record(&rec, |o| d.decode_json(bytes, o), buf);
                    counts.decoded += 1;
                }
                None => {
                    item_record_raw(buf, p, name, offset, Some(bytes), None);
                    counts.passed += 1;
                }
            }
        }
        Found::Anomaly {
            offset,
            len,
            reason,
        } => {
            counts.anomalies += 1;
            item_record_raw(buf, p, name, offset, None, Some((len, reason)));
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
    let mut dec = Decoders {
        by_proto: HashMap::new(),
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
    out.flush().context("writing output")?;
    if !args.quiet {
        eprintln!(
            "sedecode: {} decoded, {} records passed on, {} anomalies, {} unreadable lines, {} inputs failed",
            counts.decoded, counts.passed, counts.anomalies, counts.bad_lines, failed
        );
    }
    Ok(if failed == args.inputs.len() { 2 } else { 0 })
}
