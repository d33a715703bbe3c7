//! GNU tar, written the way `tar --format=gnu` does under dpkg-deb
//! (`--owner=root:0 --group=root:0 --mtime=@S --clamp-mtime`): 512-byte
//! headers with octal text fields (base-256 where octal does not fit),
//! `././@LongLink` records (`L` for names, `K` for link targets) for anything
//! over 100 bytes, two zero blocks at the end and padding to a 10240-byte
//! record.
//!
//! File contents are streamed from disk through a fixed buffer; the size read
//! must equal the size listed by the walk, or the archive is abandoned.
use std::fs::File;
use std::io::{self, Read, Write};

use anyhow::{bail, Context, Result};

use super::walk::{Entry, EntryKind};

const BLOCK: u64 = 512;
const RECORD: u64 = 10240;
const NAME_LEN: usize = 100;

/// Round `n` up to a multiple of `to`.
fn round_up(n: u64, to: u64) -> u64 {
    n.div_ceil(to) * to
}

/// Write a numeric field the way GNU tar does: zero-padded octal of
/// `len - 1` digits and a NUL when it fits, else base-256 (two's complement
/// with the top bit of the first byte set; negative values are 0xff-filled).
fn numeric(field: &mut [u8], value: i64) {
    let len = field.len();
    let digits = len - 1;
    let max_octal: i64 = if digits * 3 >= 63 {
        i64::MAX
    } else {
        (1i64 << (digits * 3)) - 1
    };
    if (0..=max_octal).contains(&value) {
        let s = format!("{value:0digits$o}");
        field[..digits].copy_from_slice(s.as_bytes());
        field[digits] = 0;
    } else {
        let bytes = value.to_be_bytes();
        let fill = if value < 0 { 0xff } else { 0 };
        for (i, b) in field.iter_mut().enumerate() {
            // Right-align the 8 bytes of the i64.
            let from_end = len - 1 - i;
            *b = if from_end < 8 {
                bytes[7 - from_end]
            } else {
                fill
            };
        }
        if value >= 0 {
            field[0] |= 0x80;
        }
    }
}

/// One 512-byte GNU header. `name` and `link` must already be at most 100
/// bytes (longer ones are truncated copies after a LongLink record).
fn header(name: &[u8], mode: u32, size: u64, mtime: i64, typeflag: u8, link: &[u8]) -> [u8; 512] {
    let mut h = [0u8; 512];
    let n = name.len().min(NAME_LEN);
    h[..n].copy_from_slice(&name[..n]);
    numeric(&mut h[100..108], i64::from(mode));
    numeric(&mut h[108..116], 0);
    numeric(&mut h[116..124], 0);
    numeric(&mut h[124..136], i64::try_from(size).unwrap_or(i64::MAX));
    numeric(&mut h[136..148], mtime);
    h[156] = typeflag;
    let l = link.len().min(NAME_LEN);
    h[157..157 + l].copy_from_slice(&link[..l]);
    h[257..265].copy_from_slice(b"ustar  \0");
    h[265..269].copy_from_slice(b"root");
    h[297..301].copy_from_slice(b"root");
    // Checksum: the sum of all bytes with the checksum field as spaces,
    // written as six octal digits, NUL, space.
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let s = format!("{sum:06o}");
    h[148..154].copy_from_slice(s.as_bytes());
    h[154] = 0;
    h[155] = b' ';
    h
}

/// The bytes an entry takes in the archive (headers, LongLink records,
/// contents and padding).
#[cfg(test)]
fn entry_len(e: &Entry) -> u64 {
    let long = |s: &[u8]| {
        if s.len() > NAME_LEN {
            BLOCK + round_up(s.len() as u64 + 1, BLOCK)
        } else {
            0
        }
    };
    let mut n = BLOCK + long(&e.name);
    match &e.kind {
        EntryKind::File { size } => n += round_up(*size, BLOCK),
        EntryKind::Symlink { target } | EntryKind::HardLink { target } => n += long(target),
        EntryKind::Directory => {}
    }
    n
}

/// The exact length of the archive `TarWriter` writes for `entries`.
#[cfg(test)]
pub(crate) fn archive_len(entries: &[Entry]) -> u64 {
    let body: u64 = entries.iter().map(entry_len).sum();
    round_up(body + 2 * BLOCK, RECORD)
}

/// Streams entries into `out` as a GNU tar archive.
pub(crate) struct TarWriter<W: Write> {
    out: W,
    written: u64,
    clamp: i64,
    buf: Vec<u8>,
}

impl<W: Write> TarWriter<W> {
    /// `source_date_epoch`: mtimes newer than it are clamped to it.
    pub(crate) fn new(out: W, source_date_epoch: u64) -> Self {
        TarWriter {
            out,
            written: 0,
            clamp: i64::try_from(source_date_epoch).unwrap_or(i64::MAX),
            buf: vec![0u8; 256 * 1024],
        }
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn pad(&mut self) -> io::Result<()> {
        let rem = (round_up(self.written, BLOCK) - self.written) as usize;
        self.put(&[0u8; 512][..rem])
    }

    /// A `././@LongLink` record carrying `long` (type `L` or `K`).
    fn long_link(&mut self, typeflag: u8, long: &[u8]) -> io::Result<()> {
        let h = header(
            b"././@LongLink",
            0o644,
            long.len() as u64 + 1,
            0,
            typeflag,
            b"",
        );
        self.put(&h)?;
        self.put(long)?;
        self.put(&[0])?;
        self.pad()
    }

    /// Append one entry (streaming a regular file's bytes from disk).
    pub(crate) fn append(&mut self, e: &Entry) -> Result<()> {
        self.append_observed(e, &mut |_| Ok(()))
    }

    /// [`append`](Self::append), handing each chunk of a regular file's
    /// bytes to `observe` on its way into the archive (hashes, scans: one
    /// read of the file for everything); an error from it abandons the
    /// archive.
    pub(crate) fn append_observed(
        &mut self,
        e: &Entry,
        observe: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        self.append_inner(e, observe, None)
    }

    /// Append a regular file whose bytes do not come from `e.path` but from
    /// `fill`, which writes exactly the `size` of `e.kind` into the writer
    /// it gets (each chunk handed to `observe` first); more or fewer bytes
    /// abandon the archive.
    pub(crate) fn append_with(
        &mut self,
        e: &Entry,
        observe: &mut dyn FnMut(&[u8]) -> Result<()>,
        fill: &mut dyn FnMut(&mut dyn Write) -> Result<()>,
    ) -> Result<()> {
        self.append_inner(e, observe, Some(fill))
    }

    fn append_inner(
        &mut self,
        e: &Entry,
        observe: &mut dyn FnMut(&[u8]) -> Result<()>,
        fill: Option<Fill>,
    ) -> Result<()> {
        let mtime = e.mtime.min(self.clamp);
        let mut fill = fill;
        let mut write = |w: &mut Self| -> Result<()> {
            let (typeflag, size, link): (u8, u64, &[u8]) = match &e.kind {
                EntryKind::Directory => (b'5', 0, b""),
                EntryKind::File { size } => (b'0', *size, b""),
                EntryKind::Symlink { target } => (b'2', 0, target),
                EntryKind::HardLink { target } => (b'1', 0, target),
            };
            // GNU tar writes the link target's record before the name's.
            if link.len() > NAME_LEN {
                w.long_link(b'K', link)?;
            }
            if e.name.len() > NAME_LEN {
                w.long_link(b'L', &e.name)?;
            }
            w.put(&header(&e.name, e.mode, size, mtime, typeflag, link))?;
            if let EntryKind::File { size } = e.kind {
                match fill.take() {
                    None => w.copy_file(e, size, observe)?,
                    Some(fill) => w.fill_file(size, observe, fill)?,
                }
            }
            Ok(())
        };
        write(self).with_context(|| format!("archiving {}", e.path.display()))
    }

    fn fill_file(
        &mut self,
        size: u64,
        observe: &mut dyn FnMut(&[u8]) -> Result<()>,
        fill: &mut dyn FnMut(&mut dyn Write) -> Result<()>,
    ) -> Result<()> {
        let mut body = Body {
            tar: self,
            left: size,
            observe,
            error: None,
        };
        let filled = fill(&mut body);
        // The observer's own error (a leak, say) explains a failed write.
        if let Some(e) = body.error.take() {
            return Err(e);
        }
        filled?;
        if body.left != 0 {
            bail!(
                "expected {size} bytes, got {}: the source changed since it was listed",
                size - body.left
            );
        }
        self.pad().context("cannot write the archive")?;
        Ok(())
    }

    fn copy_file(
        &mut self,
        e: &Entry,
        size: u64,
        observe: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let mut f = File::open(&e.path).context("cannot open it")?;
        let mut left = size;
        let mut buf = std::mem::take(&mut self.buf);
        let result = (|| -> Result<()> {
            while left > 0 {
                let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                let n = match f.read(&mut buf[..want]) {
                    Ok(0) => bail!(
                        "file shrank while being archived: expected {size} bytes, read {}",
                        size - left
                    ),
                    Ok(n) => n,
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                    Err(err) => return Err(err).context("cannot read it"),
                };
                observe(&buf[..n])?;
                self.put(&buf[..n]).context("cannot write the archive")?;
                left -= n as u64;
            }
            let mut probe = [0u8; 1];
            if f.read(&mut probe).context("cannot read it")? != 0 {
                bail!("file grew while being archived: expected {size} bytes");
            }
            Ok(())
        })();
        self.buf = buf;
        result?;
        self.pad().context("cannot write the archive")?;
        Ok(())
    }

    /// Two zero blocks, padding to the 10240-byte record; returns the sink
    /// and the number of bytes written.
    pub(crate) fn finish(mut self) -> Result<(W, u64)> {
        let end = round_up(self.written + 2 * BLOCK, RECORD);
        let zeros = [0u8; 512];
        while self.written < end {
            self.put(&zeros).context("cannot write the archive end")?;
        }
        Ok((self.out, self.written))
    }
}

/// What writes a file's bytes in [`TarWriter::append_with`].
type Fill<'a> = &'a mut dyn FnMut(&mut dyn Write) -> Result<()>;

/// The body of a file being filled: at most its listed size, every chunk
/// observed.
struct Body<'a, 'o, W: Write> {
    tar: &'a mut TarWriter<W>,
    left: u64,
    observe: &'o mut dyn FnMut(&[u8]) -> Result<()>,
    error: Option<anyhow::Error>,
}

impl<W: Write> Write for Body<'_, '_, W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.len() as u64 > self.left {
            return Err(io::Error::other(format!(
                "more bytes than the {} listed",
                self.left
            )));
        }
        if let Err(e) = (self.observe)(data) {
            let msg = format!("{e:#}");
            self.error = Some(e);
            return Err(io::Error::other(msg));
        }
        self.tar.put(data)?;
        self.left -= data.len() as u64;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn entry(name: &[u8], kind: EntryKind, mode: u32, mtime: i64) -> Entry {
        Entry {
            name: name.to_vec(),
            path: PathBuf::from("/nonexistent"),
            kind,
            mode,
            mtime,
            absent: false,
            source: 0,
        }
    }

    #[test]
    fn file_changed_since_stat_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        for (listed, what) in [(4u64, "grew"), (20, "shrank")] {
            let e = Entry {
                name: b"./f".to_vec(),
                path: path.clone(),
                kind: EntryKind::File { size: listed },
                mode: 0o644,
                mtime: 0,
                absent: false,
                source: 0,
            };
            let mut w = TarWriter::new(Vec::new(), 1);
            let err = format!("{:#}", w.append(&e).unwrap_err());
            assert!(err.contains(what) && err.contains("/f"), "{err}");
        }
    }

    #[test]
    fn numeric_fields_octal_and_base256() {
        let mut f = [0u8; 12];
        numeric(&mut f, 1_700_000_000);
        assert_eq!(&f, b"14524770400\0");
        let mut f = [0u8; 8];
        numeric(&mut f, 0o4755);
        assert_eq!(&f, b"0004755\0");
        // 1960-01-01, as GNU tar encodes a negative mtime.
        let mut f = [0u8; 12];
        numeric(&mut f, -315_619_200);
        assert_eq!(
            f,
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xed, 0x30, 0x08, 0x80]
        );
        // 8 GiB does not fit in 11 octal digits.
        let mut f = [0u8; 12];
        numeric(&mut f, 1 << 33);
        assert_eq!(f, [0x80, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0]);
    }

    #[test]
    fn root_header_bytes() {
        // The root entry dpkg-deb writes for S=1700000000 (checksum 007714).
        let h = header(b"./", 0o755, 0, 1_700_000_000, b'5', b"");
        assert_eq!(&h[..3], b"./\0");
        assert_eq!(
            &h[100..156],
            b"0000755\x000000000\x000000000\x0000000000000\x0014524770400\x00007714\x00 "
        );
        assert_eq!(h[156], b'5');
        assert_eq!(&h[257..265], b"ustar  \0");
        assert_eq!(&h[265..270], b"root\0");
        assert_eq!(&h[297..302], b"root\0");
        assert!(h[329..].iter().all(|&b| b == 0));
    }

    #[test]
    fn long_names_get_longlink_records_and_length_is_predicted() {
        let name100 = [b"./".as_slice(), &[b'n'; 98]].concat();
        let name101 = [b"./".as_slice(), &[b'n'; 99]].concat();
        let target101 = vec![b'L'; 101];
        let entries = vec![
            entry(b"./", EntryKind::Directory, 0o755, 5),
            entry(&name100, EntryKind::Directory, 0o755, 5),
            entry(
                &name101,
                EntryKind::Symlink {
                    target: target101.clone(),
                },
                0o777,
                9,
            ),
        ];
        let mut w = TarWriter::new(Vec::new(), 7);
        for e in &entries {
            w.append(e).unwrap();
        }
        let (bytes, n) = w.finish().unwrap();
        assert_eq!(n, bytes.len() as u64);
        assert_eq!(n, archive_len(&entries));
        assert_eq!(n, 10240);
        // 100 bytes: no LongLink, name field full.
        assert_eq!(&bytes[512..612], name100.as_slice());
        // 101-byte target and name: K record, then L record, then the header.
        let k = &bytes[1024..1536];
        assert_eq!(&k[..14], b"././@LongLink\0");
        assert_eq!(k[156], b'K');
        assert_eq!(&k[124..136], b"00000000146\0");
        assert_eq!(&k[136..148], b"00000000000\0");
        assert_eq!(
            &bytes[1536..1536 + 102],
            [target101.as_slice(), b"\0"].concat().as_slice()
        );
        let l = &bytes[2048..2560];
        assert_eq!(l[156], b'L');
        assert_eq!(&bytes[2560..2560 + 101], name101.as_slice());
        let h = &bytes[3072..3584];
        assert_eq!(&h[..100], &name101[..100]);
        assert_eq!(&h[157..257], &target101[..100]);
        assert_eq!(h[156], b'2');
        // Clamped mtime 9 → 7.
        assert_eq!(&h[136..148], b"00000000007\0");
        assert!(bytes[3584..].iter().all(|&b| b == 0));
    }
}
