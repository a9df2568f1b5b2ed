//! sedecode: decoded records from seextract's frame records (JSON Lines, files or stdin), or
//! from a raw byte stream of one protocol (`--proto P FILE`).

use anyhow::{Context, Result};
use clap::builder::PossibleValuesParser;
use clap::Parser;
use sekit::cli;
use sekit::output::sinks::{Discard, Jsonl, SemonitorLines, Sink};
use sekit::output::Semonitor;
use sekit::pipeline::decode::{DecodeStage, InputError};
use sekit::protocols::{registry, solaredge, DecodeConfig};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

/// Decode protocol frames into JSON Lines records (docs/FORMAT.md, docs/C37118.md,
/// docs/SOLAREDGE.md).
///
/// Input is seextract's output (frame records are decoded; every other record is passed on
/// unchanged), or with --proto a raw byte stream of that protocol (e.g. a semonitor .rec file,
/// an RS485 dump, a file of C37.118 frames). Decoder state (C37.118 configurations, SolarEdge
/// session keys) is kept across the whole input.
#[derive(Parser, Debug)]
#[command(name = "sedecode", version, after_help = cli::EXIT_HELP)]
struct Args {
    /// Input that is not JSON Lines is a raw byte stream of this protocol.
    #[arg(long, value_name = "PROTO", value_parser = PossibleValuesParser::new(registry::names()))]
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
    /// Write passwords (SEL logins) in clear instead of a salted hash (docs/SEL.md).
    #[arg(long)]
    reveal_secrets: bool,
    /// Skip (with a warning) record lines longer than BYTES; K, M, G suffixes (powers of 1024).
    #[arg(long, value_name = "BYTES", default_value = "64M", value_parser = cli::parse_size)]
    max_line: usize,
    /// Files of records or raw frames; - (the default) is standard input.
    #[arg(value_name = "INPUT", default_values_t = ["-".to_string()])]
    inputs: Vec<String>,
}

fn main() {
    cli::exit("sedecode", real_main())
}

fn real_main() -> Result<i32> {
    let args = Args::parse();
    let raw = args.proto.as_deref().and_then(registry::find);
    let out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(File::create(p).with_context(|| format!("creating {p}"))?),
        None => Box::new(io::stdout().lock()),
    };
    let mut out = BufWriter::with_capacity(1 << 16, out);
    let cfg = DecodeConfig {
        keys: args.key.clone(),
        state_dir: args.state.clone(),
        reveal_secrets: args.reveal_secrets,
    };
    let mut stage = DecodeStage::new(&cfg).map_err(anyhow::Error::msg)?;
    stage.warn = Box::new(|w| eprintln!("sedecode: warning: {w}"));
    stage.max_line = args.max_line;
    let mut sink: Box<dyn Sink + '_> = if args.semonitor {
        // Like the C library, an unusable TZ means UTC (with a warning here).
        let fmt = Semonitor::from_env().unwrap_or_else(|e| {
            eprintln!("sedecode: warning: {e}; using UTC");
            Semonitor::utc()
        });
        Box::new(SemonitorLines::new(&mut out, fmt))
    } else if args.derive_key {
        Box::new(Discard(solaredge::PROTOCOL))
    } else {
        Box::new(Jsonl::new(&mut out))
    };
    let mut failed = 0;
    for name in &args.inputs {
        // A bad input is a warning; what was decoded before it is still written below.
        match stage.input(name, raw, sink.as_mut()) {
            Ok(()) => {}
            Err(InputError::Write(e)) => return Err(e).context("writing output"),
            Err(e) => {
                eprintln!("sedecode: warning: {e}");
                failed += 1;
            }
        }
    }
    sink.finish().context("writing output")?;
    drop(sink);
    for w in stage.take_warnings() {
        eprintln!("sedecode: warning: {w}");
    }
    let mut found_key = true;
    if args.derive_key {
        let dec = stage.decoder(solaredge::PROTOCOL);
        found_key = match dec {
            Some(d) => solaredge::write_derived_keys(d, &mut out)?,
            None => false,
        };
    }
    out.flush().context("writing output")?;
    if !args.quiet {
        let c = &stage.counts;
        eprintln!(
            "sedecode: {} decoded, {} records passed on, {} anomalies, {} not decrypted, {} unreadable lines, {} inputs failed",
            c.decoded, c.passed, c.anomalies, stage.locked(), c.bad_lines, failed
        );
    }
    let problems = failed > 0 || stage.counts.bad_lines > 0 || !found_key;
    Ok(cli::status(failed == args.inputs.len(), problems))
}
