//! sefollow: TCP connections and UDP flows of captures, their reassembled bytes and accounts.

use anyhow::{bail, Context, Result};
use clap::Parser;
use sekit::cli;
use sekit::cli::args::sefollow::Args;
use sekit::output::{FileWriter, FlowList, Follow, Totals};
use sekit::pipeline::{RunConfig, RunReport};
use std::io::{self, BufWriter};

fn main() {
    cli::exit("sefollow", real_main())
}

fn real_main() -> Result<i32> {
    let args = Args::parse();
    let mut cfg = RunConfig::default();
    cfg.reassembly.tcp_idle_secs = args.tcp_timeout;
    cfg.reassembly.ooo_per_dir = args.ooo_per_dir;
    cfg.reassembly.ooo_global = args.ooo_global;
    cfg.reassembly.max_memory = args.max_memory;
    cfg.select(&args.select);
    // Hashing runs on the second core; reading ahead on it too would only make them compete.
    cfg.read_ahead = args.no_hash || args.write.is_none() && args.conn.is_some();
    let (inputs, skipped) = cli::inputs("sefollow", &args.inputs, &cfg.reader, args.recursive);
    if inputs.is_empty() {
        bail!("no readable capture among the inputs ({skipped} skipped)");
    }
    let hash = !args.no_hash;
    let mut missing = false;
    let (mut report, totals): (RunReport, io::Result<Totals>) = if let Some(dir) = &args.write {
        let mut sink =
            FileWriter::create(dir, hash).with_context(|| format!("creating {}", dir.display()))?;
        let report = cli::run_inputs("sefollow", &inputs, &cfg, args.quiet, &mut sink, &|s| {
            s.failed()
        });
        (report, sink.finish())
    } else if let Some(id) = args.conn {
        let mut sink = Follow::new(BufWriter::new(io::stdout().lock()), id, args.format);
        let report = cli::run_inputs("sefollow", &inputs, &cfg, args.quiet, &mut sink, &|s| {
            s.done()
        });
        if !sink.found {
            eprintln!("sefollow: warning: connection {id} not found");
            missing = true;
        }
        (report, sink.finish())
    } else {
        let mut sink = FlowList::new(BufWriter::with_capacity(1 << 16, io::stdout()), hash);
        let report = cli::run_inputs("sefollow", &inputs, &cfg, args.quiet, &mut sink, &|s| {
            s.failed()
        });
        (report, sink.finish())
    };
    let totals = totals.context("writing output")?;
    report.warnings += skipped as u64;
    if !args.quiet {
        eprintln!(
            "sefollow: {}; {} connections/flows, {} bytes delivered, {} gaps, {} conflicts; {}",
            cli::summary_line(&report),
            totals.conns,
            totals.bytes,
            totals.gaps,
            totals.conflicts,
            cli::drops_line(&report),
        );
    }
    Ok(if missing {
        cli::status(report.nothing_read(), true)
    } else {
        cli::run_status(&report)
    })
}
