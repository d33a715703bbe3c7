//! Atomic output: every file venvdeb writes (a .deb, a wheel, a list, a
//! manifest, a man page) goes to a temporary file in its destination's
//! directory and is renamed into place only when complete; on any error, or
//! if the writer is dropped without committing, the temporary file is
//! removed. So after a failure no partial output is ever left under the
//! destination's name. The file is fsynced before the rename and its
//! directory after it, so a crash cannot leave a truncated file under the
//! final name either.
//!
//! Several outputs that belong together (a .deb and the documents beside
//! it) go through one [`OutputSet`]: all are written to temporary files
//! first, then renamed together; if one rename fails, the ones already
//! renamed are rolled back (a file they replaced is put back).
//!
//! Scratch space ([`TempDir`]) is here too: a directory that is gone again
//! however the command ends.
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The mode every output file gets, whatever the umask.
const MODE: u32 = 0o644;

/// A temporary file beside `dest`, removed on drop unless committed.
pub struct AtomicFile {
    tmp: PathBuf,
    dest: PathBuf,
    file: Option<File>,
}

impl AtomicFile {
    /// Create `.<name>.venvdeb-tmp-<pid>-<n>` beside `dest` (never an
    /// existing file), open for reading and writing.
    pub fn create(dest: &Path) -> Result<Self> {
        if dest.file_name().is_none() {
            bail!("output {} has no file name", dest.display());
        }
        for attempt in 0u32..100 {
            let tmp = beside_name(dest, "tmp", attempt);
            match OpenOptions::new()
                .write(true)
                .read(true)
                .create_new(true)
                .mode(MODE)
                .open(&tmp)
            {
                Ok(file) => {
                    return Ok(Self {
                        tmp,
                        dest: dest.to_path_buf(),
                        file: Some(file),
                    })
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot create {}", tmp.display()))
                }
            }
        }
        bail!("cannot create a temporary file beside {}", dest.display())
    }

    /// The open temporary file.
    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("AtomicFile used after commit")
    }

    /// Take the file out (e.g. to hand to a zip writer); `commit` still renames.
    pub fn take(&mut self) -> File {
        self.file.take().expect("AtomicFile used after commit")
    }

    /// Give the file mode 0644 (whatever the umask) and flush it to disk:
    /// everything before the rename.
    fn prepare(&mut self) -> Result<()> {
        let file = match self.file.take() {
            Some(f) => f,
            None => File::open(&self.tmp)
                .with_context(|| format!("reopening {}", self.tmp.display()))?,
        };
        file.set_permissions(fs::Permissions::from_mode(MODE))
            .with_context(|| format!("setting the mode of {}", self.tmp.display()))?;
        file.sync_all()
            .with_context(|| format!("syncing {}", self.tmp.display()))?;
        Ok(())
    }

    /// Rename the prepared file into place (nothing to remove on drop).
    fn rename(&mut self) -> Result<()> {
        fs::rename(&self.tmp, &self.dest).with_context(|| {
            format!("renaming {} to {}", self.tmp.display(), self.dest.display())
        })?;
        self.tmp = PathBuf::new();
        Ok(())
    }

    /// Mode 0644 whatever the umask, fsync, rename into place, fsync the
    /// directory.
    pub fn commit(mut self) -> Result<()> {
        self.prepare()?;
        self.rename()?;
        sync_dir(&self.dest)
    }
}

/// A new directory, mode 0700, removed with everything in it when dropped:
/// the scratch space of rebuild, diff and the wheel builds ([`TempDir::new`]),
/// or a directory tree built beside the one it replaces in one rename
/// ([`TempDir::beside`], [`TempDir::replace`]).
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    /// `<temp dir>/<prefix>-<pid>-<n>`.
    pub(crate) fn new(prefix: &str) -> Result<TempDir> {
        let base = std::env::temp_dir();
        Self::create(|n| base.join(format!("{prefix}-{}-{n}", std::process::id())))
    }

    /// `.<name>.venvdeb-tmp-<pid>-<n>` beside `dest`.
    pub(crate) fn beside(dest: &Path) -> Result<TempDir> {
        Self::create(|n| beside_name(dest, "tmp", n))
    }

    fn create(name: impl Fn(u32) -> PathBuf) -> Result<TempDir> {
        for n in 0..1000u32 {
            let p = name(n);
            match fs::create_dir(&p) {
                Ok(()) => {
                    let dir = TempDir(p);
                    fs::set_permissions(&dir.0, fs::Permissions::from_mode(0o700))
                        .with_context(|| format!("setting mode 700 on {}", dir.0.display()))?;
                    return Ok(dir);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e).with_context(|| format!("creating {}", p.display())),
            }
        }
        bail!("cannot create a temporary directory {}", name(0).display())
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    /// Rename the directory to `dest` (beside which it was made): what is
    /// at `dest` is moved aside first and removed once the new tree is in
    /// place, or put back if the rename fails; then the parent is fsynced.
    pub(crate) fn replace(mut self, dest: &Path) -> Result<()> {
        let aside = fs::symlink_metadata(dest).ok().map(|_| aside_name(dest));
        if let Some(a) = &aside {
            fs::rename(dest, a)
                .with_context(|| format!("moving {} aside to {}", dest.display(), a.display()))?;
        }
        if let Err(e) = fs::rename(&self.0, dest) {
            if let Some(a) = &aside {
                let _ = fs::rename(a, dest);
            }
            return Err(e)
                .with_context(|| format!("renaming {} to {}", self.0.display(), dest.display()));
        }
        self.0 = PathBuf::new();
        if let Some(a) = &aside {
            match fs::symlink_metadata(a) {
                Ok(m) if m.is_dir() => fs::remove_dir_all(a),
                _ => fs::remove_file(a),
            }
            .with_context(|| format!("removing the old {} at {}", dest.display(), a.display()))?;
        }
        sync_dir(dest)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.0.as_os_str().is_empty() {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

/// `.<name>.venvdeb-<tag>-<pid>-<n>` beside `dest` (in `.` for a bare name).
fn beside_name(dest: &Path, tag: &str, n: u32) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(dest.file_name().unwrap_or_default());
    name.push(format!(".venvdeb-{tag}-{}-{n}", std::process::id()));
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.join(name),
        _ => PathBuf::from(name),
    }
}

/// fsync the directory holding `path` (so that a rename in it is durable).
fn sync_dir(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing directory {}", dir.display()))
}

/// Outputs that appear together or not at all: add each complete temporary
/// file (`AtomicFile`, or bytes), then [`OutputSet::commit`]. Dropped
/// without committing, every temporary file is removed.
#[derive(Default)]
pub struct OutputSet {
    files: Vec<AtomicFile>,
}

impl OutputSet {
    pub fn new() -> OutputSet {
        OutputSet::default()
    }

    /// One more output, already written.
    pub fn push(&mut self, f: AtomicFile) {
        self.files.push(f);
    }

    /// One more output: `bytes` at `dest`, with modification time
    /// `mtime` (seconds since the epoch) when given.
    pub fn bytes(&mut self, dest: &Path, bytes: &[u8], mtime: Option<u64>) -> Result<()> {
        let mut f = AtomicFile::create(dest)?;
        f.file()
            .write_all(bytes)
            .with_context(|| format!("writing {}", dest.display()))?;
        if let Some(t) = mtime {
            let t = filetime::FileTime::from_unix_time(t as i64, 0);
            filetime::set_file_handle_times(f.file(), None, Some(t))
                .with_context(|| format!("setting the mtime of {}", dest.display()))?;
        }
        self.files.push(f);
        Ok(())
    }

    /// Rename every output into place, or none: a destination that is a
    /// directory (or named twice) fails before anything is renamed; a
    /// rename that fails undoes the ones before it (putting back files they
    /// replaced). Returns the final paths in the order added.
    pub fn commit(mut self) -> Result<Vec<PathBuf>> {
        for (i, f) in self.files.iter().enumerate() {
            if self.files[..i].iter().any(|g| g.dest == f.dest) {
                bail!("output {} is written twice", f.dest.display());
            }
            if let Ok(m) = fs::symlink_metadata(&f.dest) {
                if m.is_dir() {
                    bail!(
                        "output {} exists and is a directory; nothing was written",
                        f.dest.display()
                    );
                }
            }
        }
        for f in &mut self.files {
            f.prepare()?;
        }
        // Each destination that exists is first moved aside, to be put back
        // on failure or removed on success.
        let mut done: Vec<(PathBuf, Option<PathBuf>)> = Vec::new();
        let mut result = Ok(());
        for f in &mut self.files {
            let aside = match fs::symlink_metadata(&f.dest) {
                Ok(_) => {
                    let aside = aside_name(&f.dest);
                    if let Err(e) = fs::rename(&f.dest, &aside) {
                        result =
                            Err(e).with_context(|| format!("moving {} aside", f.dest.display()));
                        break;
                    }
                    Some(aside)
                }
                Err(_) => None,
            };
            let dest = f.dest.clone();
            if let Err(e) = f.rename() {
                if let Some(a) = &aside {
                    let _ = fs::rename(a, &dest);
                }
                result = Err(e);
                break;
            }
            done.push((dest, aside));
        }
        if let Err(e) = result {
            for (dest, aside) in done.iter().rev() {
                match aside {
                    Some(a) => {
                        let _ = fs::rename(a, dest);
                    }
                    None => {
                        let _ = fs::remove_file(dest);
                    }
                }
            }
            return Err(e.context("no output was written"));
        }
        for (_, aside) in &done {
            if let Some(a) = aside {
                let _ = fs::remove_file(a);
            }
        }
        let mut dirs: Vec<&Path> = done.iter().map(|(d, _)| d.as_path()).collect();
        dirs.dedup_by_key(|d| d.parent());
        for d in dirs {
            sync_dir(d)?;
        }
        Ok(done.into_iter().map(|(d, _)| d).collect())
    }
}

/// A free name beside `dest` for the file it replaces.
fn aside_name(dest: &Path) -> PathBuf {
    for n in 0u32.. {
        let p = beside_name(dest, "old", n);
        if fs::symlink_metadata(&p).is_err() {
            return p;
        }
    }
    unreachable!("u32 exhausted")
}

/// An open temporary file beside `dest`, already unlinked: scratch space
/// (read and write) that disappears with its last handle.
pub(crate) fn unlinked_beside(dest: &Path) -> Result<File> {
    let mut t = AtomicFile::create(dest)?;
    let file = t.take();
    fs::remove_file(&t.tmp).with_context(|| format!("removing {}", t.tmp.display()))?;
    // Nothing left for drop to remove.
    t.tmp = PathBuf::new();
    Ok(file)
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        drop(self.file.take());
        if !self.tmp.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Write `bytes` to `dest` atomically.
pub(crate) fn write(dest: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = AtomicFile::create(dest)?;
    f.file()
        .write_all(bytes)
        .with_context(|| format!("writing {}", dest.display()))?;
    f.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_dir_is_private_and_gone_after_drop() {
        use std::os::unix::fs::MetadataExt;
        let t = TempDir::new("venvdeb-atomic-test").unwrap();
        let p = t.path().to_path_buf();
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o7777, 0o700);
        fs::create_dir(p.join("sub")).unwrap();
        fs::write(p.join("sub/f"), b"x").unwrap();
        let other = TempDir::new("venvdeb-atomic-test").unwrap();
        assert_ne!(other.path(), p);
        drop(t);
        assert!(fs::symlink_metadata(&p).is_err());
        assert!(other.path().is_dir());
        // A tree built beside `dest` replaces it in one rename: first a
        // file, then the directory the first round left.
        let dest = other.path().join("out");
        fs::write(&dest, b"old file").unwrap();
        for round in [&b"1"[..], b"2"] {
            let t = TempDir::beside(&dest).unwrap();
            fs::write(t.path().join("new"), round).unwrap();
            t.replace(&dest).unwrap();
            assert_eq!(fs::read(dest.join("new")).unwrap(), round);
            assert_eq!(
                fs::read_dir(other.path()).unwrap().count(),
                1,
                "nothing beside it"
            );
        }
    }

    #[test]
    fn leaves_nothing_when_dropped() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("out.txt");
        {
            let mut f = AtomicFile::create(&dest).unwrap();
            f.file().write_all(b"x").unwrap();
        }
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 0);
        write(&dest, b"y").unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"y");
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn mode_is_0644_whatever_the_umask() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("out");
        let mut f = AtomicFile::create(&dest).unwrap();
        fs::set_permissions(f.tmp.clone(), fs::Permissions::from_mode(0o600)).unwrap();
        f.file().write_all(b"z").unwrap();
        f.commit().unwrap();
        assert_eq!(
            fs::metadata(&dest).unwrap().permissions().mode() & 0o7777,
            0o644
        );
    }

    #[test]
    fn replaces_an_existing_file_only_on_commit() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("out");
        fs::write(&dest, b"old").unwrap();
        {
            let mut f = AtomicFile::create(&dest).unwrap();
            f.file().write_all(b"new").unwrap();
        }
        assert_eq!(fs::read(&dest).unwrap(), b"old");
        write(&dest, b"new").unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"new");
    }

    #[test]
    fn output_set_all_or_nothing() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a.deb");
        let b = d.path().join("a.json");
        fs::write(&a, b"old deb").unwrap();
        // The second destination is a directory: nothing is renamed.
        fs::create_dir(&b).unwrap();
        let mut set = OutputSet::new();
        set.bytes(&a, b"new deb", Some(5)).unwrap();
        set.bytes(&b, b"json", None).unwrap();
        let e = set.commit().unwrap_err();
        assert!(format!("{e:#}").contains("is a directory"), "{e:#}");
        assert_eq!(fs::read(&a).unwrap(), b"old deb");
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 2);
        fs::remove_dir(&b).unwrap();
        // A rename that fails after the first one: the first is undone and
        // the file it replaced put back.
        let mut set = OutputSet::new();
        set.bytes(&a, b"new deb", Some(5)).unwrap();
        let mut f = AtomicFile::create(&b).unwrap();
        f.file().write_all(b"json").unwrap();
        fs::remove_file(&f.tmp).unwrap();
        set.push(f);
        let e = set.commit().unwrap_err();
        assert!(format!("{e:#}").contains("no output was written"), "{e:#}");
        assert_eq!(fs::read(&a).unwrap(), b"old deb");
        assert!(!b.exists());
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
        // Success: both in place, mtime as asked, nothing else left.
        let mut set = OutputSet::new();
        set.bytes(&a, b"new deb", Some(5)).unwrap();
        set.bytes(&b, b"json", None).unwrap();
        assert_eq!(set.commit().unwrap(), vec![a.clone(), b.clone()]);
        assert_eq!(fs::read(&a).unwrap(), b"new deb");
        assert_eq!(fs::read(&b).unwrap(), b"json");
        assert_eq!(
            filetime::FileTime::from_last_modification_time(&fs::metadata(&a).unwrap())
                .unix_seconds(),
            5
        );
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 2);
        // Dropped uncommitted: nothing.
        let mut set = OutputSet::new();
        set.bytes(&d.path().join("c"), b"c", None).unwrap();
        drop(set);
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 2);
    }
}
