//! sefollow: TCP connections and UDP flows of captures, their reassembled bytes and accounts.

use anyhow::{bail, Context, Result};
use clap::Parser;
use sekit::cli;
use sekit::output::{FileWriter, FlowList, Follow, FollowFormat, Totals};
use sekit::pipeline::{RunConfig, RunReport};
use std::io::{self, BufWriter};
use std::path::PathBuf;

/// Follow TCP connections and UDP flows in pcap/pcapng captures.
///
/// Without a mode, --list is assumed. Inputs are files, directories (every capture file in
/// them, by first packet time) or `-` for standard input; gzip-compressed captures are read
/// transparently.
#[derive(Parser, Debug)]
#[command(name = "sefollow", version, after_help = cli::EXIT_HELP)]
struct Args {
    /// One JSON line per connection direction (flow record, docs/FORMAT.md).
    #[arg(long, conflicts_with_all = ["write", "conn"])]
    list: bool,
    /// Write each direction's bytes to its own file in DIR, plus DIR/index.jsonl.
    #[arg(
        short = 'w',
        long = "write",
        value_name = "DIR",
        conflicts_with = "conn"
    )]
    write: Option<PathBuf>,
    /// Print one connection's bytes, both directions in capture order.
    #[arg(long, value_name = "N")]
    conn: Option<u64>,
    /// Output format for --conn.
    #[arg(long, value_enum, default_value = "raw", requires = "conn")]
    format: FollowFormat,
    /// Do not hash delivered bytes (sha256 is null); measures the engine alone.
    #[arg(long)]
    no_hash: bool,
    /// Memory for connection state (K/M/G suffixes): past it, the least recently active
    /// connections are closed early (end: evicted) and counted.
    #[arg(long, value_name = "BYTES", default_value = "256M", value_parser = cli::parse_size)]
    max_memory: usize,
    /// No progress bar and no summary.
    #[arg(short, long)]
    quiet: bool,
    /// Close a TCP connection after this many seconds without packets (capture time).
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    tcp_timeout: i64,
    /// Out-of-order bytes buffered per direction before a hole is declared a gap.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    ooo_per_dir: usize,
    /// Out-of-order bytes buffered over all connections.
    #[arg(long, value_name = "BYTES", default_value_t = 32 << 20)]
    ooo_global: usize,
    /// Also read the capture files in subdirectories of directory inputs (without it, each
    /// subdirectory is skipped with a warning).
    #[arg(short = 'r', long)]
    recursive: bool,
    /// Capture files, directories, or - for stdin.
    #[arg(required = true, value_name = "CAPTURE")]
    inputs: Vec<String>,
}

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
