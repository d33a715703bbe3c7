//! Streaming sha256 and the `urlsafe-base64-nopad` encoding RECORD uses
//! (atomic output is `crate::atomic`).
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::encoding::hex;

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
