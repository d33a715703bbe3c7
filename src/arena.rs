//! One growing buffer of byte strings addressed by [`Span`]s: the absent
//! tree's directory paths (`tree::Absent`) are kept here instead of one
//! heap object each, so that thousands of them are one allocation, freed
//! at once, leaving no fragmented heap. (The per-file records of a large
//! build — the plan, the absent children — are in scratch files:
//! `crate::spill`.)
use anyhow::{bail, Result};

/// Where one string is in a [`ByteArena`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    start: u32,
    len: u32,
}

/// Byte strings back to back (at most 4 GiB in all).
#[derive(Debug, Default, Clone)]
pub(crate) struct ByteArena {
    buf: Vec<u8>,
}

impl ByteArena {
    /// An arena with room for `bytes` bytes of strings.
    pub(crate) fn with_capacity(bytes: usize) -> ByteArena {
        ByteArena {
            buf: Vec::with_capacity(bytes),
        }
    }

    /// Append `bytes`.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<Span> {
        let end = self.buf.len().checked_add(bytes.len());
        let (Ok(start), Ok(len), Some(Ok(_))) = (
            u32::try_from(self.buf.len()),
            u32::try_from(bytes.len()),
            end.map(u32::try_from),
        ) else {
            bail!("more than 4 GiB of directory paths in one package");
        };
        self.buf.extend_from_slice(bytes);
        Ok(Span { start, len })
    }

    /// The string at `s`.
    pub(crate) fn get(&self, s: Span) -> &[u8] {
        &self.buf[s.start as usize..(s.start + s.len) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_come_back_as_pushed() {
        let mut a = ByteArena::with_capacity(4);
        let x = a.push(b"abc").unwrap();
        let empty = a.push(b"").unwrap();
        let y = a.push("\u{e9}t\u{e9}".as_bytes()).unwrap();
        assert_eq!(a.get(x), b"abc");
        assert_eq!(a.get(empty), b"");
        assert_eq!(a.get(y), "\u{e9}t\u{e9}".as_bytes());
    }
}
