//! Atomic output: every file venvdeb writes (a .deb, a wheel, a list, a
//! manifest, a man page) goes to a temporary file in its destination's
//! directory and is renamed into place only when complete; on any error, or
//! if the writer is dropped without committing, the temporary file is
//! removed. So after a failure no partial output is ever left under the
//! destination's name.
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
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let base = dest
            .file_name()
            .with_context(|| format!("output {} has no file name", dest.display()))?;
        for attempt in 0u32..100 {
            let mut name = std::ffi::OsString::from(".");
            name.push(base);
            name.push(format!(".venvdeb-tmp-{}-{attempt}", std::process::id()));
            let tmp = dir.join(name);
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

    /// Give the file mode 0644 (whatever the umask) and rename it into place.
    pub fn commit(mut self) -> Result<()> {
        drop(self.file.take());
        fs::set_permissions(&self.tmp, fs::Permissions::from_mode(MODE))
            .with_context(|| format!("setting the mode of {}", self.tmp.display()))?;
        fs::rename(&self.tmp, &self.dest).with_context(|| {
            format!("renaming {} to {}", self.tmp.display(), self.dest.display())
        })?;
        self.tmp = PathBuf::new();
        Ok(())
    }
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
pub fn write(dest: &Path, bytes: &[u8]) -> Result<()> {
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
}
