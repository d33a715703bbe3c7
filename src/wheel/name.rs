//! Wheel file names (PEP 427, "binary distribution format"):
//! `{distribution}-{version}(-{build tag})?-{python tag}-{abi tag}-{platform tag}.whl`,
//! the compressed tag sets they carry (`py2.py3-none-any`), and the name and
//! version normalizations used to compare them (PEP 503 names; a PEP 440
//! canonical form for versions).
use anyhow::{bail, Result};

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

/// PEP 503 name normalization: lowercase, runs of `-`, `_`, `.` become one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Whether a string is a valid PEP 508 distribution name.
pub fn is_valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// A canonical form of a PEP 440 version for equality: lowercase, no leading
/// `v`, release numbers without leading zeros and without trailing `.0`,
/// pre/post/dev spellings folded (`alpha`→`a`, `beta`→`b`, `c`/`pre`/`preview`→`rc`,
/// `rev`/`r`→`post`, separators dropped, implicit numbers made 0), and the local
/// part kept with `-`/`_` as `.`. `1.0` and `1.0.0` compare equal, as `==` does.
/// Strings that are not PEP 440 versions are returned lowercased, unchanged
/// otherwise (they then only equal themselves).
pub fn canonical_version(v: &str) -> String {
    parse_canonical(v).unwrap_or_else(|| v.trim().to_ascii_lowercase())
}

fn parse_canonical(v: &str) -> Option<String> {
    let s = v.trim().to_ascii_lowercase();
    let s = s.strip_prefix('v').unwrap_or(&s);
    let (public, local) = match s.split_once('+') {
        Some((p, l)) => (p, Some(l)),
        None => (s, None),
    };
    let mut out = String::new();
    let mut rest = public;
    if let Some((epoch, r)) = rest.split_once('!') {
        let e: u64 = epoch.parse().ok()?;
        if e != 0 {
            out.push_str(&format!("{e}!"));
        }
        rest = r;
    }
    // Release: digits and dots.
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (release, mut tail) = rest.split_at(end);
    // A trailing '.' belongs to the next segment's separator.
    let release = release.trim_end_matches('.');
    if release.is_empty() {
        return None;
    }
    let mut nums = Vec::new();
    for n in release.split('.') {
        if n.is_empty() || n.len() > 30 {
            return None;
        }
        nums.push(n.trim_start_matches('0').to_string());
    }
    while nums.len() > 1 && nums.last().is_some_and(|n| n.is_empty()) {
        nums.pop();
    }
    let nums: Vec<String> = nums
        .into_iter()
        .map(|n| if n.is_empty() { "0".into() } else { n })
        .collect();
    out.push_str(&nums.join("."));
    // Pre, post, dev segments, in this order.
    let mut stage = 0;
    while !tail.is_empty() {
        let t = tail.trim_start_matches(['.', '-', '_']);
        let implicit_post = tail.starts_with('-') && t.starts_with(|c: char| c.is_ascii_digit());
        let word_end = t
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(t.len());
        let (word, after) = t.split_at(word_end);
        let (kind, order) = match word {
            "" if implicit_post => ("post", 2),
            "a" | "alpha" => ("a", 1),
            "b" | "beta" => ("b", 1),
            "c" | "rc" | "pre" | "preview" => ("rc", 1),
            "post" | "rev" | "r" => ("post", 2),
            "dev" => ("dev", 3),
            _ => return None,
        };
        if order <= stage {
            return None;
        }
        stage = order;
        let after = if word.is_empty() {
            after
        } else {
            after.trim_start_matches(['.', '-', '_'])
        };
        let nend = after
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after.len());
        let (num, r) = after.split_at(nend);
        if num.len() > 30 {
            return None;
        }
        let num = num.trim_start_matches('0');
        let num = if num.is_empty() { "0" } else { num };
        match kind {
            "post" | "dev" => out.push_str(&format!(".{kind}{num}")),
            _ => out.push_str(&format!("{kind}{num}")),
        }
        tail = r;
    }
    if let Some(l) = local {
        if l.is_empty()
            || !l
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return None;
        }
        let l: Vec<String> = l
            .split(['.', '-', '_'])
            .map(|p| {
                if p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty() {
                    let t = p.trim_start_matches('0');
                    if t.is_empty() {
                        "0".into()
                    } else {
                        t.to_string()
                    }
                } else {
                    p.to_string()
                }
            })
            .collect();
        out.push('+');
        out.push_str(&l.join("."));
    }
    Some(out)
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

    #[test]
    fn normalizes() {
        assert_eq!(normalize_name("Zope.Interface__x"), "zope-interface-x");
        assert_eq!(canonical_version("1.0"), canonical_version("1.0.0"));
        assert_eq!(canonical_version("v1.0RC1"), "1rc1");
        assert_eq!(canonical_version("1.0-1"), "1.post1");
        assert_eq!(canonical_version("1.0.post"), "1.post0");
        assert_eq!(canonical_version("1.0a.dev2"), "1a0.dev2");
        assert_eq!(canonical_version("2020.01+Ubuntu-01"), "2020.1+ubuntu.1");
        assert_ne!(canonical_version("1.0"), canonical_version("1.0.1"));
        assert_eq!(canonical_version("0!1.10"), "1.10");
    }
}
