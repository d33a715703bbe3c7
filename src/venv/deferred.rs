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
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::scripts::copy_installed;
use crate::encoding::{hex, Hashing};
use crate::exit::verification;
use crate::wheel::archive::{Expected, WheelArchive};
use anyhow::{Context, Result};

/// One installed file whose bytes stay in its wheel until archived.
#[derive(Debug, Clone)]
pub(crate) struct Deferred {
    /// The placeholder in the staging tree.
    pub path: PathBuf,
    /// Shared by the entries of one wheel.
    pub wheel: Arc<Path>,
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

/// The empty placeholders of a build: hard links to one empty file per
/// mode (0644, 0755) in a directory outside the package tree, instead of
/// an inode each (tens of thousands of new inodes cost far more, on ext4
/// after many deletions much more). A template that reaches the link limit
/// is replaced by a new one. The .deb writer does not treat them as hard
/// links (`deb::walk::walk_with`).
pub(crate) struct Placeholders {
    dir: PathBuf,
    /// The current template per mode (0644, 0755).
    current: Mutex<[Option<PathBuf>; 2]>,
    made: AtomicUsize,
}

impl Placeholders {
    /// Templates go into `dir` (created; it must not be in the package).
    pub(crate) fn new(dir: &Path) -> Result<Placeholders> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Placeholders {
            dir: dir.to_path_buf(),
            current: Mutex::new([None, None]),
            made: AtomicUsize::new(0),
        })
    }

    /// An empty placeholder at `path` (which must not exist).
    pub(crate) fn make(&self, path: &Path, executable: bool) -> Result<()> {
        let i = usize::from(executable);
        loop {
            let template = {
                let mut cur = self.current.lock().unwrap_or_else(|e| e.into_inner());
                match &cur[i] {
                    Some(t) => t.clone(),
                    None => {
                        use std::os::unix::fs::OpenOptionsExt;
                        let n = self.made.fetch_add(1, Ordering::SeqCst);
                        let t = self.dir.join(format!("empty-{i}-{n}"));
                        std::fs::OpenOptions::new()
                            .write(true)
                            .create_new(true)
                            .mode(if executable { 0o755 } else { 0o644 })
                            .open(&t)
                            .with_context(|| format!("creating {}", t.display()))?;
                        cur[i] = Some(t.clone());
                        t
                    }
                }
            };
            match std::fs::hard_link(&template, path) {
                Ok(()) => return Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::EMLINK) => {
                    let mut cur = self.current.lock().unwrap_or_else(|e| e.into_inner());
                    if cur[i].as_ref() == Some(&template) {
                        cur[i] = None;
                    }
                }
                Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
            }
        }
    }
}

/// Open archives kept (most recently used first): consecutive files of
/// the archive mostly come from one wheel, and each open archive holds its
/// central directory in memory.
const MAX_OPEN: usize = 8;

/// The deferred files of a build, by placeholder path.
pub(crate) struct WheelBytes {
    files: HashMap<PathBuf, Deferred>,
    /// `#!<prefix>/bin/python` for scripts.
    python: String,
}

impl WheelBytes {
    pub(crate) fn new(files: impl IntoIterator<Item = Deferred>, python: &str) -> WheelBytes {
        WheelBytes {
            // The path is the key only.
            files: files
                .into_iter()
                .map(|mut d| (std::mem::take(&mut d.path), d))
                .collect(),
            python: python.to_string(),
        }
    }
}

impl crate::deb::DataSource for WheelBytes {
    fn size(&self, path: &Path) -> Option<u64> {
        self.files.get(path).map(|d| d.size)
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
    open: Vec<(Arc<Path>, WheelArchive)>,
}

impl crate::deb::SourceReader for WheelReader<'_> {
    fn write(&mut self, path: &Path, out: &mut dyn Write) -> Result<()> {
        let Some(d) = self.bytes.files.get(path) else {
            anyhow::bail!("internal: {} is not a deferred file", path.display());
        };
        match self.open.iter().position(|(w, _)| *w == d.wheel) {
            Some(0) => {}
            Some(i) => {
                let hit = self.open.remove(i);
                self.open.insert(0, hit);
            }
            None => {
                let ar = WheelArchive::open(&d.wheel, d.max_uncompressed)?;
                self.open.truncate(MAX_OPEN - 1);
                self.open.insert(0, (d.wheel.clone(), ar));
            }
        }
        let ar = &mut self.open[0].1;
        let python = &self.bytes.python;
        let found = ar.with_entry(d.entry_index, d.expected.clone(), |entry, r| {
            if entry.name != d.entry_name {
                return Err(verification(format!(
                    "{}: expected entry {:?} at #{}, found {:?} (file changed after verification)",
                    d.wheel.display(),
                    d.entry_name,
                    d.entry_index,
                    entry.name
                )));
            }
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
                    d.entry_name,
                    hex(&d.sha256),
                    d.size,
                    hex(&sha),
                )));
            }
        }
        Ok(())
    }
}
