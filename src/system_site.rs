//! `[venv] system-site-packages = true`: the modules an app takes from
//! Debian's packages instead of wheels (`system-modules`, e.g. PyQt5 from
//! python3-pyqt5). At build time each is imported by the target interpreter
//! the way the venv will see it — `-I`: no PYTHON* variables, no user
//! site-packages, no current directory; the system site-packages included —
//! and must come from a file a Debian package owns (`dpkg-query -S`); the
//! package then depends on it ([`extra_depends`]: added to Depends and to
//! `${venvdeb:Depends}` unless the configuration's Depends already names it,
//! perhaps with a version). What it finds is recorded in the manifest and the
//! SBOM as system components (module, file, Debian package; no version: the
//! installed system decides it at run time).
//!
//! The venv then trusts those Debian packages: they are not verified wheels.
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

pub(crate) use crate::inspect::manifest::SystemModule;

/// The query run by the target interpreter: import each module named in
/// argv, report its file or the error.
const IMPORT_SCRIPT: &str = r#"
import importlib, json, sys
out = []
for name in sys.argv[1:]:
    try:
        m = importlib.import_module(name)
    except BaseException as e:
        out.append({"module": name, "error": "%s: %s" % (type(e).__name__, e)})
        continue
    f = getattr(m, "__file__", None)
    if f is None:
        p = list(getattr(m, "__path__", []) or [])
        f = p[0] if p else None
    out.append({"module": name, "file": f})
sys.stdout.write(json.dumps(out))
"#;

#[derive(Deserialize)]
struct Imported {
    module: String,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// Import `modules` with the target interpreter `python` and find the
/// Debian package of each. Errors name the module and the interpreter.
pub(crate) fn check_modules(python: &Path, modules: &[String]) -> Result<Vec<SystemModule>> {
    if modules.is_empty() {
        return Ok(Vec::new());
    }
    let py = python.display();
    let mut cmd = Command::new(python);
    cmd.args(["-I", "-B", "-c", IMPORT_SCRIPT])
        .args(modules)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("LC_ALL", "C.UTF-8");
    let out = crate::venv::interpreter::output_with_timeout(
        &mut cmd,
        crate::venv::interpreter::QUERY_TIMEOUT,
        &format!("{py} (importing the system modules)"),
    )?;
    if !out.status.success() {
        bail!(
            "the target interpreter {py} failed while importing the system modules {} ({}): {}",
            modules.join(", "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let found: Vec<Imported> = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("reading what {py} says about the system modules"))?;
    let mut result = Vec::new();
    for m in found {
        if let Some(e) = m.error {
            bail!(
                "system module {:?} cannot be imported by the target interpreter {py}: {e} \
                 (install the Debian package that provides it, e.g. python3-{}, where the \
                 package is built)",
                m.module,
                m.module.split('.').next().unwrap_or("").to_lowercase()
            );
        }
        let Some(file) = m.file else {
            bail!(
                "system module {:?} imported by {py} has no file (built into the interpreter): \
                 it is not a system site package",
                m.module
            );
        };
        let package = owner(&file).with_context(|| {
            format!(
                "system module {:?} was imported by {py} from {file}",
                m.module
            )
        })?;
        result.push(SystemModule {
            module: m.module,
            file,
            debian_package: package,
        });
    }
    result.sort_by(|a, b| a.module.cmp(&b.module));
    Ok(result)
}

/// Refuse a system module that the wheels also install into one of the
/// venv's `site_dirs`: the venv's own copy would shadow Debian's, so the
/// configuration would not say what runs.
pub(crate) fn check_not_shadowed(
    site_dirs: &[std::path::PathBuf],
    modules: &[SystemModule],
    absent: &crate::tree::Absent,
) -> Result<()> {
    for m in modules {
        let top = m.module.split('.').next().unwrap_or(&m.module);
        for dir in site_dirs {
            // On disk, and those whose bytes are still in their wheels,
            // sorted, as every walker of the staging tree sees them (a
            // directory made only of absent files is not on disk at all).
            let on_disk = crate::tree::read_names(dir, dir.is_dir())
                .with_context(|| format!("reading directory {}", dir.display()))?;
            let names: Vec<String> = crate::tree::merge(dir, on_disk, absent)?
                .into_iter()
                .filter_map(|(n, _)| n.into_string().ok())
                .collect();
            if let Some(n) = names.iter().find(|n| {
                *n == top
                    || n.strip_prefix(top)
                        .is_some_and(|r| r.starts_with('.') && !r.ends_with("-info"))
            }) {
                bail!(
                    "system module {:?} is also installed from a wheel ({}/{n}): the venv's copy \
                     would be imported instead of Debian's {}; drop it from the wheels or from \
                     venv.system-modules",
                    m.module,
                    dir.display(),
                    m.debian_package
                );
            }
        }
    }
    Ok(())
}

/// The Debian packages of `modules` that the configuration's Depends value
/// `depends` does not name yet: the package must depend on them too. Sorted,
/// once each.
pub(crate) fn extra_depends(modules: &[SystemModule], depends: &str) -> Vec<String> {
    let named = depends_names(depends);
    let mut out: Vec<String> = modules
        .iter()
        .map(|m| m.debian_package.clone())
        .filter(|p| !named.contains(p))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The package names a Depends value mentions (every alternative, without
/// architecture qualifier or version).
fn depends_names(depends: &str) -> Vec<String> {
    depends
        .split([',', '|'])
        .filter_map(|rel| {
            let rel = rel.trim();
            let end = rel
                .find(|c: char| c.is_ascii_whitespace() || c == '(' || c == ':')
                .unwrap_or(rel.len());
            (end > 0).then(|| rel[..end].to_string())
        })
        .collect()
}

/// The Debian package that owns `file`, per `dpkg -S`.
fn owner(file: &str) -> Result<String> {
    let out = Command::new("dpkg-query")
        .arg("-S")
        .arg("--")
        .arg(file)
        .env("LC_ALL", "C")
        .output()
        .context("running dpkg-query -S")?;
    let text = String::from_utf8_lossy(&out.stdout);
    // `pkg[:arch][, pkg2…]: path`; diversions say `diversion by …`.
    let owners: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with("diversion by "))
        .filter_map(|l| l.rsplit_once(": ").map(|(p, _)| p))
        .flat_map(|p| p.split(", "))
        .map(|p| p.split(':').next().unwrap_or(p).trim().to_string())
        .collect();
    match owners.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!(
            "no Debian package owns that file (dpkg-query -S): a system module must come from \
             a Debian package, not from pip or a local install"
        ),
        many => bail!("several Debian packages own that file: {}", many.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A system module is shadowed by a file or package on disk in a site
    /// directory, and as much by one whose bytes are still in its wheel
    /// (`venvdeb build`'s absent tree).
    #[test]
    fn shadowing_on_disk_and_absent_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let site = d.path().join("site");
        std::fs::create_dir(&site).unwrap();
        std::fs::write(site.join("yaml_helpers.py"), b"").unwrap();
        std::fs::create_dir(site.join("PyYAML-6.0.dist-info")).unwrap();
        let yaml = SystemModule {
            module: "yaml".into(),
            file: "/usr/lib/python3/dist-packages/yaml/__init__.py".into(),
            debian_package: "python3-yaml".into(),
        };
        let check = |absent: &crate::tree::Absent| {
            check_not_shadowed(
                std::slice::from_ref(&site),
                std::slice::from_ref(&yaml),
                absent,
            )
        };
        let none = crate::tree::Absent::default();
        check(&none).unwrap();
        let absent =
            crate::tree::Absent::new(d.path(), [(site.join("yaml/__init__.py"), 10, false)])
                .unwrap();
        let e = check(&absent).unwrap_err();
        assert!(e.to_string().contains("site/yaml"), "{e}");
        std::fs::write(site.join("yaml.py"), b"").unwrap();
        let e = check(&none).unwrap_err();
        assert!(e.to_string().contains("site/yaml.py"), "{e}");
        // A site directory made only of absent files is not on disk, and
        // is checked all the same.
        let only_absent = d.path().join("platlib");
        let absent =
            crate::tree::Absent::new(d.path(), [(only_absent.join("yaml/_yaml.so"), 10, false)])
                .unwrap();
        let e = check_not_shadowed(
            std::slice::from_ref(&only_absent),
            std::slice::from_ref(&yaml),
            &absent,
        )
        .unwrap_err();
        assert!(e.to_string().contains("platlib/yaml"), "{e}");
    }

    #[test]
    fn names_in_depends() {
        assert_eq!(
            depends_names("python3-yaml (>= 5), aa | bb:any (<< 2), cc:amd64"),
            vec!["python3-yaml", "aa", "bb", "cc"]
        );
    }

    #[test]
    fn stdlib_module_found_and_owned() {
        // `json` is in the standard library: imported, and owned by a
        // Debian package (libpython3.X-stdlib).
        let py = Path::new(crate::config::DEFAULT_PYTHON);
        let found = check_modules(py, &["json".into()]).unwrap();
        assert_eq!(found.len(), 1);
        assert!(found[0].file.ends_with("/json/__init__.py"), "{found:?}");
        assert!(
            found[0].debian_package.starts_with("libpython3"),
            "{found:?}"
        );
        let pkg = found[0].debian_package.clone();
        assert_eq!(extra_depends(&found, "curl"), vec![pkg.clone()]);
        assert!(extra_depends(&found, &format!("curl, {pkg} (>= 3)")).is_empty());
        let e = format!(
            "{:#}",
            check_modules(py, &["venvdeb_no_such_module_x".into()]).unwrap_err()
        );
        assert!(
            e.contains("\"venvdeb_no_such_module_x\" cannot be imported by the target interpreter /usr/bin/python3")
                && e.contains("ModuleNotFoundError"),
            "{e}"
        );
        let e = format!("{:#}", check_modules(py, &["sys".into()]).unwrap_err());
        assert!(e.contains("built into the interpreter"), "{e}");
    }
}
