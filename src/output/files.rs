//! `sefollow -w DIR`: each direction's delivered bytes in a file of its own (gaps are not
//! filled), plus `index.jsonl` with the flow records.
//!
//! Bytes are buffered per direction and appended in 64 KiB pieces, opening the file only for
//! the write, so thousands of concurrent connections never exhaust file descriptors.

use super::flows::{FlowList, Totals};
use crate::reassembly::{ConnInfo, Ctx, Dir, Sink, StreamEvent};
use rustc_hash::FxHashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

const FLUSH_AT: usize = 64 * 1024;

pub struct FileWriter {
    dir: PathBuf,
    pending: FxHashMap<(u64, usize), (PathBuf, Vec<u8>)>,
    /// Heap bytes of `pending`'s names and buffers (for the memory budget).
    held: usize,
    index: FlowList<BufWriter<File>>,
    error: Option<io::Error>,
}

/// File name of one direction: connection id, transport, direction, then sender and receiver.
pub fn file_name(conn: &ConnInfo, dir: Dir) -> String {
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

impl FileWriter {
    /// Creates DIR (if needed) and DIR/index.jsonl.
    pub fn create(dir: &Path, hash: bool) -> io::Result<FileWriter> {
        std::fs::create_dir_all(dir)?;
        let index = File::create(dir.join("index.jsonl"))?;
        Ok(FileWriter {
            dir: dir.to_path_buf(),
            pending: FxHashMap::default(),
            held: 0,
            index: FlowList::new(BufWriter::new(index), hash),
            error: None,
        })
    }

    pub fn failed(&self) -> bool {
        self.error.is_some() || self.index.failed()
    }

    fn flush(&mut self, key: (u64, usize)) {
        let Some((path, buf)) = self.pending.get_mut(&key) else {
            return;
        };
        if buf.is_empty() {
            return;
        }
        let r = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&*path)
            .and_then(|mut f| f.write_all(buf));
        if let Err(e) = r {
            self.error
                .get_or_insert(io::Error::new(e.kind(), format!("{}: {e}", path.display())));
        }
        buf.clear();
    }

    pub fn finish(self) -> io::Result<Totals> {
        let totals = self.index.finish()?;
        match self.error {
            Some(e) => Err(e),
            None => Ok(totals),
        }
    }
}

impl Sink for FileWriter {
    fn held_bytes(&self) -> usize {
        let entry = std::mem::size_of::<((u64, usize), (PathBuf, Vec<u8>))>() + 1;
        self.pending.capacity() * 8 / 7 * entry + self.held + self.index.held_bytes()
    }

    fn event(&mut self, ctx: &Ctx<'_>, ev: StreamEvent<'_>) {
        match &ev {
            StreamEvent::Open { conn } => {
                for dir in [Dir::C2S, Dir::S2C] {
                    let path = self.dir.join(file_name(conn, dir));
                    self.held += path.capacity();
                    self.pending
                        .insert((conn.id, dir.index()), (path, Vec::new()));
                }
            }
            StreamEvent::Data {
                conn, dir, bytes, ..
            } => {
                let key = (conn.id, dir.index());
                if let Some((_, buf)) = self.pending.get_mut(&key) {
                    let cap = buf.capacity();
                    buf.extend_from_slice(bytes);
                    self.held = (self.held + buf.capacity()).saturating_sub(cap);
                    if buf.len() >= FLUSH_AT {
                        self.flush(key);
                    }
                }
            }
            StreamEvent::Close { conn, .. } => {
                for d in 0..2 {
                    self.flush((conn.id, d));
                    if let Some((path, buf)) = self.pending.remove(&(conn.id, d)) {
                        self.held = self.held.saturating_sub(path.capacity() + buf.capacity());
                    }
                }
            }
            _ => {}
        }
        self.index.event(ctx, ev);
    }
}
