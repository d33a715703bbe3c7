//! The plan for one target interpreter, from a verified wheelhouse: the best
//! wheel of each locked requirement (`select`), each chosen wheel's
//! `Requires-Python` against the interpreter's full version, and the
//! closure of `Requires-Dist` under the target's markers (`closure`). Every
//! rule that decides *whether* the verified set installs on this target
//! lives here; the pipeline only calls it.
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::closure::{self, Dist};
use super::select::{select, Candidate, Selected, Wanted};
use super::tags::TagPriority;
use crate::pep440;
use crate::venv::interpreter::Interpreter;
use crate::verify::{VerifiedWheel, VerifiedWheelhouse};
use crate::wheel::markers::{Marker, MarkerEnv};

/// Choose one wheel per requirement for the interpreter `it` (found at
/// `python`), check Requires-Python and the closure; the selection sorted by
/// name.
pub(crate) fn plan<'a>(
    wh: &'a VerifiedWheelhouse,
    it: &Interpreter,
    env: &MarkerEnv,
    python: &Path,
) -> Result<Vec<Selected<'a, VerifiedWheel>>> {
    let tags = TagPriority::for_interpreter(it);
    let mut wanted = Vec::new();
    let mut roots = Vec::new();
    for req in wh.requirements() {
        roots.push((req.name().to_string(), req.extras().to_vec()));
        wanted.push(Wanted {
            name: req.name().to_string(),
            version: req.version().to_string(),
            candidates: req
                .wheels()
                .iter()
                .map(|w| Candidate {
                    wheel: w,
                    file_name: w.file_name().to_string(),
                    tags: w.tags().to_vec(),
                })
                .collect(),
        });
    }
    let selected = select(wanted, &tags, &python.display().to_string())?;
    let full = it.full_version();
    let mut dists = Vec::new();
    for s in &selected {
        let md = s.wheel.metadata();
        check_requires_python(&s.file_name, md.requires_python.as_deref(), &full, python)?;
        dists.push(Dist {
            name: s.name.clone(),
            version: md.version.clone(),
            wheel: s.file_name.clone(),
            requires: md.requires_dist.clone(),
        });
    }
    let eval = |m: &str, extra: &str| -> Result<bool> {
        let extras: Vec<String> = if extra.is_empty() {
            Vec::new()
        } else {
            vec![extra.to_string()]
        };
        Marker::parse(m)?.evaluate(env, &extras)
    };
    closure::check(&dists, &roots, &eval)?;
    Ok(selected)
}

/// A wheel's `Requires-Python` (if any) must admit the interpreter's full
/// version `full`.
pub(crate) fn check_requires_python(
    wheel: &str,
    requires_python: Option<&str>,
    full: &str,
    python: &Path,
) -> Result<()> {
    let Some(rp) = requires_python else {
        return Ok(());
    };
    let specs =
        pep440::parse_specifiers(rp).with_context(|| format!("{wheel}: Requires-Python {rp:?}"))?;
    if !pep440::satisfies(full, &specs)? {
        bail!(
            "{wheel} requires Python {rp}, but the target interpreter {} is {full}",
            python.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requires_python() {
        let py = Path::new("/usr/bin/python3");
        check_requires_python("a.whl", None, "3.11.2", py).unwrap();
        check_requires_python("a.whl", Some(">=3.8"), "3.11.2", py).unwrap();
        let e = check_requires_python("a.whl", Some(">=3.12"), "3.11.2", py)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a.whl requires Python >=3.12"), "{e}");
        assert!(e.contains("/usr/bin/python3 is 3.11.2"), "{e}");
        let e = check_requires_python("b.whl", Some(">=three"), "3.11.2", py).unwrap_err();
        assert!(format!("{e:#}").contains("b.whl: Requires-Python"), "{e:#}");
    }
}
