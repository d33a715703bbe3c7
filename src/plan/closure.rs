//! The dependency check: every `Requires-Dist` of every distribution to be
//! installed whose marker applies to the target (with the extras actually
//! requested, transitively) must be satisfied by a pinned, installed version.
//! Nothing is resolved or fetched: the lock decides, this only proves it is
//! complete and consistent, and lists every problem at once.
use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Context, Result};

use crate::pep440::satisfies;
use crate::pep508::Requirement;

/// A distribution about to be installed.
#[derive(Debug, Clone)]
pub(crate) struct Dist {
    /// PEP 503 normalized.
    pub name: String,
    pub version: String,
    /// The wheel it comes from (for messages).
    pub wheel: String,
    /// Its `Requires-Dist` lines, as written.
    pub requires: Vec<String>,
}

/// Evaluates a marker expression for the target with `extra` set (`""`
/// when no extra is requested).
pub(crate) type MarkerEval<'a> = dyn Fn(&str, &str) -> Result<bool> + 'a;

/// Check the closure. `roots` are the lock's requirements with the extras
/// the lock asks for.
pub(crate) fn check(
    dists: &[Dist],
    roots: &[(String, Vec<String>)],
    eval: &MarkerEval,
) -> Result<()> {
    let by_name: BTreeMap<&str, &Dist> = dists.iter().map(|d| (d.name.as_str(), d)).collect();
    let mut parsed: BTreeMap<&str, Vec<Requirement>> = BTreeMap::new();
    for d in dists {
        let mut v = Vec::new();
        for r in &d.requires {
            v.push(
                Requirement::parse(r)
                    .with_context(|| format!("{} ({}): Requires-Dist", d.name, d.wheel))?,
            );
        }
        parsed.insert(&d.name, v);
    }
    // Extras requested on each dist; a dist is (re)processed when it gains one.
    let mut extras: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut queue: Vec<String> = Vec::new();
    for (name, ex) in roots {
        let set = extras.entry(name.clone()).or_default();
        set.extend(ex.iter().cloned());
        queue.push(name.clone());
    }
    let mut problems: BTreeSet<String> = BTreeSet::new();
    let mut done: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    while let Some(name) = queue.pop() {
        let Some(dist) = by_name.get(name.as_str()) else {
            continue; // a root not installed: verification reports those
        };
        let wanted = extras.get(&name).cloned().unwrap_or_default();
        if done.get(&name) == Some(&wanted) {
            continue;
        }
        done.insert(name.clone(), wanted.clone());
        let mut contexts: Vec<&str> = vec![""];
        contexts.extend(wanted.iter().map(String::as_str));
        for req in &parsed[dist.name.as_str()] {
            let applies = match &req.marker {
                None => true,
                Some(m) => {
                    let mut any = false;
                    for extra in &contexts {
                        if eval(m, extra).with_context(|| {
                            format!(
                                "{} {} ({}): marker of Requires-Dist {}",
                                dist.name,
                                dist.version,
                                dist.wheel,
                                crate::pep508::shown(&req.raw)
                            )
                        })? {
                            any = true;
                            break;
                        }
                    }
                    any
                }
            };
            if !applies {
                continue;
            }
            let who = format!(
                "{} {} requires {}",
                dist.name,
                dist.version,
                crate::pep508::shown(&req.raw)
            );
            if let Some(url) = &req.url {
                problems.insert(format!(
                    "{who}: a direct URL ({url}) cannot be satisfied by a pinned wheel"
                ));
                continue;
            }
            let Some(target) = by_name.get(req.name.as_str()) else {
                problems.insert(format!("{who}: {} is not in the lock", req.name));
                continue;
            };
            match satisfies(&target.version, &req.specifiers) {
                Ok(true) => {}
                Ok(false) => {
                    problems.insert(format!(
                        "{who}: the lock pins {} {} ({})",
                        target.name, target.version, target.wheel
                    ));
                }
                Err(e) => {
                    problems.insert(format!("{who}: cannot compare versions: {e:#}"));
                }
            }
            let set = extras.entry(req.name.clone()).or_default();
            let before = set.len();
            set.extend(req.extras.iter().cloned());
            if set.len() != before || !done.contains_key(&req.name) {
                queue.push(req.name.clone());
            }
        }
    }
    if !problems.is_empty() {
        let list: Vec<String> = problems.into_iter().map(|p| format!("  - {p}")).collect();
        bail!(
            "the locked wheels do not satisfy their own dependencies:\n{}",
            list.join("\n")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy evaluator: `extra == "x"` and `sys_platform == "win32"` only.
    fn eval(m: &str, extra: &str) -> Result<bool> {
        if let Some(e) = m.strip_prefix("extra == ") {
            return Ok(e.trim_matches(['"', '\'']) == extra);
        }
        if m == "sys_platform == \"win32\"" {
            return Ok(false);
        }
        bail!("unsupported marker {m}")
    }

    fn d(name: &str, version: &str, requires: &[&str]) -> Dist {
        Dist {
            name: name.into(),
            version: version.into(),
            wheel: format!("{name}-{version}-py3-none-any.whl"),
            requires: requires.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn closed_set_passes() {
        let dists = [
            d(
                "app",
                "1.0",
                &[
                    "lib>=1",
                    "colorama; sys_platform == \"win32\"",
                    "wide[x]; extra == \"w\"",
                ],
            ),
            d("lib", "1.5", &["dep[fast]"]),
            d("dep", "2.0", &["speed; extra == \"fast\""]),
            d("speed", "0.1", &[]),
        ];
        check(&dists, &[("app".into(), vec![])], &eval).unwrap();
    }

    #[test]
    fn missing_and_conflicting_are_all_listed() {
        let dists = [
            d("app", "1.0", &["lib>=2", "gone", "opt; extra == \"x\""]),
            d("lib", "1.5", &[]),
        ];
        let e = format!(
            "{:#}",
            check(&dists, &[("app".into(), vec!["x".into()])], &eval).unwrap_err()
        );
        assert!(
            e.contains("app 1.0 requires \"lib>=2\": the lock pins lib 1.5"),
            "{e}"
        );
        assert!(e.contains("gone is not in the lock"), "{e}");
        assert!(e.contains("opt is not in the lock"), "{e}");
    }

    #[test]
    fn extras_propagate() {
        let dists = [
            d("app", "1", &["dep[fast]"]),
            d("dep", "2.0", &["speed; extra == \"fast\""]),
        ];
        let e = format!(
            "{:#}",
            check(&dists, &[("app".into(), vec![])], &eval).unwrap_err()
        );
        assert!(e.contains("speed is not in the lock"), "{e}");
    }
}
