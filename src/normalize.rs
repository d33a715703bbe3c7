//! Normalize a staged package tree in place before it is packed: directories
//! 0755, files 0644 or 0755 (0755 when any execute bit was set), never
//! setuid, setgid, sticky or world-writable; every mtime set to
//! SOURCE_DATE_EPOCH (symlinks too); device nodes, FIFOs and sockets refused.
//! Ownership needs no change: the deb writer records root:root. Also
//! `scan_for_leaks`: no file or symlink may carry the build directory.
//! It walks in sorted order so that errors are reported deterministically.
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use filetime::FileTime;

/// What normalization saw.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Summary {
    pub dirs: u64,
    pub files: u64,
    pub symlinks: u64,
    pub bytes: u64,
}

/// Sorted children of a directory.
pub(crate) fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        v.push(
            e.with_context(|| format!("reading {}", dir.display()))?
                .path(),
        );
    }
    v.sort_by(|a, b| {
        a.file_name()
            .unwrap_or_default()
            .as_encoded_bytes()
            .cmp(b.file_name().unwrap_or_default().as_encoded_bytes())
    });
    Ok(v)
}

/// The mode normalization gives a directory (`dir`) or a regular file
/// whose mode is `mode`: 0755 for directories and for files with any
/// execute bit, 0644 for other files.
pub(crate) fn canonical_mode(dir: bool, mode: u32) -> u32 {
    if dir || mode & 0o111 != 0 {
        0o755
    } else {
        0o644
    }
}

/// Normalize `root` and everything below it.
pub(crate) fn normalize(root: &Path, sde: u64) -> Result<Summary> {
    let mut sum = Summary::default();
    let t = FileTime::from_unix_time(sde as i64, 0);
    walk(root, &mut |p, md| {
        let ft = md.file_type();
        if ft.is_symlink() {
            sum.symlinks += 1;
            filetime::set_symlink_file_times(p, t, t)
                .with_context(|| format!("setting the mtime of {}", p.display()))?;
            return Ok(());
        }
        let mode = if ft.is_dir() {
            sum.dirs += 1;
            canonical_mode(true, md.permissions().mode())
        } else if ft.is_file() {
            sum.files += 1;
            sum.bytes += md.len();
            canonical_mode(false, md.permissions().mode())
        } else {
            bail!(
                "{} is not a regular file, directory or symlink: refusing to package it",
                p.display()
            );
        };
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("setting the mode of {}", p.display()))?;
        if ft.is_file() {
            filetime::set_file_times(p, t, t)
                .with_context(|| format!("setting the mtime of {}", p.display()))?;
        }
        Ok(())
    })?;
    // Directory times last, deepest first (nothing is created after this).
    walk_dirs_post(root, &mut |p| {
        filetime::set_file_times(p, t, t)
            .with_context(|| format!("setting the mtime of {}", p.display()))
    })?;
    Ok(sum)
}

/// Normalize the directories on the way from `root` down to `rel`
/// (`opt`, `opt/venvs` for `/opt/venvs/x`), not `rel` itself: they were
/// created for us (under whatever umask) and must be 0755 with the
/// SOURCE_DATE_EPOCH mtime like everything else.
pub(crate) fn ancestors(root: &Path, rel: &str, sde: u64) -> Result<()> {
    let t = FileTime::from_unix_time(sde as i64, 0);
    let parts: Vec<&str> = rel.split('/').filter(|c| !c.is_empty()).collect();
    let mut dir = root.to_path_buf();
    for part in parts.iter().take(parts.len().saturating_sub(1)) {
        dir.push(part);
        let md = std::fs::symlink_metadata(&dir)
            .with_context(|| format!("reading {}", dir.display()))?;
        if !md.is_dir() {
            bail!("{} is not a directory", dir.display());
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("setting the mode of {}", dir.display()))?;
        filetime::set_file_times(&dir, t, t)
            .with_context(|| format!("setting the mtime of {}", dir.display()))?;
    }
    Ok(())
}

fn walk(p: &Path, f: &mut dyn FnMut(&Path, &std::fs::Metadata) -> Result<()>) -> Result<()> {
    let md = std::fs::symlink_metadata(p).with_context(|| format!("reading {}", p.display()))?;
    f(p, &md)?;
    if md.is_dir() {
        for c in sorted_entries(p)? {
            walk(&c, f)?;
        }
    }
    Ok(())
}

fn walk_dirs_post(p: &Path, f: &mut dyn FnMut(&Path) -> Result<()>) -> Result<()> {
    let md = std::fs::symlink_metadata(p).with_context(|| format!("reading {}", p.display()))?;
    if md.is_dir() {
        for c in sorted_entries(p)? {
            walk_dirs_post(&c, f)?;
        }
        f(p)?;
    }
    Ok(())
}

/// Fail if any file's bytes or any symlink's target under `root` contain
/// `needle` (e.g. the staging directory's absolute path). Streams each file.
pub(crate) fn scan_for_leaks(root: &Path, needle: &[u8]) -> Result<()> {
    scan_for_leaks_except(root, needle, &Default::default())
}

/// [`scan_for_leaks`], but the contents of the files in `scanned` are not
/// read: their bytes were scanned on their way to disk (symlinks are always
/// checked).
pub(crate) fn scan_for_leaks_except(
    root: &Path,
    needle: &[u8],
    scanned: &std::collections::HashSet<PathBuf>,
) -> Result<()> {
    if needle.is_empty() {
        return Ok(());
    }
    walk(root, &mut |p, md| {
        if md.is_file() && scanned.contains(p) {
            return Ok(());
        }
        if md.file_type().is_symlink() {
            let t = std::fs::read_link(p).with_context(|| format!("reading {}", p.display()))?;
            if contains(t.as_os_str().as_encoded_bytes(), needle) {
                bail!(
                    "{} points into the build directory ({})",
                    p.display(),
                    t.display()
                );
            }
        } else if md.is_file() && file_contains(p, needle)? {
            bail!(
                "{} contains the build directory {:?}: refusing to package a build path",
                p.display(),
                String::from_utf8_lossy(needle)
            );
        }
        Ok(())
    })
}

/// Whether `needle` (non-empty) occurs in `hay` (memchr's substring
/// search).
pub(crate) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

/// A streaming search for `needle` in a sequence of chunks (one file's
/// bytes as they go by), safe across chunk boundaries: it keeps only the
/// last `needle.len() - 1` bytes between chunks, never the file.
pub(crate) struct LeakScanner<'n> {
    needle: &'n [u8],
    /// The needle's searcher, built once per scanner (memchr's SIMD
    /// substring search: the needle starts with `/`, a common byte, which
    /// makes a first-byte scan slow).
    finder: memchr::memmem::Finder<'n>,
    tail: Vec<u8>,
    /// Reused for the junction of `tail` and the next chunk.
    junction: Vec<u8>,
}

impl<'n> LeakScanner<'n> {
    /// An empty needle never matches.
    pub(crate) fn new(needle: &'n [u8]) -> Self {
        LeakScanner {
            needle,
            finder: memchr::memmem::Finder::new(needle),
            tail: Vec::with_capacity(needle.len()),
            junction: Vec::with_capacity(2 * needle.len()),
        }
    }

    /// Feed the next chunk; true when the needle ends in it (including one
    /// that started in an earlier chunk of the same file).
    pub(crate) fn feed(&mut self, data: &[u8]) -> bool {
        let n = self.needle.len();
        if n == 0 {
            return false;
        }
        let keep = n - 1;
        if !self.tail.is_empty() {
            // The junction: what is kept plus the start of this chunk.
            self.junction.clear();
            self.junction.extend_from_slice(&self.tail);
            self.junction
                .extend_from_slice(&data[..keep.min(data.len())]);
            if self.finder.find(&self.junction).is_some() {
                return true;
            }
        }
        if self.finder.find(data).is_some() {
            return true;
        }
        if data.len() >= keep {
            self.tail.clear();
            self.tail.extend_from_slice(&data[data.len() - keep..]);
        } else {
            self.tail.extend_from_slice(data);
            let drop = self.tail.len().saturating_sub(keep);
            self.tail.drain(..drop);
        }
        false
    }
}

/// A writer that scans what goes through it for a needle
/// ([`LeakScanner`]) and refuses the write in which it is found
/// (`found` then says why the write failed).
pub(crate) struct ScanningWriter<'n, W: std::io::Write> {
    pub inner: W,
    scanner: LeakScanner<'n>,
    pub found: bool,
}

impl<'n, W: std::io::Write> ScanningWriter<'n, W> {
    /// An empty needle scans nothing.
    pub(crate) fn new(inner: W, needle: &'n [u8]) -> Self {
        ScanningWriter {
            inner,
            scanner: LeakScanner::new(needle),
            found: false,
        }
    }
}

impl<W: std::io::Write> std::io::Write for ScanningWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        if self.scanner.feed(&buf[..n]) {
            self.found = true;
            return Err(std::io::Error::other("the build directory was found"));
        }
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Whether a file contains `needle`, reading it in blocks with an overlap.
pub(crate) fn file_contains(path: &Path, needle: &[u8]) -> Result<bool> {
    let mut f = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut scanner = LeakScanner::new(needle);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            return Ok(false);
        }
        if scanner.feed(&buf[..n]) {
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn modes_and_times() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("a/b")).unwrap();
        std::fs::write(r.join("a/f"), b"x").unwrap();
        std::fs::write(r.join("a/b/x"), b"#!/bin/sh\n").unwrap();
        std::fs::set_permissions(r.join("a/f"), std::fs::Permissions::from_mode(0o4777)).unwrap();
        std::fs::set_permissions(r.join("a/b/x"), std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(r.join("a/b"), std::fs::Permissions::from_mode(0o1777)).unwrap();
        std::os::unix::fs::symlink("f", r.join("a/l")).unwrap();
        let s = normalize(r, 1_700_000_000).unwrap();
        assert_eq!((s.dirs, s.files, s.symlinks), (3, 2, 1));
        let m = |p: &str| std::fs::symlink_metadata(r.join(p)).unwrap();
        assert_eq!(m("a/f").mode() & 0o7777, 0o755);
        assert_eq!(m("a/b/x").mode() & 0o7777, 0o755);
        assert_eq!(m("a/b").mode() & 0o7777, 0o755);
        for p in ["a", "a/b", "a/f", "a/b/x", "a/l"] {
            assert_eq!(m(p).mtime(), 1_700_000_000, "{p}");
        }
    }

    #[test]
    fn ancestors_only() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("opt/venvs/x")).unwrap();
        for p in ["opt", "opt/venvs", "opt/venvs/x"] {
            std::fs::set_permissions(r.join(p), std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        ancestors(r, "/opt/venvs/x", 1_700_000_000).unwrap();
        let m = |p: &str| std::fs::symlink_metadata(r.join(p)).unwrap();
        assert_eq!(m("opt").mode() & 0o7777, 0o755);
        assert_eq!(m("opt/venvs").mode() & 0o7777, 0o755);
        assert_eq!(m("opt/venvs").mtime(), 1_700_000_000);
        assert_eq!(
            m("opt/venvs/x").mode() & 0o7777,
            0o700,
            "the leaf is left alone"
        );
    }

    #[test]
    fn fifo_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let st = std::process::Command::new("mkfifo")
            .arg(d.path().join("p"))
            .status()
            .unwrap();
        assert!(st.success());
        let e = normalize(d.path(), 0).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }

    #[test]
    fn contains_edges() {
        assert!(contains(b"abc", b"abc"));
        assert!(contains(b"xabc", b"abc"));
        assert!(contains(b"aabc", b"abc"));
        assert!(!contains(b"ab", b"abc"));
        assert!(!contains(b"abxabd", b"abc"));
        assert!(contains(b"ababc", b"abc"));
    }

    #[test]
    fn leaks_found_across_block_boundaries() {
        let d = tempfile::tempdir().unwrap();
        let needle = b"/tmp/build-dir-XYZ";
        let mut big = vec![b'a'; (1 << 16) - 5];
        big.extend_from_slice(needle);
        std::fs::write(d.path().join("big"), &big).unwrap();
        assert!(file_contains(&d.path().join("big"), needle).unwrap());
        assert!(scan_for_leaks(d.path(), needle).is_err());
        std::fs::write(d.path().join("big"), b"clean").unwrap();
        scan_for_leaks(d.path(), needle).unwrap();
        // A file scanned on its way to disk is not read again.
        std::fs::write(d.path().join("big"), &big).unwrap();
        let scanned = [d.path().join("big")].into_iter().collect();
        scan_for_leaks_except(d.path(), needle, &scanned).unwrap();
        std::fs::write(d.path().join("big"), b"clean").unwrap();
        std::os::unix::fs::symlink("/tmp/build-dir-XYZ/x", d.path().join("l")).unwrap();
        assert!(scan_for_leaks(d.path(), needle).is_err());
        // Symlinks are always checked.
        let scanned = [d.path().join("l")].into_iter().collect();
        assert!(scan_for_leaks_except(d.path(), needle, &scanned).is_err());
    }

    #[test]
    fn leak_scanner_finds_the_needle_at_every_split() {
        let needle = b"/tmp/.venvdeb-build-x-1-0";
        let mut hay = b"some bytes before ".to_vec();
        hay.extend_from_slice(needle);
        hay.extend_from_slice(b" and after");
        // Every way of cutting the bytes into two and three chunks.
        for a in 0..=hay.len() {
            let mut s = LeakScanner::new(needle);
            assert!(s.feed(&hay[..a]) || s.feed(&hay[a..]), "split at {a}");
            for b in a..=hay.len() {
                let mut s = LeakScanner::new(needle);
                let found = s.feed(&hay[..a]) || s.feed(&hay[a..b]) || s.feed(&hay[b..]);
                assert!(found, "split at {a}, {b}");
            }
        }
        // Byte by byte.
        let mut s = LeakScanner::new(needle);
        assert!(hay.chunks(1).any(|c| s.feed(c)));
        // Not found when absent.
        let mut s = LeakScanner::new(needle);
        assert!(!s.feed(&needle[..10]));
        assert!(!s.feed(b"x"));
        assert!(!s.feed(&needle[10..]));
        assert!(!LeakScanner::new(b"").feed(b"anything"));
    }
}
