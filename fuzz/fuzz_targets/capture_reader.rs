//! Bytes → `CaptureReader::from_read` → every packet → `Slicer::slice` → `Reassembler`.
//!
//! Besides "no panic", checks the reader's contracts: an error names the input and is the
//! last thing the reader returns; packets are numbered 1, 2, 3, ...

#![no_main]

use libfuzzer_sys::fuzz_target;
use sekit::capture::{CaptureReader, ReaderConfig, Timestamp};
use sekit::net::Slicer;
use sekit::reassembly::{Config, Ctx, Reassembler, Sink, StreamEvent};
use std::io::Cursor;

#[derive(Default)]
struct Counting {
    opens: u64,
    closes: u64,
    data_bytes: u64,
    gaps: u64,
}

impl Sink for Counting {
    fn event(&mut self, _ctx: &Ctx<'_>, ev: StreamEvent<'_>) {
        match ev {
            StreamEvent::Open { .. } => self.opens += 1,
            StreamEvent::Data { bytes, .. } => self.data_bytes += bytes.len() as u64,
            StreamEvent::Gap { .. } => self.gaps += 1,
            StreamEvent::Conflict { .. } => {}
            StreamEvent::Close { .. } => self.closes += 1,
        }
    }
}

const NAME: &str = "fuzz-input";

fuzz_target!(|data: &[u8]| {
    // Small limits keep memory bounded whatever a length field claims.
    let cfg = ReaderConfig {
        buffer: 1 << 16,
        max_record: 1 << 20,
    };
    let Ok(mut reader) = CaptureReader::from_read(NAME, Box::new(Cursor::new(data.to_vec())), &cfg)
    else {
        return;
    };
    // Small buffers so the out-of-order and history caps are reached.
    let mut engine = Reassembler::new(Config {
        ooo_per_dir: 2048,
        ooo_global: 8192,
        history: 64,
        ..Config::default()
    });
    let mut slicer = Slicer::default();
    let mut sink = Counting::default();
    let (mut last_ts, mut last_pkt) = (Timestamp::default(), 0);
    loop {
        match reader.next_packet() {
            Ok(Some(pkt)) => {
                assert_eq!(pkt.index, last_pkt + 1, "packets numbered in order");
                last_pkt = pkt.index;
                last_ts = pkt.ts;
                let ctx = Ctx {
                    ts: pkt.ts,
                    file: pkt.file,
                    pkt: pkt.index,
                };
                if let Ok(seg) = slicer.slice(&pkt) {
                    engine.process(&seg, &ctx, &mut sink);
                }
            }
            Ok(None) => break,
            Err(e) => {
                assert!(
                    e.to_string().starts_with(NAME),
                    "error names the input: {e}"
                );
                assert!(
                    matches!(reader.next_packet(), Ok(None)),
                    "reader finished after an error"
                );
                break;
            }
        }
    }
    let ctx = Ctx {
        ts: last_ts,
        file: NAME,
        pkt: last_pkt,
    };
    engine.finish(&ctx, &mut sink);
    assert_eq!(sink.opens, sink.closes, "every connection closed by finish");
});
