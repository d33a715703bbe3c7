//! The skeleton of the virtualenv, as `python -m venv --without-pip` makes it
//! for the final prefix, written under a staging root: `pyvenv.cfg` (without
//! the `command =` line, which would carry the build path), `bin/python` →
//! the versioned system interpreter with `python3` and `python3.X` → `python`,
//! `lib/pythonX.Y/site-packages`, `include/pythonX.Y`, `lib64` → `lib`, and
//! the activate scripts naming the final prefix (no `Activate.ps1`, no pip).
//! Wheels are installed into it by `install`.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::interpreter::Interpreter;

/// Where things go, relative to the staging root and absolute at run time.
#[derive(Debug, Clone)]
pub struct Layout {
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
}

impl Layout {
    /// Compute the layout of a venv at `prefix` staged under `root`.
    pub fn new(root: &Path, prefix: &str, it: &Interpreter) -> Result<Layout> {
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
        Ok(Layout {
            root: root.to_path_buf(),
            prefix: prefix.to_string(),
            python: format!("{prefix}/{scripts}/python"),
            scripts,
            purelib: rel("purelib", &s.purelib)?,
            platlib: rel("platlib", &s.platlib)?,
            include: rel("include", &s.include)?,
            headers: format!("include/site/python{}", it.short_version()),
            data: rel("data", &s.data)?,
        })
    }

    /// The venv directory on disk (staging root + prefix).
    pub fn venv_dir(&self) -> PathBuf {
        self.root.join(self.prefix.trim_start_matches('/'))
    }

    /// A path relative to the prefix, on disk.
    pub fn on_disk(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.venv_dir()
        } else {
            self.venv_dir().join(rel)
        }
    }

    /// Write the skeleton. The venv directory must not exist yet (or be empty).
    pub fn create(&self, it: &Interpreter) -> Result<()> {
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
        let cfg = format!(
            "home = {}\ninclude-system-site-packages = false\nversion = {}\nexecutable = {}\n",
            it.home,
            it.full_version(),
            it.executable
        );
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
pub fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
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
}
