//! The command line of `se2state`.

use crate::cli;
use clap::Parser;
use std::path::PathBuf;

/// Keep the latest state of every device in a JSON file (and/or publish it over MQTT).
///
/// Input lines are sedecode records (frame records are decoded here) or semonitor.py lines
/// (`sedecode --semonitor`), decided line by line. Without -o and --mqtt the final document
/// is written to standard output.
#[derive(Parser, Debug)]
#[command(name = "se2state", version, after_help = cli::AFTER_HELP)]
pub struct Args {
    /// The state file (replaced atomically: a temporary file in its directory, renamed).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// At most one write (and MQTT publication) per SECONDS while input streams.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    pub interval: f64,
    /// Keep reading files as they grow (never ends; standard input ends when closed).
    #[arg(short, long)]
    pub follow: bool,
    /// jbuehl's se2state.py document: {"inverters": {"stats": …, "<id>": …}, "optimizers": …}.
    #[arg(long)]
    pub semonitor_compat: bool,
    /// Publish each changed device as retained JSON on <prefix>/<protocol>/<device>, e.g.
    /// mqtt://127.0.0.1:1883/sekit.
    #[arg(long, value_name = "URL")]
    pub mqtt: Option<String>,
    /// Also publish Home Assistant discovery messages (homeassistant/sensor/…/config).
    #[arg(long, requires = "mqtt")]
    pub ha_discovery: bool,
    /// Phasors also as rectangular components.
    #[arg(long)]
    pub rect: bool,
    /// Keep fields named raw / *_raw.
    #[arg(long)]
    pub raw_fields: bool,
    #[command(flatten)]
    pub records: super::RecordInputs,
}
