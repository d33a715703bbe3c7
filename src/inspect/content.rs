//! `diff --content`: unified diffs of the text files whose bytes differ.
//!
//! Bounded memory: only regular files present in both packages, with
//! different sha256, and each at most `CONTENT_LIMIT` bytes on both sides,
//! are diffed, and only if both sides are text (UTF-8 without NUL bytes).
//! Control files come from what `view` kept; data files need a second pass
//! over both packages: A's candidates are spooled to a private temporary
//! directory, then each is diffed while B streams, so at most two such files
//! are in memory at once.
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use super::debreader::{read_deb_file, Part};
use super::diff::Comparison;
use super::tarstream::Kind;

/// Largest file (either side) whose content is diffed: 1 MiB.
pub(crate) const CONTENT_LIMIT: u64 = 1 << 20;

/// The content comparison of one path.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ContentDiff {
    pub area: String,
    pub path: String,
    /// The unified diff, when both sides are text under the limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Why no diff is shown, otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

fn as_text(bytes: &[u8]) -> Option<&str> {
    if bytes.contains(&0) {
        return None;
    }
    std::str::from_utf8(bytes).ok()
}

fn unified(path: &str, a: &[u8], b: &[u8]) -> (Option<String>, Option<String>) {
    match (as_text(a), as_text(b)) {
        (Some(ta), Some(tb)) => {
            let d = similar::TextDiff::from_lines(ta, tb)
                .unified_diff()
                .context_radius(3)
                .header(&format!("a/{path}"), &format!("b/{path}"))
                .to_string();
            (Some(d), None)
        }
        _ => (None, Some("binary (not UTF-8 text)".into())),
    }
}

/// The key `view` gives an entry (`view::unique_key`), given the keys
/// already given in that part.
fn key_of(seen: &mut BTreeSet<String>, path: &str) -> String {
    let key = super::view::unique_key(|k| seen.contains(k), path);
    seen.insert(key.clone());
    key
}

/// Content diffs for every regular file whose sha256 differs.
pub(crate) fn content_diffs(
    cmp: &Comparison,
    path_a: &Path,
    path_b: &Path,
) -> Result<Vec<ContentDiff>> {
    let mut out = Vec::new();
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    for part in [Part::Control, Part::Data] {
        let (ea, eb) = (cmp.a.entries(part), cmp.b.entries(part));
        for (key, a) in ea {
            let Some(b) = eb.get(key) else { continue };
            if a.kind() != Kind::File || b.kind() != Kind::File || a.sha256 == b.sha256 {
                continue;
            }
            let mut cd = ContentDiff {
                area: part.name().into(),
                path: key.clone(),
                diff: None,
                skipped: None,
            };
            if a.entry.size > CONTENT_LIMIT || b.entry.size > CONTENT_LIMIT {
                cd.skipped = Some(format!(
                    "larger than the {CONTENT_LIMIT}-byte content limit"
                ));
            } else if part == Part::Control {
                match (cmp.a.control_files.get(key), cmp.b.control_files.get(key)) {
                    (Some(x), Some(y)) => (cd.diff, cd.skipped) = unified(key, x, y),
                    _ => cd.skipped = Some("not kept".into()),
                }
            } else {
                wanted.insert(key.clone());
            }
            out.push(cd);
        }
    }
    if !wanted.is_empty() {
        let spool = crate::atomic::TempDir::new("venvdeb-diff")?;
        let mut names: BTreeMap<String, PathBuf> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        read_deb_file(path_a, |part, entry, reader| {
            if part != Part::Data {
                return Ok(());
            }
            let key = key_of(&mut seen, &entry.path);
            if entry.kind == Kind::File && wanted.contains(&key) {
                let file = spool.path().join(names.len().to_string());
                let mut f = std::fs::File::create(&file)
                    .with_context(|| format!("writing {}", file.display()))?;
                std::io::copy(&mut reader.take(CONTENT_LIMIT), &mut f)
                    .with_context(|| format!("writing {}", file.display()))?;
                names.insert(key, file);
            }
            Ok(())
        })?;
        let mut diffs: BTreeMap<String, (Option<String>, Option<String>)> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        read_deb_file(path_b, |part, entry, reader| {
            if part != Part::Data {
                return Ok(());
            }
            let key = key_of(&mut seen, &entry.path);
            if let Some(file) = names.get(&key) {
                if entry.kind != Kind::File {
                    return Ok(());
                }
                let mut b = Vec::new();
                reader.take(CONTENT_LIMIT).read_to_end(&mut b)?;
                let a =
                    std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
                diffs.insert(key.clone(), unified(&key, &a, &b));
            }
            Ok(())
        })?;
        for cd in out
            .iter_mut()
            .filter(|c| c.area == Part::Data.name() && c.diff.is_none() && c.skipped.is_none())
        {
            match diffs.remove(&cd.path) {
                Some((d, s)) => (cd.diff, cd.skipped) = (d, s),
                None => cd.skipped = Some("changed between the two reads of the package".into()),
            }
        }
    }
    Ok(out)
}
