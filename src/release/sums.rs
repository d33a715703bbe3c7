//! `venvdeb wheels sums`: the `sha256sum`-format list of a wheel directory,
//! the file the release manager signs. One line per `*.whl` file,
//! `<64 hex>  <file name>`, sorted bytewise by name, so that `sha256sum -c`
//! run inside the directory passes and the same wheels always give the
//! same bytes.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The `*.whl` files directly in `dir`, sorted bytewise by file name. Names
/// that are not UTF-8 or that `sha256sum` would have to escape (newline,
/// backslash) are errors.
pub(crate) fn wheel_files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = super::digest::listing(dir)?;
    out.retain(|(name, _)| name.ends_with(".whl"));
    for (name, path) in &out {
        if name.contains(['\n', '\r', '\\']) {
            bail!(
                "{}: file name {name:?} cannot be listed in sha256sum format",
                dir.display()
            );
        }
        let ft = std::fs::symlink_metadata(path).with_context(|| format!("{}", path.display()))?;
        if !ft.is_file() {
            bail!("{}: not a regular file", path.display());
        }
    }
    if out.is_empty() {
        bail!("{}: no .whl files", dir.display());
    }
    Ok(out)
}

/// The list's text for the wheels in `dir`.
pub(crate) fn render(dir: &Path) -> Result<String> {
    let mut text = String::new();
    for (name, path) in wheel_files(dir)? {
        let (hex, _) = crate::encoding::sha256_file(&path)?;
        text.push_str(&format!("{hex}  {name}\n"));
    }
    Ok(text)
}

/// Write the list for `dir` to `output` (atomically).
pub(crate) fn write(dir: &Path, output: &Path) -> Result<usize> {
    let text = render(dir)?;
    crate::atomic::write(output, text.as_bytes())?;
    Ok(text.lines().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_bytewise_and_only_wheels() {
        let d = tempfile::tempdir().unwrap();
        for n in [
            "b-1-py3-none-any.whl",
            "B-1-py3-none-any.whl",
            "a-1-py3-none-any.whl",
            "x.txt",
        ] {
            std::fs::write(d.path().join(n), n).unwrap();
        }
        let t = render(d.path()).unwrap();
        let names: Vec<&str> = t.lines().map(|l| &l[66..]).collect();
        assert_eq!(
            names,
            [
                "B-1-py3-none-any.whl",
                "a-1-py3-none-any.whl",
                "b-1-py3-none-any.whl"
            ]
        );
        assert!(t.lines().all(|l| l.as_bytes()[64..66] == *b"  "));
    }

    #[test]
    fn empty_dir_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        assert!(render(d.path()).is_err());
    }
}
