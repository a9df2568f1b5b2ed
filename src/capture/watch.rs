//! Follow mode's view of the file system: waiting for a capture file or its directory to
//! change, and finding capture files that appeared in a watched directory (tcpdump `-w`,
//! `-C`/`-G` rotation).

use super::source::scan_dir;
use super::{Input, ReaderConfig};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

/// Blocks until a file system change is notified or the poll interval passes (notify, with
/// plain polling when no watcher can be set up). Never spins.
pub struct Waiter {
    rx: Option<Receiver<()>>,
    _watcher: Option<notify::RecommendedWatcher>,
    poll: Duration,
}

impl Waiter {
    /// Watches `path` (not recursively); with `None`, or when no watcher can be set up,
    /// [`Waiter::wait`] only sleeps `poll`.
    pub fn new(path: Option<PathBuf>, poll: Duration) -> Waiter {
        use notify::Watcher;
        let (tx, rx) = channel();
        let watcher = path.and_then(|p| {
            let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
                if res.map_or(true, |e| is_change(&e.kind)) {
                    let _ = tx.send(());
                }
            })
            .ok()?;
            w.watch(&p, notify::RecursiveMode::NonRecursive).ok()?;
            Some(w)
        });
        Waiter {
            rx: watcher.as_ref().map(|_| rx),
            _watcher: watcher,
            poll,
        }
    }

    /// Returns after the next change (all changes notified meanwhile are consumed) or after
    /// the poll interval, whichever comes first.
    pub fn wait(&self) {
        match &self.rx {
            Some(rx) => {
                let _ = rx.recv_timeout(self.poll);
                while rx.try_recv().is_ok() {}
            }
            None => std::thread::sleep(self.poll),
        }
    }
}

/// Whether an event can mean new data or a new file. Opening, reading and closing a file
/// without writing (what the follower itself does on every look) is not a change: waking up
/// for those made the follower wake itself up in a loop.
fn is_change(kind: &notify::EventKind) -> bool {
    use notify::event::{AccessKind, AccessMode};
    use notify::EventKind;
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// The directory to watch: `dir` when given, else the one holding the last input (`.` for a
/// bare file name); `None` without inputs.
pub fn watch_target(dir: Option<&Path>, inputs: &[Input]) -> Option<PathBuf> {
    if let Some(d) = dir {
        return Some(d.to_path_buf());
    }
    inputs
        .last()
        .and_then(|i| Path::new(&i.path).parent().map(|p| p.to_path_buf()))
        .map(|p| {
            if p.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                p
            }
        })
}

/// Capture files in `dir` not in `seen` yet, in reading order (see [`super::expand_inputs`]); they
/// are added to `seen`, so each file is returned once.
/// Files already seen are not opened again.
pub fn new_files(dir: &Path, seen: &mut HashSet<String>, cfg: &ReaderConfig) -> Vec<Input> {
    let (fresh, _) = scan_dir(&dir.to_string_lossy(), cfg, &|p| seen.contains(p));
    for i in &fresh {
        seen.insert(i.path.clone());
    }
    fresh
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(path: &str) -> Input {
        Input {
            path: path.to_string(),
            size: None,
        }
    }

    #[test]
    fn target_is_the_given_dir_or_the_last_inputs_dir() {
        let given = Path::new("/captures");
        assert_eq!(
            watch_target(Some(given), &[input("a/x.pcap")]),
            Some(PathBuf::from("/captures"))
        );
        assert_eq!(
            watch_target(None, &[input("a/x.pcap"), input("b/y.pcap")]),
            Some(PathBuf::from("b"))
        );
        assert_eq!(
            watch_target(None, &[input("y.pcap")]),
            Some(PathBuf::from("."))
        );
        assert_eq!(watch_target(None, &[]), None);
    }

    #[test]
    fn new_files_returns_each_capture_once() {
        let dir = std::env::temp_dir().join(format!("sekit-watch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A classic little-endian pcap header (Ethernet), no packets yet.
        let header = [
            0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0,
            0,
        ];
        let first = dir.join("a.pcap");
        std::fs::write(&first, header).unwrap();
        std::fs::write(dir.join("notes.txt"), b"not a capture").unwrap();
        let cfg = ReaderConfig::default();
        let mut seen = HashSet::new();
        let found = new_files(&dir, &mut seen, &cfg);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].path, first.to_string_lossy());
        assert!(new_files(&dir, &mut seen, &cfg).is_empty());
        let second = dir.join("b.pcap");
        std::fs::write(&second, header).unwrap();
        let found = new_files(&dir, &mut seen, &cfg);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].path, second.to_string_lossy());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
