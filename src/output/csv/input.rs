//! Reading the inputs of se2csv and se2state through the decode stage: files or standard
//! input, each line a sedecode record or a semonitor.py line; `-f` keeps reading a file as it
//! grows (as jbuehl's scripts do, it never ends; standard input ends when its writer closes).

use crate::output::sinks::Sink;
use crate::pipeline::decode::{DecodeStage, InputError};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::time::Duration;

/// How often a followed file is polled at its end.
pub const POLL: Duration = Duration::from_millis(100);

/// A file read to its end and then polled for more, forever.
pub struct Tail {
    f: File,
}

impl Read for Tail {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.f.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            std::thread::sleep(POLL);
        }
    }
}

/// Opens `name` (`-` is standard input); `follow` polls a file at its end.
pub fn open(name: &str, follow: bool) -> Result<Box<dyn BufRead>, InputError> {
    if name == "-" {
        return Ok(Box::new(BufReader::with_capacity(1 << 16, io::stdin())));
    }
    let f = File::open(name).map_err(|e| InputError::Open(name.into(), e))?;
    Ok(if follow {
        Box::new(BufReader::with_capacity(1 << 16, Tail { f }))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, f))
    })
}

/// Reads every input into `sink`: lines that are not records are handed to the sink too
/// ([`DecodeStage::pass_unread`]). Returns how many inputs failed (each reported with `warn`);
/// a write error ends the run.
pub fn read_all(
    stage: &mut DecodeStage,
    inputs: &[String],
    follow: bool,
    sink: &mut dyn Sink,
    warn: &mut dyn FnMut(&str),
) -> io::Result<usize> {
    stage.pass_unread = true;
    let mut failed = 0;
    for name in inputs {
        let r = open(name, follow).and_then(|input| stage.records(name, input, sink));
        match r {
            Ok(()) => {}
            Err(InputError::Write(e)) => return Err(e),
            Err(e) => {
                warn(&e.to_string());
                failed += 1;
            }
        }
    }
    sink.finish()?;
    Ok(failed)
}
