//! sefollow: TCP connections and UDP flows of captures, their reassembled bytes and accounts.

use anyhow::{bail, Context, Result};
use clap::Parser;
use sekit::capture::Input;
use sekit::cli;
use sekit::cli::args::sefollow::Args;
use sekit::output::{FileWriter, FlowList, Follow, OnlyConn, Totals};
use sekit::pipeline::{RunConfig, RunReport};
use sekit::reassembly::Sink;
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
    cfg.read_ahead = args.no_hash || args.write.is_none() && !args.list && args.conn.is_some();
    let (inputs, skipped) = cli::inputs("sefollow", &args.inputs, &cfg.reader, args.recursive);
    if inputs.is_empty() {
        bail!("no readable capture among the inputs ({skipped} skipped)");
    }
    let hash = !args.no_hash;
    let (mut report, missing, totals): (RunReport, bool, io::Result<Totals>) =
        if let Some(dir) = &args.write {
            let sink = FileWriter::create(dir, hash)
                .with_context(|| format!("creating {}", dir.display()))?;
            let (r, missing, sink) = run_sink(&args, &inputs, &cfg, sink, FileWriter::failed);
            (r, missing, sink.finish())
        } else if let (Some(id), false) = (args.conn, args.list) {
            let mut sink = Follow::new(BufWriter::new(io::stdout().lock()), id, args.format);
            let report = cli::run_inputs("sefollow", &inputs, &cfg, args.quiet, &mut sink, &|s| {
                s.done()
            });
            (report, !sink.found, sink.finish())
        } else {
            let sink = FlowList::new(BufWriter::with_capacity(1 << 16, io::stdout()), hash);
            let (r, missing, sink) = run_sink(&args, &inputs, &cfg, sink, FlowList::failed);
            (r, missing, sink.finish())
        };
    if missing {
        eprintln!(
            "sefollow: warning: connection {} not found",
            args.conn.unwrap_or_default()
        );
    }
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

/// Runs `sink` over the inputs, with --conn through [`OnlyConn`] (that connection only, the run
/// ending once it closed); returns the report, whether the connection was never seen, the sink.
fn run_sink<S: Sink>(
    args: &Args,
    inputs: &[Input],
    cfg: &RunConfig,
    mut sink: S,
    failed: fn(&S) -> bool,
) -> (RunReport, bool, S) {
    let Some(id) = args.conn else {
        let r = cli::run_inputs("sefollow", inputs, cfg, args.quiet, &mut sink, &|s| {
            failed(s)
        });
        return (r, false, sink);
    };
    let mut only = OnlyConn::new(sink, id);
    let r = cli::run_inputs("sefollow", inputs, cfg, args.quiet, &mut only, &|s| {
        s.closed || failed(&s.inner)
    });
    (r, !only.found, only.inner)
}
