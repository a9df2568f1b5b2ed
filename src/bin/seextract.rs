//! seextract: protocol frames (SolarEdge, C37.118, SEL) found by content in captures, as JSON
//! Lines records or, with --raw, the concatenated frame bytes of one protocol.

use anyhow::{bail, Context, Result};
use clap::builder::PossibleValuesParser;
use clap::Parser;
use sekit::cli;
use sekit::net::from_ip;
use sekit::output::ExtractWriter;
use sekit::pipeline::{FollowConfig, RunConfig};
use sekit::protocols::extract::{ExtractConfig, Extractor, Filter};
use sekit::protocols::registry;
use std::io::BufWriter;
use std::net::IpAddr;

/// Find SolarEdge, C37.118 and SEL frames in captures, by content, on any port.
///
/// Inputs are files, directories (every capture file in them, by first packet time) or `-`
/// for standard input. Records are described in docs/FORMAT.md.
#[derive(Parser, Debug)]
#[command(name = "seextract", version, after_help = cli::EXIT_HELP)]
struct Args {
    /// Write to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<String>,
    /// Append to the output file instead of replacing it.
    #[arg(short, long, requires = "output")]
    append: bool,
    /// Follow: wait for growing files and for new files in directories (tcpdump -w, -C/-G).
    #[arg(short, long)]
    follow: bool,
    /// With --follow: stop after SECS without new data (default: follow until interrupted).
    #[arg(long, value_name = "SECS", requires = "follow")]
    follow_quit: Option<f64>,
    /// Write only the concatenated bytes of the frames of one protocol.
    #[arg(long)]
    raw: bool,
    /// Frame every selected stream as this protocol, without detection.
    #[arg(long, value_name = "PROTO", value_parser = PossibleValuesParser::new(registry::names()))]
    proto: Option<String>,
    /// Only connections with this host at either end (repeatable).
    #[arg(long, value_name = "IP")]
    host: Vec<IpAddr>,
    /// Only connections with this port at either end (repeatable).
    #[arg(long, value_name = "PORT")]
    port: Vec<u16>,
    /// Only this connection id (repeatable; ids as sefollow --list shows them).
    #[arg(long, value_name = "N")]
    conn: Vec<u64>,
    /// Bytes of each direction examined to detect its protocol.
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024)]
    window: u64,
    /// Memory for connection state (K/M/G suffixes): past it, the least recently active
    /// connections are closed early (end: evicted) and counted.
    #[arg(long, value_name = "BYTES", default_value = "256M", value_parser = cli::parse_size)]
    max_memory: usize,
    /// No progress bar and no summary.
    #[arg(short, long)]
    quiet: bool,
    /// Threads: 1 reads, reassembles and frames on one thread; 2 (the default) reads and
    /// slices packets on a second thread.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=2))]
    threads: u8,
    /// Keep SEL passwords in clear in frame records (default: a salted-hash marker).
    #[arg(long)]
    reveal_secrets: bool,
    /// Also read the capture files in subdirectories of directory inputs (without it, each
    /// subdirectory is skipped with a warning).
    #[arg(short = 'r', long)]
    recursive: bool,
    /// Capture files, directories, or - for stdin.
    #[arg(required = true, value_name = "CAPTURE")]
    inputs: Vec<String>,
}

fn main() {
    cli::exit("seextract", real_main())
}

fn real_main() -> Result<i32> {
    let args = Args::parse();
    sekit::protocols::sel::secrets::set_reveal(args.reveal_secrets);
    let mut cfg = RunConfig::default();
    // Frames only: conflicts between copies of delivered bytes are not reported here, so the
    // per-direction history that detects them is not kept.
    cfg.reassembly.history = 0;
    cfg.reassembly.max_memory = args.max_memory;
    cfg.read_ahead = args.threads > 1;
    if args.follow {
        let last = args.inputs.last().map(std::path::PathBuf::from);
        cfg.follow = Some(FollowConfig {
            watch_dir: last.filter(|p| p.is_dir()),
            quit_after_idle: args.follow_quit.map(std::time::Duration::from_secs_f64),
            ..FollowConfig::default()
        });
    }
    let forced = args.proto.as_deref().and_then(registry::find);
    let xcfg = ExtractConfig {
        forced,
        window: args.window,
        filter: Filter {
            hosts: args.host.iter().copied().map(from_ip).collect(),
            ports: args.port.clone(),
            conns: args.conn.clone(),
        },
        ..ExtractConfig::default()
    };
    let (inputs, skipped) = cli::inputs("seextract", &args.inputs, &cfg.reader, args.recursive);
    if inputs.is_empty() && !args.follow {
        bail!("no readable capture among the inputs ({skipped} skipped)");
    }
    let open_output = || cli::open_output(args.output.as_deref(), args.append);
    // --raw without --proto: the bytes reach the output only if one protocol was found.
    let staged = (args.raw && forced.is_none())
        .then(cli::Staged::new)
        .transpose()?;
    let out = match &staged {
        Some(s) => s.writer()?,
        None => open_output()?,
    };
    let out = BufWriter::with_capacity(1 << 16, out);
    let writer = if args.raw {
        ExtractWriter::raw(out, forced)
    } else {
        ExtractWriter::records(out)
    };
    let mut ex = Extractor::new(xcfg, writer);
    let quiet = args.quiet || args.follow;
    let mut report = cli::run_inputs("seextract", &inputs, &cfg, quiet, &mut ex, &|x| {
        x.out.failed()
    });
    report.warnings += skipped as u64;
    ex.out.flush().context("writing output")?;
    if let Some(s) = staged {
        s.copy_to(&mut open_output()?).context("writing output")?;
    }
    if !args.quiet {
        eprintln!(
            "seextract: {}; {} connections/flows; frames: {}; {} anomalies; {}",
            cli::summary_line(&report),
            report.reassembly.tcp_conns + report.reassembly.udp_flows,
            ex.stats.frames_line(),
            ex.stats.anomalies,
            cli::drops_line(&report),
        );
    }
    Ok(cli::run_status(&report))
}
