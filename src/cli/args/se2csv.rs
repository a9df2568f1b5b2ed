//! The command line of `se2csv`.

use crate::cli;
use clap::Parser;

/// Write decoded records as CSV files: PREFIX.<protocol>.<device or kind>.csv.
///
/// Input lines are sedecode records (frame records are decoded here, decoded records used as
/// they are) or semonitor.py lines (`sedecode --semonitor`), decided line by line.
#[derive(Parser, Debug)]
#[command(name = "se2csv", version, after_help = cli::AFTER_HELP)]
pub struct Args {
    /// File name prefix (default: the first input's name without extension, or "sekit").
    #[arg(short, long, value_name = "PREFIX")]
    pub prefix: Option<String>,
    /// Field delimiter (one ASCII character, or "tab").
    #[arg(short, long, value_name = "DELIM", default_value = ",")]
    pub delim: String,
    /// Write a header row (the default; in --semonitor-compat mode only with -t, as jbuehl's).
    #[arg(short = 't', long)]
    pub header: bool,
    /// No header row.
    #[arg(long, conflicts_with = "header")]
    pub no_header: bool,
    /// Append to existing files (a header is not repeated).
    #[arg(short, long)]
    pub append: bool,
    /// Keep reading files as they grow, flushing every row.
    #[arg(short, long)]
    pub follow: bool,
    /// Phasors also as rectangular components (<channel>_re, <channel>_im).
    #[arg(long)]
    pub rect: bool,
    /// Keep fields named raw / *_raw (the undecoded form of the field beside them).
    #[arg(long)]
    pub raw_fields: bool,
    /// jbuehl's se2csv.py files: PREFIX.<devName>.csv, __Identifier__ then the sorted keys of
    /// the first row, Python's str() of values, from semonitor lines (or SolarEdge frames).
    #[arg(long)]
    pub semonitor_compat: bool,
    #[command(flatten)]
    pub records: super::RecordInputs,
}
