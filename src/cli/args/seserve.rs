//! The command line of `seserve`.

use crate::cli;
use clap::Parser;
use std::path::PathBuf;

/// Serve a selog database: GET /graph?from=…&to=…&col_1=…[&col_2=…][&device=…][&format=json],
/// /cmds?cmd=status|operation_mode|state[&merge=1][&device=…], /devices, /fields?device=…, /.
#[derive(Parser, Debug)]
#[command(name = "seserve", version, after_help = cli::DOCS_HELP)]
pub struct Args {
    /// The database written by selog.
    #[arg(value_name = "DB")]
    pub db: PathBuf,
    /// Address to listen on (loopback unless another address is given here).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8890")]
    pub listen: String,
    /// Worker threads (each with its own read-only connection).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub threads: usize,
}
