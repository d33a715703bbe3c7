//! `DEBIAN/md5sums` of the one-pass data member
//! ([`super::write_deb_data_first`]): each regular file's line is written,
//! as the file is archived, to an unlinked scratch file (not kept in
//! memory, whose peak is the compressor's); once the data member is
//! finished, the lines are read back, hard links added and the whole sorted
//! bytewise by path, as dh_md5sums writes them.
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::walk::Entry;

/// `<md5 hex>  ` before each name.
const NAME_AT: usize = 32 + 2;

/// The md5sums lines of the files archived so far, in archive order.
pub(super) struct Lines {
    out: BufWriter<File>,
}

impl Lines {
    /// Lines kept in an unlinked file in `scratch`.
    pub(super) fn new(scratch: &Path) -> Result<Lines> {
        let file = crate::atomic::unlinked_beside(&scratch.join("md5sums"))?;
        Ok(Lines {
            out: BufWriter::with_capacity(64 * 1024, file),
        })
    }

    /// The line of regular file `e` (archive name `./…`), whose bytes had
    /// `md5`.
    pub(super) fn push(&mut self, e: &Entry, md5: [u8; 16]) -> Result<()> {
        let name = e.name.strip_prefix(b"./").unwrap_or(&e.name);
        if std::str::from_utf8(name).is_err() {
            bail!("{}: file name is not valid UTF-8", e.path.display());
        }
        self.write_line(&md5, name)
            .context("writing the md5sums lines to a scratch file")
    }

    fn write_line(&mut self, md5: &[u8; 16], name: &[u8]) -> std::io::Result<()> {
        self.out.write_all(crate::encoding::hex(md5).as_bytes())?;
        self.out.write_all(b"  ")?;
        self.out.write_all(name)?;
        self.out.write_all(b"\n")
    }

    /// The md5sums text: every line pushed, and one per hard link (name,
    /// name of the regular file it links to; archive names without
    /// `./`), sorted bytewise by name. `root` names the tree in errors.
    pub(super) fn finish(self, root: &Path, links: &[(Vec<u8>, Vec<u8>)]) -> Result<String> {
        let text = self.read_back()?;
        let mut lines: Vec<&str> = text.lines().collect();
        if let Some(i) = lines.iter().position(|l| !well_formed(l)) {
            bail!(
                "internal: line {} of the md5sums scratch file is malformed",
                i + 1
            );
        }
        let linked = link_lines(root, &lines, links)?;
        lines.extend(linked.iter().map(String::as_str));
        lines.sort_unstable_by(|a, b| name_of(a).cmp(name_of(b)));
        let mut out =
            String::with_capacity(text.len() + linked.iter().map(|l| l.len() + 1).sum::<usize>());
        for l in lines {
            out.push_str(l);
            out.push('\n');
        }
        Ok(out)
    }

    fn read_back(self) -> Result<String> {
        let step = "reading back the md5sums lines from their scratch file";
        let mut file = self
            .out
            .into_inner()
            .map_err(|e| e.into_error())
            .context(step)?;
        file.seek(SeekFrom::Start(0)).context(step)?;
        let mut text = String::new();
        file.read_to_string(&mut text).context(step)?;
        Ok(text)
    }
}

/// `<32 hex digits>  <name>`.
fn well_formed(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() > NAME_AT && b[..32].iter().all(u8::is_ascii_hexdigit) && &b[32..NAME_AT] == b"  "
}

/// The name in a md5sums line (empty if there is none).
fn name_of(line: &str) -> &[u8] {
    line.as_bytes().get(NAME_AT..).unwrap_or_default()
}

/// One line per hard link, with the md5 of the file it links to.
fn link_lines(root: &Path, lines: &[&str], links: &[(Vec<u8>, Vec<u8>)]) -> Result<Vec<String>> {
    if links.is_empty() {
        return Ok(Vec::new());
    }
    let by_name: BTreeMap<&[u8], &str> = lines
        .iter()
        .map(|l| (name_of(l), l.get(..32).unwrap_or_default()))
        .collect();
    let mut out = Vec::with_capacity(links.len());
    for (name, target) in links {
        let shown = || root.join(OsStr::from_bytes(name)).display().to_string();
        let Some(md5) = by_name.get(target.as_slice()) else {
            bail!(
                "{}: hard link to {:?}, which is not a regular file of the archive",
                shown(),
                String::from_utf8_lossy(target)
            );
        };
        let Ok(name) = std::str::from_utf8(name) else {
            bail!("{}: file name is not valid UTF-8", shown());
        };
        out.push(format!("{md5}  {name}"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deb::walk::EntryKind;

    fn file(name: &str) -> Entry {
        Entry {
            name: name.as_bytes().to_vec(),
            path: Path::new("/t").join(name),
            kind: EntryKind::File { size: 0 },
            mode: 0o644,
            mtime: 0,
            absent: false,
            source: 0,
        }
    }

    /// Archive order ("a/" before "a-b") is not md5sums order (by path
    /// bytes: "a-b/x" before "a/x"); hard links take their target's md5.
    #[test]
    fn lines_come_back_sorted_by_path_with_links() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Lines::new(dir.path()).unwrap();
        l.push(&file("./a/x"), [1; 16]).unwrap();
        l.push(&file("./a-b/y"), [2; 16]).unwrap();
        l.push(&file("./z"), [3; 16]).unwrap();
        let links = [(b"b".to_vec(), b"a/x".to_vec())];
        let text = l.finish(dir.path(), &links).unwrap();
        let one = "01".repeat(16);
        let two = "02".repeat(16);
        let three = "03".repeat(16);
        assert_eq!(
            text,
            format!("{two}  a-b/y\n{one}  a/x\n{one}  b\n{three}  z\n")
        );
        // Nothing left behind in the scratch directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_link_to_no_archived_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Lines::new(dir.path()).unwrap();
        l.push(&file("./a"), [1; 16]).unwrap();
        let links = [(b"b".to_vec(), b"c".to_vec())];
        let err = l.finish(dir.path(), &links).unwrap_err().to_string();
        assert!(err.contains("hard link to \"c\""), "{err}");
    }

    #[test]
    fn a_name_that_is_not_utf8_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Lines::new(dir.path()).unwrap();
        let mut e = file("./a");
        e.name = b"./\xff".to_vec();
        let err = l.push(&e, [0; 16]).unwrap_err().to_string();
        assert!(err.contains("not valid UTF-8"), "{err}");
    }
}
