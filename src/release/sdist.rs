//! Source distributions: find the sdists of a release, check each against
//! its sha256 pin before anything reads it, and unpack it safely.
//!
//! Verification copies each sdist into private scratch space while hashing
//! it, and only that copy is unpacked: the bytes that were checked are the
//! bytes that are built. A file that is not pinned, a pin without a file, or
//! a hash that differs is a verification failure (exit 3).
//!
//! Unpacking (`.tar.gz` and `.zip`) refuses, with the archive and member
//! named: absolute paths, `..`, backslashes, NUL, non-UTF-8 names,
//! duplicates, device files, FIFOs, hard links to anything but an earlier
//! regular member, symlinks that are absolute or resolve outside the tree
//! (and any symlink in a zip), and more than `limit` bytes in total. Files
//! get mode 0644 (0755 if any execute bit was set), directories 0755, and
//! every mtime is SOURCE_DATE_EPOCH: neither the umask nor the archive's
//! owners and times reach the build. Symlinks are created last, after every
//! file, so no write can go through one.
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::digest;
use super::pins::{normalize_name, Pin};

/// The archive formats accepted for sdists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    TarGz,
    Zip,
}

/// `{name}-{version}.tar.gz` / `.zip` → (name as written, version, kind).
pub(crate) fn parse_file_name(file_name: &str) -> Option<(String, String, Kind)> {
    let (stem, kind) = if let Some(s) = file_name.strip_suffix(".tar.gz") {
        (s, Kind::TarGz)
    } else if let Some(s) = file_name.strip_suffix(".zip") {
        (s, Kind::Zip)
    } else {
        return None;
    };
    let (name, version) = stem.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() {
        return None;
    }
    Some((name.to_string(), version.to_string(), kind))
}

/// An sdist whose copy in scratch space matched its pin.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedSdist {
    /// Normalized project name.
    pub name: String,
    pub version: String,
    pub file_name: String,
    /// The verified private copy: the only file later steps read.
    pub copy: PathBuf,
    pub kind: Kind,
}

/// Check every sdist in `dir` against `pins`, copying each into `scratch`.
pub(crate) fn verify_dir(
    dir: &Path,
    pins: &BTreeMap<String, Pin>,
    pin_file: &Path,
    scratch: &Path,
) -> Result<Vec<VerifiedSdist>> {
    let mut found: BTreeMap<String, (String, PathBuf, Kind, String)> = BTreeMap::new();
    for (file_name, path) in digest::listing(dir)? {
        let Some((name, version, kind)) = parse_file_name(&file_name) else {
            continue;
        };
        let key = normalize_name(&name);
        let Some(pin) = pins.get(&key) else {
            return Err(crate::exit::verification(format!(
                "{}: sdist {file_name} is not pinned in {}",
                dir.display(),
                pin_file.display()
            )));
        };
        if pin.version != version {
            return Err(crate::exit::verification(format!(
                "{}: {file_name} is version {version}, {} pins {key}=={}",
                path.display(),
                pin_file.display(),
                pin.version
            )));
        }
        if found
            .insert(key.clone(), (file_name.clone(), path, kind, version))
            .is_some()
        {
            bail!(
                "{}: two sdists of {key} (.tar.gz and .zip?): keep one",
                dir.display()
            );
        }
    }
    let mut out = Vec::new();
    for (key, pin) in pins {
        let Some((file_name, path, kind, version)) = found.remove(key) else {
            return Err(crate::exit::verification(format!(
                "{}: no sdist for {key}=={} pinned in {}",
                dir.display(),
                pin.version,
                pin_file.display()
            )));
        };
        let copy = scratch.join(&file_name);
        let (sha256, _) = digest::copy_hashed(&path, &copy)?;
        if !pin.hashes.contains(&sha256) {
            return Err(crate::exit::verification(format!(
                "{}: sha256 expected {} (pinned in {}), found {sha256}",
                path.display(),
                pin.hashes.iter().cloned().collect::<Vec<_>>().join(" or "),
                pin_file.display()
            )));
        }
        out.push(VerifiedSdist {
            name: key.clone(),
            version,
            file_name,
            copy,
            kind,
        });
    }
    Ok(out)
}

/// Check a member path and return it relative, without a leading `./`.
fn safe_rel(archive: &Path, raw: &[u8]) -> Result<String> {
    let name = std::str::from_utf8(raw).map_err(|_| {
        anyhow::anyhow!(
            "{}: member name {:?} is not UTF-8",
            archive.display(),
            String::from_utf8_lossy(raw)
        )
    })?;
    let trimmed = name
        .strip_prefix("./")
        .unwrap_or(name)
        .trim_end_matches('/');
    let bad = trimmed.is_empty()
        || trimmed.starts_with('/')
        || trimmed.contains('\\')
        || trimmed.contains('\0')
        || trimmed
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..");
    if bad {
        bail!("{}: unsafe member name {name:?}", archive.display());
    }
    Ok(trimmed.to_string())
}

/// Resolve a symlink target lexically from the link's directory; it must
/// stay inside the tree.
fn check_link_target(archive: &Path, link: &str, target: &str) -> Result<()> {
    if target.is_empty()
        || target.starts_with('/')
        || target.contains('\0')
        || target.contains('\\')
    {
        bail!(
            "{}: symlink {link} -> {target:?} is absolute or malformed",
            archive.display()
        );
    }
    let mut stack: Vec<&str> = link.split('/').collect();
    stack.pop();
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if stack.pop().is_none() {
                    bail!(
                        "{}: symlink {link} -> {target} points out of the tree",
                        archive.display()
                    );
                }
            }
            c => stack.push(c),
        }
    }
    Ok(())
}

enum Member {
    Dir,
    File,
}

struct Unpacker<'a> {
    archive: &'a Path,
    root: &'a Path,
    seen: BTreeMap<String, Member>,
    links: Vec<(String, String)>,
    total: u64,
    limit: u64,
    mtime: filetime::FileTime,
}

impl Unpacker<'_> {
    fn claim(&mut self, rel: &str, kind: Member) -> Result<()> {
        // Every parent must be (or become) a directory.
        let mut parent = String::new();
        for c in rel
            .split('/')
            .collect::<Vec<_>>()
            .split_last()
            .map(|x| x.1)
            .unwrap_or(&[])
        {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(c);
            match self.seen.get(&parent) {
                Some(Member::File) => bail!(
                    "{}: {rel} is inside {parent}, which is a file",
                    self.archive.display()
                ),
                Some(Member::Dir) => {}
                None => {
                    self.seen.insert(parent.clone(), Member::Dir);
                }
            }
        }
        match (self.seen.get(rel), &kind) {
            (Some(Member::Dir), Member::Dir) => return Ok(()),
            (Some(_), _) => bail!("{}: {rel} appears twice", self.archive.display()),
            (None, _) => {}
        }
        self.seen.insert(rel.to_string(), kind);
        Ok(())
    }

    fn dir(&mut self, rel: &str) -> Result<()> {
        self.claim(rel, Member::Dir)?;
        let p = self.root.join(rel);
        fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))
    }

    fn file(&mut self, rel: &str, exec: bool, r: &mut dyn Read) -> Result<()> {
        self.claim(rel, Member::File)?;
        let p = self.root.join(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        let mut f = File::create_new(&p).with_context(|| format!("creating {}", p.display()))?;
        let allowed = self.limit - self.total;
        let n = io::copy(&mut r.take(allowed + 1), &mut f)
            .with_context(|| format!("{}: extracting {rel}", self.archive.display()))?;
        if n > allowed {
            bail!(
                "{}: more than {} bytes unpacked (at {rel})",
                self.archive.display(),
                self.limit
            );
        }
        self.total += n;
        drop(f);
        digest::set_mode(&p, if exec { 0o755 } else { 0o644 })?;
        filetime::set_file_mtime(&p, self.mtime).with_context(|| format!("{}", p.display()))
    }

    fn finish(mut self) -> Result<PathBuf> {
        for (link, target) in std::mem::take(&mut self.links) {
            self.claim(&link, Member::File)?;
            let p = self.root.join(&link);
            if let Some(parent) = p.parent() {
                fs::create_dir_all(parent)?;
            }
            std::os::unix::fs::symlink(&target, &p)
                .with_context(|| format!("creating symlink {}", p.display()))?;
        }
        let tops: BTreeSet<&str> = self
            .seen
            .keys()
            .map(|k| k.split('/').next().unwrap_or_default())
            .collect();
        let top = match (tops.len(), tops.iter().next()) {
            (1, Some(t)) if matches!(self.seen.get(*t), Some(Member::Dir)) => t.to_string(),
            _ => bail!(
                "{}: an sdist must hold exactly one top-level directory, found {:?}",
                self.archive.display(),
                tops
            ),
        };
        for (rel, m) in self.seen.iter().rev() {
            if let Member::Dir = m {
                let p = self.root.join(rel);
                digest::set_mode(&p, 0o755)?;
                filetime::set_file_mtime(&p, self.mtime).ok();
            }
        }
        Ok(self.root.join(top))
    }
}

/// Unpack `archive` into the (empty) directory `root`; returns the sdist's
/// top-level directory.
pub(crate) fn unpack(
    archive: &Path,
    kind: Kind,
    root: &Path,
    limit: u64,
    sde: u64,
) -> Result<PathBuf> {
    let mut u = Unpacker {
        archive,
        root,
        seen: BTreeMap::new(),
        links: Vec::new(),
        total: 0,
        limit,
        mtime: filetime::FileTime::from_unix_time(sde.min(i64::MAX as u64) as i64, 0),
    };
    let f = File::open(archive).with_context(|| format!("opening {}", archive.display()))?;
    match kind {
        Kind::TarGz => unpack_tar(&mut u, flate2::read::GzDecoder::new(f))?,
        Kind::Zip => unpack_zip(&mut u, f)?,
    }
    u.finish()
}

fn unpack_tar(u: &mut Unpacker, r: impl Read) -> Result<()> {
    use tar::EntryType as T;
    let mut ar = tar::Archive::new(r);
    let mut hardlinks: Vec<(String, String)> = Vec::new();
    for e in ar
        .entries()
        .with_context(|| format!("{}: reading tar", u.archive.display()))?
    {
        let mut e = e.with_context(|| format!("{}: reading tar", u.archive.display()))?;
        let ty = e.header().entry_type();
        if matches!(ty, T::XGlobalHeader) {
            continue;
        }
        let raw = e.path_bytes().into_owned();
        if matches!(ty, T::Directory) && raw.strip_prefix(b"./").unwrap_or(&raw).is_empty() {
            continue; // the archive's own "./"
        }
        let rel = safe_rel(u.archive, &raw)?;
        match ty {
            T::Directory => u.dir(&rel)?,
            T::Regular | T::Continuous => {
                let exec = e.header().mode().unwrap_or(0) & 0o111 != 0;
                u.file(&rel, exec, &mut e)?;
            }
            T::Symlink => {
                let target = e
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                check_link_target(u.archive, &rel, &target)?;
                u.links.push((rel, target));
            }
            T::Link => {
                let target = e
                    .link_name_bytes()
                    .map(|t| t.into_owned())
                    .unwrap_or_default();
                let target = safe_rel(u.archive, &target)?;
                hardlinks.push((rel, target));
            }
            other => bail!(
                "{}: {rel} is a {other:?} entry (devices, FIFOs and others are refused)",
                u.archive.display()
            ),
        }
    }
    for (rel, target) in hardlinks {
        if !matches!(u.seen.get(&target), Some(Member::File))
            || u.links.iter().any(|(l, _)| *l == target)
        {
            bail!(
                "{}: hard link {rel} -> {target}: not an earlier regular member",
                u.archive.display()
            );
        }
        let src = u.root.join(&target);
        let exec = {
            use std::os::unix::fs::PermissionsExt;
            fs::metadata(&src)?.permissions().mode() & 0o111 != 0
        };
        let mut f = File::open(&src)?;
        u.file(&rel, exec, &mut f)?;
    }
    Ok(())
}

fn unpack_zip(u: &mut Unpacker, f: File) -> Result<()> {
    let mut z = zip::ZipArchive::new(f)
        .with_context(|| format!("{}: not a readable zip", u.archive.display()))?;
    for i in 0..z.len() {
        let mut e = z
            .by_index(i)
            .with_context(|| format!("{}: entry {i}", u.archive.display()))?;
        let rel = safe_rel(u.archive, e.name_raw())?;
        if e.encrypted() {
            bail!("{}: {rel} is encrypted", u.archive.display());
        }
        let mode = e.unix_mode().unwrap_or(0);
        if mode & 0o170000 == 0o120000 {
            bail!(
                "{}: {rel} is a symlink (refused in zip sdists)",
                u.archive.display()
            );
        }
        if e.is_dir() {
            u.dir(&rel)?;
        } else {
            u.file(&rel, mode & 0o111 != 0, &mut e)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (path, type, link target, data)
    type Spec<'a> = (&'a [u8], tar::EntryType, &'a [u8], &'a [u8]);

    fn tar_gz(entries: &[Spec]) -> Vec<u8> {
        // (path, type, link target, data), written with raw header names so
        // that hostile paths get through the builder.
        let mut b = tar::Builder::new(Vec::new());
        for (path, ty, link, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.as_old_mut().name[..path.len()].copy_from_slice(path);
            h.set_entry_type(*ty);
            h.set_mode(0o644);
            h.set_size(data.len() as u64);
            if !link.is_empty() {
                h.as_old_mut().linkname[..link.len()].copy_from_slice(link);
            }
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        let raw = b.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        io::Write::write_all(&mut gz, &raw).unwrap();
        gz.finish().unwrap()
    }

    fn try_unpack(entries: &[Spec]) -> (Result<PathBuf>, tempfile::TempDir) {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("x-1.tar.gz");
        fs::write(&a, tar_gz(entries)).unwrap();
        let root = d.path().join("root");
        fs::create_dir(&root).unwrap();
        (unpack(&a, Kind::TarGz, &root, 1 << 20, 1_700_000_000), d)
    }

    use tar::EntryType as T;

    #[test]
    fn unpacks_a_plain_sdist() {
        let (r, d) = try_unpack(&[
            (b"x-1/", T::Directory, b"", b""),
            (b"x-1/a.py", T::Regular, b"", b"print(1)\n"),
            (b"x-1/l", T::Symlink, b"a.py", b""),
            (b"x-1/h", T::Link, b"x-1/a.py", b""),
        ]);
        let top = r.unwrap();
        assert_eq!(top, d.path().join("root/x-1"));
        assert_eq!(fs::read(top.join("h")).unwrap(), b"print(1)\n");
        assert_eq!(fs::read_link(top.join("l")).unwrap(), Path::new("a.py"));
    }

    #[test]
    fn refuses_hostile_members() {
        let cases: Vec<Vec<Spec>> = vec![
            vec![(b"x-1/../../evil", T::Regular, b"", b"x")],
            vec![(b"/etc/evil", T::Regular, b"", b"x")],
            vec![(b"x-1/l", T::Symlink, b"../../etc/passwd", b"")],
            vec![(b"x-1/l", T::Symlink, b"/etc/passwd", b"")],
            vec![(b"x-1/dev", T::Char, b"", b"")],
            vec![(b"x-1/dev", T::Block, b"", b"")],
            vec![(b"x-1/fifo", T::Fifo, b"", b"")],
            vec![(b"x-1/h", T::Link, b"/etc/passwd", b"")],
            vec![(b"x-1/h", T::Link, b"x-1/missing", b"")],
            vec![
                (b"x-1/a", T::Regular, b"", b"1"),
                (b"x-1/a", T::Regular, b"", b"2"),
            ],
            vec![
                (b"x-1/a", T::Regular, b"", b"1"),
                (b"x-1/a/b", T::Regular, b"", b"2"),
            ],
            vec![(b"x-1/\xff", T::Regular, b"", b"1")],
            vec![
                (b"x-1/a", T::Regular, b"", b"1"),
                (b"y-1/a", T::Regular, b"", b"1"),
            ],
            vec![(b"x-1/a\\b", T::Regular, b"", b"1")],
        ];
        for c in cases {
            let (r, d) = try_unpack(&c);
            assert!(
                r.is_err(),
                "accepted {:?}",
                c.iter()
                    .map(|e| String::from_utf8_lossy(e.0))
                    .collect::<Vec<_>>()
            );
            // Nothing escaped the root.
            assert!(!d.path().join("evil").exists());
        }
    }

    #[test]
    fn size_limit_is_enforced() {
        let big = vec![b'a'; 4096];
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("x-1.tar.gz");
        fs::write(&a, tar_gz(&[(b"x-1/big", T::Regular, b"", &big)])).unwrap();
        let root = d.path().join("root");
        fs::create_dir(&root).unwrap();
        assert!(unpack(&a, Kind::TarGz, &root, 1000, 0).is_err());
    }

    #[test]
    fn file_names() {
        assert_eq!(
            parse_file_name("six-1.17.0.tar.gz"),
            Some(("six".into(), "1.17.0".into(), Kind::TarGz))
        );
        assert_eq!(
            parse_file_name("zope.interface-6.0.zip"),
            Some(("zope.interface".into(), "6.0".into(), Kind::Zip))
        );
        assert_eq!(parse_file_name("requirements.txt"), None);
    }

    fn zip_sdist(entries: &[(&str, u32, &[u8])]) -> (Result<PathBuf>, tempfile::TempDir) {
        use std::io::Write;
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("x-1.zip");
        let mut z = zip::ZipWriter::new(File::create(&a).unwrap());
        for (name, mode, data) in entries {
            if mode & 0o170000 == 0o120000 {
                z.add_symlink(
                    *name,
                    std::str::from_utf8(data).unwrap(),
                    zip::write::SimpleFileOptions::default(),
                )
                .unwrap();
            } else {
                z.start_file(
                    *name,
                    zip::write::SimpleFileOptions::default().unix_permissions(*mode),
                )
                .unwrap();
                z.write_all(data).unwrap();
            }
        }
        z.finish().unwrap();
        let root = d.path().join("root");
        fs::create_dir(&root).unwrap();
        (unpack(&a, Kind::Zip, &root, 1 << 20, 0), d)
    }

    #[test]
    fn zip_sdists_unpack_and_hostile_ones_are_refused() {
        let (r, d) = zip_sdist(&[
            ("x-1/setup.py", 0o644, b"x"),
            ("x-1/run.sh", 0o755, b"#!/bin/sh\n"),
        ]);
        let top = r.unwrap();
        assert_eq!(top, d.path().join("root/x-1"));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(top.join("run.sh"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o755
        );
        for bad in [
            vec![("x-1/../../evil", 0o644, &b"x"[..])],
            vec![("/abs/evil", 0o644, &b"x"[..])],
            vec![("x-1/link", 0o120777, &b"../../etc/passwd"[..])],
            vec![("x-1/link", 0o120777, &b"a"[..])],
            vec![
                ("x-1/a", 0o644, &b"x"[..]),
                ("x-1/A/../a", 0o644, &b"y"[..]),
            ],
        ] {
            let (r, d) = zip_sdist(&bad);
            assert!(
                r.is_err(),
                "accepted {:?}",
                bad.iter().map(|e| e.0).collect::<Vec<_>>()
            );
            assert!(!d.path().join("evil").exists());
        }
    }

    proptest::proptest! {
        #[test]
        fn member_names_never_panic_and_never_escape(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..40)) {
            if let Ok(rel) = safe_rel(Path::new("a.tar.gz"), &raw) {
                proptest::prop_assert!(!rel.starts_with('/'));
                proptest::prop_assert!(rel.split('/').all(|c| c != ".." && !c.is_empty()));
            }
        }

        #[test]
        fn link_targets_never_panic(link in "[a-z./]{0,12}", target in "[a-z./]{0,16}") {
            let _ = check_link_target(Path::new("a.tar.gz"), &link, &target);
        }

        #[test]
        fn file_names_never_panic(s in "\\PC{0,40}") {
            let _ = parse_file_name(&s);
        }
    }
}
