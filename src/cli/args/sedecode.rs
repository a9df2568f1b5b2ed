//! The command line of `sedecode`.

use crate::cli;
use crate::protocols::registry;
use clap::builder::PossibleValuesParser;
use clap::Parser;
use std::path::PathBuf;

/// Decode protocol frames into JSON Lines records (described in sekit-format(7)).
///
/// Input is seextract's output (frame records are decoded; every other record is passed on
/// unchanged), or with --proto a raw byte stream of that protocol (e.g. a semonitor .rec file,
/// an RS485 dump, a file of C37.118 frames). Decoder state (C37.118 configurations, SolarEdge
/// session keys) is kept across the whole input.
#[derive(Parser, Debug)]
#[command(name = "sedecode", version, after_help = cli::AFTER_HELP)]
pub struct Args {
    /// Input that is not JSON Lines is a raw byte stream of this protocol.
    #[arg(long, value_name = "PROTO", value_parser = PossibleValuesParser::new(registry::names()))]
    pub proto: Option<String>,
    /// Write to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<String>,
    /// No summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    /// SolarEdge inverter key: a key file (32 hex characters, as sekey.py writes, or 16 raw
    /// bytes) or the 32 hex characters themselves. Repeat for several inverters.
    #[arg(long, value_name = "FILE|HEX")]
    pub key: Vec<String>,
    /// Keep the last SolarEdge 0x0503 (session-key exchange) of every inverter in DIR, so a
    /// later run can decrypt frames whose 0x0503 it does not see.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Write SolarEdge telemetry as jbuehl's semonitor.py does: one JSON line per non-empty
    /// 0x0500 (plain or decrypted), Date/Time in the local time zone (TZ); nothing else.
    #[arg(long, conflicts_with = "derive_key")]
    pub semonitor: bool,
    /// Print the SolarEdge inverter key recovered from the reads of parameters 0x0239–0x023c
    /// in the input (32 hex characters; "ID KEY" lines if several inverters); nothing else.
    #[arg(long)]
    pub derive_key: bool,
    /// Write passwords (SEL logins) in clear instead of a salted hash.
    #[arg(long)]
    pub reveal_secrets: bool,
    /// Skip (with a warning) record lines longer than BYTES; K, M, G suffixes (powers of 1024).
    #[arg(long, value_name = "BYTES", default_value = "64M", value_parser = cli::parse_size)]
    pub max_line: usize,
    /// Files of records or raw frames; - (the default) is standard input.
    #[arg(value_name = "INPUT", default_values_t = ["-".to_string()])]
    pub inputs: Vec<String>,
}
