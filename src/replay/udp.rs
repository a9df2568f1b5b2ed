//! `sereplay udp`: one side's datagrams to a target on schedule (replay spec §2 "udp"; C37.118
//! over UDP, default port 4713), with an optional multicast TTL and the configuration frame
//! (C37.118 CFG-2) sent first and again every `--config-every` seconds so that a PDC that
//! never asks for it (pypmu #10, #16) still has it.

use super::push::send_all;
use super::rewrite::Rewriter;
use super::schedule::Timing;
use super::source::Msg;
use super::{check_addr, ReplayError, Run};
use std::net::UdpSocket;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// UDP options.
#[derive(Clone, Debug)]
pub struct UdpOpts {
    pub target: String,
    pub allow_remote: bool,
    /// IP_MULTICAST_TTL (and the unicast TTL).
    pub ttl: Option<u32>,
    /// Repeat the configuration frame this often.
    pub config_every: Option<Duration>,
}

pub fn udp(
    msgs: &[&Msg],
    config: Option<Vec<u8>>,
    timing: &Timing,
    rw: &Rewriter,
    opts: &UdpOpts,
    run: &Run,
) -> Result<(), ReplayError> {
    let addrs = check_addr(&opts.target, opts.allow_remote)?;
    let to = addrs[0];
    let local = match (to.is_ipv4(), opts.allow_remote) {
        (true, false) => "127.0.0.1:0",
        (true, true) => "0.0.0.0:0",
        (false, false) => "[::1]:0",
        (false, true) => "[::]:0",
    };
    let io = |what: &str, e| ReplayError::Io(what.to_string(), e);
    let sock = UdpSocket::bind(local).map_err(|e| io("binding", e))?;
    if let Some(ttl) = opts.ttl {
        if to.is_ipv4() {
            sock.set_multicast_ttl_v4(ttl).map_err(|e| io("TTL", e))?;
        }
        sock.set_ttl(ttl).map_err(|e| io("TTL", e))?;
    }
    run.log(&format!("sending {} datagrams to {to}", msgs.len()));
    let config = config
        .filter(|_| opts.config_every.is_some())
        .map(|c| rw.apply(&c, 0));
    let mut next_config = Instant::now();
    let mut send = |_: &Msg, f: Vec<u8>| -> Result<(), String> {
        if let (Some(c), Some(every)) = (&config, opts.config_every) {
            if Instant::now() >= next_config {
                sock.send_to(c, to).map_err(|e| format!("send: {e}"))?;
                run.stats.sent.fetch_add(1, Relaxed);
                next_config = Instant::now() + every;
            }
        }
        sock.send_to(&f, to).map_err(|e| format!("send: {e}"))?;
        Ok(())
    };
    send_all(msgs, timing, rw, run, &mut send, &mut || {})
        .map_err(|e| ReplayError::Io(e, std::io::Error::other("UDP send failed")))
}
