//! Fixed-size records and their strings kept in one unlinked scratch file
//! instead of memory, read back by position: a table with a record per
//! file of a package (`venv::deferred`'s plan, `tree::Absent`'s children)
//! grows with the package, and the memory of a build must not. The file holds `count` records of
//! `record_len` bytes, then the strings region: each record's strings back
//! to back, located by the record itself. Both regions are written through
//! buffers as the records are made ([`SpillWriter`]), at their own
//! positions of the file; [`Spill`] reads a record or a string with
//! `pread`, so that any number of threads share it without seeking.
//! Records are encoded by hand, little-endian; [`Fields`] reads them back.
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use anyhow::{bail, Context, Result};

/// Writes at a position of a file shared with another writer (`pwrite`,
/// no seek), moving on by what it wrote.
struct WriteAt {
    file: Arc<File>,
    pos: u64,
}

impl Write for WriteAt {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Fills a [`Spill`]: a record at a time, each after its strings.
pub(crate) struct SpillWriter {
    /// What the records are, for messages.
    what: &'static str,
    record_len: usize,
    count: u32,
    written: u32,
    records: BufWriter<WriteAt>,
    strings: BufWriter<WriteAt>,
    strings_len: u64,
}

impl SpillWriter {
    /// Room for `count` records of `record_len` bytes in `file` (empty,
    /// read and write), named `what` in messages.
    pub(crate) fn new(
        file: File,
        what: &'static str,
        record_len: usize,
        count: u32,
    ) -> SpillWriter {
        let file = Arc::new(file);
        let strings_at = u64::from(count) * record_len as u64;
        SpillWriter {
            what,
            record_len,
            count,
            written: 0,
            records: BufWriter::new(WriteAt {
                file: file.clone(),
                pos: 0,
            }),
            strings: BufWriter::new(WriteAt {
                file,
                pos: strings_at,
            }),
            strings_len: 0,
        }
    }

    /// Append `parts` back to back to the strings region: where they start
    /// in it.
    pub(crate) fn push_strings(&mut self, parts: &[&[u8]]) -> Result<u64> {
        let start = self.strings_len;
        for part in parts {
            self.strings
                .write_all(part)
                .with_context(|| format!("writing {} to its scratch file", self.what))?;
            self.strings_len += part.len() as u64;
        }
        Ok(start)
    }

    /// Append the next record (`record_len` bytes).
    pub(crate) fn push_record(&mut self, record: &[u8]) -> Result<()> {
        if record.len() != self.record_len || self.written == self.count {
            bail!(
                "internal: record {} of {} has {} bytes ({} expected, {} records)",
                self.written,
                self.what,
                record.len(),
                self.record_len,
                self.count
            );
        }
        self.records
            .write_all(record)
            .with_context(|| format!("writing {} to its scratch file", self.what))?;
        self.written += 1;
        Ok(())
    }

    /// Every record written: the file to read them from.
    pub(crate) fn finish(self) -> Result<Spill> {
        if self.written != self.count {
            bail!(
                "internal: {} records of {} written, {} expected",
                self.written,
                self.what,
                self.count
            );
        }
        let what = self.what;
        let flushed = |w: BufWriter<WriteAt>| {
            w.into_inner()
                .map_err(|e| e.into_error())
                .with_context(|| format!("writing {what} to its scratch file"))
        };
        let records = flushed(self.records)?;
        drop(flushed(self.strings)?);
        Ok(Spill {
            file: records.file,
            what,
            record_len: self.record_len,
            count: self.count,
            strings_len: self.strings_len,
        })
    }
}

/// Records and strings written by a [`SpillWriter`], read by position.
#[derive(Debug, Clone)]
pub(crate) struct Spill {
    file: Arc<File>,
    what: &'static str,
    record_len: usize,
    count: u32,
    strings_len: u64,
}

impl Spill {
    /// How many records.
    pub(crate) fn count(&self) -> u32 {
        self.count
    }

    /// The strings region's length.
    pub(crate) fn strings_len(&self) -> u64 {
        self.strings_len
    }

    /// Read record `index` into `out` (`record_len` bytes).
    pub(crate) fn read_record(&self, index: u32, out: &mut [u8]) -> Result<()> {
        if out.len() != self.record_len {
            bail!(
                "internal: a record of {} has {} bytes, not {}",
                self.what,
                self.record_len,
                out.len()
            );
        }
        self.read_records(index, out)
    }

    /// Read the records from `first` on into `out` (as many as it holds:
    /// a multiple of `record_len` bytes).
    pub(crate) fn read_records(&self, first: u32, out: &mut [u8]) -> Result<()> {
        let n = out.len() / self.record_len.max(1);
        let fits = out.len() % self.record_len.max(1) == 0
            && u64::from(first) + n as u64 <= u64::from(self.count);
        if !fits {
            bail!(
                "internal: no records {first}..{} of {} ({} records of {} bytes)",
                u64::from(first) + n as u64,
                self.what,
                self.count,
                self.record_len
            );
        }
        self.file
            .read_exact_at(out, u64::from(first) * self.record_len as u64)
            .with_context(|| {
                format!(
                    "reading records {first}..{} of {} from its scratch file",
                    u64::from(first) + n as u64,
                    self.what
                )
            })
    }

    /// Read the `len` bytes at `start` of the strings region into `out`
    /// (replacing what it held).
    pub(crate) fn read_strings(&self, start: u64, len: usize, out: &mut Vec<u8>) -> Result<()> {
        match start.checked_add(len as u64) {
            Some(end) if end <= self.strings_len => {}
            _ => bail!(
                "internal: {len} bytes at {start} are not in the strings of {} ({} bytes)",
                self.what,
                self.strings_len
            ),
        }
        out.clear();
        out.resize(len, 0);
        let at = u64::from(self.count) * self.record_len as u64 + start;
        self.file
            .read_exact_at(out, at)
            .with_context(|| format!("reading strings of {} from its scratch file", self.what))
    }
}

/// A record's fields read in order, little-endian: running out of bytes
/// or a flag that is neither 0 nor 1 is an error (the caller names the
/// record), never a panic.
pub(crate) struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    pub(crate) fn new(record: &'a [u8]) -> Fields<'a> {
        Fields { rest: record }
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N]> {
        let Some((head, rest)) = self.rest.split_first_chunk::<N>() else {
            bail!("ends early");
        };
        self.rest = rest;
        Ok(*head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(u8::from_le_bytes(self.take()?))
    }

    pub(crate) fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.take()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take()?))
    }

    /// A `bool` written as one byte, 0 or 1.
    pub(crate) fn flag(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            n => bail!("flag {n} is neither 0 nor 1"),
        }
    }

    /// Every byte was read (a record's length agrees with its layout).
    pub(crate) fn end(&self) -> Result<()> {
        match self.rest.len() {
            0 => Ok(()),
            n => bail!("{n} bytes left over"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> (crate::atomic::TempDir, File) {
        let dir = crate::atomic::TempDir::new(".venvdeb-spill-test").unwrap();
        let file = crate::atomic::unlinked_beside(&dir.path().join("spill")).unwrap();
        (dir, file)
    }

    #[test]
    fn records_and_strings_come_back_by_position() {
        let (_dir, file) = scratch();
        let mut w = SpillWriter::new(file, "the test records", 3, 2);
        let a = w.push_strings(&[b"abc", b"", b"de"]).unwrap();
        w.push_record(&[1, 2, 3]).unwrap();
        let b = w.push_strings(&["\u{e9}".as_bytes()]).unwrap();
        w.push_record(&[4, 5, 6]).unwrap();
        assert!(w.push_record(&[7, 8, 9]).is_err());
        let s = w.finish().unwrap();
        assert_eq!((s.count(), s.strings_len(), a, b), (2, 7, 0, 5));
        let mut rec = [0; 3];
        s.read_record(1, &mut rec).unwrap();
        assert_eq!(rec, [4, 5, 6]);
        s.read_record(0, &mut rec).unwrap();
        assert_eq!(rec, [1, 2, 3]);
        let mut buf = Vec::new();
        s.read_strings(a, 5, &mut buf).unwrap();
        assert_eq!(buf, b"abcde");
        s.read_strings(b, 2, &mut buf).unwrap();
        assert_eq!(buf, "\u{e9}".as_bytes());
        let mut both = [0; 6];
        s.read_records(0, &mut both).unwrap();
        assert_eq!(both, [1, 2, 3, 4, 5, 6]);
        assert!(s.read_records(1, &mut both).is_err());
        assert!(s.read_records(0, &mut both[..4]).is_err());
        let e = s.read_record(2, &mut rec).unwrap_err().to_string();
        assert!(e.contains("no records 2..3 of the test records"), "{e}");
        let e = s.read_strings(6, 2, &mut buf).unwrap_err().to_string();
        assert!(e.contains("not in the strings"), "{e}");
        assert!(s.read_strings(u64::MAX, 2, &mut buf).is_err());
    }

    #[test]
    fn a_short_or_missing_record_is_an_error() {
        let (_dir, file) = scratch();
        let mut w = SpillWriter::new(file, "the test records", 2, 2);
        assert!(w.push_record(&[1]).is_err());
        w.push_record(&[1, 2]).unwrap();
        let e = w.finish().err().unwrap().to_string();
        assert!(
            e.contains("1 records of the test records written, 2"),
            "{e}"
        );
    }

    #[test]
    fn fields_are_little_endian_and_checked() {
        let bytes = [7, 0x34, 0x12, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 2];
        let mut f = Fields::new(&bytes);
        assert_eq!(f.u8().unwrap(), 7);
        assert_eq!(f.u16().unwrap(), 0x1234);
        assert_eq!(f.u32().unwrap(), 1);
        assert_eq!(f.u64().unwrap(), 2);
        assert!(f.flag().unwrap());
        assert_eq!(f.end().unwrap_err().to_string(), "1 bytes left over");
        assert_eq!(
            f.flag().unwrap_err().to_string(),
            "flag 2 is neither 0 nor 1"
        );
        assert!(f.end().is_ok());
        assert_eq!(f.u32().unwrap_err().to_string(), "ends early");
    }
}
