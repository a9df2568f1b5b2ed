//! Inputs → packets → segments → stream events, with progress, warnings and counters, and
//! follow mode for captures still being written. Binaries call [`run`] with their own [`Sink`].
//!
//! One read loop ([`Reader`]) opens the inputs in turn, counts packets and warnings, slices
//! packets into segments and reports progress and truncated tails; it hands what it finds, in
//! input order, to a [`Consumer`]. A single-threaded or follow-mode run consumes on the calling
//! thread straight into the reassembler ([`Direct`]); a read-ahead run runs the loop on a second
//! thread that copies the segments into batches ([`Batcher`]) for the reassembling thread.

use crate::capture::watch::{new_files, watch_target, Waiter};
use crate::capture::{file_id, CaptureError, CaptureReader, Input, ReaderConfig, Timestamp};
use crate::filter::{Facts, PacketFilter, PacketSelect};
use crate::net::{DefragConfig, DefragStats, Endpoints, NetStats, Segment, Slicer, TcpHeader};
use crate::reassembly::{self, Ctx, Reassembler, ReassemblyStats, Sink};
use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::{Duration, Instant, SystemTime};

/// Follow mode: wait for growing files and, in a watched directory, for new files
/// (tcpdump `-w`, `-C`/`-G` rotation).
#[derive(Clone, Debug)]
pub struct FollowConfig {
    /// Directory whose new capture files are read after the current one.
    pub watch_dir: Option<PathBuf>,
    /// Longest wait between looks when no change notification arrives.
    pub poll: Duration,
    /// Stop after this long without new data (None: follow until interrupted).
    pub quit_after_idle: Option<Duration>,
}

impl Default for FollowConfig {
    fn default() -> Self {
        FollowConfig {
            watch_dir: None,
            poll: Duration::from_millis(200),
            quit_after_idle: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct RunConfig {
    pub reader: ReaderConfig,
    pub defrag: DefragConfig,
    pub reassembly: reassembly::Config,
    pub follow: Option<FollowConfig>,
    /// Read and slice on a second thread (ignored in follow mode). Worth it unless the sink
    /// already keeps the second core busy (sefollow's hashing).
    pub read_ahead: bool,
    /// Only packets matching this capture filter reach the reassembly (`-F`).
    pub filter: Option<PacketFilter>,
    /// Stop after this many packets (that matched the filter, when there is one): `-c`.
    pub count: Option<u64>,
}

impl RunConfig {
    /// Applies the tools' packet selection (`--host`, `--port`, `-F`, `-c`).
    pub fn select(&mut self, s: &PacketSelect) {
        self.filter = s.combined();
        self.count = s.count;
    }
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            reader: ReaderConfig::default(),
            defrag: DefragConfig::default(),
            reassembly: reassembly::Config::default(),
            follow: None,
            read_ahead: true,
            filter: None,
            count: None,
        }
    }
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
    pub reassembly: ReassemblyStats,
    /// The sink asked to stop before the end of the input.
    pub stopped_early: bool,
    /// Packets that matched the capture filter (all packets read without one).
    pub matched: u64,
    /// The run ended at the packet count (`-c`), before the end of the input.
    pub count_reached: bool,
}

impl RunReport {
    /// True when something went wrong and not a single packet could be read.
    pub fn nothing_read(&self) -> bool {
        self.packets == 0 && self.warnings > 0
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

/// Reads every input in order, feeding one reassembler (so a capture split into rotated files
/// continues its connections), then flushes it. Errors in one input are reported through
/// `warn` and do not stop the others. With `cfg.follow`, the last file is followed as it grows
/// and new files in the watched directory are read in turn.
pub fn run<S: Sink>(
    inputs: &[Input],
    cfg: &RunConfig,
    sink: &mut S,
    warn: &mut dyn FnMut(&CaptureError),
    progress: &mut dyn Progress,
    stop: &dyn Fn(&S) -> bool,
) -> RunReport {
    if cfg.follow.is_none() && cfg.read_ahead {
        return run_threaded(inputs, cfg, sink, warn, progress, stop);
    }
    let mut direct = Direct {
        reasm: Reassembler::new(cfg.reassembly.clone()),
        sink,
        warn,
        progress,
        stop,
    };
    let (report, end) = Reader::new(inputs, cfg).run(&mut direct);
    finish(report, direct.reasm, &end, direct.sink)
}

/// Whether the read loop goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    Go,
    Stop,
}

/// Receives what the read loop finds, in input order. A [`Flow::Stop`] answer ends the run
/// early.
trait Consumer {
    /// An input was opened; the segments that follow come from it.
    fn opened(&mut self, path: &str) -> Flow;
    /// A segment of the current input, with the packet it comes from.
    fn segment(&mut self, seg: &Segment<'_>, ctx: &Ctx<'_>) -> Flow;
    /// An input could not be opened or read to its end.
    fn warning(&mut self, e: CaptureError) -> Flow;
    /// Every 8192 packets: bytes consumed so far, and a chance to stop.
    fn tick(&mut self, done: u64) -> Flow;
    /// An input was read to its end: bytes consumed so far.
    fn finished(&mut self, done: u64) -> Flow;
    /// Follow mode, no new data for now.
    fn idle(&mut self) -> Flow;
}

/// Where the input ended: provenance of the events of the final flush.
#[derive(Debug, Default)]
struct End {
    ts: Timestamp,
    file: String,
    pkt: u64,
}

/// Follow mode: the last input could not be opened as a capture.
struct Retry {
    path: String,
    /// The message it gave (a new message is reported again).
    reason: String,
    /// Size and modification time then: it is opened again once these change.
    sig: Option<(u64, SystemTime)>,
}

fn file_sig(path: &str) -> Option<(u64, SystemTime)> {
    let md = std::fs::metadata(path).ok()?;
    Some((md.len(), md.modified().ok()?))
}

/// Follow mode: whether the followed file's path now names another file (deleted and created
/// again), or the file became shorter than what was read (truncated to be written again). A
/// path that names nothing (deleted, not created again yet) leaves the old file followed.
fn rewritten(r: &CaptureReader) -> Option<String> {
    let id = r.file_id()?;
    let md = std::fs::metadata(r.name()).ok()?;
    if file_id(&md) != Some(id) {
        return Some("replaced by a new file: reading that one from its start".to_string());
    }
    (!r.compressed() && md.len() < r.consumed()).then(|| {
        format!(
            "truncated to {} bytes: reading it again from the start",
            md.len()
        )
    })
}

/// The read loop: every input in turn (in follow mode also the files that appear in the
/// watched directory), packets sliced into segments.
struct Reader<'a> {
    cfg: &'a RunConfig,
    slicer: Slicer,
    report: RunReport,
    end: End,
    /// Bytes consumed from the inputs already finished.
    done_before: u64,
    queue: VecDeque<Input>,
    /// Every input queued so far (follow mode: new files are those not in here).
    seen: HashSet<String>,
    /// Follow mode only.
    waiter: Option<Waiter>,
    /// When packets last arrived (follow mode's idle limit).
    last_data: Instant,
    /// Packets arrived since the last look at the clock.
    fresh_data: bool,
    /// Follow mode: the last input, not a capture when last opened.
    retry: Option<Retry>,
    /// Follow mode: the current file was truncated or replaced; it is read again.
    reopen: bool,
}

impl<'a> Reader<'a> {
    fn new(inputs: &[Input], cfg: &'a RunConfig) -> Self {
        let waiter = cfg
            .follow
            .as_ref()
            .map(|f| Waiter::new(watch_target(f.watch_dir.as_deref(), inputs), f.poll));
        Reader {
            cfg,
            slicer: Slicer::new(cfg.defrag.clone()),
            report: RunReport::default(),
            end: End::default(),
            done_before: 0,
            queue: inputs.iter().cloned().collect(),
            seen: inputs.iter().map(|i| i.path.clone()).collect(),
            waiter,
            last_data: Instant::now(),
            fresh_data: false,
            retry: None,
            reopen: false,
        }
    }

    fn following(&self) -> bool {
        self.cfg.follow.is_some()
    }

    /// Follow mode: no data for longer than the configured limit.
    fn idle_over(&self) -> bool {
        self.cfg
            .follow
            .as_ref()
            .and_then(|f| f.quit_after_idle)
            .is_some_and(|q| self.last_data.elapsed() >= q)
    }

    /// Follow mode, nothing new: waits for something to change; false when it is time to stop.
    fn pause<C: Consumer>(&self, c: &mut C) -> bool {
        let stop = c.idle() == Flow::Stop;
        if self.idle_over() || stop {
            return false;
        }
        if let Some(w) = &self.waiter {
            w.wait();
        }
        true
    }

    /// Capture files that appeared in the watched directory since the last look.
    fn new_files(&mut self) -> Vec<Input> {
        match self
            .cfg
            .follow
            .as_ref()
            .and_then(|f| f.watch_dir.as_deref())
        {
            Some(dir) => {
                let fresh = new_files(dir, &mut self.seen, &self.cfg.reader);
                // tcpdump -z gzip: X.gz is X, compressed once rotation closed it; X is read
                // (or queued) already.
                fresh
                    .into_iter()
                    .filter(|i| {
                        !i.path
                            .strip_suffix(".gz")
                            .is_some_and(|x| self.seen.contains(x))
                    })
                    .collect()
            }
            None => Vec::new(),
        }
    }

    /// Reads until the inputs are exhausted (follow mode: until idle too long or stopped).
    fn run<C: Consumer>(mut self, c: &mut C) -> (RunReport, End) {
        if self.read_all(c) == Flow::Stop {
            self.report.stopped_early = true;
        }
        self.report.bytes = self.done_before;
        self.report.net = self.slicer.stats.clone();
        self.slicer.finish();
        self.report.defrag = self.slicer.defrag_stats().clone();
        (self.report, self.end)
    }

    fn read_all<C: Consumer>(&mut self, c: &mut C) -> Flow {
        loop {
            if self.report.count_reached {
                return Flow::Go;
            }
            let Some(input) = self.queue.pop_front() else {
                if !self.following() {
                    return Flow::Go;
                }
                let fresh = self.new_files();
                if !fresh.is_empty() {
                    self.queue.extend(fresh);
                    continue;
                }
                if !self.pause(c) {
                    return Flow::Go;
                }
                continue;
            };
            if let Some(r) = &self.retry {
                if r.path == input.path && r.sig.is_some() && r.sig == file_sig(&input.path) {
                    // Not a capture when last opened, and unchanged since.
                    self.queue.push_front(input);
                    if !self.pause(c) {
                        return Flow::Go;
                    }
                    continue;
                }
            }
            let mut r = match CaptureReader::open(&input.path, &self.cfg.reader) {
                Ok(r) => r,
                Err(
                    e @ (CaptureError::Format { offset: 0, .. } | CaptureError::Incomplete { .. }),
                ) if self.following() && self.queue.is_empty() => {
                    // Just created, header not written yet, or not a capture (reported once):
                    // look again once the file changed.
                    if !e.header_incomplete()
                        && self
                            .retry
                            .as_ref()
                            .is_none_or(|r| r.reason != e.to_string())
                    {
                        self.report.warnings += 1;
                        if c.warning(CaptureError::format(
                            &input.path,
                            0,
                            format!("{}; watching it for a change", e.reason()),
                        )) == Flow::Stop
                        {
                            return Flow::Stop;
                        }
                    }
                    self.retry = Some(Retry {
                        path: input.path.clone(),
                        reason: e.to_string(),
                        sig: file_sig(&input.path),
                    });
                    self.queue.push_front(input);
                    if !self.pause(c) {
                        return Flow::Go;
                    }
                    continue;
                }
                Err(CaptureError::Io { source, .. })
                    if self.following()
                        && source.kind() == std::io::ErrorKind::NotFound
                        && Path::new(&format!("{}.gz", input.path)).exists() =>
                {
                    // Compressed (tcpdump -z gzip) before it was opened: read the .gz.
                    self.queue.push_front(Input {
                        path: format!("{}.gz", input.path),
                        size: None,
                    });
                    continue;
                }
                Err(e) => {
                    self.report.files_failed += 1;
                    self.report.warnings += 1;
                    if c.warning(e) == Flow::Stop {
                        return Flow::Stop;
                    }
                    continue;
                }
            };
            self.retry = None;
            r.set_follow(self.following());
            self.report.files += 1;
            if c.opened(&input.path) == Flow::Stop || self.read_file(&mut r, c) == Flow::Stop {
                return Flow::Stop;
            }
            if std::mem::take(&mut self.reopen) {
                // Truncated or replaced: the same path again, from its start.
                self.done_before += r.consumed();
                self.queue.push_front(input);
                continue;
            }
            // Stopped at -c: the rest of the file was not read, its tail not judged.
            let tail = (!self.report.count_reached)
                .then(|| r.truncated_tail())
                .flatten();
            if let Some((off, n)) = tail {
                self.report.warnings += 1;
                let e = CaptureError::Format {
                    file: input.path.clone(),
                    offset: off,
                    reason: format!(
                        "capture ends inside a record ({n} bytes of it present): cut short or still being written"
                    ),
                };
                if c.warning(e) == Flow::Stop {
                    return Flow::Stop;
                }
            }
            self.done_before += r.consumed();
            self.end.file = input.path;
            self.end.pkt = r.packets();
            if c.finished(self.done_before) == Flow::Stop {
                return Flow::Stop;
            }
            if self.following() && self.idle_over() && self.queue.is_empty() {
                return Flow::Go;
            }
        }
    }

    /// Reads one input to its end; in follow mode, until a newer input exists or it is time
    /// to stop waiting.
    fn read_file<C: Consumer>(&mut self, r: &mut CaptureReader, c: &mut C) -> Flow {
        let mut finishing = false;
        loop {
            match r.next_packet() {
                Ok(Some(pkt)) => {
                    self.report.packets += 1;
                    self.end.ts = pkt.ts;
                    self.fresh_data = true;
                    let ctx = Ctx {
                        ts: pkt.ts,
                        file: pkt.file,
                        pkt: pkt.index,
                    };
                    let sliced = self.slicer.slice(&pkt);
                    let pass = match (&self.cfg.filter, &sliced) {
                        (None, _) => true,
                        (Some(f), Ok(seg)) => f.matches(&Facts {
                            ep: &seg.ep,
                            transport: seg.transport(),
                            wire_len: pkt.orig_len,
                        }),
                        (Some(_), Err(_)) => false,
                    };
                    if pass {
                        self.report.matched += 1;
                        if let Ok(seg) = sliced {
                            if c.segment(&seg, &ctx) == Flow::Stop {
                                return Flow::Stop;
                            }
                        }
                        if self.cfg.count == Some(self.report.matched) {
                            self.report.count_reached = true;
                            r.stop_following();
                            return Flow::Go;
                        }
                    }
                    if self.report.packets.is_multiple_of(8192)
                        && c.tick(self.done_before + r.consumed()) == Flow::Stop
                    {
                        return Flow::Stop;
                    }
                }
                Ok(None) => {
                    if !self.following() {
                        return Flow::Go;
                    }
                    if self.fresh_data {
                        self.last_data = Instant::now();
                        self.fresh_data = false;
                    }
                    if let Some(why) = rewritten(r) {
                        self.report.warnings += 1;
                        self.reopen = true;
                        return c.warning(CaptureError::format(r.name(), r.consumed(), why));
                    }
                    if finishing {
                        r.stop_following();
                        return Flow::Go;
                    }
                    // The file is finished once a newer one exists (rotation): read what
                    // arrived meanwhile, then move on. Otherwise it may still grow.
                    let fresh = self.new_files();
                    if !fresh.is_empty() || !self.queue.is_empty() {
                        self.queue.extend(fresh);
                        finishing = true;
                        continue;
                    }
                    if !self.pause(c) {
                        r.stop_following();
                        return Flow::Go;
                    }
                }
                Err(e) => {
                    self.report.warnings += 1;
                    return c.warning(e);
                }
            }
        }
    }
}

/// Ends a run: flushes the reassembler (unless the sink stopped the run early), then the sink.
fn finish<S: Sink>(
    mut report: RunReport,
    mut reasm: Reassembler,
    end: &End,
    sink: &mut S,
) -> RunReport {
    let ctx = Ctx {
        ts: end.ts,
        file: &end.file,
        pkt: end.pkt,
    };
    if !report.stopped_early {
        reasm.finish(&ctx, sink);
    }
    sink.idle();
    report.reassembly = reasm.stats;
    report
}

/// Consumes on the calling thread: segments go straight to the reassembler and its sink.
struct Direct<'a, S: Sink> {
    reasm: Reassembler,
    sink: &'a mut S,
    warn: &'a mut dyn FnMut(&CaptureError),
    progress: &'a mut dyn Progress,
    stop: &'a dyn Fn(&S) -> bool,
}

impl<S: Sink> Direct<'_, S> {
    fn stop_asked(&self) -> Flow {
        if (self.stop)(self.sink) {
            Flow::Stop
        } else {
            Flow::Go
        }
    }
}

impl<S: Sink> Consumer for Direct<'_, S> {
    fn opened(&mut self, _path: &str) -> Flow {
        Flow::Go
    }

    #[inline]
    fn segment(&mut self, seg: &Segment<'_>, ctx: &Ctx<'_>) -> Flow {
        self.reasm.process(seg, ctx, self.sink);
        Flow::Go
    }

    fn warning(&mut self, e: CaptureError) -> Flow {
        (self.warn)(&e);
        Flow::Go
    }

    fn tick(&mut self, done: u64) -> Flow {
        self.progress.update(done);
        self.stop_asked()
    }

    fn finished(&mut self, done: u64) -> Flow {
        self.progress.update(done);
        Flow::Go
    }

    fn idle(&mut self) -> Flow {
        self.sink.idle();
        self.stop_asked()
    }
}

/// A batch of segments handed from the reading thread to the reassembling one: their headers,
/// provenance, and payloads copied into one buffer.
struct Batch {
    segs: Vec<SegMeta>,
    data: Vec<u8>,
}

struct SegMeta {
    ep: Endpoints,
    tcp: Option<TcpHeader>,
    missing: u32,
    ts: Timestamp,
    /// Index of the input among those opened.
    file: u32,
    pkt: u64,
    start: usize,
    len: usize,
}

enum Msg {
    /// A new input starts; later segments refer to it by its index.
    File(String),
    Batch(Batch),
    Warning(CaptureError),
    Progress(u64),
    Done(Box<RunReport>, End),
}

const BATCH_BYTES: usize = 1 << 20;
const BATCH_SEGS: usize = 8192;

/// Consumes on the reading thread: segments copied into batches sent to the reassembling
/// thread, with everything else as messages in between. Stops once that thread hangs up.
struct Batcher {
    tx: SyncSender<Msg>,
    /// Payload buffers given back by the reassembling thread.
    spare: Receiver<Vec<u8>>,
    batch: Batch,
    /// Index of the current input among those opened; `opened` counts the inputs.
    file: u32,
    opened: u32,
}

impl Batcher {
    fn new(tx: SyncSender<Msg>, spare: Receiver<Vec<u8>>) -> Self {
        let batch = Self::new_batch(&spare);
        Batcher {
            tx,
            spare,
            batch,
            file: 0,
            opened: 0,
        }
    }

    fn new_batch(spare: &Receiver<Vec<u8>>) -> Batch {
        Batch {
            segs: Vec::with_capacity(BATCH_SEGS),
            data: spare
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(BATCH_BYTES)),
        }
    }

    fn send(&self, m: Msg) -> Flow {
        match self.tx.send(m) {
            Ok(()) => Flow::Go,
            Err(_) => Flow::Stop,
        }
    }

    /// Sends the current batch and starts a new one.
    fn flush(&mut self) -> Flow {
        let full = std::mem::replace(&mut self.batch, Self::new_batch(&self.spare));
        self.send(Msg::Batch(full))
    }
}

impl Consumer for Batcher {
    fn opened(&mut self, path: &str) -> Flow {
        if !self.batch.segs.is_empty() && self.flush() == Flow::Stop {
            return Flow::Stop;
        }
        self.file = self.opened;
        self.opened += 1;
        self.send(Msg::File(path.to_string()))
    }

    #[inline]
    fn segment(&mut self, seg: &Segment<'_>, ctx: &Ctx<'_>) -> Flow {
        let start = self.batch.data.len();
        self.batch.data.extend_from_slice(seg.payload);
        self.batch.segs.push(SegMeta {
            ep: seg.ep,
            tcp: seg.tcp,
            missing: seg.missing,
            ts: ctx.ts,
            file: self.file,
            pkt: ctx.pkt,
            start,
            len: seg.payload.len(),
        });
        if self.batch.data.len() >= BATCH_BYTES || self.batch.segs.len() >= BATCH_SEGS {
            return self.flush();
        }
        Flow::Go
    }

    fn warning(&mut self, e: CaptureError) -> Flow {
        self.send(Msg::Warning(e))
    }

    fn tick(&mut self, done: u64) -> Flow {
        self.send(Msg::Progress(done))
    }

    fn finished(&mut self, done: u64) -> Flow {
        self.send(Msg::Progress(done))
    }

    fn idle(&mut self) -> Flow {
        Flow::Go
    }
}

/// The reading thread: capture files → packets → segments, in batches.
fn produce(inputs: Vec<Input>, cfg: RunConfig, tx: SyncSender<Msg>, spare: Receiver<Vec<u8>>) {
    let mut batcher = Batcher::new(tx, spare);
    let (report, end) = Reader::new(&inputs, &cfg).run(&mut batcher);
    if report.stopped_early || (!batcher.batch.segs.is_empty() && batcher.flush() == Flow::Stop) {
        return;
    }
    let _ = batcher.send(Msg::Done(Box::new(report), end));
}

/// [`run`] without follow mode: reading and slicing on a second thread, reassembly and the sink
/// on this one (the two halves cost about the same, so a 2-core machine runs both at once).
fn run_threaded<S: Sink>(
    inputs: &[Input],
    cfg: &RunConfig,
    sink: &mut S,
    warn: &mut dyn FnMut(&CaptureError),
    progress: &mut dyn Progress,
    stop: &dyn Fn(&S) -> bool,
) -> RunReport {
    let (tx, rx) = sync_channel::<Msg>(4);
    let (spare_tx, spare_rx) = sync_channel::<Vec<u8>>(6);
    let producer = {
        let (inputs, cfg) = (inputs.to_vec(), cfg.clone());
        std::thread::spawn(move || produce(inputs, cfg, tx, spare_rx))
    };
    let mut reasm = Reassembler::new(cfg.reassembly.clone());
    let mut files: Vec<String> = Vec::new();
    let mut report = RunReport::default();
    let mut end = End::default();
    let mut stopped = false;
    for msg in &rx {
        match msg {
            Msg::File(name) => files.push(name),
            Msg::Batch(mut b) => {
                for m in &b.segs {
                    let seg = Segment {
                        ep: m.ep,
                        tcp: m.tcp,
                        payload: &b.data[m.start..m.start + m.len],
                        missing: m.missing,
                    };
                    let ctx = Ctx {
                        ts: m.ts,
                        file: &files[m.file as usize],
                        pkt: m.pkt,
                    };
                    reasm.process(&seg, &ctx, sink);
                }
                b.data.clear();
                let _ = spare_tx.try_send(b.data);
                if stop(sink) {
                    stopped = true;
                    break;
                }
            }
            Msg::Warning(e) => warn(&e),
            Msg::Progress(n) => progress.update(n),
            Msg::Done(r, e) => {
                report = *r;
                end = e;
            }
        }
    }
    drop(rx);
    let _ = producer.join();
    report.stopped_early = stopped;
    finish(report, reasm, &end, sink)
}
