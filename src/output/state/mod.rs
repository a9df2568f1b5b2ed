//! `se2state`: the latest value of every field per device, written as one JSON document that
//! is never torn (temporary file in the same directory, then rename), at most once per
//! interval while input streams and once at the end; optionally published per device over
//! MQTT (docs/CSV_STATE.md). A sink of the decode stage, over the same rows as se2csv.

pub mod compat;
pub mod doc;
pub mod solaredge;

use crate::output::csv::flat::{FlatOpts, Flattener};
use crate::output::csv::node::Node;
use crate::output::csv::{bad, classify, compat as jb, decoded_text, Line};
use crate::output::semonitor::{LocalZone, Semonitor};
use crate::output::sinks::{Record, Sink};
use crate::protocols::solaredge::session::Message as SeMessage;
use crate::protocols::Protocol;
use compat::CompatState;
use doc::State;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// Where changed devices go (MQTT): `(protocol, device)` and the device's section.
pub trait Publish: Send {
    fn publish(&mut self, changed: Vec<((String, String), String)>);
    /// End of input: deliver what is pending; an error says what was not delivered.
    fn finish(&mut self) -> Result<(), String>;
}

/// Writes `text` to `path` atomically: a temporary file in the same directory, renamed.
pub fn write_atomic(path: &Path, text: &str) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map_or("state".into(), |n| n.to_string_lossy());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Options of `se2state`.
pub struct StateOptions {
    pub out: Option<PathBuf>,
    pub interval: Duration,
    /// jbuehl's document shape (from semonitor lines or SolarEdge frames).
    pub compat: bool,
    pub flat: FlatOpts,
    /// Time zone of the SolarEdge day (Eday reset) and of semonitor lines made from frames.
    pub zone: LocalZone,
}

struct Shared {
    native: State,
    compat: CompatState,
    compat_mode: bool,
    dirty: bool,
    done: bool,
    writes: u64,
    error: Option<String>,
}

impl Shared {
    fn doc(&self) -> String {
        if self.compat_mode {
            self.compat.json()
        } else {
            self.native.json()
        }
    }
}

type Pub = Arc<Mutex<Option<Box<dyn Publish>>>>;

/// The state sink; a thread writes the document.
pub struct StateSink {
    shared: Arc<(Mutex<Shared>, Condvar)>,
    out: Option<PathBuf>,
    publisher: Pub,
    thread: Option<JoinHandle<()>>,
    flat: Flattener,
    semonitor: Semonitor,
    compat: bool,
    buf: Vec<u8>,
}

fn lock(m: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One tick: the document if it changed, then the changed devices to the publisher.
fn flush(shared: &Mutex<Shared>, out: &Option<PathBuf>, publisher: &Pub) -> io::Result<()> {
    let (text, changed) = {
        let mut s = lock(shared);
        if !s.dirty {
            return Ok(());
        }
        s.dirty = false;
        s.writes += 1;
        (s.doc(), s.native.take_changed())
    };
    if let Some(p) = out {
        write_atomic(p, &text)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?;
    }
    if let Some(p) = publisher.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        p.publish(changed);
    }
    Ok(())
}

impl StateSink {
    pub fn new(opts: StateOptions, publisher: Option<Box<dyn Publish>>) -> Self {
        let shared = Arc::new((
            Mutex::new(Shared {
                native: State::new(opts.zone.clone()),
                compat: CompatState::default(),
                compat_mode: opts.compat,
                dirty: false,
                done: false,
                writes: 0,
                error: None,
            }),
            Condvar::new(),
        ));
        let publisher: Pub = Arc::new(Mutex::new(publisher));
        let (sh, out, pb, every) = (
            shared.clone(),
            opts.out.clone(),
            publisher.clone(),
            opts.interval,
        );
        let thread = std::thread::spawn(move || loop {
            let (m, cv) = &*sh;
            {
                let g = lock(m);
                let (g, _) = cv
                    .wait_timeout_while(g, every.max(Duration::from_millis(1)), |s| !s.done)
                    .unwrap_or_else(|e| e.into_inner());
                if g.done {
                    return;
                }
            }
            if let Err(e) = flush(m, &out, &pb) {
                lock(m).error.get_or_insert(e.to_string());
            }
        });
        StateSink {
            shared,
            out: opts.out,
            publisher,
            thread: Some(thread),
            flat: Flattener::new(opts.flat),
            semonitor: Semonitor::in_zone(opts.zone),
            compat: opts.compat,
            buf: Vec::new(),
        }
    }

    /// Writes made so far (the final one included after [`Sink::finish`]).
    pub fn writes(&self) -> u64 {
        lock(&self.shared.0).writes
    }

    /// Rows that were not kept (no device, or over the device cap).
    pub fn dropped(&self) -> u64 {
        lock(&self.shared.0).native.dropped
    }

    fn line(&mut self, text: &str) -> io::Result<()> {
        let n = Node::parse(text).map_err(|e| bad(format!("not JSON: {e}")))?;
        match classify(&n).map_err(bad)? {
            Line::Decoded(d) => {
                let rows = self.flat.rows(d).map_err(bad)?;
                let mut s = lock(&self.shared.0);
                rows.iter().for_each(|r| s.native.row(r));
                s.dirty = true;
            }
            Line::Semonitor(l) => {
                let devs = jb::unwrap(l);
                let mut s = lock(&self.shared.0);
                for (name, attrs) in devs {
                    if let Some((dev, id)) = name.split_once('.') {
                        s.native.semonitor_device(dev, id, attrs);
                    }
                }
                s.compat.line(l);
                s.dirty = true;
            }
            Line::Other => {}
        }
        if let Some(e) = lock(&self.shared.0).error.take() {
            return Err(io::Error::other(e));
        }
        Ok(())
    }
}

impl Sink for StateSink {
    fn wants(&self, p: Protocol) -> bool {
        p.decodes()
    }

    fn passes_on(&self) -> bool {
        true
    }

    fn record(&mut self, r: &Record<'_>) -> io::Result<()> {
        match *r {
            Record::Decoded { env, msg, .. } => {
                if self.compat {
                    let line = msg
                        .as_any()
                        .downcast_ref::<SeMessage>()
                        .and_then(|m| self.semonitor.message_line(m));
                    return line.map_or(Ok(()), |l| self.line(&l));
                }
                let text = decoded_text(&mut self.buf, env, msg);
                self.line(text.trim_end())
            }
            Record::Passed(text) => self.line(text),
            Record::Frame { .. } | Record::Anomaly { .. } => Ok(()),
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        {
            let (m, cv) = &*self.shared;
            lock(m).done = true;
            cv.notify_all();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        {
            let mut s = lock(&self.shared.0);
            if let Some(e) = s.error.take() {
                return Err(io::Error::other(e));
            }
            // The final write, changed or not, so the file exists after any run.
            s.dirty = true;
        }
        flush(&self.shared.0, &self.out, &self.publisher)?;
        let mut p = self.publisher.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = p.as_mut() {
            p.finish().map_err(io::Error::other)?;
        }
        Ok(())
    }
}

impl Drop for StateSink {
    fn drop(&mut self) {
        let (m, cv) = &*self.shared;
        lock(m).done = true;
        cv.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
