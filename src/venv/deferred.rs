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
use crate::arena::{ByteArena, Span};
use crate::encoding::{hex, Hashing};
use crate::exit::verification;
use crate::wheel::archive::{read_entry_at, Entry, EntryAt, Expected};
use crate::wheel::record::{HashAlgorithm, HashValue};
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
    /// `path` ends with `/` and the entry's name (a file installed under
    /// its own name in site-packages): the plan need not keep the name.
    pub name_at_end: bool,
}

/// Whether `path` ends with `/<name>`.
pub(crate) fn name_at_end(path: &Path, name: &str) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let p = path.as_os_str().as_bytes();
    let n = name.as_bytes();
    p.len() > n.len() && p.ends_with(n) && p[p.len() - n.len() - 1] == b'/'
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

/// The deferred files of a build, numbered as in their absent tree, kept
/// compactly: a fixed-size record per file ([`Plan`]) and one buffer of
/// their entry names and RECORD digests, so that the plan of a large
/// package is a few allocations, not several per file.
pub(crate) struct WheelBytes {
    files: Vec<Plan>,
    /// Entry names and expected digests.
    text: ByteArena,
    /// The wheels the files come from.
    wheels: Vec<Arc<Path>>,
    /// The same files (and their directories) by directory, for the walk.
    absent: crate::tree::Absent,
    /// `#!<prefix>/bin/python` for scripts.
    python: String,
}

/// An entry's name: kept in the text, or, for most files (those
/// installed under their own name in site-packages), the last `len` bytes
/// of the path the file is archived from.
#[derive(Debug, Clone, Copy)]
enum Name {
    Text(Span),
    PathTail(u32),
}

/// One [`Deferred`] file without its path (the absent tree has it) and
/// without heap of its own.
#[derive(Debug, Clone, Copy)]
struct Plan {
    wheel: u32,
    name: Name,
    entry: EntryAt,
    script: bool,
    /// The installed bytes' size, and their sha256 (in the text) when it
    /// is compared on archiving (`Deferred::check_sha256`).
    size: u64,
    planned_sha256: Option<Span>,
    /// RECORD's hash (algorithm, digest) and size of the entry.
    expected: Option<(HashAlgorithm, Span, u64)>,
}

impl WheelBytes {
    /// `files` in the order `absent` numbers them (it was made from them).
    pub(crate) fn new(
        files: Vec<Deferred>,
        absent: crate::tree::Absent,
        python: &str,
    ) -> Result<WheelBytes> {
        if files.len() != absent.files() {
            anyhow::bail!(
                "internal: {} deferred files, {} absent ones",
                files.len(),
                absent.files()
            );
        }
        let text_len: usize = files
            .iter()
            .map(|d| {
                usize::from(path_tail(d).is_none()) * d.entry.name.len()
                    + d.expected.as_ref().map_or(0, |e| e.hash.digest.len())
                    + if d.check_sha256 { 32 } else { 0 }
            })
            .sum();
        let mut w = WheelBytes {
            files: Vec::with_capacity(files.len()),
            text: ByteArena::with_capacity(text_len),
            wheels: Vec::new(),
            absent,
            python: python.to_string(),
        };
        for d in files {
            // Consecutive files mostly come from one wheel.
            let wheel = match w.wheels.iter().rposition(|x| *x == d.wheel) {
                Some(i) => i,
                None => {
                    w.wheels.push(d.wheel.clone());
                    w.wheels.len() - 1
                }
            };
            let tail = path_tail(&d);
            let (name, entry) = d.entry.split();
            let name = match tail {
                Some(len) => Name::PathTail(len),
                None => Name::Text(w.text.push(name.as_bytes())?),
            };
            let expected = match d.expected {
                Some(e) => Some((e.hash.algorithm, w.text.push(&e.hash.digest)?, e.size)),
                None => None,
            };
            let planned_sha256 = match d.check_sha256 {
                true => Some(w.text.push(&d.sha256)?),
                false => None,
            };
            w.files.push(Plan {
                wheel: wheel as u32,
                name,
                entry,
                script: d.script,
                size: d.size,
                planned_sha256,
                expected,
            });
        }
        Ok(w)
    }

    /// The entry name of `d`, archived from `path`.
    fn name(&self, d: &Plan, path: &Path) -> String {
        use std::os::unix::ffi::OsStrExt;
        let bytes = match d.name {
            Name::Text(s) => self.text.get(s),
            Name::PathTail(len) => {
                let p = path.as_os_str().as_bytes();
                &p[p.len().saturating_sub(len as usize)..]
            }
        };
        // Names were valid UTF-8 when planned; a path that does not end
        // as planned gives a name the local header check refuses.
        String::from_utf8_lossy(bytes).into_owned()
    }
}

/// When `d`'s path ends with `/<its entry name>`, the name's length.
fn path_tail(d: &Deferred) -> Option<u32> {
    d.name_at_end
        .then(|| u32::try_from(d.entry.name.len()).ok())
        .flatten()
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
        let bytes = self.bytes;
        let Some(d) = bytes.files.get(source as usize) else {
            anyhow::bail!("internal: {} is not a deferred file", path.display());
        };
        let wheel = &bytes.wheels[d.wheel as usize];
        match self.open.iter().position(|(w, _)| w == wheel) {
            Some(0) => {}
            Some(i) => {
                let hit = self.open.remove(i);
                self.open.insert(0, hit);
            }
            None => {
                let (f, _) = crate::input::open_regular(wheel, "wheel", u64::MAX)?;
                self.open.truncate(MAX_OPEN - 1);
                self.open.insert(0, (wheel.clone(), f));
            }
        }
        let file = &mut self.open[0].1;
        let python = &bytes.python;
        let entry = d.entry.named(bytes.name(d, path));
        let expected = d.expected.map(|(algorithm, digest, size)| Expected {
            hash: HashValue {
                algorithm,
                digest: bytes.text.get(digest).to_vec(),
            },
            size,
        });
        let found = read_entry_at(file, wheel, &entry, expected, |_, r| {
            if d.planned_sha256.is_none() {
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
        if let (Some((sha, size)), Some(planned)) = (found, d.planned_sha256) {
            let planned = bytes.text.get(planned);
            if size != d.size || sha.as_slice() != planned {
                return Err(verification(format!(
                    "{}: {}: expected sha256 {} ({} bytes) as planned, found {} ({size} bytes) (file changed after verification)",
                    wheel.display(),
                    entry.name,
                    hex(planned),
                    d.size,
                    hex(&sha),
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_at_the_end_of_a_path_only_after_a_slash() {
        let p = Path::new("/s/v/lib/python3.11/site-packages/pkg/mod.py");
        assert!(name_at_end(p, "pkg/mod.py"));
        assert!(name_at_end(p, "mod.py"));
        assert!(!name_at_end(p, "g/mod.py"));
        assert!(!name_at_end(p, "pkg/other.py"));
        assert!(!name_at_end(Path::new("mod.py"), "mod.py"));
        assert!(!name_at_end(
            Path::new("/s/v/bin/tool"),
            "pkg-1.0.data/scripts/tool"
        ));
    }
}
