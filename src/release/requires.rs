//! Build requirements (`[build-system] requires` and the answer of
//! `get_requires_for_build_wheel`), read by the one PEP 508 parser
//! ([`crate::pep508`]) and checked against the pinned backends with the one
//! PEP 440 implementation. Markers are evaluated by the caller.
use anyhow::{bail, Result};

use crate::pep440::satisfies;
use crate::pep508::Requirement;

/// Parse a build requirement; URL requirements are refused.
pub(crate) fn parse_build_requirement(s: &str) -> Result<Requirement> {
    let req = Requirement::parse(s)?;
    if req.url.is_some() {
        bail!("URL requirements are not accepted");
    }
    Ok(req)
}

/// Whether `version` meets every version clause of `req`. An unparsable
/// version meets nothing.
pub(crate) fn version_matches(version: &str, req: &Requirement) -> bool {
    matches!(satisfies(version, &req.specifiers), Ok(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(version: &str, spec: &str) -> bool {
        version_matches(
            version,
            &parse_build_requirement(&format!("x{spec}")).unwrap(),
        )
    }

    #[test]
    fn requirements_and_versions() {
        let r = parse_build_requirement("flit_core >=3.11,<5").unwrap();
        assert_eq!(r.name, "flit-core");
        assert_eq!(r.specifiers.len(), 2);
        assert!(version_matches("4.2.0", &r));
        assert!(!matches("5.0", "<5"));
        assert!(!matches("3.9", ">=3.11"));
        assert!(matches("84.2.1", ">=61"));
        assert!(matches("4.2.0", "~=4.1"));
        assert!(!matches("5.0", "~=4.1"));
        assert!(matches("4.2.0", "==4.*"));
        assert!(!matches("4.2.0", "!=4.2"));
        let m = parse_build_requirement("tomli>=1; python_version < '3.11'").unwrap();
        assert!(m.marker.is_some());
        // Issue 12: this module used to say 1.0rc1 satisfies <1.0, and to
        // drop the epoch in prefix matches.
        assert!(!matches("1.0rc1", "<1.0"));
        assert!(!matches("2!1.5", "==1.*"));
        assert!(!matches("1.0.post1", "<=1.0"));
        assert!(!matches("not a version", ">=1"));
        assert!(parse_build_requirement("wheel")
            .unwrap()
            .specifiers
            .is_empty());
        assert!(parse_build_requirement("x @ https://e/x.whl").is_err());
        assert!(parse_build_requirement("x >>1").is_err());
    }
}
