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
/// a fixed-size record per directory and per child, and one buffer of
/// names, so that the tree of a large venv (tens of thousands of files) is
/// a few allocations, not one per name. For the .deb writer's pass the
/// children and their names move to a scratch file ([`Absent::spill`]):
/// only the directories stay in memory.
#[derive(Debug, Default, Clone)]
pub(crate) struct Absent {
    /// Where every absent path is.
    base: PathBuf,
    /// The directories with absent children, sorted as paths (by
    /// components).
    dirs: Vec<Dir>,
    /// Their paths relative to `base`.
    dir_paths: ByteArena,
    kids: Kids,
    /// How many files (numbered `0..files`).
    files: usize,
}

/// A directory with absent children.
#[derive(Debug, Clone, Copy)]
struct Dir {
    /// Its path relative to the base (in `Absent::dir_paths`).
    path: Span,
    /// Its children: `first..end` of the kids, sorted by name bytes, their
    /// names back to back from `names_at` (as long as the kids say).
    first: u32,
    end: u32,
    names_at: u64,
}

/// One absent child: its kind and the length of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Kid {
    name_len: u32,
    kind: AbsentKind,
}

/// The children of all directories, in directory order, and their names.
#[derive(Debug, Clone)]
enum Kids {
    Memory {
        kids: Vec<Kid>,
        names: Vec<u8>,
    },
    /// The same records and names in a scratch file.
    Spilled(crate::spill::Spill),
}

impl Default for Kids {
    fn default() -> Kids {
        Kids::Memory {
            kids: Vec::new(),
            names: Vec::new(),
        }
    }
}

/// A spilled child's record: name length (u32), kind (u8: 0 file, 1
/// directory), executable (flag), size (u64), source (u32).
const KID_LEN: usize = 4 + 1 + 1 + 8 + 4;

impl Kid {
    fn encode(&self) -> [u8; KID_LEN] {
        let (tag, executable, size, source) = match self.kind {
            AbsentKind::File {
                size,
                executable,
                source,
            } => (0u8, executable, size, source),
            AbsentKind::Dir => (1u8, false, 0, 0),
        };
        let mut out = [0u8; KID_LEN];
        out[..4].copy_from_slice(&self.name_len.to_le_bytes());
        out[4] = tag;
        out[5] = u8::from(executable);
        out[6..14].copy_from_slice(&size.to_le_bytes());
        out[14..].copy_from_slice(&source.to_le_bytes());
        out
    }

    fn decode(record: &[u8]) -> Result<Kid> {
        let mut f = crate::spill::Fields::new(record);
        let name_len = f.u32()?;
        let tag = f.u8()?;
        let executable = f.flag()?;
        let size = f.u64()?;
        let source = f.u32()?;
        f.end()?;
        let kind = match tag {
            0 => AbsentKind::File {
                size,
                executable,
                source,
            },
            1 if !executable && size == 0 && source == 0 => AbsentKind::Dir,
            _ => bail!("bad kind {tag}"),
        };
        Ok(Kid { name_len, kind })
    }
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
        Absent::pack(base, by_dir, count)
    }

    /// The tree in its packed form.
    fn pack(
        base: &Path,
        by_dir: HashMap<PathBuf, BTreeMap<OsString, AbsentKind>>,
        files: usize,
    ) -> Result<Absent> {
        let mut dirs: Vec<(PathBuf, BTreeMap<OsString, AbsentKind>)> = by_dir.into_iter().collect();
        // Path order (by components), as `find_dir` searches.
        dirs.sort_by(|a, b| a.0.cmp(&b.0));
        let n_kids: usize = dirs.iter().map(|(_, kids)| kids.len()).sum();
        if u32::try_from(n_kids).is_err() {
            bail!("more than 2^32 absent files and directories");
        }
        let names_len: usize = dirs
            .iter()
            .map(|(_, kids)| kids.keys().map(|n| n.len()).sum::<usize>())
            .sum();
        let rel = |dir: &Path| -> PathBuf { dir.strip_prefix(base).unwrap_or(dir).to_path_buf() };
        let paths_len: usize = dirs.iter().map(|(d, _)| rel(d).as_os_str().len()).sum();
        let mut a = Absent {
            base: base.to_path_buf(),
            dirs: Vec::with_capacity(dirs.len()),
            dir_paths: ByteArena::with_capacity(paths_len),
            kids: Kids::default(),
            files,
        };
        let mut kids_out = Vec::with_capacity(n_kids);
        let mut names = Vec::with_capacity(names_len);
        for (dir, kids) in dirs {
            let path = a.dir_paths.push(rel(&dir).as_os_str().as_bytes())?;
            let (first, names_at) = (kids_out.len() as u32, names.len() as u64);
            for (name, kind) in kids {
                let Ok(name_len) = u32::try_from(name.len()) else {
                    bail!("internal: absent name of {} bytes", name.len());
                };
                names.extend_from_slice(name.as_bytes());
                kids_out.push(Kid { name_len, kind });
            }
            a.dirs.push(Dir {
                path,
                first,
                end: kids_out.len() as u32,
                names_at,
            });
        }
        a.kids = Kids::Memory {
            kids: kids_out,
            names,
        };
        Ok(a)
    }

    /// The same tree with its children and their names moved to `file`
    /// (empty, read and write; an unlinked scratch file): only the
    /// directories stay in memory.
    pub(crate) fn spill(self, file: std::fs::File) -> Result<Absent> {
        let Kids::Memory { kids, names } = self.kids else {
            return Ok(self);
        };
        let Ok(count) = u32::try_from(kids.len()) else {
            bail!("more than 2^32 absent files and directories");
        };
        let mut w = crate::spill::SpillWriter::new(file, "the absent tree", KID_LEN, count);
        w.push_strings(&[&names])?;
        for k in &kids {
            w.push_record(&k.encode())?;
        }
        Ok(Absent {
            kids: Kids::Spilled(w.finish()?),
            ..self
        })
    }

    /// How many absent files.
    pub(crate) fn files(&self) -> usize {
        self.files
    }

    /// The directory `dir` (absolute), if it has absent children.
    /// Its index, too.
    fn find_dir(&self, dir: &Path) -> Option<(usize, Dir)> {
        let rel = dir.strip_prefix(&self.base).ok()?;
        self.dirs
            .binary_search_by(|d| Path::new(OsStr::from_bytes(self.dir_paths.get(d.path))).cmp(rel))
            .ok()
            .map(|i| (i, self.dirs[i]))
    }

    /// Where the names of directory `i`'s children end: where the next
    /// directory's start, or at the end of all names.
    fn names_end(&self, i: usize) -> u64 {
        match (self.dirs.get(i + 1), &self.kids) {
            (Some(next), _) => next.names_at,
            (None, Kids::Memory { names, .. }) => names.len() as u64,
            (None, Kids::Spilled(spill)) => spill.strings_len(),
        }
    }

    /// The absent children of `dir` (name, kind), sorted by name bytes.
    pub(crate) fn children(&self, dir: &Path) -> Result<Vec<(OsString, AbsentKind)>> {
        use std::borrow::Cow;
        let Some((i, d)) = self.find_dir(dir) else {
            return Ok(Vec::new());
        };
        let corrupt = |why: &str| {
            anyhow::anyhow!(
                "internal: the absent children of {} are corrupt ({why})",
                dir.display()
            )
        };
        let (first, end) = (d.first as usize, d.end as usize);
        let kids: Cow<[Kid]> = match &self.kids {
            Kids::Memory { kids, .. } => {
                Cow::Borrowed(kids.get(first..end).ok_or_else(|| corrupt("records"))?)
            }
            Kids::Spilled(spill) => {
                let mut records = vec![0u8; (end - first) * KID_LEN];
                spill.read_records(d.first, &mut records)?;
                let kids: Result<Vec<Kid>> = records.chunks(KID_LEN).map(Kid::decode).collect();
                Cow::Owned(kids.map_err(|e| corrupt(&e.to_string()))?)
            }
        };
        // The names are back to back, as long as the records say, up to
        // the next directory's.
        let names_len: usize = kids.iter().map(|k| k.name_len as usize).sum();
        if d.names_at.checked_add(names_len as u64) != Some(self.names_end(i)) {
            return Err(corrupt("name lengths"));
        }
        let names: Cow<[u8]> = match &self.kids {
            Kids::Memory { names, .. } => Cow::Borrowed(
                usize::try_from(d.names_at)
                    .ok()
                    .and_then(|at| names.get(at..at.checked_add(names_len)?))
                    .ok_or_else(|| corrupt("names"))?,
            ),
            Kids::Spilled(spill) => {
                let mut buf = Vec::new();
                spill.read_strings(d.names_at, names_len, &mut buf)?;
                Cow::Owned(buf)
            }
        };
        let mut out = Vec::with_capacity(kids.len());
        let mut at = 0usize;
        for k in kids.iter() {
            let end = at + k.name_len as usize;
            out.push((OsStr::from_bytes(&names[at..end]).to_os_string(), k.kind));
            at = end;
        }
        Ok(out)
    }

    /// What `path` is, when it is absent.
    pub(crate) fn get(&self, path: &Path) -> Result<Option<AbsentKind>> {
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return Ok(None);
        };
        let kids = self.children(parent)?;
        Ok(kids
            .binary_search_by(|(n, _)| n.as_bytes().cmp(name.as_bytes()))
            .ok()
            .map(|i| kids[i].1))
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
    let kids = absent.children(dir)?;
    on_disk.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    if kids.is_empty() {
        return Ok(on_disk.into_iter().map(|n| (n, None)).collect());
    }
    let mut out = Vec::with_capacity(on_disk.len() + kids.len());
    let mut disk = on_disk.into_iter().peekable();
    let mut kids = kids.into_iter().peekable();
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
                    out.push((name, Some(kind)));
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
            a.get(Path::new("/s/v/lib/p/sub/b.so")).unwrap(),
            Some(AbsentKind::File {
                size: 9,
                executable: true,
                source: 1
            })
        );
        assert_eq!(
            a.get(Path::new("/s/v/lib/p")).unwrap(),
            Some(AbsentKind::Dir)
        );
        assert_eq!(a.get(Path::new("/s/v/lib")).unwrap(), Some(AbsentKind::Dir));
        assert_eq!(a.get(Path::new("/s/v")).unwrap(), None);
        assert_eq!(a.get(Path::new("/s/v/lib/p/zz")).unwrap(), None);
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
        assert_eq!(
            mode(a.get(Path::new("/s/v/bin/tool")).unwrap().unwrap()),
            0o755
        );
        assert_eq!(
            mode(a.get(Path::new("/s/v/lib/p/a.py")).unwrap().unwrap()),
            0o644
        );
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
                .unwrap()
                .into_iter()
                .map(|(n, _)| n.to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(names("/s/v/lib"), ["a.py", "b.py"]);
        assert_eq!(names("/s//v/lib/"), ["a.py", "b.py"]);
        assert_eq!(names("/s/v/lib-x"), ["c.py"]);
        assert_eq!(names("/s/v"), ["lib", "lib-x"]);
        assert!(names("/s/v/li").is_empty());
        assert_eq!(
            a.get(Path::new("/s//v/lib/a.py")).unwrap(),
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

    /// A spilled tree answers as it did in memory; a corrupt child record
    /// is an error naming the directory, not a panic.
    #[test]
    fn a_spilled_tree_answers_the_same() {
        let base = Path::new("/s/v");
        let files = [
            (PathBuf::from("/s/v/lib/p/a.py"), 3, false),
            (PathBuf::from("/s/v/lib/p/sub/b.so"), 9, true),
            (PathBuf::from("/s/v/lib/p-1.dist-info/METADATA"), 1, false),
            (PathBuf::from("/s/v/bin/tool"), 5, true),
            (PathBuf::from("/s/v/\u{e9}t\u{e9}"), 0, false),
        ];
        let mem = Absent::new(base, files.clone()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = crate::atomic::unlinked_beside(&dir.path().join("absent")).unwrap();
        let spilled = Absent::new(base, files).unwrap().spill(file).unwrap();
        assert!(matches!(spilled.kids, Kids::Spilled(_)));
        for d in [
            "/s/v",
            "/s/v/lib",
            "/s/v/lib/p",
            "/s/v/lib/p/sub",
            "/s/v/bin",
            "/s/v/x",
            "/t",
        ] {
            let d = Path::new(d);
            assert_eq!(
                spilled.children(d).unwrap(),
                mem.children(d).unwrap(),
                "{d:?}"
            );
        }
        for p in [
            "/s/v/lib/p/sub/b.so",
            "/s/v/lib",
            "/s/v/\u{e9}t\u{e9}",
            "/s/v/nope",
            "/s/v",
        ] {
            let p = Path::new(p);
            assert_eq!(spilled.get(p).unwrap(), mem.get(p).unwrap(), "{p:?}");
        }
        assert_eq!(spilled.files(), 5);
        // Nothing named is left in the scratch directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    /// A child's name length that does not add up to where the next
    /// directory's names start is an error, not a wrong name.
    #[test]
    fn name_lengths_that_do_not_add_up_are_refused() {
        let base = Path::new("/s/v");
        let mut a = Absent::new(
            base,
            [
                (PathBuf::from("/s/v/a/x.py"), 1, false),
                (PathBuf::from("/s/v/b/y.py"), 1, false),
            ],
        )
        .unwrap();
        let Kids::Memory { kids, .. } = &mut a.kids else {
            unreachable!()
        };
        // The children of "/s/v" ("a", "b") come first.
        kids[0].name_len = 2;
        let e = a.children(base).unwrap_err().to_string();
        assert!(e.contains("corrupt (name lengths)"), "{e}");
        assert_eq!(a.children(Path::new("/s/v/b")).unwrap().len(), 1);
    }

    #[test]
    fn child_records_round_trip_and_refuse_garbage() {
        for kind in [
            AbsentKind::Dir,
            AbsentKind::File {
                size: u64::MAX,
                executable: true,
                source: u32::MAX,
            },
            AbsentKind::File {
                size: 0,
                executable: false,
                source: 0,
            },
        ] {
            let k = Kid { name_len: 7, kind };
            assert_eq!(Kid::decode(&k.encode()).unwrap(), k);
        }
        let mut bad = Kid {
            name_len: 1,
            kind: AbsentKind::Dir,
        }
        .encode();
        bad[4] = 9;
        assert!(Kid::decode(&bad).is_err());
        bad[4] = 1;
        bad[5] = 2;
        assert!(Kid::decode(&bad).is_err());
        assert!(Kid::decode(&bad[..5]).is_err());
    }
}
