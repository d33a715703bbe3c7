//! Compatibility tags of the target interpreter, in priority order, generated
//! from the one interpreter query exactly as `packaging.tags.sys_tags()`
//! (packaging ≥ 22) does for CPython on glibc Linux: `cpXY-cpXY[d]-<plat>`,
//! `cpXY-abi3-<plat>`, `cpXY-none-<plat>`, older `abi3`, then `pyXY`/`pyX`
//! with each platform, then `*-none-any`. Platforms: `manylinux_2_N` from the
//! interpreter's glibc down (with the legacy manylinux2014/2010/1 aliases
//! after 2_17/2_12/2_5), then `linux_<arch>`.
//!
//! (pip 23.0's vendored packaging 21.3 omits `cpXY-none-any`; otherwise the
//! lists are equal. A test checks both.)
use std::collections::HashMap;

use crate::venv::interpreter::Interpreter;

/// The supported tags, best first, with a rank lookup.
#[derive(Debug, Clone)]
pub(crate) struct TagPriority {
    tags: Vec<String>,
    rank: HashMap<String, usize>,
}

impl TagPriority {
    /// Generate the tags for `it`.
    pub(crate) fn for_interpreter(it: &Interpreter) -> TagPriority {
        let glibc = it.glibc.unwrap_or((0, 0));
        let plats = platforms(&it.arch(), glibc);
        let tags = sys_tags(
            it.version.0,
            it.version.1,
            &it.version_nodot,
            it.py_debug,
            &plats,
        );
        TagPriority::from_list(tags)
    }

    fn from_list(tags: Vec<String>) -> TagPriority {
        let mut rank = HashMap::with_capacity(tags.len());
        for (i, t) in tags.iter().enumerate() {
            rank.entry(t.clone()).or_insert(i);
        }
        TagPriority { tags, rank }
    }

    /// All tags, best first (`py-abi-platform`).
    pub(crate) fn tags(&self) -> &[String] {
        &self.tags
    }

    /// The rank (0 = best) of one tag (`py-abi-platform`), if supported.
    pub(crate) fn rank_of(&self, tag: &str) -> Option<usize> {
        self.rank.get(tag).copied()
    }

    /// The rank (0 = best) of the best tag among a wheel's compressed tag
    /// set (`cp311`, `cp311`, `manylinux_2_17_x86_64.manylinux2014_x86_64`),
    /// or `None` when no tag fits.
    #[cfg(test)]
    pub(crate) fn best_rank(&self, python: &str, abi: &str, platform: &str) -> Option<usize> {
        let mut best: Option<usize> = None;
        for p in python.split('.') {
            for a in abi.split('.') {
                for pl in platform.split('.') {
                    if let Some(&r) = self.rank.get(&format!("{p}-{a}-{pl}")) {
                        best = Some(best.map_or(r, |b| b.min(r)));
                    }
                }
            }
        }
        best
    }
}

const LEGACY_MANYLINUX: &[((u32, u32), &str)] = &[
    ((2, 17), "manylinux2014"),
    ((2, 12), "manylinux2010"),
    ((2, 5), "manylinux1"),
];

/// Platform tags for glibc Linux on `arch`, best first.
fn platforms(arch: &str, glibc: (u32, u32)) -> Vec<String> {
    let archs: Vec<&str> = if arch == "armv8l" {
        vec!["armv8l", "armv7l"]
    } else {
        vec![arch]
    };
    // The oldest glibc each arch had manylinux wheels for, exclusive.
    let too_old = if archs.iter().any(|a| *a == "x86_64" || *a == "i686") {
        (2, 4)
    } else {
        (2, 16)
    };
    let mut out = Vec::new();
    if glibc.0 == 2 {
        for a in &archs {
            let min_minor = if glibc.0 == too_old.0 {
                too_old.1 as i64
            } else {
                -1
            };
            let mut minor = glibc.1 as i64;
            while minor > min_minor {
                let v = (2, minor as u32);
                out.push(format!("manylinux_{}_{}_{a}", v.0, v.1));
                if let Some((_, legacy)) = LEGACY_MANYLINUX.iter().find(|(lv, _)| *lv == v) {
                    out.push(format!("{legacy}_{a}"));
                }
                minor -= 1;
            }
        }
    }
    for a in &archs {
        out.push(format!("linux_{a}"));
    }
    out
}

/// `sys_tags()` for CPython `major.minor` on the given platforms.
fn sys_tags(major: u32, minor: u32, nodot: &str, debug: bool, plats: &[String]) -> Vec<String> {
    let interp = format!("cp{nodot}");
    let mut abis = Vec::new();
    if debug {
        abis.push(format!("cp{nodot}d"));
    }
    abis.push(format!("cp{nodot}"));
    let abi3 = major == 3 && minor >= 2;
    let mut out = Vec::new();
    for abi in &abis {
        for p in plats {
            out.push(format!("{interp}-{abi}-{p}"));
        }
    }
    if abi3 {
        for p in plats {
            out.push(format!("{interp}-abi3-{p}"));
        }
    }
    for p in plats {
        out.push(format!("{interp}-none-{p}"));
    }
    if abi3 {
        for m in (2..minor).rev() {
            for p in plats {
                out.push(format!("cp{major}{m}-abi3-{p}"));
            }
        }
    }
    let mut py_range = vec![format!("py{major}{minor}"), format!("py{major}")];
    for m in (0..minor).rev() {
        py_range.push(format!("py{major}{m}"));
    }
    for v in &py_range {
        for p in plats {
            out.push(format!("{v}-none-{p}"));
        }
    }
    out.push(format!("{interp}-none-any"));
    for v in &py_range {
        out.push(format!("{v}-none-any"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::process::Command;

    fn debian() -> TagPriority {
        let it = Interpreter::query(Path::new("/usr/bin/python3"), "/opt/venvs/t").unwrap();
        TagPriority::for_interpreter(&it)
    }

    fn python_tags(module: &str) -> Option<Vec<String>> {
        let out = Command::new("/usr/bin/python3")
            .args([
                "-I",
                "-c",
                &format!("from {module} import tags\nfor t in tags.sys_tags(): print(t)"),
            ])
            .env_clear()
            .output()
            .unwrap();
        if !out.status.success() {
            return None;
        }
        Some(
            String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .map(String::from)
                .collect(),
        )
    }

    #[test]
    fn equals_pips_packaging_except_cp_none_any() {
        let ours = debian();
        let pip = python_tags("pip._vendor.packaging").expect("python3-pip is a test dependency");
        let interp_any = format!("{}-none-any", ours.tags()[0].split('-').next().unwrap());
        let ours_without: Vec<String> = ours
            .tags()
            .iter()
            .filter(|t| **t != interp_any)
            .cloned()
            .collect();
        assert_eq!(ours_without, pip);
        assert_eq!(ours.tags().len(), pip.len() + 1);
    }

    #[test]
    fn equals_packaging() {
        // python3-packaging is a test dependency (scripts/deps.sh test).
        let p = python_tags("packaging")
            .expect("python3-packaging is a test dependency (sh scripts/deps.sh test)");
        assert_eq!(debian().tags(), &p[..]);
    }

    #[test]
    fn debian12_shape() {
        // Debian 12: glibc 2.36, x86_64, CPython 3.11 → 914 tags (913 in pip 23).
        let plats = platforms("x86_64", (2, 36));
        assert_eq!(plats.len(), 32 + 3 + 1);
        assert_eq!(plats[0], "manylinux_2_36_x86_64");
        assert_eq!(plats[20], "manylinux2014_x86_64");
        assert_eq!(plats.last().unwrap(), "linux_x86_64");
        let t = TagPriority::from_list(sys_tags(3, 11, "311", false, &plats));
        assert_eq!(t.tags().len(), 914);
        assert_eq!(t.tags()[0], "cp311-cp311-manylinux_2_36_x86_64");
        assert_eq!(t.tags().last().unwrap(), "py30-none-any");
        let m = t
            .best_rank(
                "cp311",
                "cp311",
                "manylinux_2_17_x86_64.manylinux2014_x86_64",
            )
            .unwrap();
        assert_eq!(m, 19);
        let pure = t.best_rank("py3", "none", "any").unwrap();
        let abi3 = t.best_rank("cp37", "abi3", "manylinux2014_x86_64").unwrap();
        assert!(m < abi3 && abi3 < pure);
        assert_eq!(t.best_rank("cp312", "cp312", "manylinux2014_x86_64"), None);
        assert_eq!(t.best_rank("cp311", "cp311", "manylinux2014_aarch64"), None);
        assert_eq!(t.best_rank("py2", "none", "any"), None);
        assert_eq!(t.best_rank("cp311", "cp311", "manylinux_2_38_x86_64"), None);
    }

    #[test]
    fn other_arches() {
        let p = platforms("aarch64", (2, 31));
        assert_eq!(p[0], "manylinux_2_31_aarch64");
        assert!(p.contains(&"manylinux2014_aarch64".to_string()));
        assert!(!p.iter().any(|x| x.contains("manylinux2010")));
        assert_eq!(p.last().unwrap(), "linux_aarch64");
        let d = sys_tags(3, 11, "311", true, &["linux_x86_64".to_string()]);
        assert_eq!(d[0], "cp311-cp311d-linux_x86_64");
        assert_eq!(d[1], "cp311-cp311-linux_x86_64");
    }
}
