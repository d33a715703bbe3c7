//! The `.dist-info` text files a wheel carries: `METADATA` (core metadata,
//! email-header style), `WHEEL` (Wheel-Version, Root-Is-Purelib, Tag) and
//! `entry_points.txt` (INI sections; console_scripts and gui_scripts).
use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};

/// Header fields in order; a field may repeat (Requires-Dist, Tag, …).
/// The body (long description) after the first blank line is ignored.
pub(crate) fn parse_headers(bytes: &[u8], what: &str) -> Result<Vec<(String, String)>> {
    let text = std::str::from_utf8(bytes).with_context(|| format!("{what} is not valid UTF-8"))?;
    let mut out: Vec<(String, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            match out.last_mut() {
                Some((_, v)) => {
                    v.push('\n');
                    v.push_str(line.trim());
                }
                None => bail!("{what} line {}: continuation before any field", i + 1),
            }
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            bail!(
                "{what} line {}: expected `Field: value`, found {line:?}",
                i + 1
            );
        };
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            bail!("{what} line {}: invalid field name {k:?}", i + 1);
        }
        out.push((k.to_string(), v.trim().to_string()));
    }
    Ok(out)
}

/// Refuse a second occurrence of a field that may appear once: readers
/// disagree about which one counts (the first here, the last in Python's
/// `email` parser), so the name, version or tags could differ between what
/// was verified and what another tool reports.
fn check_single(headers: &[(String, String)], what: &str, keys: &[&str]) -> Result<()> {
    for key in keys {
        let values: Vec<&String> = headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
            .collect();
        if values.len() > 1 {
            bail!(
                "{what} has {} {key} fields ({}): expected one",
                values.len(),
                values
                    .iter()
                    .map(|v| format!("{v:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    Ok(())
}

fn first(headers: &[(String, String)], key: &str) -> Option<String> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.clone())
}

fn all(headers: &[(String, String)], key: &str) -> Vec<String> {
    headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.clone())
        .collect()
}

/// The license-related header fields (`License-Expression`, `License`,
/// `Classifier`) as (name as written, value), in order.
pub(crate) fn license_fields(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(k, _)| {
            ["License-Expression", "License", "Classifier"]
                .iter()
                .any(|f| k.eq_ignore_ascii_case(f))
        })
        .cloned()
        .collect()
}

/// The parts of core metadata venvdeb uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub metadata_version: String,
    pub name: String,
    pub version: String,
    pub requires_dist: Vec<String>,
    pub requires_python: Option<String>,
    pub provides_extra: Vec<String>,
    /// The `License-Expression`, `License` and `Classifier` fields as
    /// (field name as written, value), in file order: what the SBOM needs,
    /// so that it never parses METADATA again.
    pub license_fields: Vec<(String, String)>,
}

impl Metadata {
    pub fn parse(bytes: &[u8]) -> Result<Metadata> {
        let h = parse_headers(bytes, "METADATA")?;
        check_single(
            &h,
            "METADATA",
            &["Metadata-Version", "Name", "Version", "Requires-Python"],
        )?;
        let get = |k: &str| first(&h, k).with_context(|| format!("METADATA has no {k} field"));
        Ok(Metadata {
            metadata_version: get("Metadata-Version")?,
            name: get("Name")?,
            version: get("Version")?,
            requires_dist: all(&h, "Requires-Dist"),
            requires_python: first(&h, "Requires-Python"),
            provides_extra: all(&h, "Provides-Extra"),
            license_fields: license_fields(&h),
        })
    }
}

/// The `WHEEL` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelInfo {
    /// (major, minor) of Wheel-Version; only major 1 is accepted.
    pub wheel_version: (u32, u32),
    pub root_is_purelib: bool,
    pub tags: Vec<String>,
    pub build: Option<String>,
}

impl WheelInfo {
    pub fn parse(bytes: &[u8]) -> Result<WheelInfo> {
        let h = parse_headers(bytes, "WHEEL")?;
        check_single(&h, "WHEEL", &["Wheel-Version", "Root-Is-Purelib", "Build"])?;
        let v = first(&h, "Wheel-Version").context("WHEEL has no Wheel-Version field")?;
        let (maj, min) = v
            .split_once('.')
            .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
            .with_context(|| format!("WHEEL: Wheel-Version {v:?} is not MAJOR.MINOR"))?;
        if maj != 1 {
            bail!("WHEEL: Wheel-Version expected 1.x, found {v}");
        }
        let purelib = match first(&h, "Root-Is-Purelib").as_deref() {
            Some("true") => true,
            Some("false") | None => false,
            Some(o) => bail!("WHEEL: Root-Is-Purelib expected true or false, found {o:?}"),
        };
        Ok(WheelInfo {
            wheel_version: (maj, min),
            root_is_purelib: purelib,
            tags: all(&h, "Tag"),
            build: first(&h, "Build"),
        })
    }
}

/// One entry point: `name = module:attr [extras]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntryPoint {
    pub name: String,
    pub module: String,
    pub attr: Option<String>,
}

/// `entry_points.txt`: group → entry points, in file order within a group.
pub(crate) fn parse_entry_points(bytes: &[u8]) -> Result<BTreeMap<String, Vec<EntryPoint>>> {
    let text = std::str::from_utf8(bytes).context("entry_points.txt is not valid UTF-8")?;
    let mut groups: BTreeMap<String, Vec<EntryPoint>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(g) = line.strip_prefix('[') {
            let g = g
                .strip_suffix(']')
                .with_context(|| format!("entry_points.txt line {}: unclosed [", i + 1))?;
            current = Some(g.trim().to_string());
            groups.entry(g.trim().to_string()).or_default();
            continue;
        }
        let Some(group) = &current else {
            bail!("entry_points.txt line {}: entry before any [group]", i + 1);
        };
        let Some((name, value)) = line.split_once('=') else {
            bail!(
                "entry_points.txt line {}: expected `name = module:attr`",
                i + 1
            );
        };
        let name = name.trim();
        // Drop an extras suffix `[a,b]` (closed, as the spec's grammar has it).
        let value = match value.split_once('[') {
            Some((v, extras)) if extras.trim_end().ends_with(']') => v,
            Some(_) => bail!(
                "entry_points.txt line {}: unbalanced '[' in {line:?}",
                i + 1
            ),
            None => value,
        }
        .trim();
        let (module, attr) = match value.split_once(':') {
            Some((m, a)) => (m.trim(), Some(a.trim().to_string())),
            None => (value, None),
        };
        let ident = |s: &str| {
            !s.is_empty()
                && s.split('.').all(|p| {
                    !p.is_empty()
                        && !p.starts_with(|c: char| c.is_ascii_digit())
                        && p.chars().all(|c| c.is_alphanumeric() || c == '_')
                })
        };
        if name.is_empty() || !ident(module) || attr.as_deref().is_some_and(|a| !ident(a)) {
            bail!(
                "entry_points.txt line {}: invalid entry point {line:?}",
                i + 1
            );
        }
        groups
            .get_mut(group)
            .expect("group inserted")
            .push(EntryPoint {
                name: name.to_string(),
                module: module.to_string(),
                attr,
            });
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_and_wheel() {
        let m = Metadata::parse(
            b"Metadata-Version: 2.1\nName: Foo.Bar\nVersion: 1.0\nRequires-Dist: six ; python_version < \"4\"\nRequires-Dist: idna\n\nName: ignored body\n",
        )
        .unwrap();
        assert_eq!(m.name, "Foo.Bar");
        assert_eq!(m.requires_dist.len(), 2);
        assert!(Metadata::parse(b"Name: x\n").is_err());
        let w = WheelInfo::parse(
            b"Wheel-Version: 1.0\nGenerator: x\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        .unwrap();
        assert!(w.root_is_purelib);
        assert_eq!(w.tags, vec!["py3-none-any"]);
        assert!(WheelInfo::parse(b"Wheel-Version: 2.0\n").is_err());
        assert!(WheelInfo::parse(b"Generator: x\n").is_err());
    }

    #[test]
    fn entry_points() {
        let g = parse_entry_points(
            b"[console_scripts]\nfoo = foo.cli:main [x]\nbar=bar\n\n[other]\nz = a.b:c.d\n",
        )
        .unwrap();
        assert_eq!(g["console_scripts"].len(), 2);
        assert_eq!(g["console_scripts"][0].attr.as_deref(), Some("main"));
        assert!(parse_entry_points(b"foo = x:y\n").is_err());
        assert!(parse_entry_points(b"[g]\nfoo = ../x:y\n").is_err());
    }

    #[test]
    fn single_fields_may_not_repeat() {
        for (dup, word) in [
            ("Name: evil\n", "2 Name fields (\"foo\", \"evil\")"),
            ("Version: 6.6.6\n", "2 Version fields"),
            ("name: foo\n", "2 Name fields"),
            ("Metadata-Version: 2.4\n", "2 Metadata-Version fields"),
            (
                "Requires-Python: >=2\nRequires-Python: >=3\n",
                "2 Requires-Python",
            ),
        ] {
            let text = format!("Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n{dup}\nbody\n");
            let e = format!("{:#}", Metadata::parse(text.as_bytes()).unwrap_err());
            assert!(e.contains(word) && e.contains("expected one"), "{dup}: {e}");
        }
        // Repeatable fields, and a Name in the body, are fine.
        Metadata::parse(
            b"Metadata-Version: 2.1\nName: foo\nVersion: 1.0\nRequires-Dist: a\nRequires-Dist: b\nClassifier: x\nClassifier: y\n\nName: body\n",
        )
        .unwrap();
        let e = WheelInfo::parse(
            b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nRoot-Is-Purelib: false\n",
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("2 Root-Is-Purelib"), "{e:#}");
        WheelInfo::parse(b"Wheel-Version: 1.0\nTag: py3-none-any\nTag: py2-none-any\n").unwrap();
    }
}
