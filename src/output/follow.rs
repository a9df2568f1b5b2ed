//! `sefollow --conn N`: one connection's bytes, both directions interleaved in capture order,
//! like Wireshark's Follow TCP Stream. Formats: raw bytes; hex dump (server side indented,
//! per-direction offsets); ASCII (non-printable bytes as `.`, each chunk after a header line
//! `>>> SRC -> DST (client, N bytes, pkt P)`, `<<<` and `server` for the server's chunks).
//! Gaps are marked in hex and ASCII as `[N bytes missing in capture file]`, Wireshark's
//! wording; raw output skips them.

use super::flows::Totals;
use crate::net::to_ip;
use crate::reassembly::{ConnInfo, Ctx, Dir, Sink, StreamEvent};
use std::io::{self, Write};
use std::net::SocketAddr;

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

/// The line before each chunk of `--format ascii`: `>>>` for the client's bytes, `<<<` for the
/// server's, sender first, then the side, the chunk's length and the packet that delivered it.
pub fn ascii_header(conn: &ConnInfo, dir: Dir, len: usize, pkt: u64) -> String {
    let e = conn.endpoints(dir);
    let src = SocketAddr::new(to_ip(e.src, e.v6), e.sport);
    let dst = SocketAddr::new(to_ip(e.dst, e.v6), e.dport);
    let (arrow, side) = match dir {
        Dir::C2S => (">>>", "client"),
        Dir::S2C => ("<<<", "server"),
    };
    format!("{arrow} {src} -> {dst} ({side}, {len} bytes, pkt {pkt})")
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

    fn data(&mut self, ctx: &Ctx<'_>, conn: &ConnInfo, dir: Dir, bytes: &[u8]) -> io::Result<()> {
        match self.format {
            FollowFormat::Raw => self.out.write_all(bytes),
            FollowFormat::Ascii => {
                writeln!(
                    self.out,
                    "{}",
                    ascii_header(conn, dir, bytes.len(), ctx.pkt)
                )?;
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
                self.out.write_all(&text)?;
                if !text.ends_with(b"\n") {
                    self.out.write_all(b"\n")?;
                }
                Ok(())
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
            FollowFormat::Ascii => {
                let side = if dir == Dir::C2S { ">>>" } else { "<<<" };
                writeln!(self.out, "{side} [{len} bytes missing in capture file]")
            }
        }
    }
}

impl<W: Write> Sink for Follow<W> {
    fn event(&mut self, ctx: &Ctx<'_>, ev: StreamEvent<'_>) {
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
            } if conn.id == self.id => self.data(ctx, conn, dir, bytes),
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

/// One connection's events only (`sefollow --conn N` with `--list` or `--write`): every other
/// connection's data is declined, so it is reassembled for its id but costs no output.
pub struct OnlyConn<S> {
    pub inner: S,
    id: u64,
    pub found: bool,
    pub closed: bool,
}

impl<S: Sink> OnlyConn<S> {
    pub fn new(inner: S, id: u64) -> Self {
        OnlyConn {
            inner,
            id,
            found: false,
            closed: false,
        }
    }
}

fn event_conn<'a>(ev: &StreamEvent<'a>) -> &'a ConnInfo {
    match *ev {
        StreamEvent::Open { conn }
        | StreamEvent::Data { conn, .. }
        | StreamEvent::Gap { conn, .. }
        | StreamEvent::Conflict { conn, .. }
        | StreamEvent::Close { conn, .. } => conn,
    }
}

impl<S: Sink> Sink for OnlyConn<S> {
    fn event(&mut self, ctx: &Ctx<'_>, ev: StreamEvent<'_>) {
        if event_conn(&ev).id != self.id {
            return;
        }
        match ev {
            StreamEvent::Open { .. } => self.found = true,
            StreamEvent::Close { .. } => self.closed = true,
            _ => {}
        }
        self.inner.event(ctx, ev);
    }

    fn data(
        &mut self,
        ctx: &Ctx<'_>,
        conn: &ConnInfo,
        dir: Dir,
        offset: u64,
        bytes: &[u8],
    ) -> bool {
        conn.id == self.id && self.inner.data(ctx, conn, dir, offset, bytes)
    }

    fn idle(&mut self) {
        self.inner.idle();
    }

    fn held_bytes(&self) -> usize {
        self.inner.held_bytes()
    }
}
