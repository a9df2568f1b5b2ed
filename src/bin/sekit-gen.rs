//! sekit-gen: shell completions and man pages of every sekit tool, from their clap definitions.

use anyhow::{Context, Result};
use clap::Parser;
use sekit::cli;
use sekit::cli::args::sekit_gen::Args;
use std::io::Write;

fn main() {
    cli::exit("sekit-gen", real_main())
}

fn real_main() -> Result<i32> {
    let args = Args::parse();
    let files = cli::gen::generate(&args.dir)
        .with_context(|| format!("writing into {}", args.dir.display()))?;
    let mut out = std::io::stdout().lock();
    for f in files {
        writeln!(out, "{}", f.display())?;
    }
    Ok(cli::EXIT_OK)
}
