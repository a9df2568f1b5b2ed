//! The one byte reader: a bounds-checked cursor whose reads fail with [`Truncated`] (naming
//! the field, where it started, and how many bytes it needed), plus offset-based reads that
//! return `None` past the end. Nothing here panics on short input.

use std::fmt;

/// Input ended before a field: which field, its offset, bytes needed and bytes left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Truncated {
    pub field: &'static str,
    pub offset: usize,
    pub need: usize,
    pub have: usize,
}

impl fmt::Display for Truncated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "truncated at {} (offset {}): need {} bytes, {} left",
            self.field, self.offset, self.need, self.have
        )
    }
}

impl std::error::Error for Truncated {}

/// A big-endian cursor (network order) over a byte slice.
#[derive(Clone, Debug)]
pub struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Cursor { b, pos: 0 }
    }

    /// Offset of the next byte.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub fn left(&self) -> usize {
        self.b.len().saturating_sub(self.pos)
    }

    /// Fails unless `n` more bytes are there (checked before allocating for a counted list, so
    /// a count read from the input never sizes an allocation on its own).
    pub fn need(&self, n: u64, field: &'static str) -> Result<(), Truncated> {
        if n > self.left() as u64 {
            return Err(Truncated {
                field,
                offset: self.pos,
                need: usize::try_from(n).unwrap_or(usize::MAX),
                have: self.left(),
            });
        }
        Ok(())
    }

    pub fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], Truncated> {
        match self.b.get(self.pos..).and_then(|r| r.get(..n)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(Truncated {
                field,
                offset: self.pos,
                need: n,
                have: self.left(),
            }),
        }
    }

    pub fn arr<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], Truncated> {
        let s = self.take(N, field)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub fn u8(&mut self, field: &'static str) -> Result<u8, Truncated> {
        Ok(self.arr::<1>(field)?[0])
    }
    pub fn u16(&mut self, field: &'static str) -> Result<u16, Truncated> {
        Ok(u16::from_be_bytes(self.arr(field)?))
    }
    pub fn i16(&mut self, field: &'static str) -> Result<i16, Truncated> {
        Ok(i16::from_be_bytes(self.arr(field)?))
    }
    pub fn u32(&mut self, field: &'static str) -> Result<u32, Truncated> {
        Ok(u32::from_be_bytes(self.arr(field)?))
    }
    pub fn i32(&mut self, field: &'static str) -> Result<i32, Truncated> {
        Ok(i32::from_be_bytes(self.arr(field)?))
    }
    pub fn f32(&mut self, field: &'static str) -> Result<f32, Truncated> {
        Ok(f32::from_be_bytes(self.arr(field)?))
    }
    pub fn f64(&mut self, field: &'static str) -> Result<f64, Truncated> {
        Ok(f64::from_be_bytes(self.arr(field)?))
    }

    /// Everything left (empty at the end).
    pub fn rest(&mut self) -> &'a [u8] {
        let r = self.b.get(self.pos..).unwrap_or(&[]);
        self.pos = self.b.len();
        r
    }
}

/// `N` bytes at `off`, if they are all there.
pub fn at<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    b.get(off..off.checked_add(N)?)?.try_into().ok()
}

/// Little-endian reads at an offset (SolarEdge bodies are little-endian).
pub fn le_u16(b: &[u8], off: usize) -> Option<u16> {
    at(b, off).map(u16::from_le_bytes)
}
pub fn le_u32(b: &[u8], off: usize) -> Option<u32> {
    at(b, off).map(u32::from_le_bytes)
}
pub fn le_f32(b: &[u8], off: usize) -> Option<f32> {
    at(b, off).map(f32::from_le_bytes)
}

/// Big-endian reads at an offset.
pub fn be_u16(b: &[u8], off: usize) -> Option<u16> {
    at(b, off).map(u16::from_be_bytes)
}
pub fn be_u32(b: &[u8], off: usize) -> Option<u32> {
    at(b, off).map(u32::from_be_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_truncation() {
        let b = [0x12, 0x34, 0x56, 0x78, 0x9a];
        let mut c = Cursor::new(&b);
        assert_eq!(c.u16("a"), Ok(0x1234));
        assert_eq!(c.left(), 3);
        assert!(c.need(3, "n").is_ok());
        let e = c.u32("b").unwrap_err();
        assert_eq!((e.field, e.offset, e.need, e.have), ("b", 2, 4, 3));
        assert_eq!(c.u8("c"), Ok(0x56));
        assert_eq!(c.rest(), &[0x78, 0x9a]);
        assert_eq!(c.rest(), &[] as &[u8]);
        assert_eq!(le_u16(&b, 3), Some(0x9a78));
        assert_eq!(le_u16(&b, 4), None);
        assert_eq!(be_u32(&b, 1), Some(0x3456_789a));
        assert_eq!(at::<2>(&b, usize::MAX), None);
    }
}
