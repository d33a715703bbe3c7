//! Wheel entries installed without their bytes (`venvdeb build`): the
//! staging tree on disk does not hold them (`crate::tree::Absent` lists
//! them, with their final names and modes), and the bytes are read from the verified wheel only when the .deb
//! writer archives that file ([`WheelBytes`], a `deb::DataSource`): each
//! entry inflated once, straight into data.tar, with random access (a seek
//! to its local header), checked on the way against the verified RECORD
//! (size, CRC, hash) and, for files whose installed bytes differ from the
//! entry's (`#!python` scripts) or whose RECORD hash is not sha256, against
//! the sha256 and size computed when the installer planned them. Any
//! difference fails the build: the outputs are uncommitted temporary files.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::scripts::copy_installed;
use crate::encoding::{hex, Hashing};
use crate::exit::verification;
use crate::wheel::archive::{read_entry_at, Entry, Expected};
use anyhow::Result;

/// One installed file whose bytes stay in its wheel until archived.
#[derive(Debug, Clone)]
pub(crate) struct Deferred {
    /// Where it is in the staging tree (not on disk).
    pub path: PathBuf,
    /// Installed 0755 (else 0644).
    pub executable: bool,
    /// Shared by the entries of one wheel.
    pub wheel: Arc<Path>,
    /// The entry, as the installer's read of the wheel's central
    /// directory checked it (the reading threads seek to it directly).
    pub entry: Entry,
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

/// The absent tree of `deferred` files, all under `base` (the venv).
pub(crate) fn absent<'a>(
    base: &Path,
    deferred: impl IntoIterator<Item = &'a Deferred>,
) -> Result<crate::tree::Absent> {
    crate::tree::Absent::new(
        base,
        deferred
            .into_iter()
            .map(|d| (d.path.clone(), d.size, d.executable)),
    )
}

/// Open wheel files kept per reading thread (most recently used first):
/// consecutive files of the archive mostly come from one wheel. Only the
/// file is kept: each deferred file carries its checked central-directory
/// entry.
const MAX_OPEN: usize = 8;

/// The deferred files of a build, numbered as in their absent tree.
pub(crate) struct WheelBytes {
    files: Vec<Deferred>,
    /// The same files (and their directories) by directory, for the walk.
    absent: crate::tree::Absent,
    /// `#!<prefix>/bin/python` for scripts.
    python: String,
}

impl WheelBytes {
    /// `files` in the order `absent` numbers them (it was made from them).
    pub(crate) fn new(
        files: impl IntoIterator<Item = Deferred>,
        absent: crate::tree::Absent,
        python: &str,
    ) -> Result<WheelBytes> {
        let w = WheelBytes {
            absent,
            // The absent tree has the paths.
            files: files
                .into_iter()
                .map(|mut d| {
                    d.path = PathBuf::new();
                    d
                })
                .collect(),
            python: python.to_string(),
        };
        if w.files.len() != w.absent.files() {
            anyhow::bail!(
                "internal: {} deferred files, {} absent ones",
                w.files.len(),
                w.absent.files()
            );
        }
        Ok(w)
    }
}

impl crate::deb::DataSource for WheelBytes {
    fn absent(&self) -> &crate::tree::Absent {
        &self.absent
    }

    fn reader(&self) -> Box<dyn crate::deb::SourceReader + '_> {
        Box::new(WheelReader {
            bytes: self,
            open: Vec::new(),
        })
    }
}

/// One reading thread's open wheels.
pub(crate) struct WheelReader<'a> {
    bytes: &'a WheelBytes,
    /// Most recently used first.
    open: Vec<(Arc<Path>, std::fs::File)>,
}

impl crate::deb::SourceReader for WheelReader<'_> {
    fn write(&mut self, source: u32, path: &Path, out: &mut dyn Write) -> Result<()> {
        let Some(d) = self.bytes.files.get(source as usize) else {
            anyhow::bail!("internal: {} is not a deferred file", path.display());
        };
        match self.open.iter().position(|(w, _)| *w == d.wheel) {
            Some(0) => {}
            Some(i) => {
                let hit = self.open.remove(i);
                self.open.insert(0, hit);
            }
            None => {
                let (f, _) = crate::input::open_regular(&d.wheel, "wheel", u64::MAX)?;
                self.open.truncate(MAX_OPEN - 1);
                self.open.insert(0, (d.wheel.clone(), f));
            }
        }
        let file = &mut self.open[0].1;
        let python = &self.bytes.python;
        let found = read_entry_at(file, &d.wheel, &d.entry, d.expected.clone(), |_, r| {
            if !d.check_sha256 {
                // The entry reader checks the RECORD hash, the tar writer
                // the size.
                copy_installed(r, out, d.script, python)?;
                return Ok(None);
            }
            let mut w = Hashing::new(out);
            copy_installed(r, &mut w, d.script, python)?;
            let (sha, size, _) = w.finish();
            Ok(Some((sha, size)))
        })?;
        if let Some((sha, size)) = found {
            if size != d.size || sha != d.sha256 {
                return Err(verification(format!(
                    "{}: {}: expected sha256 {} ({} bytes) as planned, found {} ({size} bytes) (file changed after verification)",
                    d.wheel.display(),
                    d.entry.name,
                    hex(&d.sha256),
                    d.size,
                    hex(&sha),
                )));
            }
        }
        Ok(())
    }
}
