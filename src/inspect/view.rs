//! One package read once into what a comparison needs: every tar entry's
//! decoded header, raw header block and sha256 (never its contents), plus
//! the small control files (capped) and the ar/tar summaries. Memory grows
//! with the number of entries, not with the size of files.
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use anyhow::Result;

use super::debreader::{read_deb_file, DebSummary, Part};
use super::tarstream::{Entry, Kind};
use crate::encoding::Hashing;

/// Control files larger than this are hashed but not kept.
pub(crate) const CONTROL_KEEP_LIMIT: u64 = 1 << 20;

/// An entry's header and content hash.
#[derive(Debug, Clone)]
pub(crate) struct EntryInfo {
    pub entry: Entry,
    /// sha256 of the data (regular files; empty for other kinds).
    pub sha256: String,
}

impl EntryInfo {
    pub(crate) fn kind(&self) -> Kind {
        self.entry.kind
    }
}

/// A package as the comparison sees it.
#[derive(Debug)]
pub(crate) struct PackageView {
    pub summary: DebSummary,
    /// Entries by key (the tar path; a repeated path gets " (occurrence N)").
    pub control: BTreeMap<String, EntryInfo>,
    pub data: BTreeMap<String, EntryInfo>,
    /// Regular files of control.tar up to `CONTROL_KEEP_LIMIT` bytes.
    pub control_files: BTreeMap<String, Vec<u8>>,
}

impl PackageView {
    pub(crate) fn entries(&self, part: Part) -> &BTreeMap<String, EntryInfo> {
        match part {
            Part::Control => &self.control,
            Part::Data => &self.data,
        }
    }
}

/// The key of a tar path: the path, or for one seen before `<path>
/// (occurrence N)` with the first N not `taken` (so that a member literally
/// named like that cannot collide). `content` keys its reads the same way.
pub(crate) fn unique_key(taken: impl Fn(&str) -> bool, path: &str) -> String {
    let mut key = path.to_string();
    let mut n = 1;
    while taken(&key) {
        n += 1;
        key = format!("{path} (occurrence {n})");
    }
    key
}

/// Read a .deb into a `PackageView`, streaming.
pub(crate) fn read_view(path: &Path) -> Result<PackageView> {
    let mut control = BTreeMap::new();
    let mut data = BTreeMap::new();
    let mut control_files = BTreeMap::new();
    let summary = read_deb_file(path, |part, entry, reader| {
        let mut sha256 = String::new();
        let mut kept = None;
        if entry.kind == Kind::File {
            let mut h = Hashing::new(reader);
            if part == Part::Control && entry.size <= CONTROL_KEEP_LIMIT {
                let mut buf = Vec::with_capacity(entry.size as usize);
                h.read_to_end(&mut buf)?;
                kept = Some(buf);
            } else {
                std::io::copy(&mut h, &mut std::io::sink())?;
            }
            sha256 = h.finish_hex().0;
        }
        let info = EntryInfo {
            entry: entry.clone(),
            sha256,
        };
        let map = match part {
            Part::Control => &mut control,
            Part::Data => &mut data,
        };
        let key = unique_key(|k| map.contains_key(k), &info.entry.path);
        map.insert(key.clone(), info);
        if let Some(buf) = kept {
            control_files.insert(key, buf);
        }
        Ok(())
    })?;
    Ok(PackageView {
        summary,
        control,
        data,
        control_files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_named_like_an_occurrence_key_does_not_collide() {
        // view and content key the same stream the same way.
        let mut taken = std::collections::BTreeSet::new();
        let keys: Vec<String> = ["a", "a (occurrence 2)", "a", "a"]
            .into_iter()
            .map(|p| {
                let k = unique_key(|k| taken.contains(k), p);
                taken.insert(k.clone());
                k
            })
            .collect();
        assert_eq!(
            keys,
            [
                "a",
                "a (occurrence 2)",
                "a (occurrence 3)",
                "a (occurrence 4)"
            ]
        );
    }
}
