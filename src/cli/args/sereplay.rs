//! The command line of `sereplay`.

use crate::cli;
use crate::replay::options::Mode;
use clap::Parser;

/// Replay captured SolarEdge, C37.118 and SEL conversations over ordinary sockets.
///
/// Inputs are captures (as seextract reads them) or seextract's JSON Lines. Addresses must be
/// loopback unless --allow-remote is given.
#[derive(Parser, Debug)]
#[command(name = "sereplay", version, after_help = cli::AFTER_HELP)]
pub struct Args {
    #[command(subcommand)]
    pub mode: Mode,
}
