//! The inputs of se2csv and se2state (read by the decode stage's `records`, with
//! `pass_unread` set): files or standard input; `-f` keeps reading a file as it grows (as
//! jbuehl's scripts do, it never ends; standard input ends when its writer closes).

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
pub fn open(name: &str, follow: bool) -> io::Result<Box<dyn BufRead>> {
    if name == "-" {
        return Ok(Box::new(BufReader::with_capacity(1 << 16, io::stdin())));
    }
    let f = File::open(name)?;
    Ok(if follow {
        Box::new(BufReader::with_capacity(1 << 16, Tail { f }))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, f))
    })
}
