//! Wiring of the lower layers: inputs → packets → segments → stream events, with progress,
//! warnings and counters, and follow mode for captures still being written. Binaries call
//! [`run`] with their own [`Sink`].

use crate::capture::{expand_inputs, CaptureError, CaptureReader, Input, ReaderConfig, Timestamp};
use crate::net::{DefragConfig, DefragStats, Endpoints, NetStats, Segment, Slicer, TcpHeader};
use crate::reassembly::{self, Ctx, Reassembler, ReassemblyStats, Sink};
use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::time::{Duration, Instant};

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
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            reader: ReaderConfig::default(),
            defrag: DefragConfig::default(),
            reassembly: reassembly::Config::default(),
            follow: None,
            read_ahead: true,
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

/// Blocks until a file system change is notified or the poll interval passes (notify, with
/// plain polling when no watcher can be set up). Never spins.
struct Waiter {
    rx: Option<Receiver<()>>,
    _watcher: Option<notify::RecommendedWatcher>,
    poll: Duration,
}

impl Waiter {
    fn new(path: Option<PathBuf>, poll: Duration) -> Waiter {
        use notify::Watcher;
        let (tx, rx) = channel();
        let watcher = path.and_then(|p| {
            let mut w = notify::recommended_watcher(move |_res| {
                let _ = tx.send(());
            })
            .ok()?;
            w.watch(&p, notify::RecursiveMode::NonRecursive).ok()?;
            Some(w)
        });
        Waiter {
            rx: watcher.as_ref().map(|_| rx),
            _watcher: watcher,
            poll,
        }
    }

    fn wait(&self) {
        match &self.rx {
            Some(rx) => {
                let _ = rx.recv_timeout(self.poll);
                while rx.try_recv().is_ok() {}
            }
            None => std::thread::sleep(self.poll),
        }
    }
}

/// New capture files in the watched directory, in order.
fn new_files(dir: &std::path::Path, seen: &mut HashSet<String>, cfg: &ReaderConfig) -> Vec<Input> {
    let (found, _) = expand_inputs(&[dir.to_string_lossy().into_owned()], cfg);
    let fresh: Vec<Input> = found
        .into_iter()
        .filter(|i| !seen.contains(&i.path))
        .collect();
    for i in &fresh {
        seen.insert(i.path.clone());
    }
    fresh
}

/// Reads every input in order, feeding one reassembly engine (so a capture split into rotated
/// files continues its connections), then flushes it. Errors in one input are reported through
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
    let mut report = RunReport::default();
    let mut slicer = Slicer::new(cfg.defrag.clone());
    let mut engine = Reassembler::new(cfg.reassembly.clone());
    let mut done_before = 0u64;
    let mut last_ts = Timestamp::default();
    let mut last_file = String::new();
    let mut last_pkt = 0;
    let follow = cfg.follow.as_ref();
    let mut queue: VecDeque<Input> = inputs.iter().cloned().collect();
    let mut seen: HashSet<String> = inputs.iter().map(|i| i.path.clone()).collect();
    let waiter = follow.map(|f| {
        let target = f.watch_dir.clone().or_else(|| {
            inputs
                .last()
                .and_then(|i| PathBuf::from(&i.path).parent().map(|p| p.to_path_buf()))
                .map(|p| {
                    if p.as_os_str().is_empty() {
                        PathBuf::from(".")
                    } else {
                        p
                    }
                })
        });
        Waiter::new(target, f.poll)
    });
    let mut last_data = Instant::now();
    // Packets arrived since the last look at the clock (follow mode's idle limit).
    let mut fresh_data = false;
    let idle_over = |since: Instant| {
        follow
            .and_then(|f| f.quit_after_idle)
            .is_some_and(|q| since.elapsed() >= q)
    };
    // In follow mode: wait for something to change; false when it is time to stop.
    let pause = |sink: &mut S, since: Instant| -> bool {
        sink.idle();
        if idle_over(since) || stop(sink) {
            return false;
        }
        if let Some(w) = &waiter {
            w.wait();
        }
        true
    };
    'inputs: loop {
        let Some(input) = queue.pop_front() else {
            let Some(f) = follow else { break };
            if let Some(dir) = &f.watch_dir {
                let fresh = new_files(dir, &mut seen, &cfg.reader);
                if !fresh.is_empty() {
                    queue.extend(fresh);
                    continue;
                }
            }
            if !pause(sink, last_data) {
                break;
            }
            continue;
        };
        let mut r = match CaptureReader::open(&input.path, &cfg.reader) {
            Ok(r) => r,
            Err(CaptureError::Format { offset: 0, .. }) if follow.is_some() && queue.is_empty() => {
                // Just created, header not written yet: look again later.
                queue.push_front(input);
                if !pause(sink, last_data) {
                    break;
                }
                continue;
            }
            Err(e) => {
                report.files_failed += 1;
                report.warnings += 1;
                warn(&e);
                continue;
            }
        };
        r.set_follow(follow.is_some());
        report.files += 1;
        let mut finishing = false;
        loop {
            match r.next_packet() {
                Ok(Some(pkt)) => {
                    report.packets += 1;
                    last_ts = pkt.ts;
                    fresh_data = true;
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
                Ok(None) => {
                    let Some(f) = follow else { break };
                    if fresh_data {
                        last_data = Instant::now();
                        fresh_data = false;
                    }
                    if finishing {
                        r.stop_following();
                        break;
                    }
                    // The file is finished once a newer one exists (rotation): read what
                    // arrived meanwhile, then move on. Otherwise it may still grow.
                    let fresh = match &f.watch_dir {
                        Some(dir) => new_files(dir, &mut seen, &cfg.reader),
                        None => Vec::new(),
                    };
                    if !fresh.is_empty() || !queue.is_empty() {
                        queue.extend(fresh);
                        finishing = true;
                        continue;
                    }
                    if !pause(sink, last_data) {
                        r.stop_following();
                        break;
                    }
                }
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
        if follow.is_some() && idle_over(last_data) && queue.is_empty() {
            break;
        }
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
    sink.idle();
    report.net = slicer.stats.clone();
    report.defrag = slicer.defrag_stats().clone();
    report.reassembly = engine.stats.clone();
    report
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
    Done(Box<RunReport>, Timestamp, u64),
}

const BATCH_BYTES: usize = 1 << 20;
const BATCH_SEGS: usize = 8192;

/// The reading thread: capture files → packets → segments, in batches.
fn produce(inputs: Vec<Input>, cfg: RunConfig, tx: SyncSender<Msg>, spare: Receiver<Vec<u8>>) {
    let mut report = RunReport::default();
    let mut slicer = Slicer::new(cfg.defrag.clone());
    let mut done_before = 0u64;
    let (mut last_ts, mut last_pkt) = (Timestamp::default(), 0);
    let new_batch = |spare: &Receiver<Vec<u8>>| Batch {
        segs: Vec::with_capacity(BATCH_SEGS),
        data: spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BATCH_BYTES)),
    };
    let mut batch = new_batch(&spare);
    macro_rules! send {
        ($m:expr) => {
            if tx.send($m).is_err() {
                return;
            }
        };
    }
    for input in inputs {
        let mut r = match CaptureReader::open(&input.path, &cfg.reader) {
            Ok(r) => r,
            Err(e) => {
                report.files_failed += 1;
                report.warnings += 1;
                send!(Msg::Warning(e));
                continue;
            }
        };
        report.files += 1;
        if !batch.segs.is_empty() {
            send!(Msg::Batch(std::mem::replace(&mut batch, new_batch(&spare))));
        }
        send!(Msg::File(input.path.clone()));
        let idx = report.files as u32 - 1;
        loop {
            match r.next_packet() {
                Ok(Some(pkt)) => {
                    report.packets += 1;
                    last_ts = pkt.ts;
                    let (ts, index) = (pkt.ts, pkt.index);
                    if let Ok(seg) = slicer.slice(&pkt) {
                        let start = batch.data.len();
                        batch.data.extend_from_slice(seg.payload);
                        batch.segs.push(SegMeta {
                            ep: seg.ep,
                            tcp: seg.tcp,
                            missing: seg.missing,
                            ts,
                            file: idx,
                            pkt: index,
                            start,
                            len: seg.payload.len(),
                        });
                        if batch.data.len() >= BATCH_BYTES || batch.segs.len() >= BATCH_SEGS {
                            send!(Msg::Batch(std::mem::replace(&mut batch, new_batch(&spare))));
                        }
                    }
                    if report.packets % 8192 == 0 {
                        send!(Msg::Progress(done_before + r.consumed()));
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    report.warnings += 1;
                    send!(Msg::Warning(e));
                    break;
                }
            }
        }
        if let Some((off, n)) = r.truncated_tail() {
            report.warnings += 1;
            send!(Msg::Warning(CaptureError::Format {
                file: input.path.clone(),
                offset: off,
                reason: format!(
                    "capture ends inside a record ({n} bytes of it present): cut short or still being written"
                ),
            }));
        }
        done_before += r.consumed();
        last_pkt = r.packets();
        send!(Msg::Progress(done_before));
    }
    if !batch.segs.is_empty() {
        send!(Msg::Batch(batch));
    }
    report.bytes = done_before;
    report.net = slicer.stats.clone();
    report.defrag = slicer.defrag_stats().clone();
    let _ = tx.send(Msg::Done(Box::new(report), last_ts, last_pkt));
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
    let mut engine = Reassembler::new(cfg.reassembly.clone());
    let mut files: Vec<String> = Vec::new();
    let mut report = RunReport::default();
    let mut last = (Timestamp::default(), 0u64);
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
                    engine.process(&seg, &ctx, sink);
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
            Msg::Done(r, ts, pkt) => {
                report = *r;
                last = (ts, pkt);
            }
        }
    }
    drop(rx);
    let _ = producer.join();
    report.stopped_early = stopped;
    let last_file = files.last().cloned().unwrap_or_default();
    let ctx = Ctx {
        ts: last.0,
        file: &last_file,
        pkt: last.1,
    };
    if !stopped {
        engine.finish(&ctx, sink);
    }
    sink.idle();
    report.reassembly = engine.stats.clone();
    report
}
