//! One capture stream: pcap (LE/BE, µs/ns) or pcapng (several interfaces, `if_tsresol`,
//! `if_tsoffset`, EPB and SPB), detected by magic number, optionally gzip-compressed.
//!
//! Record parsing is pcap-parser's; this module adds format detection, per-interface link
//! types and time resolution, buffer growth up to a cap, and exact error positions.

use super::{CaptureError, Packet, Timestamp};
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapNGPacketBlock;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError};
use std::io::{self, Read};
use std::sync::{Arc, Mutex};

/// Remembers the last I/O error of the wrapped reader: pcap-parser reports only `ReadError`,
/// and the cause (a damaged gzip stream, a disk error) belongs in the message.
struct ErrorTap<R> {
    inner: R,
    last: Arc<Mutex<Option<String>>>,
}

impl<R: Read> Read for ErrorTap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = self.inner.read(buf);
        if let Err(e) = &r {
            if let Ok(mut l) = self.last.lock() {
                *l = Some(e.to_string());
            }
        }
        r
    }
}

/// Limits for one reader.
#[derive(Clone, Debug)]
pub struct ReaderConfig {
    /// Initial buffer size in bytes.
    pub buffer: usize,
    /// Largest record (pcap record or pcapng block) accepted; larger ones stop the file.
    pub max_record: usize,
}

impl Default for ReaderConfig {
    fn default() -> Self {
        ReaderConfig {
            buffer: 1 << 20,
            max_record: 64 << 20,
        }
    }
}

const PCAPNG_SHB: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
const GZIP: [u8; 2] = [0x1f, 0x8b];
/// Bytes read before detection; larger than any realistic pcapng section header block.
const PREFIX: usize = 64 * 1024;

#[derive(Clone, Copy, Debug)]
struct Interface {
    linktype: u32,
    /// Timestamp units per second.
    resolution: u64,
    offset: i64,
    snaplen: u32,
}

/// Capture container format, as found by the magic number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Pcap,
    PcapNg,
}

/// Reads packets from one capture stream.
pub struct CaptureReader {
    name: String,
    inner: Box<dyn PcapReaderIterator + Send>,
    format: Format,
    compressed: bool,
    ifaces: Vec<Interface>,
    pending: usize,
    index: u64,
    max_record: usize,
    capacity: usize,
    last_ts: Timestamp,
    truncated_tail: Option<(u64, usize)>,
    finished: bool,
    /// Byte order of the records (pcap header magic, or the pcapng section's byte-order mark).
    big_endian: bool,
    /// Classic pcap with 16-byte record headers: records are sliced here directly.
    fast_pcap: bool,
    last_io_error: Arc<Mutex<Option<String>>>,
    /// Follow mode: the end of the data is not the end of the stream.
    follow: bool,
    need_refill: bool,
    file_id: Option<(u64, u64)>,
}

struct Meta {
    /// `None` for blocks without a timestamp (pcapng SPB): the previous packet's time is used.
    ts: Option<Timestamp>,
    linktype: u32,
    orig_len: u32,
    start: usize,
    len: usize,
}

impl CaptureReader {
    /// Opens a file by path; `-` is standard input.
    pub fn open(path: &str, cfg: &ReaderConfig) -> Result<CaptureReader, CaptureError> {
        if path == "-" {
            return Self::from_read(path, Box::new(io::stdin()), cfg);
        }
        let f = std::fs::File::open(path).map_err(|e| CaptureError::Io {
            file: path.to_string(),
            source: e,
        })?;
        let id = f.metadata().ok().and_then(|md| file_id(&md));
        let mut r = Self::from_read(path, Box::new(f), cfg)?;
        r.file_id = id;
        Ok(r)
    }

    /// Identity (device, inode) of the opened file; `None` for other sources and on platforms
    /// without one.
    pub fn file_id(&self) -> Option<(u64, u64)> {
        self.file_id
    }

    /// Wraps any byte source. The format (and gzip compression) is detected from its content.
    pub fn from_read(
        name: &str,
        mut r: Box<dyn Read + Send>,
        cfg: &ReaderConfig,
    ) -> Result<CaptureReader, CaptureError> {
        let io_err = |e| CaptureError::Io {
            file: name.to_string(),
            source: e,
        };
        let mut prefix = read_prefix(&mut r, PREFIX).map_err(io_err)?;
        let mut compressed = false;
        let mut gzip_error = None;
        if prefix.starts_with(&GZIP) {
            compressed = true;
            let chained = io::Cursor::new(prefix).chain(r);
            r = Box::new(flate2::read::MultiGzDecoder::new(chained));
            // A stream cut (or damaged) inside the first PREFIX bytes: what decompressed
            // before the damage is read, then the error ends the stream where it occurred.
            let (p, err) = read_until_error(&mut r, PREFIX);
            prefix = p;
            if let Some(e) = err {
                gzip_error = Some(e.to_string());
                r = Box::new(FailingRead {
                    err: Some(e),
                    first: true,
                });
            }
        }
        let format = match (detect(name, &prefix, compressed), gzip_error) {
            (Ok(f), _) => f,
            (Err(_), Some(e)) => {
                return Err(CaptureError::format(
                    name,
                    0,
                    format!("gzip stream unreadable: {e}"),
                ))
            }
            (Err(e), None) => return Err(e),
        };
        let capacity = cfg.buffer.max(PREFIX * 2);
        let last_io_error = Arc::new(Mutex::new(None));
        let chained = ErrorTap {
            inner: io::Cursor::new(prefix).chain(r),
            last: last_io_error.clone(),
        };
        let inner = pcap_parser::create_reader(capacity, chained).map_err(|e| {
            CaptureError::format(name, 0, format!("unreadable {format:?} header: {e:?}"))
        })?;
        Ok(CaptureReader {
            name: name.to_string(),
            inner,
            format,
            compressed,
            ifaces: Vec::new(),
            pending: 0,
            index: 0,
            max_record: cfg.max_record.max(capacity),
            capacity,
            last_ts: Timestamp::default(),
            truncated_tail: None,
            finished: false,
            big_endian: false,
            fast_pcap: false,
            last_io_error,
            follow: false,
            need_refill: false,
            file_id: None,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// True for gzip-compressed input; offsets are then positions in the decompressed data.
    pub fn compressed(&self) -> bool {
        self.compressed
    }

    /// Bytes of the (decompressed) stream consumed so far.
    pub fn consumed(&self) -> u64 {
        (self.inner.consumed() + self.pending) as u64
    }

    /// Packets returned so far (the number of the last one).
    pub fn packets(&self) -> u64 {
        self.index
    }

    /// Set when the stream ended inside a record: (offset of the record, bytes present).
    pub fn truncated_tail(&self) -> Option<(u64, usize)> {
        self.truncated_tail
    }

    /// Follow mode (a file still being written): at the end of the data `next_packet` returns
    /// `Ok(None)` without finishing, and the next call reads again, resuming a record cut in
    /// the middle.
    pub fn set_follow(&mut self, on: bool) {
        self.follow = on;
    }

    /// Ends follow mode for a file that will not grow any more (a newer one appeared): a record
    /// still incomplete becomes the truncated tail.
    pub fn stop_following(&mut self) {
        self.follow = false;
        let left = self.inner.data().len();
        if left > 0 && !self.finished {
            self.truncated_tail = Some((self.inner.consumed() as u64, left));
        }
        self.finished = true;
    }

    /// The next packet, `Ok(None)` at the end of the stream. A record cut short by the end of
    /// the stream is not an error: it ends the stream and is reported by [`Self::truncated_tail`].
    /// After an error the reader is finished (the rest of the file cannot be framed reliably).
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        if self.finished {
            return Ok(None);
        }
        if self.need_refill {
            self.need_refill = false;
            if self.pending > 0 {
                self.inner.consume_noshift(self.pending);
                self.pending = 0;
            }
            let at = self.inner.consumed() as u64;
            if self.inner.refill().is_err() {
                self.finished = true;
                return Err(CaptureError::format(&self.name, at, self.read_error()));
            }
        }
        loop {
            if self.pending > 0 {
                // No shift here: `refill` moves the (small) unread remainder when needed,
                // instead of moving half the buffer every time the position passes the middle.
                self.inner.consume_noshift(self.pending);
                self.pending = 0;
            }
            if self.fast_pcap {
                let r = fast_record(
                    self.inner.data(),
                    self.big_endian,
                    &self.ifaces,
                    self.max_record,
                );
                if let Some(r) = r {
                    self.pending = 16 + r.caplen;
                    self.index += 1;
                    self.last_ts = r.ts;
                    return Ok(Some(Packet {
                        ts: r.ts,
                        linktype: self.ifaces[0].linktype,
                        data: &self.inner.data()[16..16 + r.caplen],
                        orig_len: r.orig_len,
                        file: &self.name,
                        index: self.index,
                    }));
                }
            }
            let offset = self.inner.consumed() as u64;
            // pcapng: check the block length before pcap-parser reads the block (some of its
            // block parsers underflow on a length below 12).
            if self.format == Format::PcapNg {
                if let Some(reason) = self.corrupt_record() {
                    self.finished = true;
                    return Err(CaptureError::format(&self.name, offset, reason));
                }
            }
            let base = self.inner.data().as_ptr() as usize;
            let step = match self.inner.next() {
                Ok((len, block)) => {
                    match &block {
                        PcapBlockOwned::LegacyHeader(h) => {
                            self.big_endian = h.is_bigendian();
                            self.fast_pcap = !h.is_modified_format();
                        }
                        PcapBlockOwned::NG(Block::SectionHeader(shb)) => {
                            self.big_endian = shb.big_endian()
                        }
                        _ => {}
                    }
                    Ok((len, block_meta(&mut self.ifaces, block, base)))
                }
                Err(e) => Err(simplify(e)),
            };
            match step {
                Ok((len, meta)) => {
                    self.pending = len;
                    let meta = match meta {
                        Ok(Some(m)) => m,
                        Ok(None) => continue,
                        Err(reason) => {
                            self.finished = true;
                            return Err(CaptureError::format(&self.name, offset, reason));
                        }
                    };
                    self.index += 1;
                    let ts = meta.ts.unwrap_or(self.last_ts);
                    self.last_ts = ts;
                    return Ok(Some(Packet {
                        ts,
                        linktype: meta.linktype,
                        data: &self.inner.data()[meta.start..meta.start + meta.len],
                        orig_len: meta.orig_len,
                        file: &self.name,
                        index: self.index,
                    }));
                }
                Err(Step::Eof) if self.follow => {
                    self.need_refill = true;
                    return Ok(None);
                }
                Err(Step::Eof) => {
                    let left = self.inner.data().len();
                    if let Some(reason) = self.corrupt_record() {
                        self.finished = true;
                        return Err(CaptureError::format(&self.name, offset, reason));
                    }
                    if left > 0 {
                        self.truncated_tail = Some((offset, left));
                    }
                    self.finished = true;
                    return Ok(None);
                }
                Err(Step::Refill) => {
                    if let Some(reason) = self.corrupt_record() {
                        self.finished = true;
                        return Err(CaptureError::format(&self.name, offset, reason));
                    }
                    if self.inner.refill().is_err() {
                        self.finished = true;
                        return Err(CaptureError::format(&self.name, offset, self.read_error()));
                    }
                }
                Err(Step::TooSmall) => {
                    if let Some(reason) = self.corrupt_record() {
                        self.finished = true;
                        return Err(CaptureError::format(&self.name, offset, reason));
                    }
                    if self.capacity >= self.max_record {
                        self.finished = true;
                        return Err(CaptureError::format(
                            &self.name,
                            offset,
                            format!(
                                "record longer than the {}-byte cap (corrupt length field?)",
                                self.max_record
                            ),
                        ));
                    }
                    self.capacity = (self.capacity * 2).min(self.max_record);
                    self.inner.grow(self.capacity);
                    if self.inner.refill().is_err() {
                        self.finished = true;
                        return Err(CaptureError::format(&self.name, offset, self.read_error()));
                    }
                }
                Err(Step::Bad(reason)) => {
                    self.finished = true;
                    let reason = if reason == "read error" {
                        self.read_error()
                    } else {
                        reason
                    };
                    return Err(CaptureError::format(&self.name, offset, reason));
                }
            }
        }
    }

    fn read_error(&self) -> String {
        match self.last_io_error.lock().ok().and_then(|mut l| l.take()) {
            Some(e) => format!("read error: {e}"),
            None => "read error".to_string(),
        }
    }

    /// A length field at the current record that no valid capture has: longer than the cap,
    /// or (pcapng) shorter than a block or not a multiple of 4.
    fn corrupt_record(&self) -> Option<String> {
        let d = self.inner.data();
        let at = |i: usize| -> Option<u32> {
            let b: [u8; 4] = d.get(i..i + 4)?.try_into().ok()?;
            Some(if self.big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            })
        };
        match self.format {
            Format::Pcap => {
                let caplen = at(8)? as usize;
                (caplen > self.max_record).then(|| {
                    format!(
                        "record longer than the {}-byte cap ({caplen} bytes claimed: corrupt length field)",
                        self.max_record
                    )
                })
            }
            Format::PcapNg => {
                let len = at(4)? as usize;
                if len < 12 || !len.is_multiple_of(4) {
                    Some(format!(
                        "block length {len} invalid (below 12 or not a multiple of 4)"
                    ))
                } else if len > self.max_record {
                    Some(format!(
                        "record longer than the {}-byte cap ({len} bytes claimed: corrupt length field)",
                        self.max_record
                    ))
                } else {
                    None
                }
            }
        }
    }

    /// Timestamp of the first packet, reading at most the first few blocks.
    pub fn first_timestamp(&mut self) -> Option<Timestamp> {
        match self.next_packet() {
            Ok(Some(p)) => Some(p.ts),
            _ => None,
        }
    }

    /// Timestamp of the last packet returned.
    pub fn last_timestamp(&self) -> Timestamp {
        self.last_ts
    }
}

enum Step {
    Eof,
    Refill,
    TooSmall,
    Bad(String),
}

fn simplify(e: PcapError<&[u8]>) -> Step {
    match e {
        PcapError::Eof | PcapError::UnexpectedEof => Step::Eof,
        PcapError::Incomplete(_) => Step::Refill,
        PcapError::BufferTooSmall => Step::TooSmall,
        PcapError::ReadError => Step::Bad("read error".into()),
        PcapError::HeaderNotRecognized => Step::Bad("header not recognized".into()),
        PcapError::NomError(_, k) | PcapError::OwnedNomError(_, k) => {
            Step::Bad(format!("malformed record ({k:?})"))
        }
    }
}

/// A file's identity, (device, inode): a path now naming another file was replaced.
#[cfg(unix)]
pub fn file_id(md: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((md.dev(), md.ino()))
}

/// A file's identity: unknown on this platform.
#[cfg(not(unix))]
pub fn file_id(_md: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// Up to `max` bytes, stopping early at the end of the data or at an error (returned with the
/// bytes read before it).
fn read_until_error(r: &mut dyn Read, max: usize) -> (Vec<u8>, Option<io::Error>) {
    let mut buf = vec![0; max];
    let mut n = 0;
    while n < max {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                buf.truncate(n);
                return (buf, Some(e));
            }
        }
    }
    buf.truncate(n);
    (buf, None)
}

/// What follows a prefix that ended in an error: the error, reported on the second read.
/// The first read (pcap-parser's header read, which asks for more right after the prefix) gets
/// no data; the error then comes with the first refill a record needs, positioned there.
struct FailingRead {
    err: Option<io::Error>,
    first: bool,
}

impl Read for FailingRead {
    fn read(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
        if std::mem::take(&mut self.first) {
            return Ok(0);
        }
        match self.err.take() {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}

fn read_prefix(r: &mut dyn Read, max: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(max);
    r.take(max as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

fn detect(name: &str, p: &[u8], compressed: bool) -> Result<Format, CaptureError> {
    let what = if compressed {
        "decompressed data"
    } else {
        "file"
    };
    if p.is_empty() {
        return Err(CaptureError::incomplete(name, format!("empty {what}")));
    }
    if p.len() < 4 {
        return Err(CaptureError::incomplete(
            name,
            format!("truncated header: {} bytes", p.len()),
        ));
    }
    let magic = [p[0], p[1], p[2], p[3]];
    if magic == PCAPNG_SHB {
        let shb_len = (p.len() >= 12).then(|| {
            let raw = [p[4], p[5], p[6], p[7]];
            // The byte-order mark 0x1A2B3C4D tells how to read the length.
            let n = if p[8..12] == [0x1a, 0x2b, 0x3c, 0x4d] {
                u32::from_be_bytes(raw)
            } else {
                u32::from_le_bytes(raw)
            };
            n as usize
        });
        match shb_len {
            Some(n) if p.len() >= n.max(28) => return Ok(Format::PcapNg),
            Some(n) if (28..=PREFIX).contains(&n) => {
                return Err(CaptureError::incomplete(
                    name,
                    format!("truncated pcapng section header: {} of {n} bytes", p.len()),
                ))
            }
            Some(n) if n > PREFIX => {
                return Err(CaptureError::format(
                    name,
                    0,
                    format!("pcapng section header length {n} implausible"),
                ))
            }
            _ => {
                return Err(CaptureError::incomplete(
                    name,
                    format!("truncated pcapng section header: {} bytes", p.len()),
                ))
            }
        }
    }
    let le = u32::from_le_bytes(magic);
    let be = u32::from_be_bytes(magic);
    let pcap_magics = [0xa1b2_c3d4, 0xa1b2_3c4d, 0xa1b2_cd34];
    if pcap_magics.contains(&le) || pcap_magics.contains(&be) {
        if p.len() < 24 {
            return Err(CaptureError::incomplete(
                name,
                format!("truncated pcap header: {} of 24 bytes", p.len()),
            ));
        }
        return Ok(Format::Pcap);
    }
    Err(CaptureError::format(
        name,
        0,
        format!(
            "not a pcap or pcapng {what} (magic {:02x} {:02x} {:02x} {:02x})",
            p[0], p[1], p[2], p[3]
        ),
    ))
}

/// Extracts what a packet needs from a block, updating the interface table.
/// `base` is the address of the reader's data so the packet can be re-sliced after the borrow.
fn block_meta(
    ifaces: &mut Vec<Interface>,
    block: PcapBlockOwned<'_>,
    base: usize,
) -> Result<Option<Meta>, String> {
    let start_of = |d: &[u8]| d.as_ptr() as usize - base;
    match block {
        PcapBlockOwned::LegacyHeader(h) => {
            let resolution = if h.is_nanosecond_precision() {
                1_000_000_000
            } else {
                1_000_000
            };
            ifaces.clear();
            ifaces.push(Interface {
                linktype: h.network.0 as u32,
                resolution,
                offset: 0,
                snaplen: h.snaplen,
            });
            Ok(None)
        }
        PcapBlockOwned::Legacy(b) => {
            let iface = ifaces.first().ok_or("packet before the file header")?;
            let frac = u64::from(b.ts_usec);
            let nsec = frac * 1_000_000_000 / iface.resolution;
            let data = b.data;
            Ok(Some(Meta {
                ts: Some(Timestamp::new(
                    i64::from(b.ts_sec) + (nsec / 1_000_000_000) as i64,
                    (nsec % 1_000_000_000) as u32,
                )),
                linktype: iface.linktype,
                orig_len: b.origlen,
                start: start_of(data),
                len: data.len(),
            }))
        }
        PcapBlockOwned::NG(Block::SectionHeader(_)) => {
            ifaces.clear();
            Ok(None)
        }
        PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
            let resolution = idb.ts_resolution().filter(|r| *r > 0).ok_or_else(|| {
                format!(
                    "interface {}: invalid if_tsresol {}",
                    ifaces.len(),
                    idb.if_tsresol
                )
            })?;
            ifaces.push(Interface {
                linktype: idb.linktype.0 as u32,
                resolution,
                offset: idb.ts_offset(),
                snaplen: idb.snaplen,
            });
            Ok(None)
        }
        PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
            let iface = ifaces
                .get(epb.if_id as usize)
                .ok_or_else(|| format!("packet for undeclared interface {}", epb.if_id))?;
            let raw = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
            let data = epb.packet_data();
            Ok(Some(Meta {
                ts: Some(scale_ts(raw, iface.resolution, iface.offset)),
                linktype: iface.linktype,
                orig_len: epb.origlen,
                start: start_of(data),
                len: data.len(),
            }))
        }
        PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
            let iface = ifaces
                .first()
                .ok_or("simple packet block before any interface")?;
            let mut len = spb.data.len().min(spb.origlen as usize);
            if iface.snaplen > 0 {
                len = len.min(iface.snaplen as usize);
            }
            Ok(Some(Meta {
                // SPBs carry no timestamp (pcapng §4.4).
                ts: None,
                linktype: iface.linktype,
                orig_len: spb.origlen,
                start: start_of(spb.data),
                len,
            }))
        }
        PcapBlockOwned::NG(_) => Ok(None),
    }
}

/// Header fields of a classic pcap record.
struct RecordHeader {
    ts: Timestamp,
    orig_len: u32,
    caplen: usize,
}

/// A complete classic pcap record at the start of `d`: the same fields pcap-parser reads,
/// without its per-record dispatch. Anything unusual (a short buffer, a length over the cap) is
/// left to the general path.
#[inline]
fn fast_record(
    d: &[u8],
    big_endian: bool,
    ifaces: &[Interface],
    max_record: usize,
) -> Option<RecordHeader> {
    let iface = ifaces.first()?;
    let h: &[u8; 16] = d.get(..16)?.try_into().ok()?;
    let word = |i: usize| {
        let b = [h[i], h[i + 1], h[i + 2], h[i + 3]];
        if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let caplen = word(8) as usize;
    if caplen > max_record || d.len() < 16 + caplen {
        return None;
    }
    let (sec, frac) = (i64::from(word(0)), word(4));
    let ts = match iface.resolution {
        // The usual cases without a division.
        1_000_000 if frac < 1_000_000 => Timestamp::new(sec, frac * 1000),
        1_000_000_000 if frac < 1_000_000_000 => Timestamp::new(sec, frac),
        res => {
            let nsec = u64::from(frac) * 1_000_000_000 / res;
            Timestamp::new(
                sec + (nsec / 1_000_000_000) as i64,
                (nsec % 1_000_000_000) as u32,
            )
        }
    };
    Some(RecordHeader {
        ts,
        orig_len: word(12),
        caplen,
    })
}

fn scale_ts(raw: u64, resolution: u64, offset: i64) -> Timestamp {
    let sec = (raw / resolution) as i64 + offset;
    let frac = u128::from(raw % resolution);
    let nsec = (frac * 1_000_000_000 / u128::from(resolution)) as u32;
    Timestamp::new(sec, nsec)
}
