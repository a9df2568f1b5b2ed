//! `sereplay serve`: the captured device side played to every client that connects (replay
//! spec §2 "serve"). One thread per client, each with its own [`Session`] (the protocol's
//! state: which configuration was asked for, whether data is on) and its own pacing; a second
//! thread per client only reads the socket. A client that disconnects, or whose bytes are not
//! the protocol's frames, is logged and dropped; the others go on.

use super::rewrite::{Rewrite, Rewriter};
use super::schedule::{Pacer, Plan, RealClock, Timing, Verdict};
use super::source::{Conversation, Msg};
use super::{check_addr, ReplayError, Replayer, Run};
use crate::protocols::{Found, Protocol, StreamState};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

/// What a session is built from.
#[derive(Clone)]
pub struct SessionCtx {
    pub conv: Arc<Conversation>,
    pub replayer: &'static dyn Replayer,
    pub timing: Timing,
    pub rewrite: Rewrite,
    pub only: Vec<String>,
}

impl SessionCtx {
    /// A rewriter for these device messages.
    pub fn rewriter(&self, msgs: &[&Msg]) -> Rewriter {
        Rewriter::new(self.replayer, &self.conv, msgs, self.rewrite)
    }
}

/// One client's state in a protocol's conversation.
pub trait Session: Send {
    /// The client connected: what the device says first.
    fn start(&mut self, _out: &mut Vec<Vec<u8>>) {}
    /// Bytes from the client; replies (as they go on the wire) go to `out`. An error (garbage, a protocol violation)
    /// ends the client.
    /// Returns how many frames the bytes completed.
    fn input(&mut self, bytes: &[u8], out: &mut Vec<Vec<u8>>) -> Result<u64, String>;
    /// Frames streamed without being asked (C37.118 data while on).
    fn stream(&mut self) -> Option<&mut Stream> {
        None
    }
    /// The client has been quiet for a while (a request may be waiting for bytes that will
    /// not come); returns how many frames that completed.
    fn idle(&mut self, _out: &mut Vec<Vec<u8>>) -> u64 {
        0
    }
}

/// A client's byte stream cut into the protocol's frames.
pub struct Framer {
    proto: Protocol,
    state: Box<dyn StreamState>,
    offset: u64,
    /// Bytes not yet part of a frame, and the stream offset of the first.
    tail: Vec<u8>,
    base: u64,
    /// Whether bytes waiting for the rest of a frame cannot start one (the protocol's own
    /// parse says so).
    bad_start: fn(&[u8]) -> bool,
}

/// What a quiet client's waiting bytes are, if a whole message: its kind and where it starts.
pub type IdleFn = fn(&[u8]) -> Option<(&'static str, usize)>;

/// Most bytes a client may send that are not (yet) a frame.
const MAX_TAIL: usize = 64 * 1024;

impl Framer {
    pub fn new(p: Protocol) -> Framer {
        Framer::checked(p, |_| false)
    }

    pub fn checked(p: Protocol, bad_start: fn(&[u8]) -> bool) -> Framer {
        Framer {
            proto: p,
            state: p.new_state(),
            offset: 0,
            tail: Vec::new(),
            base: 0,
            bad_start,
        }
    }

    /// The frames (kind, bytes) these bytes complete; an error at the first bytes that are
    /// not a frame of the protocol.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
        let (mut frames, mut bad, mut end) = (Vec::new(), None, self.base);
        self.state.data(self.offset, bytes, &mut |f| match f {
            Found::Frame {
                offset,
                bytes,
                kind,
            } => {
                end = end.max(offset + bytes.len() as u64);
                frames.push((kind.to_string(), bytes.to_vec()));
            }
            Found::Anomaly {
                offset,
                len,
                reason,
            } => {
                bad.get_or_insert(format!(
                    "{len} bytes at offset {offset} are no frame ({reason})"
                ));
            }
        });
        self.offset += bytes.len() as u64;
        if let Some(b) = bad {
            return Err(b);
        }
        self.tail.extend_from_slice(bytes);
        let done = usize::try_from(end - self.base).unwrap_or(usize::MAX);
        self.tail.drain(..done.min(self.tail.len()));
        self.base = end;
        if self.tail.len() > MAX_TAIL {
            return Err(format!("{} bytes without a frame", self.tail.len()));
        }
        if !self.tail.is_empty() && (self.bad_start)(&self.tail) {
            return Err(format!(
                "bytes at offset {} do not start a frame",
                self.base
            ));
        }
        Ok(frames)
    }
}

impl Framer {
    /// The client went quiet: bytes waiting for more that `decide` takes as a whole message
    /// (SEL's bare 2-byte request, sel.md §1) are that message; framing starts afresh after it.
    /// `decide` gives the message's kind and where it starts in the waiting bytes.
    pub fn idle(&mut self, decide: IdleFn) -> Option<(String, Vec<u8>)> {
        let (kind, at) = decide(&self.tail).filter(|_| !self.tail.is_empty())?;
        let at = at.min(self.tail.len());
        let frame = std::mem::take(&mut self.tail).split_off(at);
        // A fresh state, fed from offset 0 again (a later offset would be a gap to it).
        self.state = self.proto.new_state();
        (self.base, self.offset) = (0, 0);
        Some((kind.to_string(), frame))
    }
}

/// Frames sent on a schedule while turned on.
pub struct Stream {
    frames: Vec<Vec<u8>>,
    plan: Plan,
    pos: Option<(u64, usize)>,
    started: bool,
    on: bool,
    pacer: Pacer<RealClock>,
    rw: Rewriter,
}

impl Stream {
    pub fn new(msgs: &[&Msg], timing: &Timing, rw: Rewriter) -> Stream {
        let ts: Vec<_> = msgs.iter().map(|m| m.ts).collect();
        Stream {
            frames: msgs.iter().map(|m| m.bytes.clone()).collect(),
            plan: Plan::new(&ts, timing),
            pos: Some((0, 0)).filter(|_| !msgs.is_empty()),
            started: false,
            on: false,
            pacer: Pacer::new(RealClock::default(), timing.drop_late),
            rw,
        }
    }

    /// Data on: continues where it stopped, re-anchored now.
    pub fn turn_on(&mut self) {
        if let Some((k, i)) = self.pos {
            if !self.started {
                self.rw.rebase();
                self.started = true;
            }
            self.pacer.reanchor(self.plan.due(k, i));
            self.on = true;
        }
    }

    pub fn turn_off(&mut self) {
        self.on = false;
    }

    /// Nanoseconds until the next frame is due, when on and not finished.
    pub fn due_in(&self) -> Option<u64> {
        let (k, i) = self.pos.filter(|_| self.on)?;
        Some(self.pacer.until(self.plan.due(k, i)))
    }

    /// Waits for the next frame's due time and returns it (rewritten), or nothing when it
    /// was dropped as late or the run stopped.
    pub fn next(&mut self, run: &Run) -> Option<Vec<u8>> {
        let (k, i) = self.pos.filter(|_| self.on)?;
        let next_due = self.plan.next(k, i).map(|(k, i)| self.plan.due(k, i));
        let v = self
            .pacer
            .wait(self.plan.due(k, i), next_due, &|| run.stopped());
        if v == Verdict::Stop {
            return None;
        }
        run.stats.paced(v);
        self.pos = self.plan.next(k, i);
        match v {
            Verdict::Send { .. } => Some(self.rw.apply(&self.frames[i], k)),
            _ => None,
        }
    }
}

/// Serve options beyond the session's.
#[derive(Clone, Debug)]
pub struct ServeOpts {
    pub listen: String,
    pub allow_remote: bool,
    /// Most clients at once; more are refused (closed at once).
    pub max_clients: usize,
    /// Exit after this many clients have come and gone.
    pub exit_after: Option<u64>,
}

/// Listens and serves until SIGINT (or `exit_after` clients). Returns the bound address
/// through `bound` as soon as it is listening.
pub fn serve(
    ctx: SessionCtx,
    opts: &ServeOpts,
    run: &Run,
    bound: &mut dyn FnMut(std::net::SocketAddr),
) -> Result<(), ReplayError> {
    let addrs = check_addr(&opts.listen, opts.allow_remote)?;
    let listener = TcpListener::bind(&addrs[..])
        .map_err(|e| ReplayError::Io(format!("listening on {}", opts.listen), e))?;
    let local = listener
        .local_addr()
        .map_err(|e| ReplayError::Io("listening".into(), e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| ReplayError::Io("listening".into(), e))?;
    bound(local);
    run.log(&format!(
        "serving {} ({} conversation {}, {} messages) on {local}",
        ctx.conv.proto,
        ctx.conv.transport.as_str(),
        ctx.conv.conn,
        ctx.conv.msgs.len()
    ));
    let active = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let finished = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut threads = Vec::new();
    while !run.stopped() && opts.exit_after.is_none_or(|n| finished.load(Relaxed) < n) {
        match listener.accept() {
            Ok((sock, peer)) => {
                if active.load(Relaxed) >= opts.max_clients {
                    run.log(&format!(
                        "{peer}: refused, {} clients already",
                        opts.max_clients
                    ));
                    let _ = sock.shutdown(Shutdown::Both);
                    continue;
                }
                run.stats.clients.fetch_add(1, Relaxed);
                active.fetch_add(1, Relaxed);
                let (ctx, run, active, finished) =
                    (ctx.clone(), run.clone(), active.clone(), finished.clone());
                threads.push(std::thread::spawn(move || {
                    run.log(&format!("{peer}: connected"));
                    let why = client(sock, ctx, &run);
                    run.log(&format!("{peer}: {why}"));
                    active.fetch_sub(1, Relaxed);
                    finished.fetch_add(1, Relaxed);
                }));
                threads.retain(|t| !t.is_finished());
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => run.log(&format!("accept: {e}")),
        }
    }
    for t in threads {
        let _ = t.join();
    }
    Ok(())
}

enum FromClient {
    Bytes(Vec<u8>),
    Closed(String),
}

/// Plays one client; returns how it ended.
fn client(sock: TcpStream, ctx: SessionCtx, run: &Run) -> String {
    let _ = sock.set_nodelay(true);
    let _ = sock.set_nonblocking(false);
    let Ok(mut rd) = sock.try_clone() else {
        return "dropped: cannot clone the socket".into();
    };
    let (tx, rx) = mpsc::sync_channel::<FromClient>(64);
    let reader = std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match rd.read(&mut buf) {
                Ok(0) => break tx.send(FromClient::Closed("disconnected".into())),
                Ok(n) => {
                    if tx.send(FromClient::Bytes(buf[..n].to_vec())).is_err() {
                        break Ok(());
                    }
                }
                Err(e) => break tx.send(FromClient::Closed(format!("read error: {e}"))),
            }
        }
    });
    let why = play(&sock, ctx, run, &rx);
    let _ = sock.shutdown(Shutdown::Both);
    drop(rx);
    let _ = reader.join();
    why
}

fn play(
    mut sock: &TcpStream,
    ctx: SessionCtx,
    run: &Run,
    rx: &mpsc::Receiver<FromClient>,
) -> String {
    let mut session = ctx.replayer.session(ctx.clone());
    let mut out = Vec::new();
    session.start(&mut out);
    let mut send = |out: &mut Vec<Vec<u8>>| -> std::io::Result<()> {
        for f in out.drain(..) {
            sock.write_all(&f)?;
            run.stats.sent.fetch_add(1, Relaxed);
        }
        Ok(())
    };
    if let Err(e) = send(&mut out) {
        return write_failed(&e, run);
    }
    loop {
        if run.stopped() {
            return "stopped".into();
        }
        let wait = session.stream().and_then(|s| s.due_in());
        // Within 2 ms of a due frame the pacer's own sleep is more exact than a channel wait.
        if wait.is_some_and(|w| w < 2_000_000) {
            if let Some(f) = session.stream().and_then(|s| s.next(run)) {
                out.push(f);
            }
        } else {
            let t = Duration::from_nanos(wait.unwrap_or(50_000_000).min(50_000_000) - 1_000_000);
            match rx.recv_timeout(t) {
                Ok(FromClient::Bytes(b)) => match session.input(&b, &mut out) {
                    Ok(n) => {
                        run.stats.received.fetch_add(n, Relaxed);
                    }
                    Err(e) => {
                        run.stats.clients_dropped.fetch_add(1, Relaxed);
                        return format!("dropped: {e}");
                    }
                },
                Ok(FromClient::Closed(why)) => return why,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let n = session.idle(&mut out);
                    run.stats.received.fetch_add(n, Relaxed);
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return "disconnected".into(),
            }
        }
        if let Err(e) = send(&mut out) {
            return write_failed(&e, run);
        }
    }
}

/// How a client ends when a write to it fails: a client that went away (reset, broken pipe)
/// disconnected, whichever of the reader and the writer notices first; any other error drops it.
fn write_failed(e: &std::io::Error, run: &Run) -> String {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset};
    if matches!(e.kind(), BrokenPipe | ConnectionReset | ConnectionAborted) {
        return format!("disconnected (write: {e})");
    }
    run.stats.clients_dropped.fetch_add(1, Relaxed);
    format!("dropped: write: {e}")
}
