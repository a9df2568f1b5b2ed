//! The command line of `sekit-gen`.

use crate::cli;
use clap::Parser;
use std::path::PathBuf;

/// Write the shell completions (bash, zsh, fish) and man pages of every sekit tool.
///
/// Writes DIR/completions/bash/TOOL, DIR/completions/zsh/_TOOL,
/// DIR/completions/fish/TOOL.fish, DIR/man/man1/TOOL.1 (and TOOL-MODE.1 for each sereplay
/// mode) and DIR/man/man7/sekit-format.7 (the record formats); the paths are listed on
/// standard output.
#[derive(Parser, Debug)]
#[command(name = "sekit-gen", version, after_help = cli::DOCS_HELP)]
pub struct Args {
    /// The output directory (created if missing).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}
