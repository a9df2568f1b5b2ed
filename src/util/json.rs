//! JSON output helpers shared by the record writer and the message types.

use std::io::{self, Write};

/// serde_json's compact format, except that the outermost object continues one already open:
/// its `{` is not written and its first member is preceded by a comma. A decoded record's
/// message is written this way right after the record's envelope.
#[derive(Clone, Copy, Debug, Default)]
pub struct Continue {
    depth: usize,
}

impl serde_json::ser::Formatter for Continue {
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth += 1;
        if self.depth > 1 {
            w.write_all(b"{")?;
        }
        Ok(())
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth -= 1;
        w.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if !first || self.depth == 1 {
            w.write_all(b",")?;
        }
        Ok(())
    }
}
