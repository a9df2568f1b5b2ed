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
/// not captures or cannot be read (a dangling link) are skipped with a warning each, which the
/// tools count in their summary; they do not stop the others. Subdirectories are not read.
pub fn expand_inputs(paths: &[String], cfg: &ReaderConfig) -> (Vec<Input>, Vec<CaptureError>) {
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
                let (mut found, mut w) = scan_dir(p, cfg, &|_| false);
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

/// The capture files of `dir` in reading order, leaving out (without opening them) the paths
/// `skip` accepts.
pub(super) fn scan_dir(
    dir: &str,
    cfg: &ReaderConfig,
    skip: &dyn Fn(&str) -> bool,
) -> (Vec<Input>, Vec<CaptureError>) {
    let mut warnings = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            return (
                Vec::new(),
                vec![CaptureError::Io {
                    file: dir.to_string(),
                    source: e,
                }],
            )
        }
    };
    let mut found: Vec<(Timestamp, String, u64)> = Vec::new();
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
        let md = match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => m,
            // Subdirectories are not read (no recursion), nor are sockets, FIFOs and devices.
            Ok(_) => continue,
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
