//! The command line of `sereplay` (replay spec §2) and its wiring: options shared by every
//! mode ([`Common`]), one struct per mode, and [`execute`], which loads the inputs, selects
//! the conversation and runs the mode (or prints its schedule with `--dry-run`).

use super::push::{push, PushOpts};
use super::rewrite::{parse_time_spec, Rewrite, Rewriter, TimeSpec};
use super::schedule::{Pace, Plan, Timing};
use super::serve::{serve, ServeOpts, SessionCtx};
use super::source::{load, parse_tuple, select, Conversation, Msg, Select};
use super::udp::{udp, UdpOpts};
use super::{replayer, wanted, ReplayError, Replayer, Run};
use crate::filter::PacketSelect;
use crate::protocols::registry;
use crate::reassembly::Dir;
use clap::builder::PossibleValuesParser;
use clap::{Args, Subcommand};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Options of every mode.
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// Captures (files, directories) or seextract JSON Lines.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,
    #[command(flatten)]
    pub select: PacketSelect,
    /// The connection (or UDP flow) to replay, by id as seextract and sefollow number them.
    #[arg(long, value_name = "N")]
    pub conn: Option<u64>,
    /// The connection with these endpoints (either order): ADDR:PORT-ADDR:PORT.
    #[arg(long, value_name = "TUPLE", value_parser = parse_tuple)]
    pub tuple: Option<(SocketAddr, SocketAddr)>,
    /// Only messages of this protocol.
    #[arg(long, value_name = "PROTO", value_parser = PossibleValuesParser::new(registry::names()))]
    pub proto: Option<String>,
    /// The side whose messages are sent (push: c2s, udp: the data side by default).
    #[arg(long, value_parser = ["c2s", "s2c"])]
    pub dir: Option<String>,
    /// Only messages of this kind (data, cfg2, cmd, 0x0500, A5D1, …) or command name
    /// (turn_on_data, …); repeatable.
    #[arg(long, value_name = "KIND")]
    pub only: Vec<String>,
    /// Captured timing divided by X (2 = twice as fast, 0.5 = half speed).
    #[arg(long, value_name = "X", default_value_t = 1.0, conflicts_with_all = ["rate", "asap"])]
    pub speed: f64,
    /// A fixed rate instead of the captured timing, in messages per second.
    #[arg(long, value_name = "N", conflicts_with = "asap")]
    pub rate: Option<f64>,
    /// As fast as possible.
    #[arg(long)]
    pub asap: bool,
    /// Cap every captured gap at MS milliseconds.
    #[arg(long, value_name = "MS")]
    pub max_gap: Option<u64>,
    /// Passes over the messages (0 = forever).
    #[arg(long = "loop", value_name = "N", default_value_t = 1)]
    pub loops: u64,
    /// Pause between passes, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub loop_delay: u64,
    /// When behind, skip a message whose successor is already due (default: catch up).
    #[arg(long)]
    pub drop_late: bool,
    /// Rewrite embedded times: `now` (the first becomes the start time) or +SECS / -SECS;
    /// every checksum is recomputed.
    #[arg(long, value_name = "now|+SECS", value_parser = parse_time_spec, allow_hyphen_values = true)]
    pub rewrite_time: Option<TimeSpec>,
    /// Set the C37.118 IDCODE of every frame.
    #[arg(long, value_name = "ID")]
    pub set_idcode: Option<u16>,
    /// Allow binding and sending to addresses other than loopback.
    #[arg(long)]
    pub allow_remote: bool,
    /// Print the schedule (pass, index, due time, direction, kind, length) and exit.
    #[arg(long)]
    pub dry_run: bool,
    /// No progress line, no log lines, no summary.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Mode {
    /// Connect to a peer as the captured client and send its messages.
    Push {
        #[command(flatten)]
        common: Common,
        /// HOST:PORT to connect to.
        #[arg(long)]
        target: String,
        /// After each message wait for one reply frame (at most --reply-timeout).
        #[arg(long)]
        expect_reply: bool,
        #[arg(long, value_name = "MS", default_value_t = 5000)]
        reply_timeout: u64,
        /// Keep reading this long after the last message.
        #[arg(long, value_name = "MS", default_value_t = 500)]
        linger: u64,
    },
    /// Listen and play the captured device side to every client.
    Serve {
        #[command(flatten)]
        common: Common,
        /// ADDR:PORT to listen on.
        #[arg(long, default_value = "127.0.0.1:4712")]
        listen: String,
        /// Most clients at once.
        #[arg(long, default_value_t = 16)]
        max_clients: usize,
        /// Exit after N clients have come and gone.
        #[arg(long, value_name = "N")]
        exit_after: Option<u64>,
    },
    /// Send one side's messages as UDP datagrams.
    Udp {
        #[command(flatten)]
        common: Common,
        /// HOST:PORT to send to.
        #[arg(long)]
        target: String,
        /// Multicast (and unicast) TTL.
        #[arg(long)]
        ttl: Option<u32>,
        /// Send the configuration frame (C37.118 CFG-2) first and every SECS seconds.
        #[arg(long, value_name = "SECS")]
        config_every: Option<f64>,
    },
}

impl Common {
    pub fn timing(&self) -> Timing {
        let pace = match (self.asap, self.rate) {
            (true, _) => Pace::Asap,
            (_, Some(r)) => Pace::Rate(r),
            _ => Pace::Speed(self.speed),
        };
        Timing {
            pace,
            max_gap: self.max_gap.map(Duration::from_millis),
            loops: self.loops,
            loop_delay: Duration::from_millis(self.loop_delay),
            drop_late: self.drop_late,
        }
    }

    fn rewrite(&self) -> Rewrite {
        Rewrite {
            time: self.rewrite_time,
            id: self.set_idcode.map(u32::from),
        }
    }

    fn check(&self) -> Result<(), ReplayError> {
        let bad = |s: &str| Err(ReplayError::Input(s.into()));
        if !(self.speed.is_finite() && self.speed > 0.0) {
            return bad("--speed must be a positive number");
        }
        if self.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
            return bad("--rate must be a positive number");
        }
        Ok(())
    }
}

impl Mode {
    pub fn common(&self) -> &Common {
        match self {
            Mode::Push { common, .. } | Mode::Serve { common, .. } | Mode::Udp { common, .. } => {
                common
            }
        }
    }
}

/// Prints the schedule of `msgs` (one pass; loops are listed by their start).
fn dry_run(msgs: &[&Msg], t: &Timing, out: &mut dyn Write) -> std::io::Result<()> {
    let ts: Vec<_> = msgs.iter().map(|m| m.ts).collect();
    let plan = Plan::new(&ts, t);
    writeln!(out, "pass\tindex\tdue_s\tdir\tkind\tlen")?;
    for (i, m) in msgs.iter().enumerate() {
        let due = plan.due(0, i) as f64 / 1e9;
        let (d, k, n) = (m.dir.as_str(), &m.kind, m.bytes.len());
        writeln!(out, "0\t{i}\t{due:.6}\t{d}\t{k}\t{n}")?;
    }
    let loops = if t.loops == 0 {
        "forever".to_string()
    } else {
        t.loops.to_string()
    };
    writeln!(
        out,
        "# {} messages per pass, passes: {loops}, period {:.6} s",
        msgs.len(),
        plan.period as f64 / 1e9
    )
}

/// The messages a mode sends: the chosen side, filtered by `--only`.
fn side<'c>(r: &dyn Replayer, conv: &'c Conversation, dir: Dir, only: &[String]) -> Vec<&'c Msg> {
    conv.side(dir).filter(|m| wanted(r, m, only)).collect()
}

/// Runs a mode; `bound` hears the listening address of `serve`.
pub fn execute(
    mode: &Mode,
    run: &Run,
    warn: &mut dyn FnMut(String),
    bound: &mut dyn FnMut(SocketAddr),
) -> Result<(), ReplayError> {
    let c = mode.common();
    c.check()?;
    let msgs = load(&c.inputs, &c.select, warn)?;
    let sel = Select {
        conn: c.conn,
        tuple: c.tuple,
        proto: c.proto.as_deref().and_then(registry::find),
    };
    let conv = select(msgs, &sel)?;
    let r = replayer(conv.proto)?;
    let dir_arg = c
        .dir
        .as_deref()
        .map(|d| if d == "c2s" { Dir::C2S } else { Dir::S2C });
    let dir = match mode {
        Mode::Push { .. } => dir_arg.unwrap_or(Dir::C2S),
        Mode::Serve { .. } => r.device(&conv),
        Mode::Udp { .. } => dir_arg.unwrap_or_else(|| r.device(&conv)),
    };
    let msgs = side(r, &conv, dir, &c.only);
    if c.dry_run {
        let mut out = std::io::stdout().lock();
        return dry_run(&msgs, &c.timing(), &mut out)
            .map_err(|e| ReplayError::Io("writing".into(), e));
    }
    let rw = Rewriter::new(r, &conv, &msgs, c.rewrite());
    match mode {
        Mode::Push {
            target,
            expect_reply,
            reply_timeout,
            linger,
            ..
        } => {
            let opts = PushOpts {
                target: target.clone(),
                allow_remote: c.allow_remote,
                expect_reply: expect_reply.then(|| Duration::from_millis(*reply_timeout)),
                linger: Duration::from_millis(*linger),
            };
            let wire = |m: &Msg, f: Vec<u8>| r.wire(&conv, &m.kind, f);
            push(conv.proto, &msgs, &c.timing(), &rw, &wire, &opts, run)
        }
        Mode::Serve {
            listen,
            max_clients,
            exit_after,
            ..
        } => {
            let ctx = SessionCtx {
                conv: Arc::new(conv.clone()),
                replayer: r,
                timing: c.timing(),
                rewrite: c.rewrite(),
                only: c.only.clone(),
            };
            let opts = ServeOpts {
                listen: listen.clone(),
                allow_remote: c.allow_remote,
                max_clients: *max_clients,
                exit_after: *exit_after,
            };
            serve(ctx, &opts, run, bound)
        }
        Mode::Udp {
            target,
            ttl,
            config_every,
            ..
        } => {
            let opts = UdpOpts {
                target: target.clone(),
                allow_remote: c.allow_remote,
                ttl: *ttl,
                config_every: config_every
                    .filter(|s| s.is_finite() && *s > 0.0)
                    .map(Duration::from_secs_f64),
            };
            udp(&msgs, r.config_frame(&conv), &c.timing(), &rw, &opts, run)
        }
    }
}
