//! Wheel entries installed without their bytes (`venvdeb build`): the
//! staging tree gets an empty placeholder with the entry's final name and
//! mode, and the bytes are read from the verified wheel only when the .deb
//! writer archives that file ([`WheelBytes`], a `deb::DataSource`): each
//! entry inflated once, straight into data.tar, with random access (a seek
//! to its local header), checked on the way against the verified RECORD
//! (size, CRC, hash) and, for files whose installed bytes differ from the
//! entry's (`#!python` scripts) or whose RECORD hash is not sha256, against
//! the sha256 and size computed when the installer planned them. Any
//! difference fails the build: the outputs are uncommitted temporary files.
use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::Result;
use sha2::{Digest, Sha256};

use crate::encoding::hex;
use crate::exit::verification;
use crate::wheel::archive::{Expected, WheelArchive};

/// One installed file whose bytes stay in its wheel until archived.
#[derive(Debug, Clone)]
pub(crate) struct Deferred {
    /// The placeholder in the staging tree.
    pub path: PathBuf,
    pub wheel: PathBuf,
    /// The cap on uncompressed sizes the wheel was verified with.
    pub max_uncompressed: u64,
    /// The entry's index in the central directory, and its name.
    pub entry_index: usize,
    pub entry_name: String,
    /// A `.data/scripts` file: `#!python` first line rewritten.
    pub script: bool,
    /// The installed bytes' size and sha256.
    pub size: u64,
    pub sha256: [u8; 32],
    /// What RECORD says the entry's bytes are.
    pub expected: Option<Expected>,
    /// Compare the installed bytes' sha256 when archiving (scripts, and
    /// entries without a sha256 RECORD hash, which the entry reader does
    /// not cover).
    pub check_sha256: bool,
}

/// Open archives kept at most, not to run out of file descriptors.
const MAX_OPEN: usize = 128;

/// The deferred files of a build, by placeholder path.
pub(crate) struct WheelBytes {
    files: HashMap<PathBuf, Deferred>,
    open: HashMap<PathBuf, WheelArchive>,
    /// `#!<prefix>/bin/python` for scripts.
    python: String,
}

impl WheelBytes {
    pub(crate) fn new(files: impl IntoIterator<Item = Deferred>, python: &str) -> WheelBytes {
        WheelBytes {
            files: files.into_iter().map(|d| (d.path.clone(), d)).collect(),
            open: HashMap::new(),
            python: python.to_string(),
        }
    }
}

impl crate::deb::DataSource for WheelBytes {
    fn size(&self, path: &Path) -> Option<u64> {
        self.files.get(path).map(|d| d.size)
    }

    fn write(&mut self, path: &Path, out: &mut dyn Write) -> Result<()> {
        let Some(d) = self.files.get(path) else {
            anyhow::bail!("internal: {} is not a deferred file", path.display());
        };
        if !self.open.contains_key(&d.wheel) {
            if self.open.len() >= MAX_OPEN {
                self.open.clear();
            }
            let ar = WheelArchive::open(&d.wheel, d.max_uncompressed)?;
            self.open.insert(d.wheel.clone(), ar);
        }
        let ar = self.open.get_mut(&d.wheel).expect("just opened");
        let python = &self.python;
        let (sha, size) = ar.with_entry(d.entry_index, d.expected.clone(), |entry, r| {
            if entry.name != d.entry_name {
                return Err(verification(format!(
                    "{}: expected entry {:?} at #{}, found {:?} (file changed after verification)",
                    d.wheel.display(),
                    d.entry_name,
                    d.entry_index,
                    entry.name
                )));
            }
            let mut w = Checking {
                out,
                hash: d.check_sha256.then(Sha256::new),
                size: 0,
            };
            if d.script {
                let mut br = BufReader::with_capacity(1 << 16, r);
                super::install::copy_script(&mut br, &mut w, python)?;
            } else {
                std::io::copy(r, &mut w)?;
            }
            Ok((w.hash.map(|h| <[u8; 32]>::from(h.finalize())), w.size))
        })?;
        if size != d.size || sha.is_some_and(|s| s != d.sha256) {
            return Err(verification(format!(
                "{}: {}: expected sha256 {} ({} bytes) as planned, found {} ({size} bytes) (file changed after verification)",
                d.wheel.display(),
                d.entry_name,
                hex(&d.sha256),
                d.size,
                sha.map_or_else(|| "-".to_string(), |s| hex(&s)),
            )));
        }
        Ok(())
    }
}

/// Passes bytes on, counting them and (optionally) hashing them.
struct Checking<'a> {
    out: &'a mut dyn Write,
    hash: Option<Sha256>,
    size: u64,
}

impl Write for Checking<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        if let Some(h) = &mut self.hash {
            h.update(&buf[..n]);
        }
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}
