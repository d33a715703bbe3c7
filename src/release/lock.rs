//! `venvdeb wheels lock`: the lock an application pins its wheels with,
//! written from a wheel directory. Either a hashed `requirements.txt`
//! (`name==version --hash=sha256:…`, every wheel of that version as one more
//! hash on the same line, names PEP 503-normalized, sorted) that pip accepts
//! with `--require-hashes`, or a PEP 751 `pylock.toml` (one `[[packages]]`
//! per name with a `wheels` entry per file: name, path relative to the lock
//! file, size, sha256). Both are what `venvdeb verify` reads back. The same
//! wheels always give the same bytes.
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::sums;
use crate::wheel::name::WheelName;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Requirements,
    Pylock,
}

/// One wheel file of a locked package.
#[derive(Debug, Clone)]
pub(crate) struct LockedWheel {
    pub file_name: String,
    pub sha256: String,
    pub size: u64,
}

/// normalized name → (version, wheels sorted by file name).
pub(crate) type Locked = BTreeMap<String, (String, Vec<LockedWheel>)>;

/// Group the wheels of `dir` by project; two versions of one project are an
/// error (a lock pins exactly one).
pub(crate) fn collect(dir: &Path) -> Result<Locked> {
    let mut out: Locked = BTreeMap::new();
    for (file_name, path) in sums::wheel_files(dir)? {
        let wn = WheelName::parse(&file_name).with_context(|| format!("{}", dir.display()))?;
        let name = wn.normalized_name();
        let (sha256, size) = crate::encoding::sha256_file(&path)?;
        let entry = out
            .entry(name.clone())
            .or_insert_with(|| (wn.version.clone(), Vec::new()));
        if entry.0 != wn.version {
            bail!(
                "{}: {name} has wheels of two versions ({} and {}); a lock pins one: lock from a directory holding one version",
                dir.display(),
                entry.0,
                wn.version
            );
        }
        entry.1.push(LockedWheel {
            file_name,
            sha256,
            size,
        });
    }
    Ok(out)
}

pub(crate) fn render_requirements(locked: &Locked) -> String {
    let mut s = String::from("# Written by venvdeb wheels lock: every wheel pinned by sha256.\n");
    for (name, (version, wheels)) in locked {
        let mut hashes: Vec<&str> = wheels.iter().map(|w| w.sha256.as_str()).collect();
        hashes.sort_unstable();
        hashes.dedup();
        s.push_str(&format!("{name}=={version}"));
        for h in hashes {
            s.push_str(&format!(" --hash=sha256:{h}"));
        }
        s.push('\n');
    }
    s
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// `wheel_prefix` is the wheel directory relative to the lock file's
/// directory ("" when they are the same).
pub(crate) fn render_pylock(locked: &Locked, wheel_prefix: &str) -> String {
    let mut s = String::from("lock-version = \"1.0\"\ncreated-by = \"venvdeb\"\n");
    for (name, (version, wheels)) in locked {
        s.push_str(&format!(
            "\n[[packages]]\nname = {}\nversion = {}\n",
            toml_str(name),
            toml_str(version)
        ));
        for w in wheels {
            s.push_str(&format!(
                "\n[[packages.wheels]]\nname = {}\npath = {}\nsize = {}\nhashes = {{ sha256 = {} }}\n",
                toml_str(&w.file_name),
                toml_str(&format!("{wheel_prefix}{}", w.file_name)),
                w.size,
                toml_str(&w.sha256)
            ));
        }
    }
    s
}

/// `to` relative to `from` (both made absolute), `/`-terminated, or "".
pub(crate) fn relative_dir(from: &Path, to: &Path) -> Result<String> {
    let from = from
        .canonicalize()
        .with_context(|| format!("{}", from.display()))?;
    let to = to
        .canonicalize()
        .with_context(|| format!("{}", to.display()))?;
    let f: Vec<Component> = from.components().collect();
    let t: Vec<Component> = to.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut rel = PathBuf::new();
    for _ in common..f.len() {
        rel.push("..");
    }
    for c in &t[common..] {
        rel.push(c.as_os_str());
    }
    let s = rel
        .to_str()
        .context("wheel directory path is not UTF-8")?
        .to_string();
    Ok(if s.is_empty() { s } else { format!("{s}/") })
}

/// Write the lock for `dir` to `output` in `format`; returns the count.
pub(crate) fn write(dir: &Path, output: &Path, format: Format) -> Result<usize> {
    let locked = collect(dir)?;
    let text = match format {
        Format::Requirements => render_requirements(&locked),
        Format::Pylock => {
            let lock_dir = match output.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            render_pylock(&locked, &relative_dir(&lock_dir, dir)?)
        }
    };
    crate::atomic::write(output, text.as_bytes())?;
    Ok(locked.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Locked {
        let w = |f: &str, h: &str| LockedWheel {
            file_name: f.into(),
            sha256: h.repeat(64),
            size: 7,
        };
        let mut l = Locked::new();
        l.insert(
            "foo-bar".into(),
            (
                "1.0".into(),
                vec![
                    w("foo_bar-1.0-cp311-cp311-linux_x86_64.whl", "b"),
                    w("foo_bar-1.0-py3-none-any.whl", "a"),
                ],
            ),
        );
        l.insert(
            "six".into(),
            (
                "1.17.0".into(),
                vec![w("six-1.17.0-py2.py3-none-any.whl", "c")],
            ),
        );
        l
    }

    #[test]
    fn requirements_one_line_per_project_hashes_sorted() {
        let t = render_requirements(&sample());
        let lines: Vec<&str> = t.lines().skip(1).collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with(&format!(
            "foo-bar==1.0 --hash=sha256:{} --hash=sha256:{}",
            "a".repeat(64),
            "b".repeat(64)
        )));
        assert!(super::super::pins::parse(&t).is_ok());
    }

    #[test]
    fn pylock_parses_as_toml() {
        let t = render_pylock(&sample(), "../wh/");
        let v: toml::Table = toml::from_str(&t).unwrap();
        assert_eq!(v["lock-version"].as_str(), Some("1.0"));
        let pk = v["packages"].as_array().unwrap();
        assert_eq!(pk[0]["wheels"].as_array().unwrap().len(), 2);
        assert_eq!(
            pk[1]["wheels"][0]["path"].as_str(),
            Some("../wh/six-1.17.0-py2.py3-none-any.whl")
        );
        assert_eq!(
            pk[1]["wheels"][0]["hashes"]["sha256"].as_str(),
            Some("c".repeat(64).as_str())
        );
    }

    #[test]
    fn relative_dirs() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a");
        let b = d.path().join("b/c");
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        assert_eq!(relative_dir(&a, &b).unwrap(), "../b/c/");
        assert_eq!(relative_dir(&a, &a).unwrap(), "");
    }
}
