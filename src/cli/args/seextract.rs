//! The command line of `seextract`.

use crate::cli;
use crate::filter::PacketSelect;
use crate::protocols::registry;
use clap::builder::PossibleValuesParser;
use clap::Parser;

/// Find SolarEdge, C37.118 and SEL frames in captures, by content, on any port.
///
/// Inputs are files, directories (every capture file in them, by first packet time) or `-`
/// for standard input. Records are described in sekit-format(7).
#[derive(Parser, Debug)]
#[command(name = "seextract", version, after_help = cli::AFTER_HELP)]
pub struct Args {
    /// Write to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<String>,
    /// Append to the output file instead of replacing it.
    #[arg(short, long, requires = "output")]
    pub append: bool,
    /// Follow: wait for growing files and for new files in directories (tcpdump -w, -C/-G).
    #[arg(short, long)]
    pub follow: bool,
    /// With --follow: stop after SECS without new data (default: follow until interrupted).
    #[arg(long, value_name = "SECS", requires = "follow")]
    pub follow_quit: Option<f64>,
    /// Write only the concatenated bytes of the frames of one protocol.
    #[arg(long)]
    pub raw: bool,
    /// Frame every selected stream as this protocol, without detection.
    #[arg(long, value_name = "PROTO", value_parser = PossibleValuesParser::new(registry::names()))]
    pub proto: Option<String>,
    #[command(flatten)]
    pub select: PacketSelect,
    /// Only this connection id (repeatable; ids as sefollow --list shows them).
    #[arg(long, value_name = "N")]
    pub conn: Vec<u64>,
    /// Bytes of each direction examined to detect its protocol.
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024)]
    pub window: u64,
    /// Memory for connection state (K/M/G suffixes): past it, the least recently active
    /// connections are closed early (end: evicted) and counted.
    #[arg(long, value_name = "BYTES", default_value = "256M", value_parser = cli::parse_size)]
    pub max_memory: usize,
    /// No progress bar and no summary.
    #[arg(short, long)]
    pub quiet: bool,
    /// Threads: 1 reads, reassembles and frames on one thread; 2 (the default) reads and
    /// slices packets on a second thread.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub threads: u8,
    /// Keep SEL passwords in clear in frame records (default: a salted-hash marker).
    #[arg(long)]
    pub reveal_secrets: bool,
    /// Also read the capture files in subdirectories of directory inputs (without it, each
    /// subdirectory is skipped with a warning).
    #[arg(short = 'r', long)]
    pub recursive: bool,
    /// Capture files, directories, or - for stdin.
    #[arg(required = true, value_name = "CAPTURE")]
    pub inputs: Vec<String>,
}
