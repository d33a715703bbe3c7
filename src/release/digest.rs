//! Streaming sha256 and the `urlsafe-base64-nopad` encoding RECORD uses
//! (atomic output is `crate::atomic`).
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

pub(crate) use crate::encoding::{b64url_encode as b64url_nopad, hex, sha256_file};

/// A writer that hashes and counts what passes through it.
pub(crate) struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    len: u64,
}

impl<W: Write> HashingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }
    /// The sha256 digest and the byte count, and the inner writer back.
    pub(crate) fn finish(self) -> ([u8; 32], u64, W) {
        (self.hasher.finalize().into(), self.len, self.inner)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Copy `src` to `dst` (created new), returning the sha256 (hex) and size of
/// the bytes copied: the copy is what later steps read, so what was hashed is
/// what is used.
pub(crate) fn copy_hashed(src: &Path, dst: &Path) -> Result<(String, u64)> {
    let mut r = File::open(src).with_context(|| format!("opening {}", src.display()))?;
    let out = File::create_new(dst).with_context(|| format!("creating {}", dst.display()))?;
    let mut w = HashingWriter::new(out);
    io::copy(&mut r, &mut w)
        .with_context(|| format!("copying {} to {}", src.display(), dst.display()))?;
    let (d, n, f) = w.finish();
    f.sync_all().ok();
    Ok((hex(&d), n))
}

/// Set a file's permission bits exactly (independent of the umask).
pub(crate) fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting mode {mode:o} on {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_rfc4648() {
        assert_eq!(b64url_nopad(b""), "");
        assert_eq!(b64url_nopad(b"f"), "Zg");
        assert_eq!(b64url_nopad(b"fo"), "Zm8");
        assert_eq!(b64url_nopad(b"foo"), "Zm9v");
        assert_eq!(b64url_nopad(b"foob"), "Zm9vYg");
        assert_eq!(b64url_nopad(&[0xfb, 0xff]), "-_8");
        // sha256 of the empty string, as in a RECORD line.
        let d: [u8; 32] = Sha256::digest(b"").into();
        assert_eq!(
            b64url_nopad(&d),
            "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
        );
    }
}
