//! seextract: protocol frames (SolarEdge, C37.118, SEL) found by content in captures, as JSON
//! Lines records or, with --raw, the concatenated frame bytes of one protocol.

use anyhow::{bail, Context, Result};
use clap::Parser;
use sekit::cli;
use sekit::cli::args::seextract::Args;
use sekit::output::ExtractWriter;
use sekit::pipeline::{FollowConfig, RunConfig};
use sekit::protocols::extract::{ExtractConfig, Extractor, Filter};
use sekit::protocols::registry;
use std::io::BufWriter;

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
    cfg.select(&args.select);
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
