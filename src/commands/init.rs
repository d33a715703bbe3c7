//! `venvdeb init [DIR] [--force]`: write a debian/ directory for the Python
//! application in DIR that builds with `dh $@ --with venvdeb`.
//!
//! It gathers the facts (name, version, description, authors, license and
//! console scripts from DIR/pyproject.toml; the maintainer from
//! DEBFULLNAME/DEBEMAIL as dh_make does; the date from SOURCE_DATE_EPOCH or
//! the clock, as dch does) and writes the skeleton `crate::debhelper`
//! renders. The whole of debian/ is written into a temporary directory
//! beside it and renamed into place only when complete; an existing debian/
//! is replaced only with `--force`.
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::debhelper::{self, Facts, Inputs};

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The source root: where pyproject.toml is and debian/ is written
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Replace an existing debian/ directory (its files are removed)
    #[arg(long)]
    pub force: bool,
    /// Debian package name (default: pyproject.toml's project name, normalized)
    #[arg(long)]
    pub name: Option<String>,
    /// Upstream version (default: pyproject.toml's, in Debian syntax)
    #[arg(long, value_name = "VERSION")]
    pub upstream_version: Option<String>,
    /// Wheel directory, relative to DIR
    #[arg(long, default_value = "wheelhouse", value_name = "PATH")]
    pub wheelhouse: String,
    /// Lock (requirements.txt with hashes, or pylock.toml), relative to DIR
    #[arg(long, default_value = "requirements.txt", value_name = "PATH")]
    pub lock: String,
    /// Signed wheel list, relative to DIR
    #[arg(long, default_value = "sha256sums.txt", value_name = "PATH")]
    pub sums: String,
    /// Detached signature over the wheel list, relative to DIR
    #[arg(long, default_value = "sha256sums.txt.asc", value_name = "PATH")]
    pub signature: String,
    /// Keyring of the wheel list's signers (binary or armored), relative to DIR
    #[arg(
        long,
        default_value = "debian/upstream/wheels-signing-key.asc",
        value_name = "PATH"
    )]
    pub keyring: String,
    /// Copy this key file to debian/upstream/wheels-signing-key.asc
    /// (and use it as the keyring)
    #[arg(long, value_name = "FILE")]
    pub import_key: Option<PathBuf>,
}

pub(crate) fn run(args: &InitArgs) -> Result<()> {
    let dir = &args.dir;
    let debian = dir.join("debian");
    if fs::symlink_metadata(&debian).is_ok() && !args.force {
        bail!(
            "{} already exists: not overwriting it (pass --force to replace it)",
            debian.display()
        );
    }
    let facts = gather(args)?;
    let exe = std::env::current_exe().context("finding the venvdeb executable")?;
    let templates = debhelper::Templates::for_executable(&exe)?;
    let mut files = debhelper::render(&facts, &templates)?;
    let key = match &args.import_key {
        Some(k) => Some(crate::input::read_regular(k, "key", 64 << 20)?),
        None => None,
    };
    if debhelper::license_needs_text(facts.license.as_deref()) {
        eprintln!(
            "venvdeb init: warning: no license text known for {:?}: complete debian/copyright",
            facts.license.as_deref().unwrap_or("(none declared)")
        );
    }
    let tmp = crate::atomic::TempDir::beside(&debian)?;
    write_tree(tmp.path(), &mut files, key.as_deref())?;
    // Checked again: debian/ may have appeared while the tree was written.
    if fs::symlink_metadata(&debian).is_ok() && !args.force {
        bail!(
            "{} appeared meanwhile: not overwriting it",
            debian.display()
        );
    }
    tmp.replace(&debian)?;
    println!("{}", debian.display());
    Ok(())
}

/// Everything the templates need, from pyproject.toml, the flags and the
/// environment.
fn gather(args: &InitArgs) -> Result<Facts> {
    let path = args.dir.join("pyproject.toml");
    let text = fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {} (venvdeb init takes the name from it)",
            path.display()
        )
    })?;
    let doc: toml::Table = text
        .parse()
        .with_context(|| format!("parsing {}", path.display()))?;
    let project = Project::from_pyproject(&doc)
        .with_context(|| format!("reading the project table of {}", path.display()))?;
    let upstream_name = match (&args.name, &project.name) {
        (_, Some(n)) => n.clone(),
        (Some(n), None) => n.clone(),
        (None, None) => bail!("{}: no [project] name: pass --name", path.display()),
    };
    let name = match &args.name {
        Some(n) => n.clone(),
        None => debhelper::debian_name(&upstream_name),
    };
    let upstream_version = match (&args.upstream_version, &project.version) {
        (Some(v), _) => debhelper::debian_upstream_version(v)?,
        (None, Some(v)) => debhelper::debian_upstream_version(v)
            .with_context(|| format!("the version in {}", path.display()))?,
        (None, None) => bail!(
            "{}: no static [project] version (dynamic versions are not read): pass --upstream-version",
            path.display()
        ),
    };
    let maintainer = maintainer_from_env(|k| std::env::var(k).ok())?;
    let epoch = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => crate::sde::parse(&v)?,
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .context("the system clock is before 1970")?
            .as_secs(),
    };
    let (date, year) = debhelper::rfc2822(epoch);
    let authors = if project.authors.is_empty() {
        vec![maintainer.clone()]
    } else {
        project.authors.clone()
    };
    let keyring = if args.import_key.is_some() {
        "debian/upstream/wheels-signing-key.asc".to_string()
    } else {
        args.keyring.clone()
    };
    Ok(Facts {
        synopsis: debhelper::synopsis(project.description.as_deref(), &name),
        name,
        upstream_name,
        upstream_version,
        maintainer,
        date,
        year,
        authors,
        license: project.license,
        expose: project.scripts,
        inputs: Inputs {
            wheelhouse: args.wheelhouse.clone(),
            lock: args.lock.clone(),
            sums: args.sums.clone(),
            signature: args.signature.clone(),
            keyring,
        },
    })
}

/// What init reads from pyproject.toml (PEP 621 `[project]`, else
/// `[tool.poetry]`).
#[derive(Debug, Default, PartialEq)]
struct Project {
    name: Option<String>,
    version: Option<String>,
    description: Option<String>,
    authors: Vec<String>,
    license: Option<String>,
    scripts: Vec<String>,
}

impl Project {
    fn from_pyproject(doc: &toml::Table) -> Result<Project> {
        let table = doc
            .get("project")
            .or_else(|| doc.get("tool").and_then(|t| t.get("poetry")));
        let Some(t) = table else {
            return Ok(Project::default());
        };
        let Some(t) = t.as_table() else {
            bail!("[project] is not a table");
        };
        let string = |k: &str| -> Result<Option<String>> {
            match t.get(k) {
                None => Ok(None),
                Some(toml::Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => bail!("{k} is not a string"),
            }
        };
        let mut authors = Vec::new();
        if let Some(list) = t.get("authors").and_then(|a| a.as_array()) {
            for a in list {
                match a {
                    toml::Value::String(s) => authors.push(s.clone()),
                    toml::Value::Table(p) => {
                        let name = p.get("name").and_then(|v| v.as_str());
                        let email = p.get("email").and_then(|v| v.as_str());
                        match (name, email) {
                            (Some(n), Some(e)) => authors.push(format!("{n} <{e}>")),
                            (Some(n), None) => authors.push(n.to_string()),
                            (None, Some(e)) => authors.push(e.to_string()),
                            (None, None) => {}
                        }
                    }
                    _ => bail!("authors: an entry is neither a string nor a table"),
                }
            }
        }
        let license = match t.get("license") {
            Some(toml::Value::String(s)) => Some(s.clone()),
            Some(toml::Value::Table(l)) => l
                .get("text")
                .and_then(|v| v.as_str())
                .map(|s| s.lines().next().unwrap_or_default().trim().to_string()),
            _ => None,
        }
        .filter(|s| !s.is_empty())
        .or_else(|| {
            t.get("classifiers")
                .and_then(|c| c.as_array())
                .and_then(|c| {
                    c.iter()
                        .filter_map(|v| v.as_str())
                        .find(|s| s.starts_with("License :: "))
                        .map(str::to_string)
                })
        });
        let mut scripts: Vec<String> = t
            .get("scripts")
            .and_then(|s| s.as_table())
            .map(|s| s.keys().cloned().collect())
            .unwrap_or_default();
        scripts.sort();
        Ok(Project {
            name: string("name")?,
            version: string("version")?,
            description: string("description")?,
            authors,
            license,
            scripts,
        })
    }
}

/// The maintainer as dh_make finds it: the name from DEBFULLNAME (else
/// NAME, else the name part of a `Name <addr>` DEBEMAIL), the address from
/// DEBEMAIL (else EMAIL). Nothing is guessed from the user or host name.
fn maintainer_from_env(get: impl Fn(&str) -> Option<String>) -> Result<String> {
    let nonempty = |k: &str| {
        get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let debemail = nonempty("DEBEMAIL").or_else(|| nonempty("EMAIL"));
    let (mut name, email) = match debemail {
        Some(e) => match (e.find('<'), e.rfind('>')) {
            (Some(l), Some(r)) if l < r => {
                let n = e[..l].trim().to_string();
                (
                    Some(n).filter(|n| !n.is_empty()),
                    Some(e[l + 1..r].trim().to_string()),
                )
            }
            _ => (None, Some(e)),
        },
        None => (None, None),
    };
    if let Some(n) = nonempty("DEBFULLNAME").or_else(|| nonempty("NAME")) {
        name = Some(n);
    }
    match (name, email) {
        (Some(n), Some(e))
            if e.contains('@')
                && !e.contains(['<', '>', '\n'])
                && !n.contains(['<', '>', '\n']) =>
        {
            Ok(format!("{n} <{e}>"))
        }
        (Some(_), Some(e)) => bail!("DEBEMAIL/EMAIL {e:?} is not an e-mail address"),
        _ => bail!(
            "the maintainer is unknown: set DEBFULLNAME (your name) and DEBEMAIL \
             (your e-mail address), as for dh_make and dch"
        ),
    }
}

/// Write the rendered files (and the imported key) below `root` (made 0755).
fn write_tree(
    root: &Path,
    files: &mut std::collections::BTreeMap<String, debhelper::SkeletonFile>,
    key: Option<&[u8]>,
) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(root, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("setting the mode of {}", root.display()))?;
    let write = |rel: &str, bytes: &[u8], mode: u32| -> Result<()> {
        let path = root.join(rel);
        if let Some(parent) = path.parent().filter(|p| *p != root) {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
            fs::set_permissions(parent, fs::Permissions::from_mode(0o755))
                .with_context(|| format!("setting the mode of {}", parent.display()))?;
        }
        fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(mode))
            .with_context(|| format!("setting the mode of {}", path.display()))
    };
    for (rel, f) in files.iter() {
        write(rel, f.content.as_bytes(), f.mode)?;
    }
    if let Some(k) = key {
        write("upstream/wheels-signing-key.asc", k, 0o644)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn maintainer_like_dh_make() {
        let m = maintainer_from_env(env(&[
            ("DEBFULLNAME", "Ann Example"),
            ("DEBEMAIL", "ann@example.org"),
        ]));
        assert_eq!(m.unwrap(), "Ann Example <ann@example.org>");
        let m = maintainer_from_env(env(&[("DEBEMAIL", "Bob B <bob@example.org>")]));
        assert_eq!(m.unwrap(), "Bob B <bob@example.org>");
        let m = maintainer_from_env(env(&[("NAME", "Cy"), ("EMAIL", "cy@example.org")]));
        assert_eq!(m.unwrap(), "Cy <cy@example.org>");
        let m = maintainer_from_env(env(&[
            ("DEBFULLNAME", "Dee"),
            ("DEBEMAIL", "Other <d@example.org>"),
        ]));
        assert_eq!(m.unwrap(), "Dee <d@example.org>");
        assert!(maintainer_from_env(env(&[("DEBEMAIL", "e@example.org")])).is_err());
        assert!(maintainer_from_env(env(&[("DEBFULLNAME", "F")])).is_err());
        assert!(maintainer_from_env(env(&[("DEBFULLNAME", "F"), ("DEBEMAIL", "nope")])).is_err());
    }

    #[test]
    fn pyproject_fields() {
        let doc: toml::Table = r#"
[project]
name = "Demo_App"
version = "1.2rc1"
description = "Demo."
authors = [{name = "A", email = "a@x"}, {name = "B"}]
license = {text = "MIT"}
[project.scripts]
zz = "demo:main"
demo-app = "demo:main"
"#
        .parse()
        .unwrap();
        let p = Project::from_pyproject(&doc).unwrap();
        assert_eq!(p.name.as_deref(), Some("Demo_App"));
        assert_eq!(p.version.as_deref(), Some("1.2rc1"));
        assert_eq!(p.authors, ["A <a@x>", "B"]);
        assert_eq!(p.license.as_deref(), Some("MIT"));
        assert_eq!(p.scripts, ["demo-app", "zz"]);
        let doc: toml::Table = "[project]\nname = 3\n".parse().unwrap();
        assert!(Project::from_pyproject(&doc).is_err());
        let doc: toml::Table =
            "[project]\nname = \"x\"\nclassifiers = [\"License :: OSI Approved :: MIT License\"]\n"
                .parse()
                .unwrap();
        assert_eq!(
            Project::from_pyproject(&doc).unwrap().license.as_deref(),
            Some("License :: OSI Approved :: MIT License")
        );
    }
}
