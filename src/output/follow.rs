//! `sefollow --conn N`: one connection's bytes, both directions interleaved in capture order,
//! like Wireshark's Follow TCP Stream. Formats: raw bytes; hex dump (server side indented,
//! per-direction offsets); ASCII (non-printable bytes as `.`). Gaps are marked in hex and
//! ASCII as `[N bytes missing in capture file]`, Wireshark's wording; raw output skips them.

use super::flows::Totals;
use crate::reassembly::{Ctx, Dir, Sink, StreamEvent};
use std::io::{self, Write};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FollowFormat {
    Raw,
    Hex,
    Ascii,
}

pub struct Follow<W: Write> {
    out: W,
    id: u64,
    format: FollowFormat,
    shown: [u64; 2],
    pub found: bool,
    pub closed: bool,
    pub totals: Totals,
    error: Option<io::Error>,
}

fn printable(b: u8) -> bool {
    (0x20..0x7f).contains(&b)
}

impl<W: Write> Follow<W> {
    pub fn new(out: W, id: u64, format: FollowFormat) -> Self {
        Follow {
            out,
            id,
            format,
            shown: [0; 2],
            found: false,
            closed: false,
            totals: Totals::default(),
            error: None,
        }
    }

    /// The connection is complete, or output failed: no need to read further.
    pub fn done(&self) -> bool {
        self.closed || self.error.is_some()
    }

    pub fn finish(mut self) -> io::Result<Totals> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()?;
        Ok(self.totals)
    }

    fn data(&mut self, dir: Dir, bytes: &[u8]) -> io::Result<()> {
        match self.format {
            FollowFormat::Raw => self.out.write_all(bytes),
            FollowFormat::Ascii => {
                let text: Vec<u8> = bytes
                    .iter()
                    .map(|&b| {
                        if printable(b) || b == b'\n' || b == b'\r' || b == b'\t' {
                            b
                        } else {
                            b'.'
                        }
                    })
                    .collect();
                self.out.write_all(&text)
            }
            FollowFormat::Hex => {
                use std::fmt::Write as _;
                let indent = if dir == Dir::S2C { "    " } else { "" };
                for chunk in bytes.chunks(16) {
                    let mut line = format!("{indent}{:08X}  ", self.shown[dir.index()]);
                    for i in 0..16 {
                        match chunk.get(i) {
                            Some(b) => {
                                let _ = write!(line, "{b:02x} ");
                            }
                            None => line.push_str("   "),
                        }
                        if i == 7 {
                            line.push(' ');
                        }
                    }
                    line.push(' ');
                    line.extend(
                        chunk
                            .iter()
                            .map(|&b| if printable(b) { b as char } else { '.' }),
                    );
                    writeln!(self.out, "{line}")?;
                    self.shown[dir.index()] += chunk.len() as u64;
                }
                Ok(())
            }
        }
    }

    fn gap(&mut self, dir: Dir, len: u64) -> io::Result<()> {
        match self.format {
            FollowFormat::Raw => Ok(()),
            FollowFormat::Hex => {
                self.shown[dir.index()] += len;
                let indent = if dir == Dir::S2C { "    " } else { "" };
                writeln!(self.out, "{indent}[{len} bytes missing in capture file]")
            }
            FollowFormat::Ascii => write!(self.out, "\n[{len} bytes missing in capture file]\n"),
        }
    }
}

impl<W: Write> Sink for Follow<W> {
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
            } if conn.id == self.id => self.data(dir, bytes),
            StreamEvent::Gap { conn, dir, len, .. } if conn.id == self.id => self.gap(dir, len),
            StreamEvent::Close { conn, stats } if conn.id == self.id => {
                self.totals.add(stats);
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
