//! se2state: decoded records (sedecode's JSON Lines, or semonitor.py's lines) → one JSON
//! document with the latest value of every field per device, written atomically; optionally
//! published per device over MQTT (docs/CSV_STATE.md).

use anyhow::{Context, Result};
use clap::Parser;
use sekit::cli;
use sekit::cli::args::se2state::Args;
use sekit::output::csv::flat::FlatOpts;
use sekit::output::semonitor::LocalZone;
use sekit::output::sinks::Sink;
use sekit::output::state::{Publish, StateOptions, StateSink};
use sekit::pipeline::decode::DecodeStage;
use sekit::protocols::DecodeConfig;
use std::time::Duration;

fn main() {
    cli::exit("se2state", real_main())
}

fn real_main() -> Result<i32> {
    let args = Args::parse();
    anyhow::ensure!(
        args.interval.is_finite() && args.interval >= 0.0,
        "--interval {}: seconds, at least 0",
        args.interval
    );
    let zone = LocalZone::from_env().unwrap_or_else(|e| {
        eprintln!("se2state: warning: {e}; using UTC");
        LocalZone::utc()
    });
    let publisher: Option<Box<dyn Publish>> = match &args.mqtt {
        Some(url) => Some(Box::new(
            sekit::output::mqtt::Mqtt::connect(url, args.ha_discovery)
                .map_err(anyhow::Error::msg)?,
        )),
        None => None,
    };
    let to_stdout = args.output.is_none() && args.mqtt.is_none();
    let out = match (&args.output, to_stdout) {
        (Some(p), _) => Some(p.clone()),
        (None, true) => {
            Some(std::env::temp_dir().join(format!("se2state-{}.json", std::process::id())))
        }
        (None, false) => None,
    };
    let opts = StateOptions {
        out: out.clone(),
        interval: Duration::from_secs_f64(args.interval),
        compat: args.semonitor_compat,
        flat: FlatOpts {
            rect: args.rect,
            raw: args.raw_fields,
        },
        zone,
    };
    let mut stage = DecodeStage::new(&DecodeConfig::default()).map_err(anyhow::Error::msg)?;
    stage.warn = Box::new(|w| eprintln!("se2state: warning: {w}"));
    stage.max_line = args.records.max_line;
    let mut sink = StateSink::new(opts, publisher);
    stage.pass_unread = true;
    let failed = cli::read_records(
        "se2state",
        &mut stage,
        &args.records.inputs,
        args.follow,
        &mut sink,
        "state",
    )?;
    sink.finish().context("writing state")?;
    if let (true, Some(tmp)) = (to_stdout, &out) {
        let text = std::fs::read_to_string(tmp).context("reading the state back")?;
        let _ = std::fs::remove_file(tmp);
        print!("{text}");
    }
    if !args.records.quiet {
        eprintln!(
            "se2state: {} writes, {} rows without a device or over the cap, {} unreadable lines, {} inputs failed",
            sink.writes(), sink.dropped(), stage.counts.bad_lines, failed
        );
    }
    let bad_lines = stage.counts.bad_lines;
    Ok(cli::status(
        failed > 0 && failed == args.records.inputs.len(),
        failed > 0 || bad_lines > 0,
    ))
}
