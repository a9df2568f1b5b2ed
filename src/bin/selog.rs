//! selog: decoded records (sedecode's JSON Lines) → a SQLite datalogger database; or, with
//! --extract, rows of its `stats` table as CSV (docs/DATALOGGER.md).

use anyhow::{Context, Result};
use clap::Parser;
use sekit::cli;
use sekit::output::semonitor::LocalZone;
use sekit::output::sinks::Sink;
use sekit::output::sqlite::{extract, schema, LogOptions, SqliteSink};
use sekit::pipeline::decode::DecodeStage;
use sekit::protocols::DecodeConfig;
use std::path::PathBuf;

/// Append decoded records to a SQLite database (godenerg's `stats` for PI30, a narrow table
/// for every value, wide tables per protocol); re-reading the same input adds nothing.
#[derive(Parser, Debug)]
#[command(name = "selog", version)]
struct Args {
    /// The database (created if missing; WAL mode).
    #[arg(short, long, value_name = "FILE")]
    db: PathBuf,
    /// Seconds between `stats` rows and between kept C37.118 data rows (0 = every frame).
    #[arg(long, value_name = "SECONDS", default_value_t = 15.0)]
    interval: f64,
    /// Seconds between `last_stats` rows.
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
    last_interval: f64,
    /// Rows kept in `last_stats` per device.
    #[arg(long, value_name = "N", default_value_t = 7200)]
    samples: u64,
    /// Keep reading files as they grow (never ends; standard input ends when closed).
    #[arg(short, long)]
    follow: bool,
    /// Extract `stats` rows FROM-TO (YYYYMMDD[HH[MM[SS]]], local time) instead of logging.
    #[arg(long, value_name = "FROM-TO")]
    extract: Option<String>,
    /// A column to extract (repeatable; none = every godenerg column).
    #[arg(long = "col", value_name = "COLUMN", requires = "extract")]
    cols: Vec<String>,
    /// godenerg's extract file: `;`-separated, no header, Python's str() of values.
    #[arg(long, requires = "extract")]
    godenerg: bool,
    /// Only rows of this PI30 device (`stats.device`) in the extract.
    #[arg(long, value_name = "DEVICE", requires = "extract")]
    device: Option<String>,
    /// Extract output file (default standard output).
    #[arg(short, long, value_name = "FILE", requires = "extract")]
    output: Option<PathBuf>,
    /// Values per transaction at most (a transaction is also committed after 1 s).
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    batch: usize,
    /// Skip (with a warning) lines longer than BYTES; K, M, G suffixes.
    #[arg(long, value_name = "BYTES", default_value = "64M", value_parser = cli::parse_size)]
    max_line: usize,
    /// No summary on stderr.
    #[arg(short, long)]
    quiet: bool,
    /// Input files; - (the default) is standard input.
    #[arg(value_name = "INPUT", default_values_t = ["-".to_string()])]
    inputs: Vec<String>,
}

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
    stage.max_line = args.max_line;
    stage.pass_unread = true;
    let failed = cli::read_records(
        "selog",
        &mut stage,
        &args.inputs,
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
    if !args.quiet {
        eprintln!(
            "selog: {} records, {} values ({} new), {} stats rows, {} last_stats rows, {} wide rows, {} decimated, {} skipped, {} commits, {} unreadable lines, {} inputs failed",
            c.records, c.values, c.inserted, c.stats_rows, c.last_rows, c.wide_rows, c.decimated, c.skipped, c.commits, stage.counts.bad_lines, failed
        );
    }
    Ok(if failed > 0 && failed == args.inputs.len() {
        2
    } else {
        0
    })
}
