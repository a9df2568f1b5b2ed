//! sedecode: decoded records from seextract's frame records (JSON Lines, files or stdin), or
//! from a raw byte stream of one protocol (`--proto P FILE`).

use anyhow::{Context, Result};
use clap::Parser;
use sekit::cli;
use sekit::cli::args::sedecode::Args;
use sekit::output::sinks::{Discard, Jsonl, SemonitorLines, Sink};
use sekit::output::Semonitor;
use sekit::pipeline::decode::{DecodeStage, InputError};
use sekit::protocols::{registry, solaredge, DecodeConfig};
use std::fs::File;
use std::io::{self, BufWriter, Write};

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
