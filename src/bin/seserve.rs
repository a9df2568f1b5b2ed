//! seserve: the datalogger database over HTTP: godenerg's /graph and /cmds, /devices,
//! /fields and a live dashboard at / (docs/DATALOGGER.md).

use anyhow::Result;
use clap::Parser;
use sekit::cli;
use sekit::cli::args::seserve::Args;
use sekit::output::semonitor::LocalZone;
use sekit::serve::{bind, run, ServeOptions};

fn main() {
    cli::exit("seserve", real_main())
}

fn real_main() -> Result<i32> {
    let args = Args::parse();
    anyhow::ensure!(
        args.db.exists(),
        "{}: no such database (write it with selog -d)",
        args.db.display()
    );
    let zone = LocalZone::from_env().unwrap_or_else(|e| {
        eprintln!("seserve: warning: {e}; using UTC");
        LocalZone::utc()
    });
    let (server, addr) = bind(&args.listen).map_err(anyhow::Error::msg)?;
    eprintln!("seserve: listening on http://{addr}/");
    let opts = ServeOptions {
        db: args.db,
        listen: addr,
        threads: args.threads,
        zone,
    };
    run(server, &opts).map_err(anyhow::Error::msg)?;
    Ok(0)
}
