//! Checking an installed venv against its build manifest: every path the
//! manifest lists is compared (type, sha256, size, mode, link target), and
//! the venv prefix is walked for paths the manifest does not list. Bytecode
//! caches (`__pycache__` directories, made by postinst) are not findings.
//! Like debsums, with sha256 and the wheel each file came from.
//!
//! Where the manifest is found: `<root>/usr/share/doc/<package>/`; for a
//! prefix, the manifest there whose `prefix` matches. When dpkg's md5sums
//! for the package are present, the manifest itself is checked against them.
//!
//! Nothing outside `root` is ever read: a manifest path must be absolute and
//! normalized (no `.`, `..` or empty components; otherwise the audit stops
//! with an error naming it), and paths are resolved one component at a time
//! as inside a chroot (a symlink's absolute target starts again at `root`,
//! `..` stops at `root`); the last component is never followed, and a file
//! is hashed only if the file opened is the one examined.
use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use md5::{Digest, Md5};
use serde::Serialize;

use super::hashio::hex;
use super::manifest::{FileEntry, Manifest, MANIFEST_NAME};
use crate::deb::control;

/// One difference between the installed files and the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Finding {
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
    pub(crate) fn line(&self) -> String {
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

/// `path` (absolute, in-package) under `root`, without resolving anything:
/// for paths venvdeb itself names (`/usr/share/doc`, dpkg's info dir).
fn under(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

/// Symlinks followed while resolving one path, at most (as Linux's 40).
const MAX_LINKS: usize = 40;

/// An absolute, normalized in-package path: `/` then components that are
/// neither empty, `.` nor `..`, no NUL.
fn check_path(path: &str) -> Result<()> {
    let ok = path.len() > 1
        && path.starts_with('/')
        && !path.contains('\0')
        && path[1..]
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..");
    if !ok {
        bail!(
            "audit: the manifest lists {path:?}: expected an absolute, normalized path \
             (no '.', '..' or empty components); refusing to look outside the root"
        );
    }
    Ok(())
}

/// Where an in-package path is under `root`, resolved as in a chroot at
/// `root`: every directory on the way is looked at without following it
/// unless it is a symlink, which is then resolved inside `root` (absolute
/// targets from `root`, `..` never above it). The last component is not
/// followed. `None` when a directory on the way is missing or is not a
/// directory (the path then does not exist under `root`).
fn resolve(root: &Path, path: &str) -> Result<Option<PathBuf>> {
    check_path(path)?;
    let mut todo: std::collections::VecDeque<std::ffi::OsString> =
        path[1..].split('/').map(std::ffi::OsString::from).collect();
    let mut dirs: Vec<std::ffi::OsString> = Vec::new();
    let mut links = 0usize;
    let here = |dirs: &[std::ffi::OsString]| {
        let mut p = root.to_path_buf();
        p.extend(dirs);
        p
    };
    while let Some(comp) = todo.pop_front() {
        if comp.is_empty() || comp == "." {
            continue;
        }
        if comp == ".." {
            dirs.pop();
            continue;
        }
        let at = here(&dirs).join(&comp);
        if todo.is_empty() {
            return Ok(Some(at));
        }
        let meta = match fs::symlink_metadata(&at) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("audit: reading {}", at.display())),
        };
        if meta.file_type().is_symlink() {
            links += 1;
            if links > MAX_LINKS {
                bail!(
                    "audit: resolving {path} under {}: more than {MAX_LINKS} symbolic links",
                    root.display()
                );
            }
            let target = fs::read_link(&at)
                .with_context(|| format!("audit: reading link {}", at.display()))?;
            if target.is_absolute() {
                dirs.clear();
            }
            let parts: Vec<std::ffi::OsString> = target
                .components()
                .filter_map(|c| match c {
                    std::path::Component::Normal(n) => Some(n.to_os_string()),
                    std::path::Component::ParentDir => Some("..".into()),
                    _ => None,
                })
                .collect();
            for p in parts.into_iter().rev() {
                todo.push_front(p);
            }
        } else if meta.is_dir() {
            dirs.push(comp);
        } else {
            return Ok(None);
        }
    }
    Ok(Some(root.to_path_buf()))
}

/// sha256 and size of the regular file at `full`, which `meta` describes:
/// refused if the file opened is not that one (replaced meanwhile).
fn hash_examined(full: &Path, meta: &fs::Metadata) -> Result<(String, u64)> {
    let f = fs::File::open(full).with_context(|| format!("audit: opening {}", full.display()))?;
    let opened = f
        .metadata()
        .with_context(|| format!("audit: reading {}", full.display()))?;
    if opened.dev() != meta.dev() || opened.ino() != meta.ino() || !opened.is_file() {
        bail!(
            "audit: {} changed while it was checked (replaced by another file or a link)",
            full.display()
        );
    }
    super::hashio::sha256_reader(f).with_context(|| format!("audit: reading {}", full.display()))
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
    let missing = |out: &mut Vec<Finding>| {
        out.push(Finding::new(
            &f.path,
            "missing",
            Some(f.kind.clone()),
            None,
            f.wheel.as_ref(),
        ))
    };
    let Some(full) = resolve(root, &f.path)? else {
        missing(out);
        return Ok(());
    };
    let meta = match fs::symlink_metadata(&full) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            missing(out);
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
            let (sha, size) = hash_examined(&full, &meta)?;
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
    let Some(dir) = resolve(root, rel)? else {
        return Ok(());
    };
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
pub(crate) fn audit(root: &Path, m: &Manifest) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    for f in &m.files {
        check_entry(root, f, &mut out)?;
    }
    let known: BTreeSet<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
    let prefix = m.prefix.trim_end_matches('/');
    check_path(prefix)?;
    let at = resolve(root, prefix)?;
    if at.is_some_and(|at| fs::symlink_metadata(at).is_ok_and(|x| x.is_dir())) {
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

/// The regular file at the in-package `path` under `root` (resolved as by
/// [`resolve`]; the file itself not a symlink), if there is one.
fn regular_file_in(root: &Path, path: &str) -> Result<Option<PathBuf>> {
    Ok(resolve(root, path)?.filter(|p| fs::symlink_metadata(p).is_ok_and(|m| m.is_file())))
}

/// Find the manifest for `target`: a package name (its doc directory) or a
/// venv prefix (an absolute path: the manifest whose prefix it is).
pub(crate) fn locate_manifest(root: &Path, target: &str) -> Result<(PathBuf, Manifest)> {
    // As built, or gzipped by dh_compress in a debhelper build.
    let in_doc_dir = |package: &str| -> Result<Option<PathBuf>> {
        let dir = super::manifest::doc_dir(package);
        for n in [MANIFEST_NAME.to_string(), format!("{MANIFEST_NAME}.gz")] {
            if let Some(p) = regular_file_in(root, &format!("{dir}/{n}"))? {
                return Ok(Some(p));
            }
        }
        Ok(None)
    };
    if !target.starts_with('/') {
        if control::check_policy_package_name(target).is_err() {
            bail!("{target:?} is neither a Debian package name nor an absolute venv prefix");
        }
        let Some(path) = in_doc_dir(target)? else {
            bail!(
                "no venvdeb manifest for package {target:?} at {} (not built by venvdeb, not installed, or /usr/share/doc excluded by a dpkg path-exclude)",
                under(root, &super::manifest::manifest_path(target)).display()
            );
        };
        let m = Manifest::read(&path)?;
        return Ok((path, m));
    }
    let want = target.trim_end_matches('/');
    let docs = under(root, "/usr/share/doc");
    let Some(docs_dir) = resolve(root, "/usr/share/doc")? else {
        bail!("no venvdeb manifest: {} does not exist", docs.display());
    };
    let mut names: Vec<String> = fs::read_dir(&docs_dir)
        .with_context(|| format!("reading {}", docs.display()))?
        .filter_map(|e| e.ok().and_then(|e| e.file_name().into_string().ok()))
        .filter(|n| control::check_policy_package_name(n).is_ok())
        .collect();
    names.sort();
    for name in names {
        let Some(p) = in_doc_dir(&name)? else {
            continue;
        };
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
pub(crate) fn check_manifest_md5(
    root: &Path,
    manifest_file: &Path,
    m: &Manifest,
) -> Result<Option<Finding>> {
    let name = &m.package.name;
    let arch = &m.package.architecture;
    if control::check_policy_package_name(name).is_err() || !control::is_architecture_name(arch) {
        bail!(
            "audit: the manifest names the package {name:?} (architecture {arch:?}): not a Debian package name and architecture"
        );
    }
    let mut sums = None;
    for n in [format!("{name}.md5sums"), format!("{name}:{arch}.md5sums")] {
        if let Some(p) = regular_file_in(root, &format!("/var/lib/dpkg/info/{n}"))? {
            sums = Some(p);
            break;
        }
    }
    let Some(sums) = sums else {
        return Ok(None);
    };
    let sums = &sums;
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

    /// A file outside the audited root, and its sha256.
    fn secret(outside: &Path) -> (PathBuf, String) {
        let p = outside.join("secret.txt");
        fs::write(&p, "outside the root\n").unwrap();
        let (sha, _) = super::super::hashio::sha256_file(&p).unwrap();
        (p, sha)
    }

    fn audited(root: &Path) -> Manifest {
        let input = sample(root);
        let w = write_into(root, &input).unwrap();
        Manifest::from_json(&w.manifest_json).unwrap()
    }

    #[test]
    fn manifest_paths_with_dot_dot_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("root");
        fs::create_dir(&root).unwrap();
        let (secret, sha) = secret(d.path());
        let mut m = audited(&root);
        let depth = root.components().count() + 4;
        let escape = format!(
            "/opt/venvs/demo/{}{}",
            "../".repeat(depth),
            secret.display()
        );
        for bad in [
            escape.as_str(),
            "/opt/venvs/demo/./pyvenv.cfg",
            "/opt/venvs//demo",
            "opt/venvs/demo",
            "/",
        ] {
            let mut m = m.clone();
            let mut f = m.files[0].clone();
            f.path = bad.to_string();
            f.kind = "file".into();
            m.files.push(f);
            let e = format!("{:#}", audit(&root, &m).unwrap_err());
            assert!(e.contains("normalized") && !e.contains(&sha), "{bad}: {e}");
        }
        m.prefix = "/opt/venvs/../..".into();
        assert!(audit(&root, &m).is_err());
    }

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("root");
        fs::create_dir(&root).unwrap();
        let outside = d.path().join("outside");
        fs::create_dir_all(outside.join("venvs/demo")).unwrap();
        let (_, sha) = secret(&outside.join("venvs/demo"));
        let m = audited(&root);
        // The manifest lists a file the tree replaces by a link; and a
        // directory on the way is a symlink out of the root (absolute and
        // relative): each is resolved inside the root, never outside it.
        let mut m2 = m.clone();
        let mut f = m.files[0].clone();
        f.path = "/opt/venvs/demo/secret.txt".into();
        f.kind = "file".into();
        f.sha256 = Some("00".repeat(32));
        f.size = Some(1);
        m2.files.push(f);
        m2.files.sort_by(|a, b| a.path.cmp(&b.path));
        for target in [
            outside.clone(),
            PathBuf::from(format!("../{}", "../".repeat(20)))
                .join(outside.strip_prefix("/").unwrap()),
        ] {
            let opt = root.join("opt");
            let _ = fs::remove_dir_all(&opt);
            let _ = fs::remove_file(&opt);
            std::os::unix::fs::symlink(&target, &opt).unwrap();
            let found = audit(&root, &m2).unwrap();
            let text = format!("{found:?}");
            assert!(!text.contains(&sha), "read outside the root: {text}");
            assert!(
                found
                    .iter()
                    .any(|f| f.path == "/opt/venvs/demo/secret.txt" && f.what == "missing"),
                "{text}"
            );
        }
        // A link inside the root to another place inside it is followed.
        let _ = fs::remove_file(root.join("opt"));
        fs::create_dir_all(root.join("srv/venvs")).unwrap();
        let fresh = tempfile::tempdir().unwrap();
        let m = audited(fresh.path());
        fs::rename(
            fresh.path().join("opt/venvs/demo"),
            root.join("srv/venvs/demo"),
        )
        .unwrap();
        std::os::unix::fs::symlink("/srv", root.join("opt")).unwrap();
        let found = audit(&root, &m).unwrap();
        assert!(
            found
                .iter()
                .all(|f| f.what != "missing" && f.what != "modified"),
            "{found:?}"
        );
        // A listed file replaced by a link to a file outside: a type finding,
        // its target never read.
        let site = root.join("srv/venvs/demo/lib/python3.11/site-packages");
        fs::remove_file(site.join("demo.py")).unwrap();
        std::os::unix::fs::symlink(outside.join("venvs/demo/secret.txt"), site.join("demo.py"))
            .unwrap();
        let found = audit(&root, &m).unwrap();
        let text = format!("{found:?}");
        assert!(!text.contains(&sha), "{text}");
        assert!(
            found
                .iter()
                .any(|f| f.path.ends_with("/demo.py") && f.what == "type"),
            "{text}"
        );
    }

    #[test]
    fn package_names_are_checked_before_they_become_paths() {
        let d = tempfile::tempdir().unwrap();
        let e = format!("{:#}", locate_manifest(d.path(), "../../etc").unwrap_err());
        assert!(e.contains("neither a Debian package name"), "{e}");
        let mut m = audited(d.path());
        m.package.name = "../../../etc/x".into();
        let f = d.path().join("m.json");
        assert!(check_manifest_md5(d.path(), &f, &m).is_err());
    }
}
