//! The data member's listing, in archive order, as the one-pass writer
//! ([`super::write_deb_data_first`]) keeps it while it compresses: a
//! fixed-size record per entry and one buffer of names and link targets,
//! so that tens of thousands of entries cost a few allocations (no heap
//! per entry, nothing left scattered when it is dropped). Entries are
//! given back as [`walk::Entry`] values, one at a time, without their
//! paths on disk.
use std::path::PathBuf;

use anyhow::{bail, Result};

use super::walk::{self, EntryKind};
use crate::arena::{ByteArena, Span};

#[derive(Debug, Clone, Copy)]
enum Kind {
    Directory,
    File { size: u64 },
    Symlink(Span),
    HardLink(Span),
}

/// No parent: `name` is the whole archive name.
const WHOLE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Item {
    /// The directory entry this one is in (its name then follows the
    /// parent's), or `WHOLE`.
    parent: u32,
    name: Span,
    kind: Kind,
    mode: u32,
    mtime: i64,
    absent: bool,
    source: u32,
}

/// Archive entries in order. A name is kept as its last component after
/// its directory's entry (entries come depth first: the directory is
/// pushed before what it holds), so that the listing costs tens of bytes
/// per entry, not the whole path.
#[derive(Debug, Default)]
pub(super) struct Listing {
    items: Vec<Item>,
    text: ByteArena,
    /// The directories on the current path of the walk: (archive name,
    /// item).
    open: Vec<(Vec<u8>, u32)>,
}

impl Listing {
    /// Append `e` (its path on disk is not kept).
    pub(super) fn push(&mut self, e: &walk::Entry) -> Result<()> {
        let Ok(index) = u32::try_from(self.items.len()) else {
            bail!("more than 2^32 entries in one archive");
        };
        // "./a/b/" and "./a/b" are in "./a/".
        let bare = e.name.strip_suffix(b"/").unwrap_or(&e.name);
        let cut = bare.iter().rposition(|&b| b == b'/').map(|i| i + 1);
        let dir = cut.map(|i| &e.name[..i]);
        while let Some((top, _)) = self.open.last() {
            if Some(top.as_slice()) == dir {
                break;
            }
            self.open.pop();
        }
        let (parent, name) = match (self.open.last(), cut) {
            (Some((_, p)), Some(i)) => (*p, self.text.push(&e.name[i..])?),
            _ => (WHOLE, self.text.push(&e.name)?),
        };
        let kind = match &e.kind {
            EntryKind::Directory => Kind::Directory,
            EntryKind::File { size } => Kind::File { size: *size },
            EntryKind::Symlink { target } => Kind::Symlink(self.text.push(target)?),
            EntryKind::HardLink { target } => Kind::HardLink(self.text.push(target)?),
        };
        if matches!(kind, Kind::Directory) {
            self.open.push((e.name.clone(), index));
        }
        self.items.push(Item {
            parent,
            name,
            kind,
            mode: e.mode,
            mtime: e.mtime,
            absent: e.absent,
            source: e.source,
        });
        Ok(())
    }

    /// Done pushing: give back what growing reserved.
    pub(super) fn seal(&mut self) {
        self.open = Vec::new();
        self.items.shrink_to_fit();
        self.text.shrink_to_fit();
    }

    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether entry `i` is a regular file (whose bytes follow its header).
    pub(super) fn is_file(&self, i: usize) -> bool {
        matches!(self.items[i].kind, Kind::File { .. })
    }

    /// The archive name of entry `i` into `out` (cleared first).
    fn name_into(&self, i: usize, out: &mut Vec<u8>) {
        out.clear();
        let mut parts = Vec::new();
        let mut at = i;
        loop {
            let it = &self.items[at];
            parts.push(it.name);
            if it.parent == WHOLE {
                break;
            }
            at = it.parent as usize;
        }
        for s in parts.iter().rev() {
            out.extend_from_slice(self.text.get(*s));
        }
    }

    /// Entry `i`, without its path on disk.
    pub(super) fn get(&self, i: usize) -> walk::Entry {
        let it = &self.items[i];
        let mut name = Vec::new();
        self.name_into(i, &mut name);
        walk::Entry {
            name,
            path: PathBuf::new(),
            kind: match it.kind {
                Kind::Directory => EntryKind::Directory,
                Kind::File { size } => EntryKind::File { size },
                Kind::Symlink(t) => EntryKind::Symlink {
                    target: self.text.get(t).to_vec(),
                },
                Kind::HardLink(t) => EntryKind::HardLink {
                    target: self.text.get(t).to_vec(),
                },
            },
            mode: it.mode,
            mtime: it.mtime,
            absent: it.absent,
            source: it.source,
        }
    }

    /// The archive names of the regular files, in order.
    pub(super) fn file_names(&self) -> impl Iterator<Item = Vec<u8>> + '_ {
        (0..self.items.len()).filter(|&i| self.is_file(i)).map(|i| {
            let mut name = Vec::new();
            self.name_into(i, &mut name);
            name
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, kind: EntryKind) -> walk::Entry {
        walk::Entry {
            name: name.as_bytes().to_vec(),
            path: PathBuf::new(),
            kind,
            mode: 0o644,
            mtime: 0,
            absent: false,
            source: 0,
        }
    }

    /// Names are kept after their directory's entry, also for symlinks
    /// listed after the whole walk and for names that look alike.
    #[test]
    fn names_survive_the_walk_order() {
        let dir = || EntryKind::Directory;
        let file = || EntryKind::File { size: 1 };
        let link = || EntryKind::Symlink {
            target: b"x".to_vec(),
        };
        let names = [
            ("./", dir()),
            ("./a/", dir()),
            ("./a/b/", dir()),
            ("./a/b/c", file()),
            ("./a/b-c", file()),
            ("./a-b/", dir()),
            ("./a-b/d", file()),
            ("./z", file()),
            ("./a/b/l", link()),
            ("./a/l", link()),
            ("./l", link()),
        ];
        let mut l = Listing::default();
        for (n, k) in &names {
            l.push(&entry(n, k.clone())).unwrap();
        }
        l.seal();
        for (i, (n, _)) in names.iter().enumerate() {
            assert_eq!(String::from_utf8(l.get(i).name).unwrap(), *n);
        }
        let files: Vec<String> = l
            .file_names()
            .map(|n| String::from_utf8(n).unwrap())
            .collect();
        assert_eq!(files, ["./a/b/c", "./a/b-c", "./a-b/d", "./z"]);
    }

    #[test]
    fn entries_come_back_as_pushed() {
        let entries = vec![
            walk::Entry {
                name: b"./".to_vec(),
                path: PathBuf::from("/x"),
                kind: EntryKind::Directory,
                mode: 0o755,
                mtime: 5,
                absent: false,
                source: 0,
            },
            walk::Entry {
                name: b"./a".to_vec(),
                path: PathBuf::new(),
                kind: EntryKind::File { size: 7 },
                mode: 0o644,
                mtime: i64::MAX,
                absent: true,
                source: 3,
            },
            walk::Entry {
                name: b"./b".to_vec(),
                path: PathBuf::new(),
                kind: EntryKind::HardLink {
                    target: b"./a".to_vec(),
                },
                mode: 0o644,
                mtime: 1,
                absent: false,
                source: 0,
            },
            walk::Entry {
                name: "./\u{e9}".as_bytes().to_vec(),
                path: PathBuf::new(),
                kind: EntryKind::Symlink {
                    target: b"../../t".to_vec(),
                },
                mode: 0o777,
                mtime: 2,
                absent: false,
                source: 0,
            },
        ];
        let mut l = Listing::default();
        for e in &entries {
            l.push(e).unwrap();
        }
        assert_eq!(l.len(), 4);
        for (i, e) in entries.iter().enumerate() {
            let got = l.get(i);
            assert_eq!(got.name, e.name);
            assert_eq!(got.kind, e.kind);
            assert_eq!(
                (got.mode, got.mtime, got.absent, got.source),
                (e.mode, e.mtime, e.absent, e.source)
            );
            assert_eq!(got.path, PathBuf::new());
            assert_eq!(l.is_file(i), i == 1);
        }
        assert_eq!(l.file_names().collect::<Vec<_>>(), [b"./a".to_vec()]);
    }
}
