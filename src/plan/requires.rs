//! `Requires-Dist` lines (PEP 508 requirements): parsing into name, extras,
//! version specifiers, URL and marker text. Markers are evaluated elsewhere
//! (the PEP 508 marker environment of the target interpreter); this module
//! only splits them off.
use anyhow::{bail, Context, Result};

use super::pep440::{parse_specifiers, Specifier};

/// One parsed requirement.
#[derive(Debug, Clone)]
pub struct Requirement {
    /// As written.
    pub raw: String,
    /// PEP 503 normalized name.
    pub name: String,
    /// Normalized extras requested on the target.
    pub extras: Vec<String>,
    pub specifiers: Vec<Specifier>,
    /// `name @ url` form.
    pub url: Option<String>,
    /// The marker expression after `;`, if any.
    pub marker: Option<String>,
}

/// PEP 503 normalization: lowercase, runs of `-`, `_`, `.` become one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if c == '-' || c == '_' || c == '.' {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

fn valid_name(n: &str) -> bool {
    let b = n.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(c))
}

impl Requirement {
    pub fn parse(raw: &str) -> Result<Requirement> {
        let ctx = || format!("requirement {raw:?}");
        let (head, marker) = match raw.split_once(';') {
            Some((h, m)) => (h.trim(), Some(m.trim().to_string())),
            None => (raw.trim(), None),
        };
        if marker.as_deref() == Some("") {
            bail!("{}: empty marker", ctx());
        }
        let name_end = head
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
            .unwrap_or(head.len());
        let name = &head[..name_end];
        if !valid_name(name) {
            bail!("{}: invalid distribution name {name:?}", ctx());
        }
        let mut rest = head[name_end..].trim_start();
        let mut extras = Vec::new();
        if let Some(r) = rest.strip_prefix('[') {
            let (inside, after) = r
                .split_once(']')
                .with_context(|| format!("{}: unclosed '['", ctx()))?;
            for e in inside.split(',') {
                let e = e.trim();
                if e.is_empty() {
                    continue;
                }
                if !valid_name(e) {
                    bail!("{}: invalid extra {e:?}", ctx());
                }
                extras.push(normalize_name(e));
            }
            rest = after.trim_start();
        }
        let mut url = None;
        let mut specifiers = Vec::new();
        if let Some(u) = rest.strip_prefix('@') {
            let u = u.trim();
            if u.is_empty() {
                bail!("{}: empty URL", ctx());
            }
            url = Some(u.to_string());
        } else {
            let spec = match rest.strip_prefix('(') {
                Some(r) => r
                    .strip_suffix(')')
                    .with_context(|| format!("{}: unclosed '('", ctx()))?,
                None => rest,
            };
            specifiers = parse_specifiers(spec).with_context(ctx)?;
        }
        Ok(Requirement {
            raw: raw.trim().to_string(),
            name: normalize_name(name),
            extras,
            specifiers,
            url,
            marker,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pep508() {
        let r = Requirement::parse("charset-normalizer<4,>=3.0").unwrap();
        assert_eq!(r.name, "charset-normalizer");
        assert_eq!(r.specifiers.len(), 2);
        let r = Requirement::parse("tabulate[WideChars] ; extra == \"wide\"").unwrap();
        assert_eq!(r.extras, vec!["widechars"]);
        assert_eq!(r.marker.as_deref(), Some("extra == \"wide\""));
        assert!(r.specifiers.is_empty());
        let r = Requirement::parse("Foo.Bar_baz (>=1.0)").unwrap();
        assert_eq!(r.name, "foo-bar-baz");
        let r = Requirement::parse("pkg @ https://x/y.whl ; python_version < '3'").unwrap();
        assert_eq!(r.url.as_deref(), Some("https://x/y.whl"));
        for bad in ["", "-x", "x[", "x (>=1", "x >=", "x; ", "x ~= 1"] {
            assert!(Requirement::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            normalize_name("Jupyterlab__Pygments"),
            "jupyterlab-pygments"
        );
    }
}
