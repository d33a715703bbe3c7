//! Build requirements (`[build-system] requires` and the answer of
//! `get_requires_for_build_wheel`) as far as checking them against the
//! pinned backends needs: a PEP 508 requirement's name, version clauses and
//! marker, and whether a version satisfies a clause (PEP 440 ordering from
//! `crate::wheel::markers::Version`). Markers are evaluated by the caller
//! with `crate::wheel::markers`.
use anyhow::{bail, Context, Result};

use crate::wheel::markers::Version;
use crate::wheel::name::normalize_name;

/// A PEP 508 requirement as far as checking a backend needs: name, version
/// specifiers, and whether a marker is present.
#[derive(Debug, PartialEq)]
pub struct Requirement {
    pub name: String,
    pub specs: Vec<(String, String)>,
    pub marker: Option<String>,
}

impl Requirement {
    pub fn parse(s: &str) -> Result<Self> {
        let (body, marker) = match s.split_once(';') {
            Some((b, m)) => (b, Some(m.trim().to_string())),
            None => (s, None),
        };
        let body = body.trim();
        if body.contains('@') {
            bail!("URL requirements are not accepted");
        }
        let end = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(body.len());
        let name = &body[..end];
        if name.is_empty() {
            bail!("no project name");
        }
        let mut rest = body[end..].trim();
        if let Some(r) = rest.strip_prefix('[') {
            let (_, after) = r.split_once(']').context("unclosed extras")?;
            rest = after.trim();
        }
        let rest = rest.trim_start_matches('(').trim_end_matches(')');
        let mut specs = Vec::new();
        for clause in rest.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            let op_len = clause
                .find(|c: char| !"<>=!~".contains(c))
                .unwrap_or(clause.len());
            let (op, v) = (&clause[..op_len], clause[op_len..].trim());
            if !matches!(op, "==" | "!=" | ">=" | "<=" | ">" | "<" | "~=" | "===") || v.is_empty() {
                bail!("cannot read the version clause {clause:?}");
            }
            specs.push((op.to_string(), v.to_string()));
        }
        Ok(Self {
            name: normalize_name(name),
            specs,
            marker,
        })
    }
}

/// The numeric release segments of a version (for `~=` and `.*` prefixes).
fn release(v: &str) -> Vec<u64> {
    let v = v.split_once('!').map(|x| x.1).unwrap_or(v);
    let mut out = Vec::new();
    for part in v.split('.') {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            break;
        }
        out.push(digits.parse().unwrap_or(u64::MAX));
        if digits.len() != part.len() {
            break;
        }
    }
    out
}

/// Does `version` satisfy one `op spec` clause? Ordering is PEP 440's
/// (`crate::wheel::markers::Version`); `~=` and `==X.*` compare release
/// segments. An unparsable version satisfies nothing.
pub fn version_matches(version: &str, op: &str, spec: &str) -> bool {
    use std::cmp::Ordering::*;
    if op == "===" {
        return version == spec;
    }
    if let Some(prefix) = spec.strip_suffix(".*") {
        let (p, v) = (release(prefix), release(version));
        let eq = !p.is_empty() && v.len() >= p.len() && v[..p.len()] == p[..];
        return match op {
            "==" => eq,
            "!=" => !eq,
            _ => false,
        };
    }
    let (Some(v), Some(s)) = (Version::parse(version), Version::parse(spec)) else {
        return false;
    };
    let o = v.compare(&s);
    match op {
        "==" => o == Equal,
        "!=" => o != Equal,
        ">=" => o != Less,
        "<=" => o != Greater,
        ">" => o == Greater,
        "<" => o == Less,
        "~=" => {
            let (vr, sr) = (release(version), release(spec));
            sr.len() >= 2
                && o != Less
                && vr.len() >= sr.len() - 1
                && vr[..sr.len() - 1] == sr[..sr.len() - 1]
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_and_versions() {
        let r = Requirement::parse("flit_core >=3.11,<5").unwrap();
        assert_eq!(r.name, "flit-core");
        assert_eq!(
            r.specs,
            vec![(">=".into(), "3.11".into()), ("<".into(), "5".into())]
        );
        assert!(r.specs.iter().all(|(o, s)| version_matches("4.2.0", o, s)));
        assert!(!version_matches("5.0", "<", "5"));
        assert!(!version_matches("3.9", ">=", "3.11"));
        assert!(version_matches("84.2.1", ">=", "61"));
        assert!(version_matches("4.2.0", "~=", "4.1"));
        assert!(!version_matches("5.0", "~=", "4.1"));
        assert!(version_matches("4.2.0", "==", "4.*"));
        assert!(!version_matches("4.2.0", "!=", "4.2"));
        let m = Requirement::parse("tomli>=1; python_version < '3.11'").unwrap();
        assert!(m.marker.is_some());
        assert!(version_matches("1.0rc1", "<", "1.0"));
        assert!(!version_matches("1.0.post1", "<=", "1.0"));
        assert!(!version_matches("not a version", ">=", "1"));
        assert_eq!(Requirement::parse("wheel").unwrap().specs, vec![]);
        assert!(Requirement::parse("x @ https://e/x.whl").is_err());
        assert!(Requirement::parse("x >>1").is_err());
    }

    proptest::proptest! {
        #[test]
        fn requirement_parsing_never_panics(s in "\\PC{0,60}") {
            if let Ok(r) = Requirement::parse(&s) {
                for (op, v) in &r.specs {
                    let _ = version_matches("1.2.3", op, v);
                }
            }
        }

        #[test]
        fn version_matching_never_panics(v in "[0-9a-z.!+*]{0,12}", op in "(==|!=|>=|<=|>|<|~=|===)", s in "[0-9a-z.!+*]{0,12}") {
            let _ = version_matches(&v, &op, &s);
        }
    }
}
