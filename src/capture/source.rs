//! Turning command-line inputs (files, directories, `-`) into an ordered list of captures.

use super::{CaptureError, CaptureReader, ReaderConfig, Timestamp};
use std::path::Path;

/// One capture to read, in processing order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// Path as given (or found in a directory); `-` is standard input.
    pub path: String,
    /// Size in bytes when known (for progress display).
    pub size: Option<u64>,
}

/// Expands paths: a file stays as it is, `-` is stdin, and a directory becomes every capture
/// file in it ordered by first packet timestamp, then by name. Files in a directory that are
/// not captures or cannot be read (a dangling link, a FIFO, a name that is not UTF-8) are
/// skipped with a warning each, which the tools count in their summary; they do not stop the
/// others. Subdirectories are skipped with a warning each (see [`expand_inputs_recursive`]).
pub fn expand_inputs(paths: &[String], cfg: &ReaderConfig) -> (Vec<Input>, Vec<CaptureError>) {
    expand_inputs_recursive(paths, cfg, false)
}

/// [`expand_inputs`]; with `recursive`, the capture files of subdirectories (at any depth,
/// up to [`MAX_DEPTH`]) are read too, all of a given directory's tree ordered together.
pub fn expand_inputs_recursive(
    paths: &[String],
    cfg: &ReaderConfig,
    recursive: bool,
) -> (Vec<Input>, Vec<CaptureError>) {
    let mut inputs = Vec::new();
    let mut warnings = Vec::new();
    for p in paths {
        if p == "-" {
            inputs.push(Input {
                path: p.clone(),
                size: None,
            });
            continue;
        }
        let path = Path::new(p);
        match std::fs::metadata(path) {
            Ok(md) if md.is_dir() => {
                let depth = if recursive { MAX_DEPTH } else { 0 };
                let (mut found, mut w) = scan_tree(p, cfg, &|_| false, depth);
                inputs.append(&mut found);
                warnings.append(&mut w);
            }
            Ok(md) => inputs.push(Input {
                path: p.clone(),
                size: Some(md.len()),
            }),
            Err(e) => warnings.push(CaptureError::Io {
                file: p.clone(),
                source: e,
            }),
        }
    }
    (inputs, warnings)
}

/// Deepest level of subdirectories read with `-r` (a guard against link loops).
pub const MAX_DEPTH: usize = 32;

/// The capture files of `dir` in reading order, leaving out (without opening them) the paths
/// `skip` accepts. Subdirectories are skipped with a warning each.
pub(super) fn scan_dir(
    dir: &str,
    cfg: &ReaderConfig,
    skip: &dyn Fn(&str) -> bool,
) -> (Vec<Input>, Vec<CaptureError>) {
    scan_tree(dir, cfg, skip, 0)
}

/// [`scan_dir`], reading subdirectories down to `depth` more levels.
fn scan_tree(
    dir: &str,
    cfg: &ReaderConfig,
    skip: &dyn Fn(&str) -> bool,
    depth: usize,
) -> (Vec<Input>, Vec<CaptureError>) {
    let mut found = Vec::new();
    let mut warnings = Vec::new();
    collect(dir, cfg, skip, depth, &mut found, &mut warnings);
    found.sort();
    let inputs = found
        .into_iter()
        .map(|(_, path, size)| Input {
            path,
            size: Some(size),
        })
        .collect();
    (inputs, warnings)
}

/// What kind of non-regular file `ft` is, for the message saying why it was skipped.
fn kind(ft: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_block_device() || ft.is_char_device() {
            return "a device";
        }
    }
    let _ = ft;
    "not a regular file"
}

fn collect(
    dir: &str,
    cfg: &ReaderConfig,
    skip: &dyn Fn(&str) -> bool,
    depth: usize,
    found: &mut Vec<(Timestamp, String, u64)>,
    warnings: &mut Vec<CaptureError>,
) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            warnings.push(CaptureError::Io {
                file: dir.to_string(),
                source: e,
            });
            return;
        }
    };
    let small = ReaderConfig {
        buffer: 1 << 16,
        ..cfg.clone()
    };
    for entry in entries {
        let path = match entry {
            Ok(e) => e.path(),
            Err(e) => {
                warnings.push(CaptureError::format(dir, 0, format!("entry skipped: {e}")));
                continue;
            }
        };
        let name = path.to_string_lossy().into_owned();
        if skip(&name) {
            continue;
        }
        if path.to_str().is_none() {
            warnings.push(CaptureError::format(
                &name,
                0,
                "skipped: file name is not valid UTF-8 (rename it, or pass it on its own)",
            ));
            continue;
        }
        let md = match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => m,
            Ok(m) if m.is_dir() && depth > 0 => {
                collect(&name, cfg, skip, depth - 1, found, warnings);
                continue;
            }
            Ok(m) if m.is_dir() => {
                let why = "skipped: a directory (subdirectories are read with -r/--recursive, down to 32 levels)";
                warnings.push(CaptureError::format(&name, 0, why));
                continue;
            }
            Ok(m) => {
                let why = format!("skipped: {}", kind(m.file_type()));
                warnings.push(CaptureError::format(&name, 0, why));
                continue;
            }
            Err(e) => {
                warnings.push(CaptureError::format(&name, 0, format!("skipped: {e}")));
                continue;
            }
        };
        match CaptureReader::open(&name, &small) {
            Ok(mut r) => {
                // A capture with no packet yet (just rotated in) sorts last.
                let ts = r.first_timestamp().unwrap_or(Timestamp::new(i64::MAX, 0));
                found.push((ts, name, md.len()));
            }
            Err(e) => {
                let offset = match e {
                    CaptureError::Format { offset, .. } => offset,
                    _ => 0,
                };
                warnings.push(CaptureError::format(
                    &name,
                    offset,
                    format!("skipped: {}", e.reason()),
                ))
            }
        }
    }
}
