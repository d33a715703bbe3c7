//! Listing a directory, copying a file while hashing it, and exact file
//! modes, for the release side (digests and encodings are `crate::encoding`'s; atomic output is
//! `crate::atomic`).
use std::fs::{self, File};
use std::io;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::encoding::{hex, Hashing};

/// The entries directly in `dir` as (name, path), sorted bytewise by name;
/// a name that is not UTF-8 is an error.
pub(crate) fn listing(dir: &Path) -> Result<Vec<(String, std::path::PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let Ok(name) = entry.file_name().into_string() else {
            bail!(
                "{}: a file name is not valid UTF-8: {:?}",
                dir.display(),
                entry.file_name()
            );
        };
        out.push((name, entry.path()));
    }
    out.sort();
    Ok(out)
}

/// Copy `src` to `dst` (created new), returning the sha256 (hex) and size of
/// the bytes copied: the copy is what later steps read, so what was hashed is
/// what is used.
pub(crate) fn copy_hashed(src: &Path, dst: &Path) -> Result<(String, u64)> {
    let mut r = File::open(src).with_context(|| format!("opening {}", src.display()))?;
    let out = File::create_new(dst).with_context(|| format!("creating {}", dst.display()))?;
    let mut w = Hashing::new(out);
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
