//! Helpers shared by the command-line tools: input expansion with warnings, progress bar,
//! end-of-run summary, broken-pipe handling.

pub mod args;
pub mod gen;

use crate::capture::{expand_inputs_recursive, CaptureError, Input, ReaderConfig};
use crate::pipeline::decode::{DecodeStage, InputError};
use crate::pipeline::{run, RunConfig, RunReport};
use crate::reassembly::Sink;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// Prints a warning about an input on stderr, prefixed by the tool's name.
pub fn warn(tool: &str, e: &CaptureError) {
    eprintln!("{tool}: warning: {e}");
}

/// Expands the paths (subdirectories too with `recursive`), printing a warning for each one
/// skipped.
pub fn inputs(
    tool: &str,
    paths: &[String],
    cfg: &ReaderConfig,
    recursive: bool,
) -> (Vec<Input>, usize) {
    let (inputs, warnings) = expand_inputs_recursive(paths, cfg, recursive);
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

/// Exit status 0: everything was read without a problem.
pub const EXIT_OK: i32 = 0;
/// Exit status 1: some input had problems (a warning on stderr), output was still produced.
pub const EXIT_PARTIAL: i32 = 1;
/// Exit status 2: a usage error (as clap reports it), or nothing could be read or written.
pub const EXIT_FAIL: i32 = 2;

macro_rules! exit_help {
    () => {
        "Exit status: 0 all input read without problems; 1 some input had problems (warnings on stderr, counted in the summary) but output was produced; 2 usage error, or nothing could be read or written. A closed output pipe is 0."
    };
}

macro_rules! docs_help {
    () => {
        "Documentation: the man page of each tool, and sekit-format(7) for the records; `sekit-gen DIR` writes them and the shell completions (bash, zsh, fish)."
    };
}

/// The exit-status contract, the same for every tool; shown at the end of every `--help`.
pub const EXIT_HELP: &str = exit_help!();

/// Where the documentation of an installed tool is.
pub const DOCS_HELP: &str = docs_help!();

/// The end of every tool's `--help`: the exit-status contract and where the documentation is.
pub const AFTER_HELP: &str = concat!(exit_help!(), "\n\n", docs_help!());

/// The status for a run: [`EXIT_FAIL`] when nothing could be read, [`EXIT_PARTIAL`] when
/// something had problems, else [`EXIT_OK`].
pub fn status(nothing_read: bool, problems: bool) -> i32 {
    if nothing_read {
        EXIT_FAIL
    } else if problems {
        EXIT_PARTIAL
    } else {
        EXIT_OK
    }
}

/// The status of a packet-pipeline run (seextract, sefollow): see [`status`].
pub fn run_status(r: &RunReport) -> i32 {
    status(r.nothing_read(), r.warnings > 0)
}

/// Ends the process: the status the tool returned, 0 when the output pipe was closed by its
/// reader, [`EXIT_FAIL`] with a message on any other error.
pub fn exit(tool: &str, r: anyhow::Result<i32>) -> ! {
    match r {
        Ok(code) => std::process::exit(code),
        Err(e) if is_broken_pipe(&e) => std::process::exit(0),
        Err(e) => {
            eprintln!("{tool}: error: {e:#}");
            std::process::exit(EXIT_FAIL);
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

/// Output held in a temporary file until the run is known to have succeeded (then copied to
/// its destination by [`Staged::copy_to`]); the file is removed when dropped.
pub struct Staged {
    path: std::path::PathBuf,
}

impl Staged {
    pub fn new() -> std::io::Result<Staged> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "sekit-staged-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::File::create(&path)?;
        Ok(Staged { path })
    }

    /// A writer into the temporary file.
    pub fn writer(&self) -> std::io::Result<Box<dyn std::io::Write>> {
        Ok(Box::new(
            std::fs::OpenOptions::new().write(true).open(&self.path)?,
        ))
    }

    /// Copies what was written to `out`.
    pub fn copy_to(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let mut f = std::fs::File::open(&self.path)?;
        std::io::copy(&mut f, out)?;
        out.flush()
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The output file (appended to with `append`, else replaced), or standard output.
pub fn open_output(path: Option<&str>, append: bool) -> anyhow::Result<Box<dyn std::io::Write>> {
    use anyhow::Context;
    Ok(match path {
        Some(path) => Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .append(append)
                .truncate(!append)
                .open(path)
                .with_context(|| format!("opening {path}"))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    })
}
