//! sefollow: TCP connections and UDP flows of captures, their reassembled bytes and accounts.

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use rustc_hash::FxHashMap;
use sekit::cli;
use sekit::engine::{run, RunConfig};
use sekit::output::flow_record;
use sekit::reassembly::{ConnInfo, Ctx, Dir, Proto, Sink, StreamEvent};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Raw,
    Hex,
    Ascii,
}

/// Follow TCP connections and UDP flows in pcap/pcapng captures.
///
/// Without a mode, --list is assumed. Inputs are files, directories (every capture file in
/// them, by first packet time) or `-` for standard input; gzip-compressed captures are read
/// transparently.
#[derive(Parser, Debug)]
#[command(name = "sefollow", version)]
struct Args {
    /// One JSON line per connection direction (flow record, docs/FORMAT.md).
    #[arg(long, conflicts_with_all = ["write", "conn"])]
    list: bool,
    /// Write each direction's bytes to its own file in DIR, plus index.jsonl.
    #[arg(
        short = 'w',
        long = "write",
        value_name = "DIR",
        conflicts_with = "conn"
    )]
    write: Option<PathBuf>,
    /// Print one connection's bytes, both directions in capture order.
    #[arg(long, value_name = "N")]
    conn: Option<u64>,
    /// Output format for --conn.
    #[arg(long, value_enum, default_value = "raw", requires = "conn")]
    format: Format,
    /// Do not hash delivered bytes (sha256 is null); measures the engine alone.
    #[arg(long)]
    no_hash: bool,
    /// No progress bar and no summary.
    #[arg(short, long)]
    quiet: bool,
    /// Close a TCP connection after this many seconds without packets (capture time).
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    tcp_timeout: i64,
    /// Out-of-order bytes buffered per direction before a hole is declared a gap.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    ooo_per_dir: usize,
    /// Out-of-order bytes buffered over all connections.
    #[arg(long, value_name = "BYTES", default_value_t = 32 << 20)]
    ooo_global: usize,
    /// Capture files, directories, or - for stdin.
    #[arg(required = true, value_name = "CAPTURE")]
    inputs: Vec<String>,
}

fn hex_digest(h: Sha256) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(64);
    for b in h.finalize() {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Totals for the summary line.
#[derive(Default)]
struct Totals {
    conns: u64,
    bytes: u64,
    gaps: u64,
    conflicts: u64,
}

impl Totals {
    fn add(&mut self, conn: &ConnInfo, stats: &[sekit::reassembly::DirStats; 2]) {
        let _ = conn;
        self.conns += 1;
        for s in stats {
            self.bytes += s.bytes;
            self.gaps += s.gaps.len() as u64;
            self.conflicts += s.conflicts.len() as u64;
        }
    }
}

/// Writes flow records; hashes each direction's bytes unless disabled.
struct ListSink<W: Write> {
    out: W,
    hash: bool,
    hashes: FxHashMap<u64, Box<[Sha256; 2]>>,
    totals: Totals,
    error: Option<io::Error>,
}

impl<W: Write> ListSink<W> {
    fn new(out: W, hash: bool) -> Self {
        ListSink {
            out,
            hash,
            hashes: FxHashMap::default(),
            totals: Totals::default(),
            error: None,
        }
    }

    fn write_close(&mut self, conn: &ConnInfo, stats: &[sekit::reassembly::DirStats; 2]) {
        self.totals.add(conn, stats);
        let hashes = self.hashes.remove(&conn.id);
        let mut digests = [None, None];
        if let Some(h) = hashes {
            let [a, b] = *h;
            digests = [Some(hex_digest(a)), Some(hex_digest(b))];
        }
        for dir in [Dir::C2S, Dir::S2C] {
            let st = &stats[dir.index()];
            // A UDP flow has a direction only once something was sent that way.
            if conn.transport == Proto::Udp && st.packets == 0 {
                continue;
            }
            let line = flow_record(conn, dir, st, digests[dir.index()].as_deref());
            if self.error.is_none() {
                if let Err(e) = writeln!(self.out, "{line}") {
                    self.error = Some(e);
                }
            }
        }
    }
}

impl<W: Write> Sink for ListSink<W> {
    fn event(&mut self, _ctx: &Ctx<'_>, ev: StreamEvent<'_>) {
        match ev {
            StreamEvent::Open { conn } if self.hash => {
                self.hashes
                    .insert(conn.id, Box::new([Sha256::new(), Sha256::new()]));
            }
            StreamEvent::Data {
                conn, dir, bytes, ..
            } if self.hash => {
                if let Some(h) = self.hashes.get_mut(&conn.id) {
                    h[dir.index()].update(bytes);
                }
            }
            StreamEvent::Close { conn, stats } => self.write_close(conn, stats),
            _ => {}
        }
    }
}

/// Per-direction files plus the index (a ListSink writing index.jsonl).
struct WriteSink {
    dir: PathBuf,
    pending: FxHashMap<(u64, usize), (PathBuf, Vec<u8>)>,
    index: ListSink<BufWriter<File>>,
}

const FLUSH_AT: usize = 64 * 1024;

impl WriteSink {
    fn file_name(conn: &ConnInfo, dir: Dir) -> String {
        let ep = conn.endpoints(dir);
        format!(
            "conn{:06}-{}-{}-{}.{}-{}.{}.bin",
            conn.id,
            conn.transport.as_str(),
            dir.as_str(),
            ep.src_ip(),
            ep.sport,
            ep.dst_ip(),
            ep.dport
        )
    }

    fn flush(&mut self, key: (u64, usize), last: bool) {
        let Some((path, buf)) = self.pending.get_mut(&key) else {
            return;
        };
        if !buf.is_empty() {
            let r = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&*path)
                .and_then(|mut f| f.write_all(buf));
            if let Err(e) = r {
                self.index
                    .error
                    .get_or_insert(io::Error::new(e.kind(), format!("{}: {e}", path.display())));
            }
            buf.clear();
        }
        if last {
            self.pending.remove(&key);
        }
    }
}

impl Sink for WriteSink {
    fn event(&mut self, ctx: &Ctx<'_>, ev: StreamEvent<'_>) {
        match &ev {
            StreamEvent::Open { conn } => {
                for dir in [Dir::C2S, Dir::S2C] {
                    let path = self.dir.join(Self::file_name(conn, dir));
                    self.pending
                        .insert((conn.id, dir.index()), (path, Vec::new()));
                }
            }
            StreamEvent::Data {
                conn, dir, bytes, ..
            } => {
                let key = (conn.id, dir.index());
                let full = match self.pending.get_mut(&key) {
                    Some((_, buf)) => {
                        buf.extend_from_slice(bytes);
                        buf.len() >= FLUSH_AT
                    }
                    None => false,
                };
                if full {
                    self.flush(key, false);
                }
            }
            StreamEvent::Close { conn, .. } => {
                for d in 0..2 {
                    self.flush((conn.id, d), true);
                }
            }
            _ => {}
        }
        self.index.event(ctx, ev);
    }
}

/// One connection's bytes in capture order, like Wireshark's Follow TCP Stream.
struct ConnSink<W: Write> {
    out: W,
    id: u64,
    format: Format,
    /// Bytes printed per direction (hex offsets).
    shown: [u64; 2],
    found: bool,
    closed: bool,
    totals: Totals,
    error: Option<io::Error>,
}

impl<W: Write> ConnSink<W> {
    fn write(&mut self, dir: Dir, bytes: &[u8]) -> io::Result<()> {
        match self.format {
            Format::Raw => self.out.write_all(bytes),
            Format::Ascii => {
                let text: Vec<u8> = bytes
                    .iter()
                    .map(|&b| {
                        if b == b'\n' || b == b'\r' || b == b'\t' || (0x20..0x7f).contains(&b) {
                            b
                        } else {
                            b'.'
                        }
                    })
                    .collect();
                self.out.write_all(&text)
            }
            Format::Hex => {
                let indent = if dir == Dir::S2C { "    " } else { "" };
                for chunk in bytes.chunks(16) {
                    let off = self.shown[dir.index()];
                    let mut line = format!("{indent}{off:08X}  ");
                    for i in 0..16 {
                        match chunk.get(i) {
                            Some(b) => line.push_str(&format!("{b:02x} ")),
                            None => line.push_str("   "),
                        }
                        if i == 7 {
                            line.push(' ');
                        }
                    }
                    line.push(' ');
                    line.extend(chunk.iter().map(|&b| {
                        if (0x20..0x7f).contains(&b) {
                            b as char
                        } else {
                            '.'
                        }
                    }));
                    writeln!(self.out, "{line}")?;
                    self.shown[dir.index()] += chunk.len() as u64;
                }
                Ok(())
            }
        }
    }
}

impl<W: Write> Sink for ConnSink<W> {
    fn event(&mut self, _ctx: &Ctx<'_>, ev: StreamEvent<'_>) {
        if self.error.is_some() {
            return;
        }
        let r = match ev {
            StreamEvent::Open { conn } if conn.id == self.id => {
                self.found = true;
                Ok(())
            }
            StreamEvent::Data {
                conn, dir, bytes, ..
            } if conn.id == self.id => self.write(dir, bytes),
            StreamEvent::Gap { conn, dir, len, .. } if conn.id == self.id => match self.format {
                Format::Raw => Ok(()),
                Format::Hex => {
                    self.shown[dir.index()] += len;
                    let indent = if dir == Dir::S2C { "    " } else { "" };
                    writeln!(self.out, "{indent}[{len} bytes missing in capture file]")
                }
                Format::Ascii => write!(self.out, "\n[{len} bytes missing in capture file]\n"),
            },
            StreamEvent::Close { conn, stats } if conn.id == self.id => {
                self.totals.add(conn, stats);
                self.closed = true;
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(e) = r {
            self.error = Some(e);
        }
    }
}

fn main() {
    match real_main() {
        Ok(code) => std::process::exit(code),
        Err(e) if cli::is_broken_pipe(&e) => std::process::exit(0),
        Err(e) => {
            eprintln!("sefollow: error: {e:#}");
            std::process::exit(1);
        }
    }
}

fn real_main() -> Result<i32> {
    let args = Args::parse();
    let mut cfg = RunConfig::default();
    cfg.reassembly.tcp_idle_secs = args.tcp_timeout;
    cfg.reassembly.ooo_per_dir = args.ooo_per_dir;
    cfg.reassembly.ooo_global = args.ooo_global;
    let (inputs, skipped) = cli::inputs("sefollow", &args.inputs, &cfg.reader);
    if inputs.is_empty() {
        bail!("no readable capture among the inputs ({skipped} skipped)");
    }
    let pb = cli::progress_bar(&inputs, args.quiet);
    let mut progress = |done: u64| {
        if let Some(pb) = &pb {
            pb.set_position(done);
        }
    };
    let quiet = args.quiet;
    let mut warn = |e: &sekit::capture::CaptureError| {
        if let Some(pb) = &pb {
            pb.suspend(|| cli::warn("sefollow", e));
        } else {
            cli::warn("sefollow", e);
        }
    };
    let stdout = io::stdout().lock();
    let (report, totals, error) = if let Some(dir) = &args.write {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let index = File::create(dir.join("index.jsonl"))
            .with_context(|| format!("creating {}", dir.join("index.jsonl").display()))?;
        let mut sink = WriteSink {
            dir: dir.clone(),
            pending: FxHashMap::default(),
            index: ListSink::new(BufWriter::new(index), !args.no_hash),
        };
        let report = run(
            &inputs,
            &cfg,
            &mut sink,
            &mut warn,
            &mut progress,
            &|s: &WriteSink| s.index.error.is_some(),
        );
        let flushed = sink.index.out.flush();
        let err = sink.index.error.take().or(flushed.err());
        (report, sink.index.totals, err)
    } else if let Some(id) = args.conn {
        let mut sink = ConnSink {
            out: BufWriter::new(stdout),
            id,
            format: args.format,
            shown: [0; 2],
            found: false,
            closed: false,
            totals: Totals::default(),
            error: None,
        };
        let report = run(
            &inputs,
            &cfg,
            &mut sink,
            &mut warn,
            &mut progress,
            &|s: &ConnSink<_>| s.closed || s.error.is_some(),
        );
        if !sink.found && sink.error.is_none() {
            eprintln!("sefollow: connection {id} not found");
        }
        let flushed = sink.out.flush();
        let err = sink.error.take().or(flushed.err());
        (report, sink.totals, err)
    } else {
        let mut sink = ListSink::new(BufWriter::with_capacity(1 << 16, stdout), !args.no_hash);
        let report = run(
            &inputs,
            &cfg,
            &mut sink,
            &mut warn,
            &mut progress,
            &|s: &ListSink<_>| s.error.is_some(),
        );
        let flushed = sink.out.flush();
        let err = sink.error.take().or(flushed.err());
        (report, sink.totals, err)
    };
    if let Some(pb) = &pb {
        pb.finish_and_clear();
    }
    if let Some(e) = error {
        return Err(e).context("writing output");
    }
    if !quiet {
        eprintln!(
            "sefollow: {}; {} connections/flows, {} bytes delivered, {} gaps, {} conflicts; drops: {} ooo-forced gaps, {} conns over cap, {} packets after close",
            cli::summary_line(&report),
            totals.conns,
            totals.bytes,
            totals.gaps,
            totals.conflicts,
            report.engine.forced_gaps,
            report.engine.dropped_conns,
            report.engine.after_close,
        );
    }
    Ok(if report.nothing_read() { 2 } else { 0 })
}
