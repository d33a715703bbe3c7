//! The build manifest venvdeb puts into every package, at
//! `/usr/share/doc/<package>/venvdeb-manifest.json`, and beside the .deb:
//! the tool version, SOURCE_DATE_EPOCH, the target interpreter, the signer
//! fingerprints, each input wheel and each installed path with its sha256,
//! mode and the wheel it came from.
//!
//! Deterministic: keys sorted at every level, entries sorted (wheels by file
//! name, files by path bytes), two-space pretty JSON with a final newline,
//! no time but SOURCE_DATE_EPOCH. The manifest does not list itself.
//! The tree is walked in that order (a directory's own entry sorts by its
//! name, what is below it by its name and `/`), each entry written as it
//! comes: nothing the size of the listing is held.
//!
//! The build calls [`write_into`] at the end of staging, after every file of
//! the package is in place and before md5sums and Installed-Size are
//! computed; then [`add_beside`] adds them to the outputs committed with the .deb. Reading it back
//! (for `audit`, `rebuild --check`): [`Manifest::from_json`].
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

pub use super::canonical::{canonical, to_canonical_json};
use super::hashio::sha256_file;
use super::sbom;

/// The manifest's file name, in `/usr/share/doc/<package>/`.
pub const MANIFEST_NAME: &str = "venvdeb-manifest.json";
/// Identifies this document's format.
pub const FORMAT: &str = "venvdeb-manifest/1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Tool {
    /// This venvdeb.
    pub fn current() -> Tool {
        Tool {
            name: "venvdeb".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// The Debian package the manifest describes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageId {
    pub name: String,
    pub version: String,
    pub architecture: String,
}

/// The interpreter the venv was built for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interpreter {
    /// Absolute path, e.g. `/usr/bin/python3`.
    pub path: String,
    /// Its full version, e.g. `3.11.2`.
    pub version: String,
}

/// One input wheel that was installed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputWheel {
    pub filename: String,
    pub sha256: String,
    /// Distribution name as in the wheel's METADATA.
    pub name: String,
    pub version: String,
}

/// One path of the package (DEBIAN/ aside).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Absolute path as installed, e.g. `/opt/venvs/demo/bin/demo`.
    pub path: String,
    /// "file", "dir" or "symlink".
    #[serde(rename = "type")]
    pub kind: String,
    /// Permission bits in octal, e.g. "0644" (not for symlinks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Symlink target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// File name of the wheel this file was installed from; absent for
    /// files venvdeb generated (pyvenv.cfg, launchers, RECORD, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wheel: Option<String>,
}

/// The build manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub tool: Tool,
    pub package: PackageId,
    pub source_date_epoch: u64,
    pub interpreter: Interpreter,
    /// The venv's prefix, e.g. `/opt/venvs/demo`.
    pub prefix: String,
    /// OpenPGP fingerprints (uppercase hex) of the signers of the wheel list.
    pub signers: Vec<String>,
    pub wheels: Vec<InputWheel>,
    pub files: Vec<FileEntry>,
    /// Modules taken from Debian's packages (`[venv] system-site-packages`),
    /// absent when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub system_modules: Vec<SystemModule>,
}

pub use super::sbom::SystemModule;

/// What the build hands over at the end of staging.
#[derive(Debug, Clone)]
pub struct ManifestInput {
    pub package: PackageId,
    pub source_date_epoch: u64,
    pub interpreter: Interpreter,
    /// The venv prefix, absolute (e.g. `/opt/venvs/demo`).
    pub prefix: String,
    /// Signer fingerprints (`VerifiedWheelhouse::signers()`).
    pub signers: Vec<String>,
    /// The wheels installed.
    pub wheels: Vec<InputWheel>,
    /// Installed absolute path → file name of the wheel it came from, for
    /// every file unpacked from a wheel (files not listed are "generated").
    pub origins: BTreeMap<String, String>,
    /// Also write the CycloneDX SBOM (`sbom::SBOM_NAME`) beside the manifest.
    pub sbom: bool,
    /// Modules taken from Debian's packages (`crate::system_site`).
    pub system_modules: Vec<SystemModule>,
}

/// Where `write_into` put its documents (paths inside the staging root),
/// and their bytes (for `add_beside` and for tests).
#[derive(Debug, Clone)]
pub struct Written {
    pub manifest_path: PathBuf,
    /// The manifest's bytes from `write_into`; empty from `write_docs`,
    /// which streams them to `manifest_path` only.
    pub manifest_json: Vec<u8>,
    pub sbom_path: Option<PathBuf>,
    pub sbom_json: Option<Vec<u8>>,
    /// The regular files the manifest lists under the prefix, and their
    /// bytes.
    pub prefix_files: u64,
    pub prefix_bytes: u64,
}

impl Manifest {
    /// The canonical JSON bytes: `to_canonical_json` of the whole, made
    /// one file entry at a time (a JSON value tree of tens of thousands of
    /// entries would cost far more memory than the entries themselves).
    pub fn to_json(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.write_json(&mut out)?;
        Ok(out)
    }

    /// [`to_json`](Self::to_json) into `out`, one file entry at a time
    /// (nothing the size of the whole is held).
    pub fn write_json(&self, out: &mut dyn Write) -> Result<()> {
        let mut json = JsonWriter::new(&self.clone_without_files(), out)?;
        for f in &self.files {
            json.entry(f)?;
        }
        json.finish()
    }

    /// A copy with no file entries (cheap whatever the package's size).
    fn clone_without_files(&self) -> Manifest {
        Manifest {
            format: self.format.clone(),
            tool: self.tool.clone(),
            package: self.package.clone(),
            source_date_epoch: self.source_date_epoch,
            interpreter: self.interpreter.clone(),
            prefix: self.prefix.clone(),
            signers: self.signers.clone(),
            wheels: self.wheels.clone(),
            files: Vec::new(),
            system_modules: self.system_modules.clone(),
        }
    }

    /// Parse a manifest, refusing another format.
    pub fn from_json(bytes: &[u8]) -> Result<Manifest> {
        let m: Manifest = serde_json::from_slice(bytes).context("parsing the venvdeb manifest")?;
        if m.format != FORMAT {
            bail!(
                "unsupported manifest format {:?} (expected {FORMAT:?})",
                m.format
            );
        }
        Ok(m)
    }

    /// Read a manifest file.
    /// Read a manifest file; a `.gz` one (dh_compress gzips documentation
    /// files over 4 KiB in dh builds) is decompressed.
    pub fn read(path: &Path) -> Result<Manifest> {
        let f = fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
        let mut bytes = Vec::new();
        let gz = path.extension().is_some_and(|e| e == "gz");
        let r: Box<dyn std::io::Read> = if gz {
            Box::new(flate2::read::GzDecoder::new(f))
        } else {
            Box::new(f)
        };
        std::io::Read::read_to_end(&mut std::io::Read::take(r, 256 << 20), &mut bytes)
            .with_context(|| format!("reading {}", path.display()))?;
        Manifest::from_json(&bytes).with_context(|| format!("reading {}", path.display()))
    }

    /// The entry of an absolute path.
    pub fn file(&self, path: &str) -> Option<&FileEntry> {
        self.files
            .binary_search_by(|f| f.path.as_bytes().cmp(path.as_bytes()))
            .ok()
            .map(|i| &self.files[i])
    }
}

/// Writes a manifest's JSON one file entry at a time: the bytes of
/// `to_canonical_json` of the whole, without holding the whole. The head
/// (everything but the files) is written before the first entry, the
/// entries spliced in, indented as the pretty printer indents an object
/// inside the top-level object's array.
struct JsonWriter<'a> {
    out: &'a mut dyn Write,
    /// The canonical JSON of the manifest without files.
    head: Vec<u8>,
    /// Where its empty files array is (`EMPTY_FILES`).
    files_at: usize,
    /// Entries written so far.
    files: usize,
}

/// The empty files array in `JsonWriter::head`, where the entries go.
const EMPTY_FILES: &[u8] = b"\n  \"files\": [],\n";

impl<'a> JsonWriter<'a> {
    /// For `head`, a manifest without files.
    fn new(head: &Manifest, out: &'a mut dyn Write) -> Result<JsonWriter<'a>> {
        let head = to_canonical_json(head)?;
        let files_at = head
            .windows(EMPTY_FILES.len())
            .position(|w| w == EMPTY_FILES)
            .context("internal: no files key in the manifest")?;
        Ok(JsonWriter {
            out,
            head,
            files_at,
            files: 0,
        })
    }

    /// The next file entry (in the manifest's order).
    fn entry(&mut self, f: &FileEntry) -> Result<()> {
        if self.files == 0 {
            self.out.write_all(&self.head[..self.files_at])?;
            self.out.write_all(b"\n  \"files\": [\n")?;
        } else {
            self.out.write_all(b",\n")?;
        }
        let one = to_canonical_json(f)?;
        let one = one.strip_suffix(b"\n").unwrap_or(&one);
        for (j, line) in one.split(|&b| b == b'\n').enumerate() {
            if j > 0 {
                self.out.write_all(b"\n")?;
            }
            self.out.write_all(b"    ")?;
            self.out.write_all(line)?;
        }
        self.files += 1;
        Ok(())
    }

    /// The end of the files array and the rest of the head (or the head
    /// as it is, with no entries).
    fn finish(self) -> Result<()> {
        if self.files == 0 {
            self.out.write_all(&self.head)?;
            return Ok(());
        }
        self.out.write_all(b"\n  ],\n")?;
        self.out
            .write_all(&self.head[self.files_at + EMPTY_FILES.len()..])?;
        Ok(())
    }
}

/// The directory (inside the package) holding the manifest and SBOM.
pub fn doc_dir(package: &str) -> String {
    format!("/usr/share/doc/{package}")
}

/// The absolute in-package path of the manifest.
pub fn manifest_path(package: &str) -> String {
    format!("{}/{MANIFEST_NAME}", doc_dir(package))
}

fn check_name(package: &str) -> Result<()> {
    let ok = !package.is_empty()
        && package
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b))
        && package.as_bytes()[0].is_ascii_alphanumeric();
    if !ok {
        bail!("manifest: {package:?} is not a valid Debian package name");
    }
    Ok(())
}

/// Describe the in-package paths `paths` (absolute), each with everything
/// below it, in the staging tree `root`, sorted by path bytes; `skip`
/// (absolute in-package paths) are left out. A path that does not exist is
/// an error.
pub fn scan_tree(root: &Path, paths: &[String], skip: &[String]) -> Result<Vec<FileEntry>> {
    scan_tree_known(root, paths, skip, &Known::new())
}

/// What the caller knows of the tree better than the disk does.
#[derive(Debug, Default)]
pub struct Known {
    /// In-package path → (sha256 hex, size) of files on disk whose bytes
    /// the caller already hashed on their way into the tree (the
    /// installer): not read again.
    pub hashes: BTreeMap<String, (String, u64)>,
    /// The tree is not normalized on disk (`venvdeb build`, whose .deb
    /// writer normalizes as it reads, `deb::DebOptions::normalize`): list
    /// the modes normalization gives.
    pub canonical_modes: bool,
    /// The files and directories of the tree that are not on disk.
    pub(crate) absent: crate::tree::Absent,
    /// The absent files' sha256, size and wheel, indexed by
    /// `AbsentKind::File::source` (one entry per absent file).
    pub(crate) absent_files: Vec<AbsentFile>,
    /// The file names of the wheels `AbsentFile::wheel` indexes.
    pub(crate) absent_wheels: Vec<String>,
}

/// An absent file as the installer planned it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AbsentFile {
    pub sha256: [u8; 32],
    pub size: u64,
    /// Index into `Known::absent_wheels`.
    pub wheel: u32,
}

impl Known {
    pub fn new() -> Known {
        Known::default()
    }
}

/// [`scan_tree`], taking the sha256 and size of the `known` files from
/// there instead of reading them.
pub fn scan_tree_known(
    root: &Path,
    paths: &[String],
    skip: &[String],
    known: &Known,
) -> Result<Vec<FileEntry>> {
    let mut out = Vec::new();
    walk_tree(root, paths, skip, known, &mut |f| {
        out.push(f);
        Ok(())
    })?;
    Ok(out)
}

/// [`scan_tree_known`] one entry at a time: `emit` is given each entry
/// already in path-byte order (nothing the size of the tree is held).
/// Returns how many absent files were listed.
fn walk_tree(
    root: &Path,
    paths: &[String],
    skip: &[String],
    known: &Known,
    emit: &mut dyn FnMut(FileEntry) -> Result<()>,
) -> Result<usize> {
    let mut tops: Vec<String> = paths
        .iter()
        .map(|p| p.trim_end_matches('/').to_string())
        .collect();
    tops.sort();
    tops.dedup();
    let mut nodes = Vec::new();
    for top in &tops {
        if !top.starts_with('/') || top.split('/').any(|c| c == ".." || c == ".") || top.len() < 2 {
            bail!("manifest: {top:?} is not an absolute path inside the package");
        }
        if tops
            .iter()
            .any(|t| t != top && top.starts_with(&format!("{t}/")))
        {
            continue; // listed with its parent
        }
        if skip.contains(top) {
            continue;
        }
        nodes.push(Node::on_disk(root.join(top.trim_start_matches('/')), top)?);
    }
    let mut walk = Walk {
        skip,
        known,
        emit,
        absent_files: 0,
    };
    walk.in_order(nodes)?;
    Ok(walk.absent_files)
}

/// One path of the tree, described when its turn comes.
struct Node {
    /// On disk (absent or not): where it would be.
    full: PathBuf,
    /// In the package.
    path: String,
    kind: NodeKind,
}

/// What a path is: on disk (its metadata, not following a symlink) or
/// absent.
enum NodeKind {
    Disk(fs::Metadata),
    Absent(crate::tree::AbsentKind),
}

impl Node {
    /// A path on disk (it must exist).
    fn on_disk(full: PathBuf, path: &str) -> Result<Node> {
        let meta = fs::symlink_metadata(&full)
            .with_context(|| format!("manifest: reading {}", full.display()))?;
        Ok(Node {
            full,
            path: path.to_string(),
            kind: NodeKind::Disk(meta),
        })
    }

    fn is_dir(&self) -> bool {
        match &self.kind {
            NodeKind::Disk(meta) => meta.file_type().is_dir(),
            NodeKind::Absent(kind) => matches!(kind, crate::tree::AbsentKind::Dir),
        }
    }
}

/// The order in which a directory's (or the tops') entries are listed:
/// each node's own entry sorts by its path, a directory's descendants as
/// its path and `/` (so "foo" < "foo-bar" < "foo/x", bytewise). Each item
/// is (node index, its descendants).
fn listing_order(nodes: &[Node]) -> Vec<(usize, bool)> {
    let mut keys: Vec<(usize, bool)> = (0..nodes.len())
        .flat_map(|i| {
            let below = nodes[i].is_dir().then_some((i, true));
            std::iter::once((i, false)).chain(below)
        })
        .collect();
    let key = |&(i, below): &(usize, bool)| {
        let slash: &[u8] = if below { b"/" } else { b"" };
        nodes[i].path.as_bytes().iter().chain(slash)
    };
    keys.sort_by(|a, b| key(a).cmp(key(b)));
    keys
}

/// The walk's state: what it lists and to whom.
struct Walk<'a> {
    skip: &'a [String],
    known: &'a Known,
    emit: &'a mut dyn FnMut(FileEntry) -> Result<()>,
    /// Absent files listed so far.
    absent_files: usize,
}

impl Walk<'_> {
    /// List `nodes` (siblings, or the tops) and what is below them, in
    /// path-byte order.
    fn in_order(&mut self, nodes: Vec<Node>) -> Result<()> {
        for (i, below) in listing_order(&nodes) {
            if below {
                self.children(&nodes[i])?;
            } else {
                let entry = self.describe(&nodes[i])?;
                (self.emit)(entry)?;
            }
        }
        Ok(())
    }

    /// List what is below the directory `dir`: the names on disk and the
    /// absent ones (`tree::merge`).
    fn children(&mut self, dir: &Node) -> Result<()> {
        let on_disk = matches!(dir.kind, NodeKind::Disk(_));
        let names = crate::tree::read_names(&dir.full, on_disk)
            .with_context(|| format!("manifest: reading directory {}", dir.full.display()))?;
        let mut nodes = Vec::new();
        for (name, absent) in crate::tree::merge(&dir.full, names, &self.known.absent)? {
            let Some(n) = name.to_str() else {
                bail!(
                    "manifest: {} holds a name that is not UTF-8: {:?}",
                    dir.full.display(),
                    name
                );
            };
            let path = format!("{}/{n}", dir.path);
            if self.skip.contains(&path) {
                continue;
            }
            let full = dir.full.join(&name);
            nodes.push(match absent {
                None => Node::on_disk(full, &path)?,
                Some(kind) => Node {
                    full,
                    path,
                    kind: NodeKind::Absent(kind),
                },
            });
        }
        self.in_order(nodes)
    }

    /// The entry of one node (not of what is below it).
    fn describe(&mut self, node: &Node) -> Result<FileEntry> {
        let meta = match &node.kind {
            NodeKind::Disk(meta) => meta,
            NodeKind::Absent(kind) => return self.describe_absent(node, *kind),
        };
        let full = &node.full;
        let path = node.path.clone();
        let ft = meta.file_type();
        let mode = meta.mode() & 0o7777;
        let mode = if self.known.canonical_modes {
            crate::normalize::canonical_mode(ft.is_dir(), mode)
        } else {
            mode
        };
        let mode = Some(format!("{mode:04o}"));
        if ft.is_symlink() {
            let target = fs::read_link(full)
                .with_context(|| format!("manifest: reading link {}", full.display()))?;
            let Some(t) = target.to_str() else {
                bail!(
                    "manifest: link {} has a target that is not UTF-8",
                    full.display()
                );
            };
            Ok(FileEntry {
                path,
                kind: "symlink".into(),
                mode: None,
                size: None,
                sha256: None,
                target: Some(t.into()),
                wheel: None,
            })
        } else if ft.is_dir() {
            Ok(dir_entry(path, mode))
        } else if ft.is_file() {
            let (sha, size) = match self.known.hashes.get(&path) {
                Some((sha, size)) => (sha.clone(), *size),
                None => sha256_file(full).context("manifest")?,
            };
            Ok(file_entry(path, mode, size, sha, None))
        } else {
            bail!(
                "manifest: {} is neither a file, a directory nor a symlink",
                full.display()
            );
        }
    }

    /// The entry of an absent file (its hash, size and wheel known) or
    /// directory.
    fn describe_absent(&mut self, node: &Node, kind: crate::tree::AbsentKind) -> Result<FileEntry> {
        let mode = Some(format!("{:04o}", crate::tree::mode(kind)));
        let path = node.path.clone();
        let crate::tree::AbsentKind::File { source, .. } = kind else {
            return Ok(dir_entry(path, mode));
        };
        let known = self.known;
        let Some(file) = known.absent_files.get(source as usize) else {
            bail!("manifest: internal: no hash for {path}, whose bytes are in a wheel");
        };
        let Some(wheel) = known.absent_wheels.get(file.wheel as usize) else {
            bail!("manifest: internal: no wheel for {path}, whose bytes are in a wheel");
        };
        self.absent_files += 1;
        let sha = crate::encoding::hex(&file.sha256);
        Ok(file_entry(path, mode, file.size, sha, Some(wheel.clone())))
    }
}

/// A directory's entry.
fn dir_entry(path: String, mode: Option<String>) -> FileEntry {
    FileEntry {
        path,
        kind: "dir".into(),
        mode,
        size: None,
        sha256: None,
        target: None,
        wheel: None,
    }
}

/// A regular file's entry.
fn file_entry(
    path: String,
    mode: Option<String>,
    size: u64,
    sha256: String,
    wheel: Option<String>,
) -> FileEntry {
    FileEntry {
        path,
        kind: "file".into(),
        mode,
        size: Some(size),
        sha256: Some(sha256),
        target: None,
        wheel,
    }
}

/// Write `bytes` to `dir/name` atomically (`crate::atomic`), mode 0644,
/// mtime = `sde`.
fn write_atomic(dir: &Path, name: &str, bytes: &[u8], sde: u64) -> Result<PathBuf> {
    write_atomic_with(dir, name, sde, &mut |w| Ok(w.write_all(bytes)?))
}

/// [`write_atomic`] of what `fill` writes (buffered).
fn write_atomic_with(
    dir: &Path,
    name: &str,
    sde: u64,
    fill: &mut dyn FnMut(&mut dyn Write) -> Result<()>,
) -> Result<PathBuf> {
    let dest = dir.join(name);
    let mut f = crate::atomic::AtomicFile::create(&dest)?;
    {
        let mut w = std::io::BufWriter::with_capacity(64 << 10, f.file());
        fill(&mut w)
            .and_then(|()| Ok(w.flush()?))
            .with_context(|| format!("writing {}", dest.display()))?;
    }
    let t = filetime::FileTime::from_unix_time(sde as i64, 0);
    filetime::set_file_handle_times(f.file(), None, Some(t))
        .with_context(|| format!("setting the mtime of {}", dest.display()))?;
    f.commit()?;
    Ok(dest)
}

/// Create `/usr/share/doc/<package>` in the staging tree (0755, mtime SDE
/// for the directories it creates and for the doc dir itself).
fn ensure_doc_dir(root: &Path, package: &str, sde: u64) -> Result<PathBuf> {
    let t = filetime::FileTime::from_unix_time(sde as i64, 0);
    let mut dir = root.to_path_buf();
    for part in ["usr", "share", "doc", package] {
        dir.push(part);
        match fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => bail!("manifest: {} exists and is not a directory", dir.display()),
            Err(_) => {
                fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))
                    .with_context(|| format!("setting the mode of {}", dir.display()))?;
                filetime::set_file_mtime(&dir, t)
                    .with_context(|| format!("setting the mtime of {}", dir.display()))?;
            }
        }
    }
    Ok(dir)
}

/// What the manifest lists: the venv prefix with everything below it, and
/// the symlinks in `/usr/bin` that point into the prefix (the launchers
/// venvdeb exposes). Shared directories (`/usr`, `/opt`) and other packages'
/// files in a dh staging directory are not venvdeb's and are not listed.
pub fn listed_paths(root: &Path, prefix: &str) -> Result<Vec<String>> {
    let prefix = prefix.trim_end_matches('/');
    let mut out = vec![prefix.to_string()];
    let bin = root.join("usr/bin");
    if let Ok(rd) = fs::read_dir(&bin) {
        let mut names: Vec<std::ffi::OsString> = rd
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()
            .with_context(|| format!("manifest: reading directory {}", bin.display()))?;
        names.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
        for name in names {
            let full = bin.join(&name);
            let Ok(target) = fs::read_link(&full) else {
                continue;
            };
            let t = target.to_string_lossy();
            if t.starts_with(&format!("{prefix}/")) {
                let Some(n) = name.to_str() else {
                    bail!("manifest: {} is not UTF-8", full.display());
                };
                out.push(format!("/usr/bin/{n}"));
            }
        }
    }
    Ok(out)
}

/// Build the manifest of the staging tree at `root` (without writing it);
/// `extra` are more in-package paths to list (the SBOM).
pub fn build_manifest(root: &Path, input: &ManifestInput, extra: &[String]) -> Result<Manifest> {
    let mut manifest = manifest_head(input)?;
    let mut files = Vec::new();
    manifest_entries(
        root,
        input,
        &manifest.wheels,
        extra,
        &Known::new(),
        &mut |f| {
            files.push(f);
            Ok(())
        },
    )?;
    manifest.files = files;
    Ok(manifest)
}

/// The manifest of `input` without its files (checked: the package name,
/// the prefix, each wheel once; wheels, signers and system modules
/// sorted).
fn manifest_head(input: &ManifestInput) -> Result<Manifest> {
    check_name(&input.package.name)?;
    if !input.prefix.starts_with('/') {
        bail!("manifest: prefix {:?} is not absolute", input.prefix);
    }
    let mut wheels = input.wheels.clone();
    wheels.sort();
    for w in wheels.windows(2) {
        if w[0].filename == w[1].filename {
            bail!("manifest: wheel {} listed twice", w[0].filename);
        }
    }
    let mut signers = input.signers.clone();
    signers.sort();
    signers.dedup();
    Ok(Manifest {
        format: FORMAT.into(),
        tool: Tool::current(),
        package: input.package.clone(),
        source_date_epoch: input.source_date_epoch,
        interpreter: input.interpreter.clone(),
        prefix: input.prefix.clone(),
        signers,
        wheels,
        files: Vec::new(),
        system_modules: {
            let mut v = input.system_modules.clone();
            v.sort();
            v
        },
    })
}

/// The manifest's file entries of the staging tree at `root`, given to
/// `emit` one at a time in path-byte order, each with the wheel it came
/// from (`input.origins`, or `known`'s table for an absent file), which
/// must be one of `wheels` (sorted, as `manifest_head` sorts them). Every
/// origin given must be listed. `extra` are more in-package paths to list.
fn manifest_entries(
    root: &Path,
    input: &ManifestInput,
    wheels: &[InputWheel],
    extra: &[String],
    known: &Known,
    emit: &mut dyn FnMut(FileEntry) -> Result<()>,
) -> Result<()> {
    let mut paths = listed_paths(root, &input.prefix)?;
    paths.extend(extra.iter().cloned());
    let skip = [manifest_path(&input.package.name)];
    // The origins, in the entries' order (`String`s sort bytewise): each
    // is matched as the walk passes its path.
    let mut origins = input.origins.iter().peekable();
    let missing = |path: &str, wheel: &str| {
        anyhow::anyhow!(
            "manifest: {path} (from {wheel}) is not in the staging tree {}",
            root.display()
        )
    };
    let listed_absent = walk_tree(root, &paths, &skip, known, &mut |mut f| {
        while let Some((path, wheel)) = origins.peek() {
            match path.as_bytes().cmp(f.path.as_bytes()) {
                std::cmp::Ordering::Less => return Err(missing(path, wheel)),
                std::cmp::Ordering::Greater => break,
                std::cmp::Ordering::Equal => {
                    if f.kind == "dir" {
                        bail!(
                            "manifest: origin given for {}, which is a directory",
                            f.path
                        );
                    }
                    if f.wheel.as_ref().is_some_and(|w| w != *wheel) {
                        bail!(
                            "manifest: {} is said to come from {wheel} and from {}",
                            f.path,
                            f.wheel.as_deref().unwrap_or_default()
                        );
                    }
                    f.wheel = Some(wheel.to_string());
                    origins.next();
                }
            }
        }
        if let Some(w) = &f.wheel {
            if wheels
                .binary_search_by(|x| x.filename.as_str().cmp(w))
                .is_err()
            {
                bail!(
                    "manifest: {} is said to come from {w}, which is not an input wheel",
                    f.path
                );
            }
        }
        emit(f)
    })?;
    if let Some((path, wheel)) = origins.next() {
        return Err(missing(path, wheel));
    }
    if listed_absent != known.absent_files.len() {
        bail!(
            "manifest: internal: {} files whose bytes are in wheels, {listed_absent} of them listed",
            known.absent_files.len()
        );
    }
    Ok(())
}

/// Where the SBOM's licenses come from: the METADATA each wheel's
/// verification already parsed (the build), or the installed METADATA files
/// of the tree (callers without verified wheels).
#[derive(Debug, Clone, Copy)]
pub enum Licenses<'a> {
    /// Wheel file name -> its METADATA license fields
    /// (`wheel::metadata::Metadata::license_fields`).
    Verified(&'a BTreeMap<String, Vec<(String, String)>>),
    /// Read the header block of each wheel's installed `.dist-info/METADATA`
    /// (its origin in `ManifestInput::origins`).
    Installed,
}

/// Largest installed METADATA header block read for `Licenses::Installed`.
const METADATA_HEADER_LIMIT: u64 = 1 << 20;

/// The license fields of an installed METADATA file (its header block, at
/// most `METADATA_HEADER_LIMIT` bytes, parsed by the one METADATA parser).
fn installed_license_fields(path: &Path) -> Result<Vec<(String, String)>> {
    use std::io::Read;
    let f = fs::File::open(path).with_context(|| format!("sbom: opening {}", path.display()))?;
    let mut bytes = Vec::new();
    f.take(METADATA_HEADER_LIMIT)
        .read_to_end(&mut bytes)
        .with_context(|| format!("sbom: reading {}", path.display()))?;
    // Lossy: a header block cut at the limit may end inside a character.
    let text = String::from_utf8_lossy(&bytes);
    let h = crate::wheel::metadata::parse_headers(text.as_bytes(), "METADATA")
        .with_context(|| format!("sbom: {}", path.display()))?;
    Ok(crate::wheel::metadata::license_fields(&h))
}

/// Write the manifest (and the SBOM when `input.sbom`) into the staging tree
/// `root` at `/usr/share/doc/<package>/`, the SBOM's licenses read from the
/// installed METADATA files. Call it when every other file of the package
/// is in place. Nothing is left behind on error.
pub fn write_into(root: &Path, input: &ManifestInput) -> Result<Written> {
    let mut w = write_docs(root, input, Licenses::Installed, &Known::new())?;
    w.manifest_json = fs::read(&w.manifest_path)
        .with_context(|| format!("reading back {}", w.manifest_path.display()))?;
    Ok(w)
}

/// [`write_into`] with the licenses from where `licenses` says, and the
/// sha256 and size of the `known` files taken from there.
pub fn write_docs(
    root: &Path,
    input: &ManifestInput,
    licenses: Licenses,
    known: &Known,
) -> Result<Written> {
    check_name(&input.package.name)?;
    let doc = ensure_doc_dir(root, &input.package.name, input.source_date_epoch)?;
    let mut sbom_path = None;
    let mut sbom_json = None;
    if input.sbom {
        let mut wheels = input.wheels.clone();
        wheels.sort();
        let mut fields: Vec<Vec<(String, String)>> = Vec::new();
        for w in &wheels {
            fields.push(match licenses {
                Licenses::Verified(map) => map.get(&w.filename).cloned().unwrap_or_default(),
                Licenses::Installed => {
                    let metadata = input.origins.iter().find(|(path, wheel)| {
                        **wheel == w.filename && path.ends_with(".dist-info/METADATA")
                    });
                    match metadata {
                        Some((path, _)) => {
                            installed_license_fields(&root.join(path.trim_start_matches('/')))?
                        }
                        None => Vec::new(),
                    }
                }
            });
        }
        let tool = Tool::current();
        let bytes = sbom::sbom_json(&sbom::SbomInput {
            package: &input.package.name,
            version: &input.package.version,
            architecture: &input.package.architecture,
            prefix: &input.prefix,
            interpreter: &format!("{} {}", input.interpreter.path, input.interpreter.version),
            source_date_epoch: input.source_date_epoch,
            tool_name: &tool.name,
            tool_version: &tool.version,
            wheels: wheels
                .iter()
                .zip(&fields)
                .map(|(w, f)| sbom::SbomWheel {
                    filename: &w.filename,
                    name: &w.name,
                    version: &w.version,
                    sha256: &w.sha256,
                    license_fields: f,
                })
                .collect(),
            system_modules: &input.system_modules,
        })?;
        sbom_path = Some(write_atomic(
            &doc,
            sbom::SBOM_NAME,
            &bytes,
            input.source_date_epoch,
        )?);
        sbom_json = Some(bytes);
    }
    // The doc directory (manifest, SBOM) is not listed: in a debhelper
    // build dh_compress and dh_installdocs change it after staging; dpkg's
    // md5sums cover it.
    let head = manifest_head(input)?;
    let under = format!("{}/", input.prefix.trim_end_matches('/'));
    let (mut prefix_files, mut prefix_bytes) = (0, 0);
    // Each entry written as the walk lists it (the listing of a large venv
    // is tens of MB): streamed to its file; `write_into` reads it back for
    // its callers, `build` once the .deb is written.
    let manifest_path =
        write_atomic_with(&doc, MANIFEST_NAME, input.source_date_epoch, &mut |w| {
            (prefix_files, prefix_bytes) = (0, 0);
            let mut json = JsonWriter::new(&head, w)?;
            manifest_entries(root, input, &head.wheels, &[], known, &mut |f| {
                if f.kind == "file" && f.path.starts_with(&under) {
                    prefix_files += 1;
                    prefix_bytes += f.size.unwrap_or(0);
                }
                json.entry(&f)
            })?;
            json.finish()
        })?;
    let t = filetime::FileTime::from_unix_time(input.source_date_epoch as i64, 0);
    filetime::set_file_mtime(&doc, t)
        .with_context(|| format!("setting the mtime of {}", doc.display()))?;
    Ok(Written {
        manifest_path,
        manifest_json: Vec::new(),
        sbom_path,
        sbom_json,
        prefix_files,
        prefix_bytes,
    })
}

/// The file names used beside a .deb: `<stem>.venvdeb-manifest.json` and
/// `<stem>.cdx.json`, where `<stem>` is the .deb's name without `.deb`.
pub fn beside_names(deb: &Path) -> Result<(PathBuf, PathBuf)> {
    let name = deb
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{} has no file name", deb.display()))?;
    let stem = name.strip_suffix(".deb").unwrap_or(name);
    let dir = deb.parent().unwrap_or(Path::new("."));
    Ok((
        dir.join(format!("{stem}.{MANIFEST_NAME}")),
        dir.join(format!("{stem}.cdx.json")),
    ))
}

/// Add the documents of `written` beside the .deb to `outputs` (committed
/// with the .deb, all or nothing).
pub fn add_beside(
    written: &Written,
    deb: &Path,
    sde: u64,
    outputs: &mut crate::atomic::OutputSet,
) -> Result<()> {
    let (m, s) = beside_names(deb)?;
    outputs.bytes(&m, &written.manifest_json, Some(sde))?;
    if let Some(bytes) = &written.sbom_json {
        outputs.bytes(&s, bytes, Some(sde))?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A staging tree with a venv of one wheel, plus its ManifestInput.
    pub(crate) fn sample(root: &Path) -> ManifestInput {
        let site = root.join("opt/venvs/demo/lib/python3.11/site-packages");
        fs::create_dir_all(site.join("demo-1.0.dist-info")).unwrap();
        fs::create_dir_all(root.join("opt/venvs/demo/bin")).unwrap();
        fs::create_dir_all(root.join("DEBIAN")).unwrap();
        fs::write(root.join("DEBIAN/control"), "Package: demo\n").unwrap();
        fs::write(site.join("demo.py"), "print('hi')\n").unwrap();
        fs::write(
            site.join("demo-1.0.dist-info/METADATA"),
            "Metadata-Version: 2.4\nName: Demo_App\nVersion: 1.0+local\nLicense-Expression: MIT OR Apache-2.0\n\nbody\n",
        )
        .unwrap();
        fs::write(root.join("opt/venvs/demo/pyvenv.cfg"), "home = /usr/bin\n").unwrap();
        std::os::unix::fs::symlink(
            "/usr/bin/python3.11",
            root.join("opt/venvs/demo/bin/python"),
        )
        .unwrap();
        let origins = [
            "/opt/venvs/demo/lib/python3.11/site-packages/demo.py",
            "/opt/venvs/demo/lib/python3.11/site-packages/demo-1.0.dist-info/METADATA",
        ]
        .iter()
        .map(|p| {
            (
                p.to_string(),
                "Demo_App-1.0+local-py3-none-any.whl".to_string(),
            )
        })
        .collect();
        ManifestInput {
            package: PackageId {
                name: "demo".into(),
                version: "1.0-1".into(),
                architecture: "all".into(),
            },
            source_date_epoch: 1_700_000_000,
            interpreter: Interpreter {
                path: "/usr/bin/python3".into(),
                version: "3.11.2".into(),
            },
            prefix: "/opt/venvs/demo".into(),
            signers: vec!["BBBB".into(), "AAAA".into()],
            wheels: vec![InputWheel {
                filename: "Demo_App-1.0+local-py3-none-any.whl".into(),
                sha256: "ab".repeat(32),
                name: "Demo_App".into(),
                version: "1.0+local".into(),
            }],
            origins,
            sbom: true,
            system_modules: Vec::new(),
        }
    }

    fn tmp() -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix("venvdeb-manifest-")
            .tempdir()
            .unwrap()
    }

    #[test]
    fn manifest_lists_files_sorted_with_origins_not_itself() {
        let d = tmp();
        let input = sample(d.path());
        let w = write_into(d.path(), &input).unwrap();
        let m = Manifest::from_json(&w.manifest_json).unwrap();
        assert_eq!(m.signers, vec!["AAAA", "BBBB"]);
        let paths: Vec<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
        let mut sorted = paths.clone();
        sorted.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        assert_eq!(paths, sorted);
        assert!(!paths.iter().any(|p| p.starts_with("/DEBIAN")));
        assert_eq!(paths[0], "/opt/venvs/demo", "the prefix itself is listed");
        assert!(!paths.contains(&"/usr/share/doc/demo/venvdeb-manifest.json"));
        assert!(
            !paths.iter().any(|p| p.starts_with("/usr/share/doc")),
            "the doc directory is not listed"
        );
        let py = m
            .file("/opt/venvs/demo/lib/python3.11/site-packages/demo.py")
            .unwrap();
        assert_eq!(
            py.wheel.as_deref(),
            Some("Demo_App-1.0+local-py3-none-any.whl")
        );
        assert_eq!(
            py.sha256.as_deref(),
            Some(
                super::super::hashio::sha256_reader(&b"print('hi')\n"[..])
                    .unwrap()
                    .0
                    .as_str()
            )
        );
        let cfg = m.file("/opt/venvs/demo/pyvenv.cfg").unwrap();
        assert_eq!(cfg.wheel, None);
        let link = m.file("/opt/venvs/demo/bin/python").unwrap();
        assert_eq!(
            (link.kind.as_str(), link.target.as_deref()),
            ("symlink", Some("/usr/bin/python3.11"))
        );
        // on disk, 0644, mtime SDE
        let meta = fs::metadata(&w.manifest_path).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o644);
        assert_eq!(meta.mtime(), 1_700_000_000);
        assert_eq!(fs::read(&w.manifest_path).unwrap(), w.manifest_json);
    }

    #[test]
    fn keys_are_sorted_and_output_is_stable() {
        let d1 = tmp();
        let d2 = tmp();
        let mut i1 = sample(d1.path());
        let i2 = sample(d2.path());
        i1.wheels.reverse();
        let a = write_into(d1.path(), &i1).unwrap();
        let b = write_into(d2.path(), &i2).unwrap();
        assert_eq!(a.manifest_json, b.manifest_json);
        assert_eq!(a.sbom_json, b.sbom_json);
        // writing again over an existing manifest gives the same bytes
        let again = write_into(d1.path(), &i1).unwrap();
        assert_eq!(again.manifest_json, a.manifest_json);
        let text = String::from_utf8(a.manifest_json.clone()).unwrap();
        assert!(text.ends_with("}\n"));
        // top-level keys in sorted order
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        let pos: Vec<usize> = keys
            .iter()
            .map(|k| text.find(&format!("\n  \"{k}\"")).unwrap())
            .collect();
        let mut sorted = pos.clone();
        sorted.sort();
        assert_eq!(pos, sorted, "{text}");
        assert!(
            !text.contains(&d1.path().display().to_string()),
            "no build path"
        );
    }

    #[test]
    fn origins_must_match_the_tree_and_the_wheels() {
        let d = tmp();
        let mut input = sample(d.path());
        input.origins.insert(
            "/opt/venvs/demo/missing.py".into(),
            input.wheels[0].filename.clone(),
        );
        let err = write_into(d.path(), &input).unwrap_err();
        assert!(
            format!("{err:#}").contains("/opt/venvs/demo/missing.py"),
            "{err:#}"
        );
        let d = tmp();
        let mut input = sample(d.path());
        input
            .origins
            .insert("/opt/venvs/demo/pyvenv.cfg".into(), "other.whl".into());
        let err = write_into(d.path(), &input).unwrap_err();
        assert!(format!("{err:#}").contains("not an input wheel"), "{err:#}");
        let mut bad = sample(tmp().path());
        bad.package.name = "../x".into();
        assert!(write_into(d.path(), &bad).is_err());
    }

    #[test]
    fn lists_the_prefix_and_usr_bin_links_into_it_only() {
        let d = tmp();
        let input = sample(d.path());
        fs::create_dir_all(d.path().join("usr/bin")).unwrap();
        fs::create_dir_all(d.path().join("etc")).unwrap();
        fs::write(d.path().join("etc/other.conf"), "x").unwrap();
        std::os::unix::fs::symlink("/opt/venvs/demo/bin/python", d.path().join("usr/bin/demo"))
            .unwrap();
        std::os::unix::fs::symlink("/usr/bin/other", d.path().join("usr/bin/unrelated")).unwrap();
        let m = build_manifest(d.path(), &input, &[]).unwrap();
        let outside: Vec<&str> = m
            .files
            .iter()
            .map(|f| f.path.as_str())
            .filter(|p| !p.starts_with("/opt/venvs/demo"))
            .collect();
        assert_eq!(outside, vec!["/usr/bin/demo"]);
        for bad in ["relative", "/opt/../etc", "/"] {
            assert!(
                scan_tree(d.path(), &[bad.to_string()], &[]).is_err(),
                "{bad}"
            );
        }
        assert!(scan_tree(d.path(), &["/usr/bin/missing".to_string()], &[]).is_err());
        // nested paths are listed once
        let f = scan_tree(
            d.path(),
            &["/opt/venvs/demo".into(), "/opt/venvs/demo/bin".into()],
            &[],
        )
        .unwrap();
        assert_eq!(
            f.iter().filter(|f| f.path == "/opt/venvs/demo/bin").count(),
            1
        );
    }

    #[test]
    fn beside_names_follow_the_deb() {
        let (m, s) = beside_names(Path::new("/out/demo_1.0-1_all.deb")).unwrap();
        assert_eq!(m, Path::new("/out/demo_1.0-1_all.venvdeb-manifest.json"));
        assert_eq!(s, Path::new("/out/demo_1.0-1_all.cdx.json"));
    }

    /// The entry-at-a-time JSON is the canonical JSON of the whole.
    #[test]
    fn to_json_equals_canonical_json_of_the_whole() {
        let d = tmp();
        let input = sample(d.path());
        let w = write_into(d.path(), &input).unwrap();
        let mut m = Manifest::from_json(&w.manifest_json).unwrap();
        assert!(m.files.len() > 2);
        assert_eq!(m.to_json().unwrap(), to_canonical_json(&m).unwrap());
        m.files[0].path = "/opt/x/\"quoted\"\n\u{e9}\\".into();
        m.files[1].target = Some("t\tab".into());
        assert_eq!(m.to_json().unwrap(), to_canonical_json(&m).unwrap());
        m.files.truncate(1);
        assert_eq!(m.to_json().unwrap(), to_canonical_json(&m).unwrap());
        m.files.clear();
        assert_eq!(m.to_json().unwrap(), to_canonical_json(&m).unwrap());
    }

    /// `sample`'s tree plus names that sort around a directory's own
    /// ("foo" < "foo-bar" < "foo.py" < "foo/x" < "foo0"), on disk and
    /// absent mixed, and the `Known` of its absent files.
    fn tricky(root: &Path) -> (ManifestInput, Known) {
        let input = sample(root);
        let venv = root.join("opt/venvs/demo");
        let site = venv.join("lib/python3.11/site-packages");
        fs::create_dir_all(site.join("foo/sub")).unwrap();
        fs::write(site.join("foo/x"), "x").unwrap();
        fs::write(site.join("foo/sub/on-disk"), "d").unwrap();
        fs::write(site.join("foo-bar"), "fb").unwrap();
        fs::create_dir_all(site.join("foo-dir")).unwrap();
        std::os::unix::fs::symlink("foo", site.join("foo!")).unwrap();
        // Absent: files in a directory on disk, and directories of their
        // own whose names sort around on-disk ones.
        let absent_paths = [
            "foo/y",
            "foo/sub/deep/z.py",
            "foo.py",
            "foo-dir/a",
            "foo-abs/b",
            "foo0/c",
            "fo/d",
        ];
        let files: Vec<(PathBuf, u64, bool)> = absent_paths
            .iter()
            .enumerate()
            .map(|(i, p)| (site.join(p), i as u64, i % 2 == 1))
            .collect();
        let absent = crate::tree::Absent::new(&venv, files).unwrap();
        let known = Known {
            canonical_modes: true,
            absent,
            absent_files: (0..absent_paths.len())
                .map(|i| AbsentFile {
                    sha256: [i as u8; 32],
                    size: i as u64,
                    wheel: 0,
                })
                .collect(),
            absent_wheels: vec![input.wheels[0].filename.clone()],
            ..Known::default()
        };
        (input, known)
    }

    /// The streaming walk lists in path-byte order, each path once, the
    /// absent entries with their table's hash, size and wheel.
    #[test]
    fn walk_lists_in_path_byte_order() {
        let d = tmp();
        let (input, known) = tricky(d.path());
        let mut seen = Vec::new();
        let listed = walk_tree(
            d.path(),
            &["/opt/venvs/demo".into()],
            &[],
            &known,
            &mut |f| {
                seen.push(f);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(listed, 7);
        let paths: Vec<&str> = seen.iter().map(|f| f.path.as_str()).collect();
        let mut sorted = paths.clone();
        sorted.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        sorted.dedup();
        assert_eq!(paths, sorted);
        let site = "/opt/venvs/demo/lib/python3.11/site-packages";
        let under: Vec<&str> = paths
            .iter()
            .filter_map(|p| p.strip_prefix(&format!("{site}/")))
            .filter(|p| p.starts_with("fo"))
            .collect();
        assert_eq!(
            under,
            [
                "fo",
                "fo/d",
                "foo",
                "foo!",
                "foo-abs",
                "foo-abs/b",
                "foo-bar",
                "foo-dir",
                "foo-dir/a",
                "foo.py",
                "foo/sub",
                "foo/sub/deep",
                "foo/sub/deep/z.py",
                "foo/sub/on-disk",
                "foo/x",
                "foo/y",
                "foo0",
                "foo0/c",
            ]
        );
        let py = seen
            .iter()
            .find(|f| f.path == format!("{site}/foo.py"))
            .unwrap();
        assert_eq!(py.sha256.as_deref(), Some("02".repeat(32).as_str()));
        assert_eq!(
            (py.size, py.mode.as_deref(), py.wheel.as_deref()),
            (
                Some(2),
                Some("0644"),
                Some(input.wheels[0].filename.as_str())
            )
        );
        let z = seen
            .iter()
            .find(|f| f.path == format!("{site}/foo/sub/deep/z.py"))
            .unwrap();
        assert_eq!(z.mode.as_deref(), Some("0755"));
        // The tops are ordered the same way ("/x" < "/x-y" < "/x/…").
        let tops = [format!("{site}/foo"), format!("{site}/foo-bar")];
        let f = scan_tree_known(d.path(), &tops, &[], &known).unwrap();
        let paths: Vec<&str> = f.iter().map(|f| f.path.as_str()).collect();
        let mut sorted = paths.clone();
        sorted.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        assert_eq!(paths, sorted);
        assert_eq!(paths[1], format!("{site}/foo-bar"));
    }

    /// `write_docs` streams the bytes of the collected manifest's JSON.
    #[test]
    fn streamed_manifest_equals_the_collected_one() {
        let d = tmp();
        let (mut input, known) = tricky(d.path());
        input.sbom = false;
        let w = write_docs(d.path(), &input, Licenses::Installed, &known).unwrap();
        let mut m = manifest_head(&input).unwrap();
        let mut files = Vec::new();
        let wheels = m.wheels.clone();
        manifest_entries(d.path(), &input, &wheels, &[], &known, &mut |f| {
            files.push(f);
            Ok(())
        })
        .unwrap();
        m.files = files;
        let streamed = fs::read(&w.manifest_path).unwrap();
        assert_eq!(streamed, m.to_json().unwrap());
        assert_eq!(streamed, to_canonical_json(&m).unwrap());
        let regular: Vec<&FileEntry> = m.files.iter().filter(|f| f.kind == "file").collect();
        assert_eq!(w.prefix_files, regular.len() as u64);
        assert_eq!(
            w.prefix_bytes,
            regular.iter().map(|f| f.size.unwrap()).sum::<u64>()
        );
    }

    /// An absent file's wheel must be an input wheel, and every origin
    /// given must be in the tree (the error names the path).
    #[test]
    fn absent_files_origins_are_checked() {
        let d = tmp();
        let (input, mut known) = tricky(d.path());
        known.absent_wheels[0] = "other.whl".into();
        let err = write_docs(d.path(), &input, Licenses::Installed, &known).unwrap_err();
        assert!(format!("{err:#}").contains("not an input wheel"), "{err:#}");
        assert!(format!("{err:#}").contains("/fo/d"), "{err:#}");
        let d = tmp();
        let (mut input, known) = tricky(d.path());
        let ghost = "/opt/venvs/demo/lib/python3.11/site-packages/foo-bar0";
        input
            .origins
            .insert(ghost.into(), input.wheels[0].filename.clone());
        let err = write_docs(d.path(), &input, Licenses::Installed, &known).unwrap_err();
        assert!(format!("{err:#}").contains(ghost), "{err:#}");
        let d = tmp();
        let (input, mut known) = tricky(d.path());
        known.absent_files.pop();
        let err = write_docs(d.path(), &input, Licenses::Installed, &known).unwrap_err();
        assert!(format!("{err:#}").contains("no hash for"), "{err:#}");
    }
}
