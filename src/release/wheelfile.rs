//! STOPGAP until `crate::wheel` (the verify engineer's safe wheel reader,
//! filename and RECORD parsers) lands on main: the few wheel facts the
//! release tools need — the file name's parts, a checked listing of a zip's
//! entries, one member's bytes, RECORD's rows and a METADATA field. Kept
//! deliberately small; to be replaced by `crate::wheel` after merging.
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// `{dist}-{version}(-{build})?-{python}-{abi}-{platform}.whl` → parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelName {
    pub dist: String,
    pub version: String,
    pub python: String,
    pub abi: String,
    pub platform: String,
}

pub fn parse_name(file_name: &str) -> Result<WheelName> {
    let stem = file_name
        .strip_suffix(".whl")
        .with_context(|| format!("{file_name}: not a .whl file name"))?;
    let parts: Vec<&str> = stem.split('-').collect();
    if !(parts.len() == 5 || parts.len() == 6) || parts.iter().any(|p| p.is_empty()) {
        bail!("{file_name}: not a wheel file name (name-version[-build]-python-abi-platform.whl)");
    }
    let n = parts.len();
    Ok(WheelName {
        dist: parts[0].to_string(),
        version: parts[1].to_string(),
        python: parts[n - 3].to_string(),
        abi: parts[n - 2].to_string(),
        platform: parts[n - 1].to_string(),
    })
}

/// A member name a wheel may carry: relative UTF-8, `/`-separated, no `..`,
/// no `.` components, no backslash, no NUL, no drive letter.
pub fn check_member_name(name: &str) -> Result<()> {
    let bad = name.is_empty()
        || name.starts_with('/')
        || name.contains('\\')
        || name.contains('\0')
        || name.as_bytes().get(1) == Some(&b':')
        || name
            .trim_end_matches('/')
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..");
    if bad {
        bail!("unsafe member name {name:?}");
    }
    Ok(())
}

/// An opened wheel whose entry list passed the checks: names safe and
/// unique, stored or deflated, not encrypted, no symlinks, one `.dist-info`.
pub struct Wheel {
    pub zip: zip::ZipArchive<File>,
    /// File entries (directories left out), in archive order.
    pub files: Vec<String>,
    /// Entries marked executable (any x bit in the Unix mode).
    pub executable: BTreeSet<String>,
    /// `name-version.dist-info`.
    pub dist_info: String,
}

pub fn open(path: &Path) -> Result<Wheel> {
    let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut zip = zip::ZipArchive::new(f)
        .with_context(|| format!("{}: not a readable zip archive", path.display()))?;
    let mut files = Vec::new();
    let mut executable = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut dist_infos = BTreeSet::new();
    for i in 0..zip.len() {
        let e = zip
            .by_index_raw(i)
            .with_context(|| format!("{}: reading entry {i}", path.display()))?;
        let name = std::str::from_utf8(e.name_raw())
            .map_err(|_| anyhow::anyhow!("{}: entry {i} has a non-UTF-8 name", path.display()))?
            .to_string();
        check_member_name(&name).with_context(|| format!("{}", path.display()))?;
        if e.encrypted() {
            bail!("{}: {name} is encrypted", path.display());
        }
        if !matches!(
            e.compression(),
            zip::CompressionMethod::Stored | zip::CompressionMethod::Deflated
        ) {
            bail!(
                "{}: {name} uses compression {:?} (only stored and deflate)",
                path.display(),
                e.compression()
            );
        }
        let mode = e.unix_mode().unwrap_or(0);
        if mode & 0o170000 == 0o120000 {
            bail!("{}: {name} is a symlink", path.display());
        }
        if !seen.insert(name.to_lowercase()) {
            bail!("{}: {name} appears twice", path.display());
        }
        let top = name.split('/').next().unwrap_or_default();
        if top.ends_with(".dist-info") && name.len() > top.len() {
            dist_infos.insert(top.to_string());
        }
        if e.is_dir() {
            continue;
        }
        if mode & 0o111 != 0 {
            executable.insert(name.clone());
        }
        files.push(name);
    }
    if dist_infos.len() != 1 {
        bail!(
            "{}: expected exactly one .dist-info directory, found {}",
            path.display(),
            dist_infos.len()
        );
    }
    let dist_info = dist_infos.into_iter().next().unwrap_or_default();
    Ok(Wheel {
        zip,
        files,
        executable,
        dist_info,
    })
}

impl Wheel {
    /// One member's bytes (small files only: METADATA, RECORD).
    pub fn read_small(&mut self, name: &str, limit: u64) -> Result<Vec<u8>> {
        let e = self
            .zip
            .by_name(name)
            .with_context(|| format!("{name} is missing"))?;
        crate::release::digest::read_small(e, limit, name)
    }
}

/// RECORD rows: path → (hash as `algo=b64`, size text). Minimal CSV: fields
/// may be double-quoted with `""` escapes.
pub fn parse_record(bytes: &[u8]) -> Result<BTreeMap<String, (String, String)>> {
    let text = std::str::from_utf8(bytes).context("RECORD is not UTF-8")?;
    let mut rows = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let f = csv_fields(line).with_context(|| format!("RECORD line {}", i + 1))?;
        if f.len() != 3 {
            bail!("RECORD line {}: {} fields, expected 3", i + 1, f.len());
        }
        let [p, h, s]: [String; 3] = f.try_into().map_err(|_| anyhow::anyhow!("RECORD"))?;
        if rows.insert(p.clone(), (h, s)).is_some() {
            bail!("RECORD line {}: {p} listed twice", i + 1);
        }
    }
    Ok(rows)
}

fn csv_fields(line: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => bail!("unterminated quote"),
                }
            }
            match chars.next() {
                None => {
                    out.push(field);
                    return Ok(out);
                }
                Some(',') => {}
                Some(c) => bail!("unexpected {c:?} after a quoted field"),
            }
        } else {
            loop {
                match chars.next() {
                    Some(',') => break,
                    Some(c) => field.push(c),
                    None => {
                        out.push(field);
                        return Ok(out);
                    }
                }
            }
        }
        out.push(field);
    }
}

/// One CSV field as RECORD writers quote it (Python's csv module, minimal
/// quoting).
pub fn csv_quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// The first value of a METADATA header field (RFC 822 style, headers end
/// at the first empty line).
pub fn metadata_field(metadata: &[u8], field: &str) -> Option<String> {
    let text = String::from_utf8_lossy(metadata);
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case(field) {
                return Some(v.trim().to_string());
            }
        }
    }
    None
}

/// Read a member fully into a sink while hashing, returning (sha256, size).
pub fn hash_member(r: &mut impl Read) -> Result<([u8; 32], u64)> {
    let mut w = crate::release::digest::HashingWriter::new(std::io::sink());
    std::io::copy(r, &mut w)?;
    let (d, n, _) = w.finish();
    Ok((d, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_records() {
        let n = parse_name("six-1.17.0-py2.py3-none-any.whl").unwrap();
        assert_eq!(
            (n.dist.as_str(), n.version.as_str(), n.abi.as_str()),
            ("six", "1.17.0", "none")
        );
        assert!(parse_name("six-1.17.0.tar.gz").is_err());
        assert!(parse_name("six--py3-none-any.whl").is_err());
        let r = parse_record(b"a.py,sha256=x,3\n\"b,c.py\",sha256=y,4\nd/RECORD,,\n").unwrap();
        assert_eq!(r["b,c.py"], ("sha256=y".into(), "4".into()));
        assert_eq!(r["d/RECORD"], ("".into(), "".into()));
        assert!(parse_record(b"a,b\n").is_err());
        assert!(parse_record(b"\"a,b,c\n").is_err());
        assert_eq!(csv_quote("a,\"b"), "\"a,\"\"b\"");
        for bad in ["../x", "/x", "a/../b", "a\\b", "c:/x", "a//b", "./a", ""] {
            assert!(check_member_name(bad).is_err(), "{bad}");
        }
        check_member_name("a/b.py").unwrap();
        assert_eq!(
            metadata_field(
                b"Name: x\nRequires-Python: >=3.8\n\nbody: y\n",
                "requires-python"
            ),
            Some(">=3.8".into())
        );
    }
}
