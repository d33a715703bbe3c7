//! Raw deflate (zip method 8) and CRC-32 for the wheel reader, with
//! zlib-rs: its inflate and its CRC-32 choose SIMD code at run time
//! (pclmulqdq, AVX2), about twice the speed of the system zlib's on the
//! bench machine; every byte of every installed wheel goes through here.
//! Compression stays with the system zlib (`flate2`), whose bytes dpkg-deb's
//! gzip members are made of.
//!
//! [`Inflater`] reads exactly the compressed bytes the stream uses from its
//! `BufRead` (what is left after the end-of-stream marker stays unread), so
//! that the caller can check the stream ends where the zip says it does.
use std::io::{self, BufRead, Read};

/// A raw deflate stream read from `inner`, as a reader of its inflated
/// bytes: end of file at the end-of-stream marker; an error for a corrupt
/// stream and for input that ends before the marker.
pub(crate) struct Inflater<R: BufRead> {
    inner: R,
    state: zlib_rs::Inflate,
    done: bool,
}

impl<R: BufRead> Inflater<R> {
    pub(crate) fn new(inner: R) -> Self {
        Inflater {
            inner,
            // No zlib header; a 32 KiB window (deflate's largest).
            state: zlib_rs::Inflate::new(false, 15),
            done: false,
        }
    }

    pub(crate) fn get_ref(&self) -> &R {
        &self.inner
    }
}

impl<R: BufRead> Read for Inflater<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        loop {
            let input = self.inner.fill_buf()?;
            let at_end = input.is_empty();
            let (in0, out0) = (self.state.total_in(), self.state.total_out());
            let status = self
                .state
                .decompress(input, buf, zlib_rs::InflateFlush::NoFlush)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.as_str()))?;
            // Bounded by the slices' lengths.
            let used = (self.state.total_in() - in0) as usize;
            let made = (self.state.total_out() - out0) as usize;
            self.inner.consume(used);
            if status == zlib_rs::Status::StreamEnd {
                self.done = true;
                return Ok(made);
            }
            if made > 0 {
                return Ok(made);
            }
            if at_end {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the deflate stream ends early",
                ));
            }
            if used == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the deflate stream makes no progress",
                ));
            }
        }
    }
}

/// CRC-32 (the zip and gzip one) computed in pieces.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Crc32(u32);

impl Crc32 {
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.0 = zlib_rs::crc32::crc32(self.0, bytes);
    }

    pub(crate) fn sum(&self) -> u32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn deflate(data: &[u8], level: u32) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(level));
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn sample(n: usize) -> Vec<u8> {
        // Compressible but not trivially so.
        (0..n).map(|i| ((i * 31) ^ (i >> 7)) as u8 % 97).collect()
    }

    /// What the system zlib deflates, inflated through small and large
    /// read buffers, with the CRC of `flate2::Crc`; the bytes after the
    /// stream are left unread.
    #[test]
    fn inflates_what_zlib_deflates_and_stops_at_the_marker() {
        for (n, level) in [(0, 6), (1, 9), (70_000, 1), (1_000_000, 6), (300_000, 0)] {
            let data = sample(n);
            let mut z = deflate(&data, level);
            z.extend_from_slice(b"TAIL");
            for (cap, chunk) in [(1, 7), (8192, 65536), (64 << 10, 1 << 20)] {
                let mut r = Inflater::new(io::BufReader::with_capacity(cap, &z[..]));
                let mut out = Vec::new();
                let mut buf = vec![0u8; chunk];
                loop {
                    let k = r.read(&mut buf).unwrap();
                    if k == 0 {
                        break;
                    }
                    out.extend_from_slice(&buf[..k]);
                }
                assert!(out == data, "{n} bytes, level {level}, {cap}/{chunk}");
                let mut rest = Vec::new();
                let mut inner = r.inner;
                inner.read_to_end(&mut rest).unwrap();
                assert_eq!(rest, b"TAIL");
                let mut ours = Crc32::default();
                for piece in data.chunks(1000) {
                    ours.update(piece);
                }
                let mut theirs = flate2::Crc::new();
                theirs.update(&data);
                assert_eq!(ours.sum(), theirs.sum());
            }
        }
    }

    #[test]
    fn truncated_and_corrupt_streams_are_errors() {
        let z = deflate(&sample(200_000), 6);
        let mut out = Vec::new();
        let e = Inflater::new(&z[..z.len() / 2])
            .read_to_end(&mut out)
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}");
        // A block type of 3 is invalid.
        let e = Inflater::new(&[0x07u8, 0, 0, 0][..])
            .read_to_end(&mut out)
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
        // Nothing at all.
        let e = Inflater::new(&[][..]).read_to_end(&mut out).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}");
    }
}
