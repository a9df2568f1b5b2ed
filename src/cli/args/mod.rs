//! The command lines of the tools, as clap definitions in the library, so that shell
//! completions and man pages can be generated from them (`sekit-gen`).

pub mod se2csv;
pub mod se2state;
pub mod sedecode;
pub mod seextract;
pub mod sefollow;
pub mod sekit_gen;
pub mod selog;
pub mod sereplay;
pub mod seserve;

use crate::cli;
use clap::Args;

/// What every consumer of decoded records (se2csv, se2state, selog) takes: its inputs, the line
/// limit, `-q`.
#[derive(Args, Debug, Clone)]
pub struct RecordInputs {
    /// Skip (with a warning) lines longer than BYTES; K, M, G suffixes.
    #[arg(long, value_name = "BYTES", default_value = "64M", value_parser = cli::parse_size)]
    pub max_line: usize,
    /// No summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    /// Input files; - (the default) is standard input.
    #[arg(value_name = "INPUT", default_values_t = ["-".to_string()])]
    pub inputs: Vec<String>,
}
