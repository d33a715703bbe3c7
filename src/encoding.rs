//! Byte encodings and file digests, one copy each for every module:
//! lowercase hex (sha256sums, the lock, manifests, SBOM), RFC 4648 §5
//! urlsafe base64 without padding (wheel RECORD hashes, PEP 376/427),
//! percent-encoding (index links, purls), and the streamed sha256 of a
//! reader, writer or file. Hand-written because each is a few lines and
//! RECORD's decoder must refuse non-canonical trailing bits.
use std::io::{self, Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// urlsafe base64 without padding (RECORD's encoding).
pub(crate) fn b64url_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(B64URL[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Decode urlsafe base64; padding `=` is tolerated at the end only.
pub(crate) fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let v = B64URL.iter().position(|&x| x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if acc != 0 {
        return None; // non-canonical trailing bits
    }
    Some(out)
}

/// Percent-encoding (uppercase hex) of every byte but ASCII alphanumerics
/// and those in `keep`.
pub(crate) fn percent_encode(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Lowercase hex.
pub(crate) fn hex(data: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(data.len() * 2);
    for b in data {
        s.push(H[(b >> 4) as usize] as char);
        s.push(H[(b & 15) as usize] as char);
    }
    s
}

/// Decode hex (either case).
pub(crate) fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    let v = |c: u8| -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    };
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(v(p[0])? << 4 | v(p[1])?))
        .collect()
}

/// A reader or writer that feeds everything passing through it into a
/// sha256 and counts it.
pub(crate) struct Hashing<T> {
    inner: T,
    hasher: Sha256,
    count: u64,
}

impl<T> Hashing<T> {
    pub(crate) fn new(inner: T) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// Bytes passed so far.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// The sha256 and the byte count, and the inner reader or writer back.
    pub(crate) fn finish(self) -> ([u8; 32], u64, T) {
        (self.hasher.finalize().into(), self.count, self.inner)
    }

    /// The lowercase hex sha256 and the byte count.
    pub(crate) fn finish_hex(self) -> (String, u64) {
        let (d, n, _) = self.finish();
        (hex(&d), n)
    }

    fn took(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.count += bytes.len() as u64;
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.took(&buf[..n]);
        Ok(n)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.took(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Hash everything `r` yields: (lowercase hex sha256, length).
pub(crate) fn sha256_reader(r: impl Read) -> io::Result<(String, u64)> {
    let mut h = Hashing::new(r);
    io::copy(&mut h, &mut io::sink())?;
    Ok(h.finish_hex())
}

/// The sha256 of a file, streamed (memory does not grow with its size):
/// (lowercase hex, length).
pub(crate) fn sha256_file(path: &Path) -> Result<(String, u64)> {
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    sha256_reader(f).with_context(|| format!("reading {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_rfc4648() {
        for (raw, enc) in [
            (&b""[..], ""),
            (b"f", "Zg"),
            (b"fo", "Zm8"),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg"),
            (&[0xfb, 0xff], "-_8"),
        ] {
            assert_eq!(b64url_encode(raw), enc);
            assert_eq!(b64url_decode(enc).unwrap(), raw);
        }
        assert_eq!(b64url_decode("Zg==").unwrap(), b"f", "padding tolerated");
        assert!(b64url_decode("Zh").is_none(), "non-canonical trailing bits");
        assert!(b64url_decode("Z").is_none());
        assert!(b64url_decode("Z+8").is_none(), "not the urlsafe alphabet");
        for n in 0..70 {
            let data: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(b64url_decode(&b64url_encode(&data)).unwrap(), data);
        }
        // sha256 of the empty string, as in a RECORD line.
        assert_eq!(
            b64url_encode(&Sha256::digest(b"")),
            "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
        );
    }

    #[test]
    fn known_digest_of_a_reader_and_a_writer() {
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256_reader(&b"abc"[..]).unwrap(), (abc.to_string(), 3));
        let mut w = Hashing::new(Vec::new());
        w.write_all(b"ab").unwrap();
        w.write_all(b"c").unwrap();
        assert_eq!(w.count(), 3);
        let (d, n, inner) = w.finish();
        assert_eq!((hex(&d).as_str(), n, &inner[..]), (abc, 3, &b"abc"[..]));
    }

    #[test]
    fn hex_round_trip_and_file_digest() {
        assert_eq!(hex(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(hex_decode("00ABff").unwrap(), vec![0, 0xab, 0xff]);
        assert!(hex_decode("abc").is_none() && hex_decode("zz").is_none());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(
            sha256_file(&p).unwrap(),
            (
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".to_string(),
                3
            )
        );
        assert!(sha256_file(&dir.path().join("missing")).is_err());
    }
}
