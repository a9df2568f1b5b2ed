//! `sereplay push`: connect to a live peer as the captured client (or as a device that dials
//! out, like a SolarEdge inverter) and send that side's messages on schedule (replay spec §2
//! "push"); `--expect-reply` waits for an answer (one whole frame of the protocol) after each
//! message. Everything the peer sends is framed and counted.

use super::rewrite::Rewriter;
use super::schedule::{Pacer, Plan, RealClock, Timing, Verdict};
use super::serve::Framer;
use super::source::Msg;
use super::{check_addr, ReplayError, Run};
use crate::protocols::Protocol;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc;
use std::time::Duration;

/// Push options.
#[derive(Clone, Debug)]
pub struct PushOpts {
    pub target: String,
    pub allow_remote: bool,
    /// Wait for one reply frame after each message, at most this long.
    pub expect_reply: Option<Duration>,
    /// How long to keep reading after the last message.
    pub linger: Duration,
}

/// Puts one (rewritten) message on the wire.
pub type SendFn<'a> = dyn FnMut(&Msg, Vec<u8>) -> Result<(), String> + 'a;

/// Sends `msgs` on the plan of `timing` through `send` (called with the rewritten frame);
/// `after` runs after each message (waiting for a reply). Returns at the end, on SIGINT, or at the first send error.
pub fn send_all(
    msgs: &[&Msg],
    timing: &Timing,
    rw: &Rewriter,
    run: &Run,
    send: &mut SendFn<'_>,
    after: &mut dyn FnMut(),
) -> Result<(), String> {
    let ts: Vec<_> = msgs.iter().map(|m| m.ts).collect();
    let plan = Plan::new(&ts, timing);
    let mut pacer = Pacer::new(RealClock::default(), timing.drop_late);
    let mut step = Some((0, 0)).filter(|_| !msgs.is_empty());
    while let Some((k, i)) = step {
        step = plan.next(k, i);
        let next_due = step.map(|(k, i)| plan.due(k, i));
        let v = pacer.wait(plan.due(k, i), next_due, &|| run.stopped());
        run.stats.paced(v);
        match v {
            Verdict::Stop => return Ok(()),
            Verdict::Drop => continue,
            Verdict::Send { .. } => {}
        }
        send(msgs[i], rw.apply(&msgs[i].bytes, k))?;
        run.stats.sent.fetch_add(1, Relaxed);
        after();
    }
    Ok(())
}

/// Connects to the target and plays `msgs`.
pub fn push(
    proto: Protocol,
    msgs: &[&Msg],
    timing: &Timing,
    rw: &Rewriter,
    wire: &dyn Fn(&Msg, Vec<u8>) -> Vec<u8>,
    opts: &PushOpts,
    run: &Run,
) -> Result<(), ReplayError> {
    let addrs = check_addr(&opts.target, opts.allow_remote)?;
    let mut sock = TcpStream::connect(&addrs[..])
        .map_err(|e| ReplayError::Io(format!("connecting to {}", opts.target), e))?;
    let _ = sock.set_nodelay(true);
    let mut rd = sock
        .try_clone()
        .map_err(|e| ReplayError::Io("socket".into(), e))?;
    run.log(&format!(
        "connected to {}; {} messages to send",
        opts.target,
        msgs.len()
    ));
    let (tx, rx) = mpsc::channel::<()>();
    let stats = run.stats.clone();
    let qrun = run.clone();
    let reader = std::thread::spawn(move || {
        let mut framer = Framer::new(proto);
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = rd.read(&mut buf) {
            if n == 0 {
                break;
            }
            match framer.feed(&buf[..n]) {
                Ok(frames) => {
                    for _ in &frames {
                        stats.received.fetch_add(1, Relaxed);
                        let _ = tx.send(());
                    }
                }
                Err(e) => {
                    qrun.log(&format!("peer sent bytes that are not {proto} frames: {e}"));
                    framer = Framer::new(proto);
                }
            }
        }
    });
    let mut send = |m: &Msg, f: Vec<u8>| -> Result<(), String> {
        sock.write_all(&wire(m, f))
            .map_err(|e| format!("write: {e}"))
    };
    let mut after = || {
        if let Some(t) = opts.expect_reply {
            if rx.recv_timeout(t).is_err() {
                run.stats.missing_replies.fetch_add(1, Relaxed);
            }
        }
    };
    let result = send_all(msgs, timing, rw, run, &mut send, &mut after);
    if result.is_ok() && !run.stopped() {
        std::thread::sleep(opts.linger);
    }
    let _ = sock.shutdown(Shutdown::Both);
    let _ = reader.join();
    result.map_err(|e| ReplayError::Io(e, std::io::Error::other("connection lost")))
}
