//! selog: decoded records (sedecode's JSON Lines) → a SQLite datalogger database; or, with
//! --extract, rows of its `stats` table as CSV (docs/DATALOGGER.md).

use anyhow::{Context, Result};
use clap::Parser;
use sekit::cli;
use sekit::cli::args::selog::Args;
use sekit::output::semonitor::LocalZone;
use sekit::output::sinks::Sink;
use sekit::output::sqlite::{extract, schema, LogOptions, SqliteSink};
use sekit::pipeline::decode::DecodeStage;
use sekit::protocols::DecodeConfig;

fn main() {
    cli::exit("selog", real_main())
}

fn do_extract(args: &Args, range: &str) -> Result<i32> {
    let zone = LocalZone::from_env().unwrap_or_else(|_| LocalZone::utc());
    let (from, to) = extract::parse_range(range, &zone)?;
    let conn = schema::open_ro(&args.db).with_context(|| format!("{}", args.db.display()))?;
    let text = extract::extract(
        &conn,
        from,
        to,
        &args.cols,
        args.device.as_deref(),
        args.godenerg,
    )?;
    match &args.output {
        Some(p) => std::fs::write(p, text).with_context(|| format!("{}", p.display()))?,
        None => std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes())?,
    }
    Ok(0)
}

fn real_main() -> Result<i32> {
    let args = Args::parse();
    if let Some(range) = &args.extract {
        return do_extract(&args, range);
    }
    for (name, v) in [
        ("--interval", args.interval),
        ("--last-interval", args.last_interval),
    ] {
        anyhow::ensure!(v.is_finite() && v >= 0.0, "{name} {v}: seconds, at least 0");
    }
    let mut opts = LogOptions::new(args.db.clone());
    opts.interval = args.interval;
    opts.last_interval = args.last_interval;
    opts.samples = args.samples;
    opts.batch = args.batch.max(1);
    let mut sink =
        SqliteSink::open(opts).with_context(|| format!("opening {}", args.db.display()))?;
    let mut stage = DecodeStage::new(&DecodeConfig::default()).map_err(anyhow::Error::msg)?;
    stage.warn = Box::new(|w| eprintln!("selog: warning: {w}"));
    stage.max_line = args.records.max_line;
    stage.pass_unread = true;
    let failed = cli::read_records(
        "selog",
        &mut stage,
        &args.records.inputs,
        args.follow,
        &mut sink,
        "the database",
    );
    // Whatever happened, what was read is committed (a failed commit says so).
    let fin = sink
        .finish()
        .with_context(|| format!("writing {}", args.db.display()));
    let failed = failed?;
    fin?;
    let c = &sink.counts;
    if c.not_decoded > 0 {
        eprintln!("selog: warning: {} records not stored (semonitor lines, or frames of a protocol this build does not decode)", c.not_decoded);
    }
    if !args.records.quiet {
        eprintln!(
            "selog: {} records, {} values ({} new), {} stats rows, {} last_stats rows, {} wide rows, {} decimated, {} skipped, {} commits, {} unreadable lines, {} inputs failed",
            c.records, c.values, c.inserted, c.stats_rows, c.last_rows, c.wide_rows, c.decimated, c.skipped, c.commits, stage.counts.bad_lines, failed
        );
    }
    Ok(if failed > 0 && failed == args.records.inputs.len() {
        2
    } else {
        0
    })
}
