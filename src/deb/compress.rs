//! The member compressors, configured as dpkg-deb 1.21 configures them on
//! Debian 12, each through the system library dpkg itself links:
//!
//! - xz: liblzma's multithreaded stream encoder, preset 6 (or `-z`), CRC64,
//!   default block size (3 × dictionary). Its block layout, not the thread
//!   count, decides the bytes, so any thread count gives the same output.
//! - zstd: libzstd level 3 (or `-z`) with the XXH64 checksum, in
//!   multithreaded mode; when the input length is known in advance (the
//!   control member) it is pledged, so the frame header carries it.
//! - gzip: zlib deflate level 9 (or `-z`) inside a gzip header written here
//!   field by field (no name, mtime 0, XFL as zlib sets it, OS 3 = Unix),
//!   then CRC32 and length.
//! - none: the tar as is.
use std::io::{self, Write};

use anyhow::{bail, Context, Result};
use flate2::write::DeflateEncoder;
use flate2::Crc;

use super::Compression;

impl Compression {
    /// The member name suffix (`data.tar.xz`, …).
    pub fn extension(self) -> &'static str {
        match self {
            Compression::Xz => ".xz",
            Compression::Zstd => ".zst",
            Compression::Gzip => ".gz",
            Compression::None => "",
        }
    }

    /// dpkg-deb's default level for this compressor.
    pub fn default_level(self) -> u32 {
        match self {
            Compression::Xz => 6,
            Compression::Zstd => 3,
            Compression::Gzip => 9,
            Compression::None => 0,
        }
    }

    /// Check a `-z` level as dpkg-deb does (zstd 0–22, where 0 means its
    /// default; the others 0–9).
    pub fn check_level(self, level: u32) -> Result<()> {
        let ok = match self {
            Compression::Zstd => level <= 22,
            _ => level <= 9,
        };
        if !ok {
            bail!("compression level {level} is not valid for {self:?}");
        }
        Ok(())
    }
}

/// Inputs shorter than this reach libzstd in one call with the end
/// directive, as dpkg-deb reads its pipe in `ZSTD_CStreamInSize()` chunks:
/// libzstd then knows the length (and records it in the frame header).
pub(crate) const ZSTD_IN_CHUNK: u64 = 128 * 1024;

/// Worker threads for the multithreaded encoders. The output does not
/// depend on it (tested with `taskset -c 0`); like dpkg-deb, one per CPU.
fn threads() -> u32 {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .max(1) as u32
}

/// The memory the xz threads may use, as dpkg-deb decides it: what the
/// kernel says is available (MemAvailable), else half of MemTotal, else
/// 128 MiB.
fn xz_memlimit() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field = |name: &str| {
        meminfo
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kib| kib * 1024)
    };
    field("MemAvailable:")
        .or_else(|| field("MemTotal:").map(|t| t / 2))
        .unwrap_or(128 * 1024 * 1024)
}

/// A compressing writer; `finish` flushes the trailer and returns the sink.
pub(crate) enum Encoder<W: Write> {
    Xz(xz2::write::XzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
    Gzip(GzipWriter<W>),
    None(W),
}

impl<W: Write> Encoder<W> {
    /// `known_len`: the exact input length when known before the first byte
    /// (pledged to zstd).
    pub(crate) fn new(
        c: Compression,
        level: Option<u32>,
        out: W,
        known_len: Option<u64>,
    ) -> Result<Self> {
        let level = level.unwrap_or_else(|| c.default_level());
        c.check_level(level)?;
        Ok(match c {
            Compression::Xz => {
                let mut builder = xz2::stream::MtStreamBuilder::new();
                builder.preset(level).check(xz2::stream::Check::Crc64);
                // As dpkg-deb: fewer threads when they would need more
                // memory than is available (the bytes do not depend on it;
                // one thread still uses the multithreaded block layout).
                let limit = xz_memlimit();
                let mut n = threads();
                while n > 1 && builder.threads(n).memusage() >= limit {
                    n -= 1;
                }
                let stream = builder
                    .threads(n)
                    .encoder()
                    .context("cannot set up the xz encoder")?;
                Encoder::Xz(xz2::write::XzEncoder::new_stream(out, stream))
            }
            Compression::Zstd => {
                let mut e = zstd::stream::write::Encoder::new(out, level as i32)
                    .context("cannot set up the zstd encoder")?;
                e.include_checksum(true)?;
                e.multithread(threads())?;
                if let Some(n) = known_len {
                    e.set_pledged_src_size(Some(n))?;
                    e.include_contentsize(true)?;
                }
                Encoder::Zstd(e)
            }
            Compression::Gzip => Encoder::Gzip(GzipWriter::new(out, level)?),
            Compression::None => Encoder::None(out),
        })
    }

    pub(crate) fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Xz(e) => e.finish(),
            Encoder::Zstd(e) => e.finish(),
            Encoder::Gzip(e) => e.finish(),
            Encoder::None(w) => Ok(w),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Xz(e) => e.write(buf),
            Encoder::Zstd(e) => e.write(buf),
            Encoder::Gzip(e) => e.write(buf),
            Encoder::None(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        // Flushing a compressor mid-stream would change its bytes: only the
        // sink below is flushed, at `finish`.
        Ok(())
    }
}

/// gzip as zlib's `deflateInit2(level, windowBits 15+16)` frames it.
pub(crate) struct GzipWriter<W: Write> {
    deflate: DeflateEncoder<W>,
    crc: Crc,
}

impl<W: Write> GzipWriter<W> {
    fn new(mut out: W, level: u32) -> io::Result<Self> {
        // zlib: XFL 2 for level 9, 4 for levels below 2, else 0.
        let xfl = match level {
            9 => 2,
            0 | 1 => 4,
            _ => 0,
        };
        out.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3])?;
        Ok(GzipWriter {
            deflate: DeflateEncoder::new(out, flate2::Compression::new(level)),
            crc: Crc::new(),
        })
    }

    fn finish(self) -> io::Result<W> {
        let mut out = self.deflate.finish()?;
        out.write_all(&self.crc.sum().to_le_bytes())?;
        out.write_all(&self.crc.amount().to_le_bytes())?;
        Ok(out)
    }
}

impl<W: Write> Write for GzipWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.deflate.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn roundtrip(c: Compression) -> Vec<u8> {
        let input: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut e = Encoder::new(c, None, Vec::new(), None).unwrap();
        e.write_all(&input).unwrap();
        let out = e.finish().unwrap();
        let mut back = Vec::new();
        match c {
            Compression::Xz => {
                xz2::read::XzDecoder::new(&out[..])
                    .read_to_end(&mut back)
                    .unwrap();
            }
            Compression::Zstd => back = zstd::decode_all(&out[..]).unwrap(),
            Compression::Gzip => {
                flate2::read::GzDecoder::new(&out[..])
                    .read_to_end(&mut back)
                    .unwrap();
            }
            Compression::None => back = out.clone(),
        }
        assert_eq!(back, input, "{c:?}");
        out
    }

    #[test]
    fn every_compressor_round_trips() {
        for c in [
            Compression::Xz,
            Compression::Zstd,
            Compression::Gzip,
            Compression::None,
        ] {
            roundtrip(c);
        }
    }

    #[test]
    fn gzip_header_fields() {
        let out = roundtrip(Compression::Gzip);
        assert_eq!(&out[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]);
    }

    #[test]
    fn levels_checked() {
        assert!(Compression::Xz.check_level(10).is_err());
        assert!(Compression::Zstd.check_level(23).is_err());
        assert!(Compression::Zstd.check_level(19).is_ok());
    }
}
