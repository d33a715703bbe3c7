//! Streaming sha256 helpers shared by the inspect modules: a reader that
//! hashes what passes through it, and hashing a file without loading it.
use std::io::{self, Read};

use sha2::{Digest, Sha256};

pub(crate) use crate::encoding::{hex, sha256_file};

/// A reader that feeds everything it reads into a sha256 and counts it.
pub(crate) struct HashReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        HashReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// Bytes read so far.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// The hex sha256 of everything read, and the byte count.
    pub(crate) fn finish(self) -> (String, u64) {
        (hex(&self.hasher.finalize()), self.count)
    }
}

impl<R: Read> Read for HashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// Hash everything `r` yields: (hex sha256, length).
pub(crate) fn sha256_reader(r: impl Read) -> io::Result<(String, u64)> {
    let mut h = HashReader::new(r);
    io::copy(&mut h, &mut io::sink())?;
    Ok(h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest() {
        let (h, n) = sha256_reader(&b"abc"[..]).unwrap();
        assert_eq!(n, 3);
        assert_eq!(
            h,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
