//! Wheel file names (PEP 427, "binary distribution format"):
//! `{distribution}-{version}(-{build tag})?-{python tag}-{abi tag}-{platform tag}.whl`,
//! the compressed tag sets they carry (`py2.py3-none-any`), and the name and
//! version normalizations used to compare them (PEP 503 names from
//! [`crate::pep508`], the PEP 440 canonical form from [`crate::pep440`]).
use anyhow::{bail, Result};

pub(crate) use crate::pep440::canonical_version;
pub(crate) use crate::pep508::{is_valid_name, normalize_name};

/// One compatibility tag triple, e.g. `cp311-cp311-manylinux_2_17_x86_64`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag {
    pub python: String,
    pub abi: String,
    pub platform: String,
}

impl std::fmt::Display for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}-{}", self.python, self.abi, self.platform)
    }
}

/// A parsed wheel file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelName {
    /// The distribution name as written in the file name (`_` for `-`).
    pub distribution: String,
    /// The version as written in the file name.
    pub version: String,
    pub build: Option<String>,
    /// Every tag the compressed tag set expands to, sorted.
    pub tags: Vec<Tag>,
}

impl WheelName {
    /// Parse a wheel file name (just the name, no directory).
    pub fn parse(file_name: &str) -> Result<WheelName> {
        let Some(stem) = file_name.strip_suffix(".whl") else {
            bail!("{file_name:?}: not a wheel file name (no .whl suffix)");
        };
        let parts: Vec<&str> = stem.split('-').collect();
        let (dist, version, build, py, abi, plat) = match parts.as_slice() {
            [d, v, p, a, pl] => (*d, *v, None, *p, *a, *pl),
            [d, v, b, p, a, pl] => (*d, *v, Some(*b), *p, *a, *pl),
            _ => bail!(
                "{file_name:?}: a wheel name has 5 or 6 dash-separated parts, found {}",
                parts.len()
            ),
        };
        let ok_part = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '!'))
        };
        for (what, s) in [
            ("distribution", dist),
            ("version", version),
            ("python tag", py),
            ("abi tag", abi),
            ("platform tag", plat),
        ] {
            if !ok_part(s) {
                bail!("{file_name:?}: invalid {what} {s:?}");
            }
        }
        if let Some(b) = build {
            if !ok_part(b) || !b.starts_with(|c: char| c.is_ascii_digit()) {
                bail!("{file_name:?}: invalid build tag {b:?} (must start with a digit)");
            }
        }
        let mut tags = Vec::new();
        for p in py.split('.') {
            for a in abi.split('.') {
                for pl in plat.split('.') {
                    if p.is_empty() || a.is_empty() || pl.is_empty() {
                        bail!("{file_name:?}: empty tag in compressed tag set");
                    }
                    tags.push(Tag {
                        python: p.to_string(),
                        abi: a.to_string(),
                        platform: pl.to_string(),
                    });
                }
            }
        }
        tags.sort();
        tags.dedup();
        Ok(WheelName {
            distribution: dist.to_string(),
            version: version.to_string(),
            build: build.map(str::to_string),
            tags,
        })
    }

    /// The PEP 503 normalized distribution name.
    pub fn normalized_name(&self) -> String {
        normalize_name(&self.distribution)
    }

    /// The canonical version (see [`canonical_version`]).
    pub fn canonical_version(&self) -> String {
        canonical_version(&self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_tags() {
        let w = WheelName::parse("Foo_Bar-1.0-1abc-py2.py3-none-any.whl").unwrap();
        assert_eq!(w.normalized_name(), "foo-bar");
        assert_eq!(w.build.as_deref(), Some("1abc"));
        assert_eq!(w.tags.len(), 2);
        assert_eq!(w.tags[0].to_string(), "py2-none-any");
        assert!(WheelName::parse("foo-1.0.whl").is_err());
        assert!(WheelName::parse("foo-1.0-x-py3-none-any.whl").is_err());
        assert!(WheelName::parse("foo-1.0-py3-none-any.zip").is_err());
        assert!(WheelName::parse("foo-1.0-py3..x-none-any.whl").is_err());
    }
}
