//! Wiring of the lower layers: inputs → packets → segments → stream events, with progress,
//! warnings and counters. Binaries call [`run`] with their own [`Sink`].

use crate::capture::{CaptureError, CaptureReader, Input, ReaderConfig, Timestamp};
use crate::net::{DefragConfig, DefragStats, NetStats, Slicer};
use crate::reassembly::{self, Ctx, EngineStats, Reassembler, Sink};

#[derive(Clone, Debug, Default)]
pub struct RunConfig {
    pub reader: ReaderConfig,
    pub defrag: DefragConfig,
    pub reassembly: reassembly::Config,
}

/// What a run read and what it had to leave out.
#[derive(Clone, Debug, Default)]
pub struct RunReport {
    /// Inputs opened.
    pub files: usize,
    /// Inputs that could not be opened or read at all.
    pub files_failed: usize,
    pub packets: u64,
    /// Bytes of capture data consumed.
    pub bytes: u64,
    /// Warnings and errors reported through the callback.
    pub warnings: u64,
    pub net: NetStats,
    pub defrag: DefragStats,
    pub engine: EngineStats,
    /// The sink asked to stop before the end of the input.
    pub stopped_early: bool,
}

impl RunReport {
    /// True when inputs were given but nothing at all could be read from them.
    pub fn nothing_read(&self) -> bool {
        self.packets == 0 && self.files_failed > 0 && self.files == 0
    }
}

/// Receives progress: bytes consumed over all inputs so far.
pub trait Progress {
    fn update(&mut self, done: u64);
}

impl<F: FnMut(u64)> Progress for F {
    fn update(&mut self, done: u64) {
        self(done)
    }
}

/// Reads every input in order, feeding one reassembly engine (so a capture split into rotated
/// files continues its connections), then flushes it. Errors in one input are reported through
/// `warn` and do not stop the others.
pub fn run<S: Sink>(
    inputs: &[Input],
    cfg: &RunConfig,
    sink: &mut S,
    warn: &mut dyn FnMut(&CaptureError),
    progress: &mut dyn Progress,
    stop: &dyn Fn(&S) -> bool,
) -> RunReport {
    let mut report = RunReport::default();
    let mut slicer = Slicer::new(cfg.defrag.clone());
    let mut engine = Reassembler::new(cfg.reassembly.clone());
    let mut done_before = 0u64;
    let mut last_ts = Timestamp::default();
    let mut last_file = String::new();
    let mut last_pkt = 0;
    'inputs: for input in inputs {
        let mut r = match CaptureReader::open(&input.path, &cfg.reader) {
            Ok(r) => r,
            Err(e) => {
                report.files_failed += 1;
                report.warnings += 1;
                warn(&e);
                continue;
            }
        };
        report.files += 1;
        loop {
            match r.next_packet() {
                Ok(Some(pkt)) => {
                    report.packets += 1;
                    last_ts = pkt.ts;
                    let ctx = Ctx {
                        ts: pkt.ts,
                        file: pkt.file,
                        pkt: pkt.index,
                    };
                    if let Ok(seg) = slicer.slice(&pkt) {
                        engine.process(&seg, &ctx, sink);
                    }
                    if report.packets % 8192 == 0 {
                        progress.update(done_before + r.consumed());
                        if stop(sink) {
                            report.stopped_early = true;
                            break 'inputs;
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    report.warnings += 1;
                    warn(&e);
                    break;
                }
            }
        }
        if let Some((off, n)) = r.truncated_tail() {
            report.warnings += 1;
            warn(&CaptureError::Format {
                file: input.path.clone(),
                offset: off,
                reason: format!(
                    "capture ends inside a record ({n} bytes of it present): cut short or still being written"
                ),
            });
        }
        done_before += r.consumed();
        last_file = input.path.clone();
        last_pkt = r.packets();
        progress.update(done_before);
    }
    report.bytes = done_before;
    let ctx = Ctx {
        ts: last_ts,
        file: &last_file,
        pkt: last_pkt,
    };
    if !report.stopped_early {
        engine.finish(&ctx, sink);
    }
    report.net = slicer.stats.clone();
    report.defrag = slicer.defrag_stats().clone();
    report.engine = engine.stats.clone();
    report
}
