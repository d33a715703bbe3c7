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
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            bail!(
                "{}: a file name is not valid UTF-8: {:?}",
                dir.display(),
                entry.file_name()
            );
        };
        if !name.ends_with(".whl") {
            continue;
        }
        if name.contains(['\n', '\r', '\\']) {
            bail!(
                "{}: file name {name:?} cannot be listed in sha256sum format",
                dir.display()
            );
        }
        let ft = entry
            .file_type()
            .with_context(|| format!("{}", entry.path().display()))?;
        if !ft.is_file() {
            bail!("{}: not a regular file", entry.path().display());
        }
        out.push((name.to_string(), entry.path()));
    }
    out.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
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
