//! se2csv: decoded records (sedecode's JSON Lines, or semonitor.py's lines) → one CSV file per
//! protocol and device or record kind (docs/CSV_STATE.md).

use anyhow::{Context, Result};
use clap::Parser;
use sekit::cli;
use sekit::output::csv::flat::FlatOpts;
use sekit::output::csv::{CsvOptions, CsvSink};
use sekit::output::sinks::Sink;
use sekit::output::Semonitor;
use sekit::pipeline::decode::DecodeStage;
use sekit::protocols::DecodeConfig;

/// Write decoded records as CSV files: PREFIX.<protocol>.<device or kind>.csv.
///
/// Input lines are sedecode records (frame records are decoded here, decoded records used as
/// they are) or semonitor.py lines (`sedecode --semonitor`), decided line by line.
#[derive(Parser, Debug)]
#[command(name = "se2csv", version, after_help = cli::EXIT_HELP)]
struct Args {
    /// File name prefix (default: the first input's name without extension, or "sekit").
    #[arg(short, long, value_name = "PREFIX")]
    prefix: Option<String>,
    /// Field delimiter (one ASCII character, or "tab").
    #[arg(short, long, value_name = "DELIM", default_value = ",")]
    delim: String,
    /// Write a header row (the default; in --semonitor-compat mode only with -t, as jbuehl's).
    #[arg(short = 't', long)]
    header: bool,
    /// No header row.
    #[arg(long, conflicts_with = "header")]
    no_header: bool,
    /// Append to existing files (a header is not repeated).
    #[arg(short, long)]
    append: bool,
    /// Keep reading files as they grow, flushing every row.
    #[arg(short, long)]
    follow: bool,
    /// Phasors also as rectangular components (<channel>_re, <channel>_im).
    #[arg(long)]
    rect: bool,
    /// Keep fields named raw / *_raw (the undecoded form of the field beside them).
    #[arg(long)]
    raw_fields: bool,
    /// jbuehl's se2csv.py files: PREFIX.<devName>.csv, __Identifier__ then the sorted keys of
    /// the first row, Python's str() of values, from semonitor lines (or SolarEdge frames).
    #[arg(long)]
    semonitor_compat: bool,
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
    cli::exit("se2csv", real_main())
}

fn delimiter(s: &str) -> Result<u8> {
    match s {
        "tab" | "\\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() && s != "\"" && s != "\n" => Ok(s.as_bytes()[0]),
        _ => anyhow::bail!("-d {s:?}: the delimiter is one ASCII character (or \"tab\")"),
    }
}

fn default_prefix(inputs: &[String]) -> String {
    let first = inputs.iter().find(|i| *i != "-");
    first
        .and_then(|p| std::path::Path::new(p).file_stem())
        .map_or_else(|| "sekit".into(), |s| s.to_string_lossy().into_owned())
}

fn real_main() -> Result<i32> {
    let args = Args::parse();
    let opts = CsvOptions {
        prefix: args
            .prefix
            .clone()
            .unwrap_or_else(|| default_prefix(&args.inputs)),
        delim: delimiter(&args.delim)?,
        header: if args.semonitor_compat {
            args.header
        } else {
            !args.no_header
        },
        append: args.append,
        flush_each: args.follow,
        flat: FlatOpts {
            rect: args.rect,
            raw: args.raw_fields,
        },
        compat: args.semonitor_compat,
    };
    let fmt = Semonitor::from_env().unwrap_or_else(|e| {
        eprintln!("se2csv: warning: {e}; using UTC");
        Semonitor::utc()
    });
    let mut stage = DecodeStage::new(&DecodeConfig::default()).map_err(anyhow::Error::msg)?;
    stage.warn = Box::new(|w| eprintln!("se2csv: warning: {w}"));
    stage.max_line = args.max_line;
    let mut sink = CsvSink::new(opts, fmt);
    stage.pass_unread = true;
    let failed = cli::read_records(
        "se2csv",
        &mut stage,
        &args.inputs,
        args.follow,
        &mut sink,
        "CSV",
    )?;
    sink.finish().context("writing CSV")?;
    let c = &sink.counts;
    if c.dropped_cols > 0 {
        eprintln!("se2csv: warning: {} values had no column in their file (dropped, where se2csv.py stops)", c.dropped_cols);
    }
    if !args.quiet {
        let files: Vec<String> = c.files.iter().map(|p| p.display().to_string()).collect();
        eprintln!(
            "se2csv: {} rows in {} files, {} unreadable lines, {} inputs failed: {}",
            c.rows,
            files.len(),
            stage.counts.bad_lines,
            failed,
            files.join(" ")
        );
    }
    let bad_lines = stage.counts.bad_lines;
    Ok(cli::status(
        failed > 0 && failed == args.inputs.len(),
        failed > 0 || bad_lines > 0,
    ))
}
