//! Helpers shared by the command-line tools: input expansion with warnings, progress bar,
//! end-of-run summary, broken-pipe handling.

use crate::capture::{expand_inputs, CaptureError, Input, ReaderConfig};
use crate::pipeline::decode::{DecodeStage, InputError};
use crate::pipeline::{run, RunConfig, RunReport};
use crate::reassembly::Sink;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// Prints a warning about an input on stderr, prefixed by the tool's name.
pub fn warn(tool: &str, e: &CaptureError) {
    eprintln!("{tool}: warning: {e}");
}

/// Expands the paths, printing a warning for each one skipped.
pub fn inputs(tool: &str, paths: &[String], cfg: &ReaderConfig) -> (Vec<Input>, usize) {
    let (inputs, warnings) = expand_inputs(paths, cfg);
    for w in &warnings {
        warn(tool, w);
    }
    (inputs, warnings.len())
}

/// A byte-based progress bar on stderr, only when stderr is a terminal and sizes are known.
pub fn progress_bar(inputs: &[Input], quiet: bool) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let total: u64 = inputs.iter().map(|i| i.size).sum::<Option<u64>>()?;
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    Some(pb)
}

/// Runs the packet pipeline over `inputs` into `sink`, with a progress bar (unless `quiet`)
/// and the tool's warnings on stderr; `stop` ends the run early.
pub fn run_inputs<S: Sink>(
    tool: &str,
    inputs: &[Input],
    cfg: &RunConfig,
    quiet: bool,
    sink: &mut S,
    stop: &dyn Fn(&S) -> bool,
) -> RunReport {
    let pb = progress_bar(inputs, quiet);
    let mut progress = |done: u64| {
        if let Some(pb) = &pb {
            pb.set_position(done);
        }
    };
    let mut warn = |e: &CaptureError| match &pb {
        Some(pb) => pb.suspend(|| warn(tool, e)),
        None => warn(tool, e),
    };
    let report = run(inputs, cfg, sink, &mut warn, &mut progress, stop);
    if let Some(pb) = &pb {
        pb.finish_and_clear();
    }
    report
}

/// The capture-level part of the end summary.
pub fn summary_line(r: &RunReport) -> String {
    format!(
        "{} files ({} unreadable), {} packets, {} bytes read, {} non-TCP/UDP, {} malformed, {} fragments reassembled, {} fragments dropped, {} warnings",
        r.files,
        r.files_failed,
        r.packets,
        r.bytes,
        r.net.not_tcp_udp + r.net.bad_linktype,
        r.net.malformed,
        r.defrag.reassembled,
        r.defrag.dropped(),
        r.warnings,
    )
}

/// The drops of the reassembly, for the end summary.
pub fn drops_line(r: &RunReport) -> String {
    format!(
        "drops: {} ooo-forced gaps, {} conns evicted (memory budget), {} packets after close; state peak {} KiB",
        r.reassembly.forced_gaps,
        r.reassembly.evicted,
        r.reassembly.after_close,
        r.reassembly.mem_peak.div_ceil(1024),
    )
}

/// Ends the process: the status the tool returned, 0 when the output pipe was closed by its
/// reader, 1 with a message on any other error.
pub fn exit(tool: &str, r: anyhow::Result<i32>) -> ! {
    match r {
        Ok(code) => std::process::exit(code),
        Err(e) if is_broken_pipe(&e) => std::process::exit(0),
        Err(e) => {
            eprintln!("{tool}: error: {e:#}");
            std::process::exit(1);
        }
    }
}

/// True if the error (or its cause) is a closed pipe: the reader went away, which is not a
/// failure of ours (`sefollow … | head`).
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// A size in bytes: a number with an optional K, M or G suffix (powers of 1024), e.g. `64M`.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (num, shift) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 10),
        Some((i, 'm' | 'M')) => (&t[..i], 20),
        Some((i, 'g' | 'G')) => (&t[..i], 30),
        _ => (t, 0),
    };
    let n: usize = num.parse().map_err(|_| format!("not a size: {s:?}"))?;
    n.checked_mul(1 << shift)
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("size out of range: {s:?}"))
}

/// Reads every input of se2csv / se2state (files or `-`; `follow` polls a file at its end) into
/// `sink` through `stage`: an input that cannot be read is a warning and counts as failed, an
/// error writing `what` ends the run. Returns how many inputs failed.
pub fn read_records<S: crate::output::sinks::Sink>(
    tool: &str,
    stage: &mut DecodeStage,
    inputs: &[String],
    follow: bool,
    sink: &mut S,
    what: &str,
) -> anyhow::Result<usize> {
    use anyhow::Context;
    let mut failed = 0;
    for name in inputs {
        let input = crate::output::csv::input::open(name, follow)
            .map_err(|e| InputError::Open(name.clone(), e));
        match input.and_then(|i| stage.records(name, i, sink)) {
            Ok(()) => {}
            Err(InputError::Write(e)) => return Err(e).with_context(|| format!("writing {what}")),
            Err(e) => {
                eprintln!("{tool}: warning: {e}");
                failed += 1;
            }
        }
    }
    Ok(failed)
}
