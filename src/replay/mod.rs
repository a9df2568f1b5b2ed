//! Replay: captured conversations back on the wire over ordinary sockets (replay spec §2).
//!
//! - [`source`]: messages from captures (through the extractor) or seextract's JSON Lines,
//!   one conversation selected;
//! - [`schedule`]: due times from a fixed anchor, loops, catch-up or drop-late;
//! - [`rewrite`]: embedded times shifted (`--rewrite-time`), ids set, checksums recomputed by
//!   each protocol's own `fix_checksum` (its [`crate::protocols::Descriptor`]);
//! - [`push`] (connect as the captured client), [`serve`] (play the device to any client),
//!   [`udp`] (datagrams to a target);
//! - one small module per protocol ([`c37118`], [`sel`], [`solaredge`]) implementing
//!   [`Replayer`]; a protocol plugs in with one impl and one line in [`REPLAYERS`].
//!
//! Safety: every address bound or connected to must be loopback unless `--allow-remote`
//! ([`check_addr`]).

pub mod c37118;
pub mod options;
pub mod push;
pub mod rewrite;
pub mod schedule;
pub mod sel;
pub mod serve;
pub mod solaredge;
pub mod source;
pub mod table;
pub mod udp;

use crate::protocols::Protocol;
use crate::reassembly::Dir;
use schedule::Verdict;
use source::{Conversation, Msg};
use std::io::IsTerminal;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

/// Why a replay cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("input: {0}")]
    Input(String),
    #[error("selection: {0}")]
    Select(String),
    #[error("refusing {0}: not a loopback address (give --allow-remote to bind or send beyond this machine)")]
    Remote(String),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0} cannot be replayed: {1}")]
    Unsupported(&'static str, String),
}

/// Embedded time of a protocol's frames, in nanoseconds since the UNIX epoch.
pub trait FrameClock: Send + Sync {
    /// The time a frame carries, if it carries one.
    fn get(&self, frame: &[u8]) -> Option<i128>;
    /// Writes `ns` into a frame that carries a time (checksum not fixed here); false if the
    /// frame carries none or the time does not fit.
    fn set(&self, frame: &mut [u8], ns: i128) -> bool;
}

/// What replay needs of one protocol beyond its framing and checksum (registry descriptor).
pub trait Replayer: Sync {
    fn protocol(&self) -> Protocol;
    /// Names a message also answers to in `--only` besides its kind (C37.118 command names).
    fn names(&self, _m: &Msg) -> Vec<&'static str> {
        Vec::new()
    }
    /// How this conversation's frames carry time, if they do.
    fn clock(&self, _conv: &Conversation) -> Option<Box<dyn FrameClock>> {
        None
    }
    /// Sets the device id (C37.118 IDCODE) of a frame; false if it has none.
    fn set_id(&self, _frame: &mut [u8], _id: u32) -> bool {
        false
    }
    /// The side `serve` plays: the server (a PMU, a relay), or the client for devices that
    /// dial out (a SolarEdge inverter).
    fn device(&self, _conv: &Conversation) -> Dir {
        Dir::S2C
    }
    /// Bytes of a frame of this kind as they go on the wire (SEL: line ends put back, 0xFF
    /// doubled under Telnet).
    fn wire(&self, _conv: &Conversation, _kind: &str, frame: Vec<u8>) -> Vec<u8> {
        frame
    }
    /// A configuration to repeat over UDP (`--config-every`): C37.118 CFG-2.
    fn config_frame(&self, _conv: &Conversation) -> Option<Vec<u8>> {
        None
    }
    /// A session playing the device side for one client.
    fn session(&self, ctx: serve::SessionCtx) -> Box<dyn serve::Session>;
}

/// Every protocol replay knows, by the registry's protocols.
pub static REPLAYERS: &[&dyn Replayer] = &[&solaredge::SolarEdge, &c37118::C37118, &sel::Sel];

/// The replayer of a protocol.
pub fn replayer(p: Protocol) -> Result<&'static dyn Replayer, ReplayError> {
    REPLAYERS
        .iter()
        .copied()
        .find(|r| r.protocol() == p)
        .ok_or_else(|| ReplayError::Unsupported(p.name(), "no replayer for it yet".into()))
}

/// Whether a message is selected by `--only` (empty: all): its kind or one of its names.
pub fn wanted(r: &dyn Replayer, m: &Msg, only: &[String]) -> bool {
    only.is_empty()
        || only
            .iter()
            .any(|o| *o == m.kind || r.names(m).iter().any(|n| n == o))
}

/// Resolves `addr` and refuses any non-loopback result unless `allow_remote`.
pub fn check_addr(addr: &str, allow_remote: bool) -> Result<Vec<SocketAddr>, ReplayError> {
    let all: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|e| ReplayError::Io(format!("resolving {addr}"), e))?
        .collect();
    if all.is_empty() {
        return Err(ReplayError::Input(format!("{addr} resolves to nothing")));
    }
    if !allow_remote {
        if let Some(a) = all.iter().find(|a| !a.ip().is_loopback()) {
            return Err(ReplayError::Remote(format!("{addr} ({})", a.ip())));
        }
    }
    Ok(all)
}

/// A message is late when sent more than this after its due time.
pub const LATE_NS: u64 = 1_000_000;

/// Counters of a run, shared by every client thread.
#[derive(Debug, Default)]
pub struct Stats {
    pub sent: AtomicU64,
    pub received: AtomicU64,
    pub late: AtomicU64,
    pub dropped: AtomicU64,
    pub max_late_ns: AtomicU64,
    pub clients: AtomicU64,
    pub clients_dropped: AtomicU64,
    pub missing_replies: AtomicU64,
}

impl Stats {
    /// Counts a pacing verdict for a message about to be sent (or dropped).
    pub fn paced(&self, v: Verdict) {
        match v {
            Verdict::Send { late_ns } => {
                if late_ns > LATE_NS {
                    self.late.fetch_add(1, Relaxed);
                }
                self.max_late_ns.fetch_max(late_ns, Relaxed);
            }
            Verdict::Drop => {
                self.dropped.fetch_add(1, Relaxed);
            }
            Verdict::Stop => {}
        }
    }

    pub fn line(&self) -> String {
        format!(
            "sent {}, received {}, late {} (> 1 ms), dropped {}, max lateness {:.3} ms, clients {} ({} dropped), missing replies {}",
            self.sent.load(Relaxed),
            self.received.load(Relaxed),
            self.late.load(Relaxed),
            self.dropped.load(Relaxed),
            self.max_late_ns.load(Relaxed) as f64 / 1e6,
            self.clients.load(Relaxed),
            self.clients_dropped.load(Relaxed),
            self.missing_replies.load(Relaxed),
        )
    }
}

/// What every mode shares: counters, the stop flag (SIGINT), the log of client events.
#[derive(Clone, Default)]
pub struct Run {
    pub stats: Arc<Stats>,
    pub stop: Arc<AtomicBool>,
    pub quiet: bool,
}

impl Run {
    pub fn stopped(&self) -> bool {
        self.stop.load(Relaxed)
    }

    /// A line on stderr about a client or the run (not with --quiet).
    pub fn log(&self, msg: &str) {
        if !self.quiet {
            eprintln!("sereplay: {msg}");
        }
    }

    /// A progress line on stderr, redrawn twice a second, when stderr is a terminal; ends
    /// with the run.
    pub fn progress(&self) -> Option<std::thread::JoinHandle<()>> {
        if self.quiet || !std::io::stderr().is_terminal() {
            return None;
        }
        let run = self.clone();
        Some(std::thread::spawn(move || {
            while !run.stopped() {
                eprint!("\r{}\x1b[K", run.stats.line());
                std::thread::sleep(Duration::from_millis(500));
            }
            eprint!("\r\x1b[K");
        }))
    }
}
