//! sereplay: captured conversations back on the wire — push to a live peer, serve as a
//! simulated device, emit UDP — with drift-free timing, rewritten times and checksums
//! (docs/REPLAY.md).
//!
//! SIGINT sets the stop flag every loop polls (the `ctrlc` crate: one portable handler, no
//! unsafe code here), so a run ends cleanly with its summary.

use clap::Parser;
use sekit::cli;
use sekit::cli::args::sereplay::Args;
use sekit::replay::Run;
use std::sync::atomic::Ordering;

fn main() {
    cli::exit("sereplay", real_main())
}

fn real_main() -> anyhow::Result<i32> {
    let args = Args::parse();
    // A replay puts the captured bytes back, passwords included (never printed).
    sekit::protocols::sel::secrets::set_reveal(true);
    let quiet = args.mode.common().quiet;
    let run = Run {
        quiet,
        ..Run::default()
    };
    let stop = run.stop.clone();
    ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed))?;
    let progress = if args.mode.common().dry_run {
        None
    } else {
        run.progress()
    };
    let mut warned = 0u64;
    let mut warn = |w: String| {
        warned += 1;
        if !quiet {
            eprintln!("sereplay: warning: {w}");
        }
    };
    // Printed even with --quiet: with port 0 it is the only way to learn the port.
    let mut bound = |a: std::net::SocketAddr| eprintln!("sereplay: listening on {a}");
    let result = sekit::replay::options::execute(&args.mode, &run, &mut warn, &mut bound);
    run.stop.store(true, Ordering::Relaxed);
    if let Some(p) = progress {
        let _ = p.join();
    }
    if let Err(e @ sekit::replay::ReplayError::Remote(_)) = &result {
        eprintln!("sereplay: {e}");
        return Ok(2);
    }
    if !quiet && !args.mode.common().dry_run {
        eprintln!("sereplay: {}", run.stats.line());
    }
    result
        .map(|()| cli::status(false, warned > 0))
        .map_err(Into::into)
}
