//! se2csv: decoded records (sedecode's JSON Lines, or semonitor.py's lines) → one CSV file per
//! protocol and device or record kind (docs/CSV_STATE.md).

use anyhow::{Context, Result};
use clap::Parser;
use sekit::cli;
use sekit::cli::args::se2csv::Args;
use sekit::output::csv::flat::FlatOpts;
use sekit::output::csv::{CsvOptions, CsvSink};
use sekit::output::sinks::Sink;
use sekit::output::Semonitor;
use sekit::pipeline::decode::DecodeStage;
use sekit::protocols::DecodeConfig;

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
            .unwrap_or_else(|| default_prefix(&args.records.inputs)),
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
    stage.max_line = args.records.max_line;
    let mut sink = CsvSink::new(opts, fmt);
    stage.pass_unread = true;
    let failed = cli::read_records(
        "se2csv",
        &mut stage,
        &args.records.inputs,
        args.follow,
        &mut sink,
        "CSV",
    )?;
    sink.finish().context("writing CSV")?;
    let c = &sink.counts;
    if c.dropped_cols > 0 {
        eprintln!("se2csv: warning: {} values had no column in their file (dropped, where se2csv.py stops)", c.dropped_cols);
    }
    if !args.records.quiet {
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
        failed > 0 && failed == args.records.inputs.len(),
        failed > 0 || bad_lines > 0,
    ))
}
