//! Wheel selection: for each pinned requirement that applies to the target,
//! the candidate wheel whose best compatibility tag ranks highest in the
//! interpreter's tag order (ties: the file name, bytewise, so the choice
//! never depends on directory order). A requirement none of whose wheels
//! fits is an error naming every wheel and the interpreter. Generic over the
//! wheel type so that the plan carries verified wheels through unchanged.
use anyhow::{bail, Result};

use super::tags::TagPriority;
use crate::wheel::name::Tag;

/// One candidate wheel of a requirement.
pub(crate) struct Candidate<'w, W> {
    pub wheel: &'w W,
    pub file_name: String,
    /// The expanded tag set of its file name.
    pub tags: Vec<Tag>,
}

/// A requirement with its candidates.
pub(crate) struct Wanted<'w, W> {
    pub name: String,
    pub version: String,
    pub candidates: Vec<Candidate<'w, W>>,
}

/// The chosen wheel of a requirement.
pub(crate) struct Selected<'w, W> {
    pub name: String,
    pub wheel: &'w W,
    pub file_name: String,
    /// Its platform tags the interpreter supports (for Architecture and
    /// the libc6 dependency).
    pub platforms: Vec<String>,
}

/// Choose one wheel per requirement; the result is sorted by name.
pub(crate) fn select<'w, W>(
    wanted: Vec<Wanted<'w, W>>,
    tags: &TagPriority,
    interpreter: &str,
) -> Result<Vec<Selected<'w, W>>> {
    let mut out = Vec::new();
    for w in wanted {
        let mut best: Option<(usize, String, Candidate<'w, W>)> = None;
        let mut names = Vec::new();
        for c in w.candidates {
            names.push(c.file_name.clone());
            let rank = c
                .tags
                .iter()
                .filter_map(|t| tags.rank_of(&t.to_string()))
                .min();
            let Some(rank) = rank else { continue };
            let better = match &best {
                None => true,
                Some((r, n, _)) => (rank, &c.file_name) < (*r, n),
            };
            if better {
                best = Some((rank, c.file_name.clone(), c));
            }
        }
        let Some((_, file_name, c)) = best else {
            names.sort();
            bail!(
                "{} {}: no wheel fits the target interpreter {interpreter} (best tag {}): {}",
                w.name,
                w.version,
                tags.tags().first().map(String::as_str).unwrap_or("?"),
                if names.is_empty() {
                    "no candidates".to_string()
                } else {
                    names.join(", ")
                }
            );
        };
        let mut platforms: Vec<String> = c
            .tags
            .iter()
            .filter(|t| tags.rank_of(&t.to_string()).is_some())
            .map(|t| t.platform.clone())
            .collect();
        platforms.sort();
        platforms.dedup();
        out.push(Selected {
            name: w.name,
            wheel: c.wheel,
            file_name,
            platforms,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::venv::interpreter::Interpreter;
    use crate::wheel::name::WheelName;
    use std::path::Path;

    fn cand(f: &'static str) -> Candidate<'static, &'static str> {
        let leaked: &'static &'static str = Box::leak(Box::new(f));
        Candidate {
            wheel: leaked,
            file_name: f.to_string(),
            tags: WheelName::parse(f).unwrap().tags,
        }
    }

    #[test]
    fn best_tag_wins() {
        let it = Interpreter::query(Path::new("/usr/bin/python3"), "/opt/venvs/t").unwrap();
        let tags = TagPriority::for_interpreter(&it);
        let v = it.short_version().replace('.', "");
        let bin: &'static str = Box::leak(
            format!("m-1.0-cp{v}-cp{v}-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
                .into_boxed_str(),
        );
        let wanted = vec![
            Wanted {
                name: "m".into(),
                version: "1.0".into(),
                candidates: vec![
                    cand("m-1.0-py3-none-any.whl"),
                    cand(bin),
                    cand("m-1.0-cp37-abi3-manylinux2014_x86_64.whl"),
                    cand("m-1.0-cp311-cp311-win_amd64.whl"),
                ],
            },
            Wanted {
                name: "a".into(),
                version: "2".into(),
                candidates: vec![cand("a-2-py2.py3-none-any.whl")],
            },
        ];
        let s = select(wanted, &tags, "/usr/bin/python3").unwrap();
        assert_eq!(s[0].name, "a");
        assert_eq!(s[0].platforms, vec!["any"]);
        assert_eq!(s[1].file_name, bin);
        assert_eq!(
            s[1].platforms,
            vec!["manylinux2014_x86_64", "manylinux_2_17_x86_64"]
        );
        let none = vec![Wanted {
            name: "w".into(),
            version: "1".into(),
            candidates: vec![
                cand("w-1-cp311-cp311-win_amd64.whl"),
                cand("w-1-py2-none-any.whl"),
            ],
        }];
        let e = match select(none, &tags, "/usr/bin/python3") {
            Ok(_) => panic!("selected a wheel that fits no tag"),
            Err(e) => e.to_string(),
        };
        assert!(
            e.contains("w-1-cp311-cp311-win_amd64.whl, w-1-py2-none-any.whl"),
            "{e}"
        );
        assert!(e.contains("/usr/bin/python3"), "{e}");
    }
}
