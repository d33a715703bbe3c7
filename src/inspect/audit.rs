//! Checking an installed venv against its build manifest: every path the
//! manifest lists is compared (type, sha256, size, mode, link target), and
//! the venv prefix is walked for paths the manifest does not list. Bytecode
//! caches (`__pycache__` directories, made by postinst) are not findings.
//! Like debsums, with sha256 and the wheel each file came from.
//!
//! Where the manifest is found: `<root>/usr/share/doc/<package>/`; for a
//! prefix, the manifest there whose `prefix` matches. When dpkg's md5sums
//! for the package are present, the manifest itself is checked against them.
use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use md5::{Digest, Md5};
use serde::Serialize;

use super::hashio::{hex, sha256_file};
use super::manifest::{FileEntry, Manifest, MANIFEST_NAME};

/// One difference between the installed files and the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub path: String,
    /// "modified", "missing", "added", "mode", "type", "link target",
    /// "manifest modified".
    pub what: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// The wheel the file came from, per the manifest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wheel: Option<String>,
}

impl Finding {
    fn new(
        path: &str,
        what: &str,
        expected: Option<String>,
        actual: Option<String>,
        wheel: Option<&String>,
    ) -> Self {
        Finding {
            path: path.into(),
            what: what.into(),
            expected,
            actual,
            wheel: wheel.cloned(),
        }
    }

    /// One line of the text report.
    pub fn line(&self) -> String {
        let mut s = format!("{} {}", self.what, self.path);
        match (&self.expected, &self.actual) {
            (Some(e), Some(a)) => s.push_str(&format!(": expected {e}, found {a}")),
            (Some(e), None) => s.push_str(&format!(": expected {e}")),
            (None, Some(a)) => s.push_str(&format!(": {a}")),
            (None, None) => {}
        }
        if let Some(w) = &self.wheel {
            s.push_str(&format!(" (from {w})"));
        }
        s
    }
}

/// `path` (absolute, in-package) under `root`.
fn under(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

fn kind_of(meta: &fs::Metadata) -> &'static str {
    let ft = meta.file_type();
    if ft.is_symlink() {
        "symlink"
    } else if ft.is_dir() {
        "dir"
    } else if ft.is_file() {
        "file"
    } else {
        "special file"
    }
}

fn check_entry(root: &Path, f: &FileEntry, out: &mut Vec<Finding>) -> Result<()> {
    let full = under(root, &f.path);
    let meta = match fs::symlink_metadata(&full) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            out.push(Finding::new(
                &f.path,
                "missing",
                Some(f.kind.clone()),
                None,
                f.wheel.as_ref(),
            ));
            return Ok(());
        }
        Err(e) => return Err(e).with_context(|| format!("audit: reading {}", full.display())),
    };
    let kind = kind_of(&meta);
    if kind != f.kind {
        out.push(Finding::new(
            &f.path,
            "type",
            Some(f.kind.clone()),
            Some(kind.into()),
            f.wheel.as_ref(),
        ));
        return Ok(());
    }
    if let Some(mode) = &f.mode {
        let actual = format!("{:04o}", meta.mode() & 0o7777);
        if *mode != actual {
            out.push(Finding::new(
                &f.path,
                "mode",
                Some(mode.clone()),
                Some(actual),
                f.wheel.as_ref(),
            ));
        }
    }
    match kind {
        "symlink" => {
            let t = fs::read_link(&full)
                .with_context(|| format!("audit: reading link {}", full.display()))?;
            let t = t.to_string_lossy().into_owned();
            if f.target.as_deref() != Some(t.as_str()) {
                out.push(Finding::new(
                    &f.path,
                    "link target",
                    f.target.clone(),
                    Some(t),
                    f.wheel.as_ref(),
                ));
            }
        }
        "file" => {
            let (sha, size) = sha256_file(&full).context("audit")?;
            if f.sha256.as_deref() != Some(sha.as_str()) || f.size != Some(size) {
                out.push(Finding::new(
                    &f.path,
                    "modified",
                    Some(format!(
                        "sha256 {} ({} bytes)",
                        f.sha256.as_deref().unwrap_or("-"),
                        f.size.unwrap_or(0)
                    )),
                    Some(format!("sha256 {sha} ({size} bytes)")),
                    f.wheel.as_ref(),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

/// Walk `dir` (the in-package path `rel`) for paths the manifest lacks.
fn find_added(
    root: &Path,
    rel: &str,
    known: &BTreeSet<&str>,
    out: &mut Vec<Finding>,
) -> Result<()> {
    let dir = under(root, rel);
    let mut names: Vec<std::ffi::OsString> = fs::read_dir(&dir)
        .with_context(|| format!("audit: reading directory {}", dir.display()))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("audit: reading directory {}", dir.display()))?;
    names.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
    for name in names {
        let n = name.to_string_lossy();
        let path = format!("{rel}/{n}");
        let meta = fs::symlink_metadata(dir.join(&name))
            .with_context(|| format!("audit: reading {}", dir.join(&name).display()))?;
        if n == "__pycache__" && meta.is_dir() && !known.contains(path.as_str()) {
            continue; // bytecode made by postinst (py3compile)
        }
        if !known.contains(path.as_str()) {
            out.push(Finding::new(
                &path,
                "added",
                None,
                Some(kind_of(&meta).into()),
                None,
            ));
        } else if meta.is_dir() {
            find_added(root, &path, known, out)?;
        }
    }
    Ok(())
}

/// Compare the installed files under `root` with the manifest.
pub fn audit(root: &Path, m: &Manifest) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    for f in &m.files {
        check_entry(root, f, &mut out)?;
    }
    let known: BTreeSet<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
    let prefix = m.prefix.trim_end_matches('/');
    if fs::symlink_metadata(under(root, prefix))
        .map(|x| x.is_dir())
        .unwrap_or(false)
    {
        find_added(root, prefix, &known, &mut out)?;
    }
    out.sort_by(|a, b| {
        a.path
            .as_bytes()
            .cmp(b.path.as_bytes())
            .then(a.what.cmp(&b.what))
    });
    Ok(out)
}

/// Find the manifest for `target`: a package name (its doc directory) or a
/// venv prefix (an absolute path: the manifest whose prefix it is).
pub fn locate_manifest(root: &Path, target: &str) -> Result<(PathBuf, Manifest)> {
    // As built, or gzipped by dh_compress in a debhelper build.
    let in_doc_dir = |dir: &Path| {
        [MANIFEST_NAME.to_string(), format!("{MANIFEST_NAME}.gz")]
            .iter()
            .map(|n| dir.join(n))
            .find(|p| p.is_file())
    };
    if !target.starts_with('/') {
        let dir = under(root, &super::manifest::doc_dir(target));
        let Some(path) = in_doc_dir(&dir) else {
            bail!(
                "no venvdeb manifest for package {target:?} at {} (not built by venvdeb, not installed, or /usr/share/doc excluded by a dpkg path-exclude)",
                dir.join(MANIFEST_NAME).display()
            );
        };
        let m = Manifest::read(&path)?;
        return Ok((path, m));
    }
    let want = target.trim_end_matches('/');
    let docs = under(root, "/usr/share/doc");
    let mut found: Vec<PathBuf> = fs::read_dir(&docs)
        .with_context(|| format!("reading {}", docs.display()))?
        .filter_map(|e| e.ok().and_then(|e| in_doc_dir(&e.path())))
        .collect();
    found.sort();
    for p in found {
        let m = Manifest::read(&p)?;
        if m.prefix.trim_end_matches('/') == want {
            return Ok((p, m));
        }
    }
    bail!(
        "no venvdeb manifest under {} has the prefix {want}",
        docs.display()
    )
}

/// Check the manifest file against dpkg's md5sums of its package, when
/// dpkg has them (`<root>/var/lib/dpkg/info/<pkg>[:<arch>].md5sums`).
/// Returns a finding if it was altered; None if it matches or dpkg has no
/// record.
pub fn check_manifest_md5(
    root: &Path,
    manifest_file: &Path,
    m: &Manifest,
) -> Result<Option<Finding>> {
    let info = under(root, "/var/lib/dpkg/info");
    let candidates = [
        info.join(format!("{}.md5sums", m.package.name)),
        info.join(format!(
            "{}:{}.md5sums",
            m.package.name, m.package.architecture
        )),
    ];
    let Some(sums) = candidates.iter().find(|p| p.is_file()) else {
        return Ok(None);
    };
    // The path dpkg recorded: the manifest's own, relative to the root.
    let Ok(rel) = manifest_file.strip_prefix(root) else {
        return Ok(None);
    };
    let Some(rel) = rel.to_str() else {
        return Ok(None);
    };
    let rel = rel.trim_start_matches('/');
    let f = fs::File::open(sums).with_context(|| format!("reading {}", sums.display()))?;
    for line in BufReader::new(f).lines() {
        let line = line.with_context(|| format!("reading {}", sums.display()))?;
        let Some((sum, path)) = line.split_once("  ") else {
            continue;
        };
        if path != rel {
            continue;
        }
        let mut h = Md5::new();
        let mut file = fs::File::open(manifest_file)
            .with_context(|| format!("reading {}", manifest_file.display()))?;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = file
                .read(&mut buf)
                .with_context(|| format!("reading {}", manifest_file.display()))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        let actual = hex(&h.finalize());
        if actual != sum {
            return Ok(Some(Finding::new(
                &format!("/{rel}"),
                "manifest modified",
                Some(format!("md5 {sum} (dpkg's {})", sums.display())),
                Some(format!("md5 {actual}")),
                None,
            )));
        }
        return Ok(None);
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::super::manifest::{tests::sample, write_into};
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn finds_modified_missing_added_mode_and_ignores_pycache() {
        let d = tempfile::tempdir().unwrap();
        let input = sample(d.path());
        let w = write_into(d.path(), &input).unwrap();
        let m = Manifest::from_json(&w.manifest_json).unwrap();
        assert_eq!(audit(d.path(), &m).unwrap(), vec![]);
        let site = d.path().join("opt/venvs/demo/lib/python3.11/site-packages");
        fs::write(site.join("demo.py"), "print('pwned')\n").unwrap();
        fs::remove_file(d.path().join("opt/venvs/demo/pyvenv.cfg")).unwrap();
        fs::write(site.join("extra.py"), "").unwrap();
        fs::create_dir(site.join("__pycache__")).unwrap();
        fs::write(site.join("__pycache__/demo.cpython-311.pyc"), "x").unwrap();
        fs::set_permissions(
            site.join("demo-1.0.dist-info/METADATA"),
            fs::Permissions::from_mode(0o664),
        )
        .unwrap();
        let found = audit(d.path(), &m).unwrap();
        let lines: Vec<String> = found.iter().map(Finding::line).collect();
        let what: Vec<(&str, &str)> = found
            .iter()
            .map(|f| (f.what.as_str(), f.path.as_str()))
            .collect();
        assert_eq!(
            what,
            vec![
                (
                    "mode",
                    "/opt/venvs/demo/lib/python3.11/site-packages/demo-1.0.dist-info/METADATA"
                ),
                (
                    "modified",
                    "/opt/venvs/demo/lib/python3.11/site-packages/demo.py"
                ),
                (
                    "added",
                    "/opt/venvs/demo/lib/python3.11/site-packages/extra.py"
                ),
                ("missing", "/opt/venvs/demo/pyvenv.cfg"),
            ],
            "{lines:#?}"
        );
        assert!(
            lines[1].ends_with("(from Demo_App-1.0+local-py3-none-any.whl)"),
            "{}",
            lines[1]
        );
        // locating by package and by prefix
        let (p, _) = locate_manifest(d.path(), "demo").unwrap();
        assert_eq!(p, w.manifest_path);
        let (p, _) = locate_manifest(d.path(), "/opt/venvs/demo/").unwrap();
        assert_eq!(p, w.manifest_path);
        assert!(locate_manifest(d.path(), "other").is_err());
        // gzipped by dh_compress: still found, by name and by prefix
        let st = std::process::Command::new("gzip")
            .arg("-9n")
            .arg(&w.manifest_path)
            .status()
            .unwrap();
        assert!(st.success());
        let (p, gm) = locate_manifest(d.path(), "demo").unwrap();
        assert!(
            p.to_str().unwrap().ends_with("venvdeb-manifest.json.gz"),
            "{}",
            p.display()
        );
        assert_eq!(gm, m);
        assert_eq!(locate_manifest(d.path(), "/opt/venvs/demo").unwrap().1, m);
    }
}
