//! The command line of `sefollow`.

use crate::cli;
use crate::filter::PacketSelect;
use crate::output::FollowFormat;
use clap::Parser;
use std::path::PathBuf;

/// Follow TCP connections and UDP flows in pcap/pcapng captures.
///
/// Without a mode, --list is assumed. Inputs are files, directories (every capture file in
/// them, by first packet time) or `-` for standard input; gzip-compressed captures are read
/// transparently.
#[derive(Parser, Debug)]
#[command(name = "sefollow", version, after_help = cli::AFTER_HELP)]
pub struct Args {
    /// One JSON line per connection direction (flow record, see sekit-format(7)); with
    /// --conn, only that connection's.
    #[arg(long, conflicts_with = "write")]
    pub list: bool,
    /// Write each direction's bytes to its own file in DIR, plus DIR/index.jsonl; with
    /// --conn, only that connection's.
    #[arg(short = 'w', long = "write", value_name = "DIR")]
    pub write: Option<PathBuf>,
    /// Print one connection's bytes, both directions in capture order (with --list or
    /// --write: only this connection's records or files). The run ends once it is closed.
    #[arg(long, value_name = "N")]
    pub conn: Option<u64>,
    #[command(flatten)]
    pub select: PacketSelect,
    /// Output format for --conn: raw bytes; hex dump; ascii, each chunk after a line
    /// `>>> SRC -> DST (client, N bytes, pkt P)` (`<<<`, server, for the server's).
    #[arg(long, value_enum, default_value = "raw", requires = "conn", conflicts_with_all = ["list", "write"])]
    pub format: FollowFormat,
    /// Do not hash delivered bytes (sha256 is null); measures the engine alone.
    #[arg(long)]
    pub no_hash: bool,
    /// Memory for connection state (K/M/G suffixes): past it, the least recently active
    /// connections are closed early (end: evicted) and counted.
    #[arg(long, value_name = "BYTES", default_value = "256M", value_parser = cli::parse_size)]
    pub max_memory: usize,
    /// No progress bar and no summary.
    #[arg(short, long)]
    pub quiet: bool,
    /// Close a TCP connection after this many seconds without packets (capture time).
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub tcp_timeout: i64,
    /// Out-of-order bytes buffered per direction before a hole is declared a gap.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    pub ooo_per_dir: usize,
    /// Out-of-order bytes buffered over all connections.
    #[arg(long, value_name = "BYTES", default_value_t = 32 << 20)]
    pub ooo_global: usize,
    /// Also read the capture files in subdirectories of directory inputs (without it, each
    /// subdirectory is skipped with a warning).
    #[arg(short = 'r', long)]
    pub recursive: bool,
    /// Capture files, directories, or - for stdin.
    #[arg(required = true, value_name = "CAPTURE")]
    pub inputs: Vec<String>,
}
