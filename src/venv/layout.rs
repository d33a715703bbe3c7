//! The skeleton of the virtualenv, as the target interpreter's own
//! `python -m venv --without-pip` makes it for the final prefix, written
//! under a staging root: `pyvenv.cfg` and the activate scripts exactly as
//! that interpreter's `venv` module renders them (see `interpreter`; without
//! pyvenv.cfg's `command =` line, which would carry the build path),
//! `bin/python` → the versioned system interpreter with `python3` and
//! `python3.X` → `python`, `lib/pythonX.Y/site-packages`, `include/pythonX.Y`,
//! `lib64` → `lib`. Left out on purpose (docs/releases.md): `Activate.ps1`,
//! pip, and what Python 3.13 adds (`.gitignore`, `bin/𝜋thon`). It also
//! decides, once, how launchers are written (`scripts::Launchers`). Wheels
//! are installed into it by `install`.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::interpreter::Interpreter;
use super::scripts::{check_python_path, Launchers};

/// Where things go, relative to the staging root and absolute at run time.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// The staging root (e.g. `debian/<pkg>`), where `/` will be.
    pub root: PathBuf,
    /// The final prefix, e.g. `/opt/venvs/demoapp`.
    pub prefix: String,
    /// Paths relative to the prefix (`bin`, `lib/python3.11/site-packages`, …).
    pub scripts: String,
    pub purelib: String,
    pub platlib: String,
    pub include: String,
    /// Headers of a distribution go to `<headers>/<dist>`.
    pub headers: String,
    pub data: String,
    /// The interpreter launchers should name: `<prefix>/bin/python`.
    pub python: String,
    /// How the release's pip writes launchers.
    pub launchers: Launchers,
    /// `include-system-site-packages = true` in pyvenv.cfg (`[venv]
    /// system-site-packages`; false unless the caller sets it).
    pub system_site_packages: bool,
}

impl Layout {
    /// Compute the layout of a venv at `prefix` staged under `root`.
    pub(crate) fn new(root: &Path, prefix: &str, it: &Interpreter) -> Result<Layout> {
        let rel = |key: &str, p: &str| -> Result<String> {
            let r = if p == prefix {
                String::new()
            } else {
                match p.strip_prefix(prefix).and_then(|r| r.strip_prefix('/')) {
                    Some(r) => r.to_string(),
                    None => bail!(
                        "the interpreter's venv scheme puts {key} at {p}, outside the prefix {prefix}"
                    ),
                }
            };
            if r.split('/').any(|c| c == ".." || c == ".") {
                bail!("the interpreter's venv scheme path {p} for {key} is not normalized");
            }
            Ok(r)
        };
        let s = &it.scheme;
        let scripts = rel("scripts", &s.scripts)?;
        let python = format!("{prefix}/{scripts}/python");
        check_python_path(&python)?;
        Ok(Layout {
            root: root.to_path_buf(),
            prefix: prefix.to_string(),
            python,
            launchers: Launchers::of(it),
            scripts,
            purelib: rel("purelib", &s.purelib)?,
            platlib: rel("platlib", &s.platlib)?,
            include: rel("include", &s.include)?,
            headers: format!("include/site/python{}", it.short_version()),
            data: rel("data", &s.data)?,
            system_site_packages: false,
        })
    }

    /// The venv directory on disk (staging root + prefix).
    pub(crate) fn venv_dir(&self) -> PathBuf {
        self.root.join(self.prefix.trim_start_matches('/'))
    }

    /// A path relative to the prefix, on disk.
    pub(crate) fn on_disk(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.venv_dir()
        } else {
            self.venv_dir().join(rel)
        }
    }

    /// Write the skeleton. The venv directory must not exist yet (or be empty).
    pub(crate) fn create(&self, it: &Interpreter) -> Result<()> {
        let venv = self.venv_dir();
        if venv.exists() {
            let mut entries =
                std::fs::read_dir(&venv).with_context(|| format!("reading {}", venv.display()))?;
            if entries.next().is_some() {
                bail!(
                    "{} already exists and is not empty: refusing to install over it",
                    venv.display()
                );
            }
        }
        for d in [&self.scripts, &self.purelib, &self.platlib, &self.include] {
            mkdirs(&self.on_disk(d))?;
        }
        let cfg = if self.system_site_packages {
            &it.pyvenv_cfg_system
        } else {
            &it.pyvenv_cfg
        };
        write_file(&venv.join("pyvenv.cfg"), cfg.as_bytes(), 0o644)?;
        let bin = self.on_disk(&self.scripts);
        symlink(&it.executable, &bin.join("python"))?;
        symlink("python", &bin.join("python3"))?;
        symlink("python", &bin.join(format!("python{}", it.short_version())))?;
        if it.pointer_size == 8 && self.purelib.starts_with("lib/") {
            symlink("lib", &venv.join("lib64"))?;
        }
        for a in &it.activate {
            if a.name.contains('/') || a.name.starts_with('.') {
                bail!(
                    "activate script name {:?} from the interpreter is not a plain name",
                    a.name
                );
            }
            write_file(&bin.join(&a.name), a.text.as_bytes(), a.mode & 0o755)?;
        }
        Ok(())
    }
}

fn mkdirs(p: &Path) -> Result<()> {
    std::fs::create_dir_all(p).with_context(|| format!("creating directory {}", p.display()))
}

fn symlink(target: &str, link: &Path) -> Result<()> {
    std::os::unix::fs::symlink(target, link)
        .with_context(|| format!("creating symlink {} -> {target}", link.display()))
}

/// Create a new file (never overwrite) with the given bytes and mode.
pub(crate) fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    f.set_permissions(std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skeleton_like_python_venv() {
        let it = Interpreter::query(Path::new("/usr/bin/python3"), "/opt/venvs/demo").unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let l = Layout::new(tmp.path(), "/opt/venvs/demo", &it).unwrap();
        assert_eq!(l.scripts, "bin");
        assert_eq!(l.python, "/opt/venvs/demo/bin/python");
        assert_eq!(l.data, "");
        l.create(&it).unwrap();
        let v = tmp.path().join("opt/venvs/demo");
        let cfg = std::fs::read_to_string(v.join("pyvenv.cfg")).unwrap();
        assert!(cfg.starts_with("home = /usr/bin\ninclude-system-site-packages = false\n"));
        assert!(!cfg.contains("command"));
        assert_eq!(
            std::fs::read_link(v.join("bin/python")).unwrap(),
            Path::new(&it.executable)
        );
        assert_eq!(
            std::fs::read_link(v.join("bin/python3")).unwrap(),
            Path::new("python")
        );
        assert_eq!(
            std::fs::read_link(v.join("lib64")).unwrap(),
            Path::new("lib")
        );
        assert!(v.join(&l.purelib).is_dir());
        assert!(v.join("bin/activate").is_file());
        assert!(!v.join("bin/Activate.ps1").exists());
        // A second create into the now non-empty directory is refused.
        let e = l.create(&it).unwrap_err();
        assert!(e.to_string().contains("not empty"), "{e}");
    }

    /// The skeleton equals what this interpreter's own
    /// `python3 -m venv --without-pip` writes at the same prefix, apart from
    /// the documented differences (bin/python's target, no Activate.ps1,
    /// .gitignore or 𝜋thon, pyvenv.cfg without `command`).
    #[test]
    fn skeleton_equals_python_venv() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real/demo");
        let st = std::process::Command::new("/usr/bin/python3")
            .args(["-I", "-m", "venv", "--without-pip"])
            .arg(&real)
            .env_clear()
            .status()
            .unwrap();
        assert!(st.success());
        let prefix = real.to_str().unwrap();
        let it = Interpreter::query(Path::new("/usr/bin/python3"), prefix).unwrap();
        let stage = tmp.path().join("stage");
        let l = Layout::new(&stage, prefix, &it).unwrap();
        l.create(&it).unwrap();
        let ours = l.venv_dir();
        let tree = |root: &Path| {
            let mut out = std::collections::BTreeMap::new();
            let mut todo = vec![root.to_path_buf()];
            while let Some(d) = todo.pop() {
                for e in std::fs::read_dir(&d).unwrap() {
                    let p = e.unwrap().path();
                    let rel = p.strip_prefix(root).unwrap().to_str().unwrap().to_string();
                    let m = std::fs::symlink_metadata(&p).unwrap();
                    let v = if m.file_type().is_symlink() {
                        format!("-> {}", std::fs::read_link(&p).unwrap().display())
                    } else if m.is_dir() {
                        todo.push(p.clone());
                        "dir".to_string()
                    } else {
                        use std::os::unix::fs::PermissionsExt;
                        let text = std::fs::read_to_string(&p).unwrap();
                        let text: String = text
                            .lines()
                            .filter(|l| !l.starts_with("command = "))
                            .map(|l| format!("{l}\n"))
                            .collect();
                        format!("{:o} {text}", m.permissions().mode() & 0o777)
                    };
                    out.insert(rel, v);
                }
            }
            out
        };
        let mut want = tree(&real);
        let got = tree(&ours);
        for documented in ["bin/Activate.ps1", ".gitignore", "bin/𝜋thon"] {
            want.remove(documented);
        }
        // Documented choice (REFERENCE.md): bin/python names the versioned
        // interpreter, python3 and python3.X name python; venv links them
        // otherwise (e.g. to /usr/bin/python3), to the same interpreter.
        let short = it.short_version();
        for link in [
            "bin/python".to_string(),
            "bin/python3".into(),
            format!("bin/python{short}"),
        ] {
            let w = want
                .remove(&link)
                .unwrap_or_else(|| panic!("venv wrote no {link}"));
            assert!(w.starts_with("-> "), "{link}: {w}");
            assert_eq!(
                std::fs::canonicalize(real.join(&link)).unwrap(),
                Path::new(&it.executable),
                "{link}"
            );
        }
        assert_eq!(got["bin/python"], format!("-> {}", it.executable));
        assert_eq!(got["bin/python3"], "-> python");
        assert_eq!(got[&format!("bin/python{short}")], "-> python");
        let mut got = got;
        for link in [
            "bin/python".to_string(),
            "bin/python3".into(),
            format!("bin/python{short}"),
        ] {
            got.remove(&link);
        }
        assert_eq!(got, want);
    }
}
