//! The walk over a package tree in dpkg-deb's order: depth-first, each
//! directory's entries sorted bytewise by name, a directory's contents right
//! after it, every symlink deferred to the end (in walk order), and hard links
//! resolved as GNU tar does (the first path of an inode in archive order
//! carries the bytes, later ones are links to it).
//!
//! This module only lists and classifies; it never reads file contents.
//! Device nodes, FIFOs and sockets are refused with an error naming the path.
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// What an archive entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EntryKind {
    Directory,
    /// A regular file whose bytes follow its header; `size` from lstat.
    File {
        size: u64,
    },
    /// A symbolic link; `target` is the link's raw bytes.
    Symlink {
        target: Vec<u8>,
    },
    /// A further path of an inode already archived as `target` (an archive
    /// name such as `./usr/bin/a`).
    HardLink {
        target: Vec<u8>,
    },
}

/// One archive entry, in archive order.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The archive name: `./` for the root, `./a/b/` for a directory,
    /// `./a/b` otherwise.
    pub name: Vec<u8>,
    /// Where it is on disk.
    pub path: PathBuf,
    pub kind: EntryKind,
    /// Permission bits as on disk, including setuid, setgid and sticky.
    pub mode: u32,
    /// Modification time in seconds as on disk (not yet clamped);
    /// `i64::MAX` for an absent entry (clamped to SOURCE_DATE_EPOCH).
    pub mtime: i64,
    /// Not on disk (`crate::tree::Absent`): a regular file whose bytes
    /// come from the build's `super::DataSource` (its file number there is
    /// `source`), or a directory.
    pub absent: bool,
    pub source: u32,
}

/// Which archive a walk is for: they differ in where symlinks go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// The data member: every symlink after all other entries.
    SymlinksLast,
    /// The control member (GNU tar's own `--sort=name` recursion): symlinks
    /// in place.
    InPlace,
}

/// Walk `root` in dpkg-deb's order, handing each entry to `visit` as it is
/// found. `skip_top` names a top-level entry to leave out (`DEBIAN` for the
/// data member). Memory holds the sorted names of the directories on the
/// current path, the deferred symlinks and the first name of each inode
/// with several links — never the whole listing.
pub(crate) fn walk(
    root: &Path,
    skip_top: Option<&OsStr>,
    order: Order,
    visit: &mut dyn FnMut(&Entry) -> Result<()>,
) -> Result<()> {
    walk_with(
        root,
        skip_top,
        order,
        &crate::tree::Absent::default(),
        visit,
    )
}

/// [`walk`] of the tree on disk and the `absent` files and directories
/// (`venvdeb build`'s, whose bytes are in their wheels), merged in order.
pub(crate) fn walk_with(
    root: &Path,
    skip_top: Option<&OsStr>,
    order: Order,
    absent: &crate::tree::Absent,
    visit: &mut dyn FnMut(&Entry) -> Result<()>,
) -> Result<()> {
    let meta = fs::metadata(root)
        .with_context(|| format!("walking {}: cannot stat it", root.display()))?;
    if !meta.is_dir() {
        bail!("walking {}: not a directory", root.display());
    }
    let mut w = Walker {
        visit,
        absent,
        symlinks: Vec::new(),
        defer: order == Order::SymlinksLast,
        first_names: HashMap::new(),
    };
    w.push(
        b"./".to_vec(),
        root.to_path_buf(),
        &meta,
        EntryKind::Directory,
    )?;
    w.dir(root, b"./", skip_top, true)?;
    for (entry, inode) in std::mem::take(&mut w.symlinks) {
        w.emit(entry, inode)?;
    }
    Ok(())
}

/// The whole listing at once (tests and small trees).
#[cfg(test)]
pub(crate) fn collect(root: &Path, skip_top: Option<&OsStr>, order: Order) -> Result<Vec<Entry>> {
    let mut v = Vec::new();
    walk(root, skip_top, order, &mut |e| {
        v.push(e.clone());
        Ok(())
    })?;
    Ok(v)
}

/// (device, inode) of a non-directory with several links.
type Inode = Option<(u64, u64)>;

struct Walker<'a> {
    visit: &'a mut dyn FnMut(&Entry) -> Result<()>,
    absent: &'a crate::tree::Absent,
    symlinks: Vec<(Entry, Inode)>,
    defer: bool,
    first_names: HashMap<(u64, u64), Vec<u8>>,
}

impl Walker<'_> {
    fn push(
        &mut self,
        name: Vec<u8>,
        path: PathBuf,
        meta: &fs::Metadata,
        kind: EntryKind,
    ) -> Result<()> {
        let deferred = self.defer && matches!(kind, EntryKind::Symlink { .. });
        let inode = (!meta.is_dir() && meta.nlink() > 1).then(|| (meta.dev(), meta.ino()));
        let entry = Entry {
            name,
            path,
            kind,
            mode: meta.mode() & 0o7777,
            mtime: meta.mtime(),
            absent: false,
            source: 0,
        };
        if deferred {
            self.symlinks.push((entry, inode));
            Ok(())
        } else {
            self.emit(entry, inode)
        }
    }

    /// GNU tar's hard-link rule, applied in archive order: the first name
    /// of an inode with several links carries its contents, every later
    /// name becomes a link to that first name.
    fn emit(&mut self, mut entry: Entry, inode: Inode) -> Result<()> {
        if let Some(key) = inode {
            match self.first_names.get(&key) {
                Some(target) => {
                    entry.kind = EntryKind::HardLink {
                        target: target.clone(),
                    }
                }
                None => {
                    self.first_names.insert(key, entry.name.clone());
                }
            }
        }
        (self.visit)(&entry)
    }

    /// An absent file or directory (and, for a directory, its children).
    fn absent_entry(
        &mut self,
        mut arc: Vec<u8>,
        path: PathBuf,
        kind: crate::tree::AbsentKind,
    ) -> Result<()> {
        let mode = crate::tree::mode(kind);
        let (entry_kind, dir, source) = match kind {
            crate::tree::AbsentKind::File { size, source, .. } => {
                (EntryKind::File { size }, false, source)
            }
            crate::tree::AbsentKind::Dir => {
                arc.push(b'/');
                (EntryKind::Directory, true, 0)
            }
        };
        (self.visit)(&Entry {
            name: arc.clone(),
            path: path.clone(),
            kind: entry_kind,
            mode,
            mtime: i64::MAX,
            absent: true,
            source,
        })?;
        if dir {
            self.dir(&path, &arc, None, false)?;
        }
        Ok(())
    }

    /// Walk the directory `dir` (`on_disk`: it exists on disk; else only
    /// its absent children).
    fn dir(
        &mut self,
        dir: &Path,
        prefix: &[u8],
        skip: Option<&OsStr>,
        on_disk: bool,
    ) -> Result<()> {
        let mut names = crate::tree::read_names(dir, on_disk)
            .with_context(|| format!("walking {}: cannot read directory", dir.display()))?;
        if skip.is_some() {
            names.retain(|n| Some(n.as_os_str()) != skip);
        }
        // Bytewise, as strcmp/alphasort in the C locale.
        for (name, absent) in crate::tree::merge(dir, names, self.absent)? {
            let path = dir.join(&name);
            let mut arc = prefix.to_vec();
            arc.extend_from_slice(name.as_bytes());
            if name.as_bytes().contains(&b'\n') {
                // As dpkg-deb: dpkg's file lists are newline-separated.
                bail!(
                    "newline not allowed in pathname {:?}",
                    String::from_utf8_lossy(&arc)
                );
            }
            if let Some(kind) = absent {
                self.absent_entry(arc, path, kind)?;
                continue;
            }
            let meta = fs::symlink_metadata(&path)
                .with_context(|| format!("walking {}: cannot stat it", path.display()))?;
            let ft = meta.file_type();
            if ft.is_dir() {
                arc.push(b'/');
                self.push(arc.clone(), path.clone(), &meta, EntryKind::Directory)?;
                self.dir(&path, &arc, None, true)?;
            } else if ft.is_symlink() {
                let target = fs::read_link(&path)
                    .with_context(|| format!("walking {}: cannot read symlink", path.display()))?;
                let target = target.as_os_str().as_bytes().to_vec();
                self.push(arc, path, &meta, EntryKind::Symlink { target })?;
            } else if ft.is_file() {
                let size = meta.len();
                self.push(arc, path, &meta, EntryKind::File { size })?;
            } else {
                let what = if ft.is_block_device() {
                    "a block device"
                } else if ft.is_char_device() {
                    "a character device"
                } else if ft.is_fifo() {
                    "a FIFO"
                } else if ft.is_socket() {
                    "a socket"
                } else {
                    "of an unknown file type"
                };
                bail!(
                    "{} is {what}: venvdeb packages only directories, regular files and symlinks",
                    path.display()
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn names(entries: &[Entry]) -> Vec<String> {
        entries
            .iter()
            .map(|e| String::from_utf8_lossy(&e.name).into_owned())
            .collect()
    }

    #[test]
    fn depth_first_bytewise_symlinks_last() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        // Created in an order unlike the archive order.
        fs::create_dir_all(r.join("x/a")).unwrap();
        fs::write(r.join("x/a.b"), b"").unwrap();
        fs::write(r.join("x/a-b"), b"").unwrap();
        symlink("a/child", r.join("x/0link")).unwrap();
        fs::write(r.join("x/a/child"), b"c").unwrap();
        fs::write(r.join("x/_z"), b"").unwrap();
        fs::create_dir(r.join("x/B")).unwrap();
        fs::create_dir(r.join("DEBIAN")).unwrap();
        symlink("/abs", r.join("A")).unwrap();
        let e = collect(r, Some(OsStr::new("DEBIAN")), Order::SymlinksLast).unwrap();
        assert_eq!(
            names(&e),
            [
                "./",
                "./x/",
                "./x/B/",
                "./x/_z",
                "./x/a/",
                "./x/a/child",
                "./x/a-b",
                "./x/a.b",
                "./A",
                "./x/0link"
            ]
        );
        assert_eq!(
            e[8].kind,
            EntryKind::Symlink {
                target: b"/abs".to_vec()
            }
        );
        // DEBIAN is skipped only at the top.
        fs::create_dir(r.join("x/DEBIAN")).unwrap();
        let e = collect(r, Some(OsStr::new("DEBIAN")), Order::SymlinksLast).unwrap();
        assert!(names(&e).contains(&"./x/DEBIAN/".to_string()));
    }

    #[test]
    fn control_order_keeps_symlinks_in_place() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        fs::create_dir(r.join("sub")).unwrap();
        fs::write(r.join("sub/f"), b"").unwrap();
        fs::write(r.join("sub-a"), b"").unwrap();
        symlink("sub-a", r.join("sub.c")).unwrap();
        fs::write(r.join("z"), b"").unwrap();
        let e = collect(r, None, Order::InPlace).unwrap();
        assert_eq!(
            names(&e),
            ["./", "./sub/", "./sub/f", "./sub-a", "./sub.c", "./z"]
        );
    }

    #[test]
    fn hard_links_point_to_first_in_archive_order() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        fs::create_dir(r.join("z")).unwrap();
        fs::write(r.join("z/orig"), b"data").unwrap();
        fs::hard_link(r.join("z/orig"), r.join("a")).unwrap();
        fs::hard_link(r.join("z/orig"), r.join("m")).unwrap();
        let e = collect(r, None, Order::SymlinksLast).unwrap();
        assert_eq!(names(&e), ["./", "./a", "./m", "./z/", "./z/orig"]);
        assert_eq!(e[1].kind, EntryKind::File { size: 4 });
        assert_eq!(
            e[2].kind,
            EntryKind::HardLink {
                target: b"./a".to_vec()
            }
        );
        assert_eq!(
            e[4].kind,
            EntryKind::HardLink {
                target: b"./a".to_vec()
            }
        );
    }

    #[test]
    fn refuses_newline_in_names() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("a")).unwrap();
        fs::write(d.path().join("a/new\nline"), b"").unwrap();
        let err = format!(
            "{:#}",
            collect(d.path(), None, Order::SymlinksLast).unwrap_err()
        );
        assert!(err.contains("newline not allowed in pathname"), "{err}");
    }

    #[test]
    fn refuses_fifo_naming_it() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("pipe");
        let st = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(st.success());
        let err = format!(
            "{:#}",
            collect(d.path(), None, Order::SymlinksLast).unwrap_err()
        );
        assert!(err.contains("pipe") && err.contains("FIFO"), "{err}");
    }
}
