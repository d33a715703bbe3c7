//! The part of `venvdeb build`'s staging tree that is not on disk: the
//! files whose bytes stay in their wheels until the .deb writer streams
//! them (`venv::deferred`), and the directories that hold only such files.
//! Creating them would cost a link or an inode each, tens of thousands per
//! large venv, plus a walk to stat them and another to remove them.
//!
//! [`Absent`] lists them by directory; [`merge`] gives the children of a
//! directory as the walkers see them (the deb writer's `deb::walk`, the
//! manifest's scan, the system-module check): the names on disk and the
//! absent ones, sorted bytewise, one of each.
use std::collections::{BTreeMap, HashMap};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::arena::{ByteArena, Span};

/// What an absent child is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AbsentKind {
    /// A regular file: its size, whether it is executable (0755, else
    /// 0644), and which of the caller's files it is (`source`: the index
    /// in the list given to [`Absent::new`]).
    File {
        size: u64,
        executable: bool,
        source: u32,
    },
    /// A directory (0755) holding absent children.
    Dir,
}

/// The absent files and directories, by parent directory (absolute
/// paths on disk, under a base directory that exists). Packed once made:
/// a fixed-size record per child and one buffer of names, so that the
/// tree of a large venv (tens of thousands of files) is a few
/// allocations, not one per name.
#[derive(Debug, Default, Clone)]
pub(crate) struct Absent {
    /// The directories with absent children, sorted as paths (by
    /// components): the path (in `text`) and their children's range in
    /// `kids`.
    dirs: Vec<(Span, std::ops::Range<u32>)>,
    /// Each directory's absent children, sorted by name bytes.
    kids: Vec<(Span, AbsentKind)>,
    /// Directory paths and child names.
    text: ByteArena,
    /// How many files (numbered `0..files`).
    files: usize,
}

impl Absent {
    /// The absent `files` (path, size, executable), each strictly under
    /// `base`, numbered in order (`AbsentKind::File::source`); the directories between `base` and them are absent too
    /// (`merge` finds those that exist on disk all the same). A path
    /// listed twice, or both as a file and as a directory, is an error.
    pub(crate) fn new(
        base: &Path,
        files: impl IntoIterator<Item = (PathBuf, u64, bool)>,
    ) -> Result<Absent> {
        let mut by_dir: HashMap<PathBuf, BTreeMap<OsString, AbsentKind>> = HashMap::new();
        let mut count = 0;
        for (source, (path, size, executable)) in files.into_iter().enumerate() {
            count += 1;
            let Ok(source) = u32::try_from(source) else {
                bail!("more than 2^32 files in one package");
            };
            let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
                bail!("internal: absent file {} has no parent", path.display());
            };
            if !parent.starts_with(base) {
                bail!(
                    "internal: absent file {} is outside {}",
                    path.display(),
                    base.display()
                );
            }
            let kind = AbsentKind::File {
                size,
                executable,
                source,
            };
            if by_dir
                .entry(parent.to_path_buf())
                .or_default()
                .insert(name.to_os_string(), kind)
                .is_some()
            {
                bail!("internal: absent file {} listed twice", path.display());
            }
            // Its directories, up to the base.
            let mut dir = parent;
            while dir != base {
                let (Some(up), Some(name)) = (dir.parent(), dir.file_name()) else {
                    break;
                };
                let siblings = by_dir.entry(up.to_path_buf()).or_default();
                match siblings.get(name) {
                    Some(AbsentKind::Dir) => break,
                    Some(AbsentKind::File { .. }) => bail!(
                        "internal: {} is both an absent file and a directory",
                        dir.display()
                    ),
                    None => {
                        siblings.insert(name.to_os_string(), AbsentKind::Dir);
                    }
                }
                dir = up;
            }
        }
        // A name that became a directory after it was listed as a file.
        for (dir, kids) in &by_dir {
            for (name, kind) in kids {
                if matches!(kind, AbsentKind::File { .. }) && by_dir.contains_key(&dir.join(name)) {
                    bail!(
                        "internal: {} is both an absent file and a directory",
                        dir.join(name).display()
                    );
                }
            }
        }
        Absent::pack(by_dir, count)
    }

    /// The tree in its packed form.
    fn pack(
        by_dir: HashMap<PathBuf, BTreeMap<OsString, AbsentKind>>,
        files: usize,
    ) -> Result<Absent> {
        let mut dirs: Vec<(PathBuf, BTreeMap<OsString, AbsentKind>)> = by_dir.into_iter().collect();
        // Path order (by components), as `kids_of` searches.
        dirs.sort_by(|a, b| a.0.cmp(&b.0));
        let text_len: usize = dirs
            .iter()
            .map(|(d, kids)| d.as_os_str().len() + kids.keys().map(|n| n.len()).sum::<usize>())
            .sum();
        let n_kids: usize = dirs.iter().map(|(_, kids)| kids.len()).sum();
        if u32::try_from(n_kids).is_err() {
            bail!("more than 2^32 absent files and directories");
        }
        let mut a = Absent {
            dirs: Vec::with_capacity(dirs.len()),
            kids: Vec::with_capacity(n_kids),
            text: ByteArena::with_capacity(text_len),
            files,
        };
        for (dir, kids) in dirs {
            let path = a.text.push(dir.as_os_str().as_bytes())?;
            let first = a.kids.len() as u32;
            for (name, kind) in kids {
                let name = a.text.push(name.as_bytes())?;
                a.kids.push((name, kind));
            }
            a.dirs.push((path, first..a.kids.len() as u32));
        }
        Ok(a)
    }

    /// How many absent files.
    pub(crate) fn files(&self) -> usize {
        self.files
    }

    /// The absent children of `dir`, packed.
    fn kids_of(&self, dir: &Path) -> &[(Span, AbsentKind)] {
        let range = self
            .dirs
            .binary_search_by(|(p, _)| Path::new(OsStr::from_bytes(self.text.get(*p))).cmp(dir))
            .map_or(0..0, |i| self.dirs[i].1.clone());
        &self.kids[range.start as usize..range.end as usize]
    }

    /// The absent children of `dir` (name, kind), sorted by name bytes.
    pub(crate) fn children(
        &self,
        dir: &Path,
    ) -> impl ExactSizeIterator<Item = (&OsStr, AbsentKind)> + '_ {
        self.kids_of(dir)
            .iter()
            .map(|(n, k)| (OsStr::from_bytes(self.text.get(*n)), *k))
    }

    /// What `path` is, when it is absent.
    pub(crate) fn get(&self, path: &Path) -> Option<AbsentKind> {
        let (parent, name) = (path.parent()?, path.file_name()?);
        let kids = self.kids_of(parent);
        kids.binary_search_by(|(n, _)| self.text.get(*n).cmp(name.as_bytes()))
            .ok()
            .map(|i| kids[i].1)
    }
}

/// The children of `dir` as a walk sees them: `on_disk` (the names
/// read from the directory, if it exists) and the absent ones, sorted by
/// name bytes; an absent child is given with its kind. A name both on
/// disk and absent is a directory that exists (its absent children are
/// merged in turn), or an error.
pub(crate) fn merge(
    dir: &Path,
    mut on_disk: Vec<OsString>,
    absent: &Absent,
) -> Result<Vec<(OsString, Option<AbsentKind>)>> {
    let kids = absent.children(dir);
    on_disk.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    if kids.len() == 0 {
        return Ok(on_disk.into_iter().map(|n| (n, None)).collect());
    }
    let mut out = Vec::with_capacity(on_disk.len() + kids.len());
    let mut disk = on_disk.into_iter().peekable();
    let mut kids = kids.peekable();
    loop {
        let order = match (disk.peek(), kids.peek()) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(d), Some((k, _))) => d.as_bytes().cmp(k.as_bytes()),
        };
        match order {
            std::cmp::Ordering::Less => out.push((disk.next().unwrap_or_default(), None)),
            std::cmp::Ordering::Greater => {
                if let Some((name, kind)) = kids.next() {
                    out.push((name.to_os_string(), Some(kind)));
                }
            }
            std::cmp::Ordering::Equal => {
                let name = disk.next().unwrap_or_default();
                let kind = kids.next().map(|(_, k)| k);
                if kind != Some(AbsentKind::Dir) {
                    bail!(
                        "{} is on disk and also a file whose bytes are in a wheel",
                        dir.join(&name).display()
                    );
                }
                // A directory that exists: walked from disk.
                out.push((name, None));
            }
        }
    }
    Ok(out)
}

/// The names on disk in `dir`, or none when the directory is absent.
pub(crate) fn read_names(dir: &Path, exists: bool) -> std::io::Result<Vec<OsString>> {
    if !exists {
        return Ok(Vec::new());
    }
    std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name()))
        .collect()
}

/// The mode an absent child has.
pub(crate) fn mode(kind: AbsentKind) -> u32 {
    match kind {
        AbsentKind::Dir => 0o755,
        AbsentKind::File {
            executable: true, ..
        } => 0o755,
        AbsentKind::File { .. } => 0o644,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[(OsString, Option<AbsentKind>)]) -> Vec<String> {
        v.iter()
            .map(|(n, k)| {
                let tag = match k {
                    None => "",
                    Some(AbsentKind::Dir) => "/",
                    Some(AbsentKind::File { .. }) => "*",
                };
                format!("{}{tag}", n.to_string_lossy())
            })
            .collect()
    }

    #[test]
    fn directories_come_with_their_files_and_merge_bytewise() {
        let base = Path::new("/s/v");
        let a = Absent::new(
            base,
            [
                (PathBuf::from("/s/v/lib/p/a.py"), 3, false),
                (PathBuf::from("/s/v/lib/p/sub/b.so"), 9, true),
                (PathBuf::from("/s/v/lib/p-1.dist-info/METADATA"), 1, false),
                (PathBuf::from("/s/v/bin/tool"), 5, true),
            ],
        )
        .unwrap();
        assert_eq!(
            a.get(Path::new("/s/v/lib/p/sub/b.so")),
            Some(AbsentKind::File {
                size: 9,
                executable: true,
                source: 1
            })
        );
        assert_eq!(a.get(Path::new("/s/v/lib/p")), Some(AbsentKind::Dir));
        assert_eq!(a.get(Path::new("/s/v/lib")), Some(AbsentKind::Dir));
        assert_eq!(a.get(Path::new("/s/v")), None);
        assert_eq!(a.get(Path::new("/s/v/lib/p/zz")), None);
        // `lib` and `bin` exist on disk, with files of their own.
        let top = merge(
            base,
            vec!["pyvenv.cfg".into(), "lib".into(), "bin".into()],
            &a,
        )
        .unwrap();
        assert_eq!(names(&top), ["bin", "lib", "pyvenv.cfg"]);
        let lib = merge(
            Path::new("/s/v/lib"),
            vec!["p-1.dist-info".into(), "aaa".into()],
            &a,
        )
        .unwrap();
        // Bytewise: '-' < '/'-free names; "p" < "p-1.dist-info".
        assert_eq!(names(&lib), ["aaa", "p/", "p-1.dist-info"]);
        let p = merge(Path::new("/s/v/lib/p"), Vec::new(), &a).unwrap();
        assert_eq!(names(&p), ["a.py*", "sub/"]);
        assert_eq!(mode(a.get(Path::new("/s/v/bin/tool")).unwrap()), 0o755);
        assert_eq!(mode(a.get(Path::new("/s/v/lib/p/a.py")).unwrap()), 0o644);
    }

    #[test]
    fn directories_are_found_by_components() {
        let base = Path::new("/s/v");
        let a = Absent::new(
            base,
            [
                (PathBuf::from("/s/v/lib/b.py"), 1, false),
                (PathBuf::from("/s/v/lib-x/c.py"), 2, false),
                (PathBuf::from("/s/v/lib/a.py"), 3, false),
            ],
        )
        .unwrap();
        let names = |d: &str| -> Vec<String> {
            a.children(Path::new(d))
                .map(|(n, _)| n.to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(names("/s/v/lib"), ["a.py", "b.py"]);
        assert_eq!(names("/s//v/lib/"), ["a.py", "b.py"]);
        assert_eq!(names("/s/v/lib-x"), ["c.py"]);
        assert_eq!(names("/s/v"), ["lib", "lib-x"]);
        assert!(names("/s/v/li").is_empty());
        assert_eq!(
            a.get(Path::new("/s//v/lib/a.py")),
            Some(AbsentKind::File {
                size: 3,
                executable: false,
                source: 2
            })
        );
        assert_eq!(a.files(), 3);
    }

    #[test]
    fn conflicts_are_errors() {
        let base = Path::new("/b");
        assert!(Absent::new(
            base,
            [
                (PathBuf::from("/b/x"), 1, false),
                (PathBuf::from("/b/x"), 1, false)
            ]
        )
        .is_err());
        for order in [[0, 1], [1, 0]] {
            let files = [
                (PathBuf::from("/b/x"), 1, false),
                (PathBuf::from("/b/x/y"), 1, false),
            ];
            let files: Vec<_> = order.iter().map(|&i| files[i].clone()).collect();
            assert!(Absent::new(base, files).is_err(), "{order:?}");
        }
        assert!(Absent::new(base, [(PathBuf::from("/elsewhere/x"), 1, false)]).is_err());
        let a = Absent::new(base, [(PathBuf::from("/b/x"), 1, false)]).unwrap();
        let e = merge(base, vec!["x".into()], &a).unwrap_err();
        assert!(e.to_string().contains("/b/x is on disk"), "{e}");
    }
}
