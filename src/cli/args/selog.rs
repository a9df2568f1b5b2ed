//! The command line of `selog`.

use crate::cli;
use clap::Parser;
use std::path::PathBuf;

/// Append decoded records to a SQLite database (godenerg's `stats` for PI30, a narrow table
/// for every value, wide tables per protocol); re-reading the same input adds nothing.
#[derive(Parser, Debug)]
#[command(name = "selog", version, after_help = cli::DOCS_HELP)]
pub struct Args {
    /// The database (created if missing; WAL mode).
    #[arg(short, long, value_name = "FILE")]
    pub db: PathBuf,
    /// Seconds between `stats` rows and between kept C37.118 data rows (0 = every frame).
    #[arg(long, value_name = "SECONDS", default_value_t = 15.0)]
    pub interval: f64,
    /// Seconds between `last_stats` rows.
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
    pub last_interval: f64,
    /// Rows kept in `last_stats` per device.
    #[arg(long, value_name = "N", default_value_t = 7200)]
    pub samples: u64,
    /// Keep reading files as they grow (never ends; standard input ends when closed).
    #[arg(short, long)]
    pub follow: bool,
    /// Extract `stats` rows FROM-TO (YYYYMMDD[HH[MM[SS]]], local time) instead of logging.
    #[arg(long, value_name = "FROM-TO")]
    pub extract: Option<String>,
    /// A column to extract (repeatable; none = every godenerg column).
    #[arg(long = "col", value_name = "COLUMN", requires = "extract")]
    pub cols: Vec<String>,
    /// godenerg's extract file: `;`-separated, no header, Python's str() of values.
    #[arg(long, requires = "extract")]
    pub godenerg: bool,
    /// Only rows of this PI30 device (`stats.device`) in the extract.
    #[arg(long, value_name = "DEVICE", requires = "extract")]
    pub device: Option<String>,
    /// Extract output file (default standard output).
    #[arg(short, long, value_name = "FILE", requires = "extract")]
    pub output: Option<PathBuf>,
    /// Values per transaction at most (a transaction is also committed after 1 s).
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    pub batch: usize,
    #[command(flatten)]
    pub records: super::RecordInputs,
}
