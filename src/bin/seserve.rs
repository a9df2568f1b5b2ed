//! seserve: the datalogger database over HTTP: godenerg's /graph and /cmds, /devices,
//! /fields and a live dashboard at / (docs/DATALOGGER.md).

use anyhow::Result;
use clap::Parser;
use sekit::cli;
use sekit::output::semonitor::LocalZone;
use sekit::serve::{bind, run, ServeOptions};
use std::path::PathBuf;

/// Serve a selog database: GET /graph?from=…&to=…&col_1=…[&col_2=…][&device=…][&format=json],
/// /cmds?cmd=status|operation_mode|state[&merge=1][&device=…], /devices, /fields?device=…, /.
#[derive(Parser, Debug)]
#[command(name = "seserve", version)]
struct Args {
    /// The database written by selog.
    #[arg(value_name = "DB")]
    db: PathBuf,
    /// Address to listen on (loopback unless another address is given here).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8890")]
    listen: String,
    /// Worker threads (each with its own read-only connection).
    #[arg(long, value_name = "N", default_value_t = 4)]
    threads: usize,
}

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
