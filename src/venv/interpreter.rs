//! The target interpreter, queried once: version, implementation, ABI,
//! platform, glibc, the `venv` sysconfig scheme, the executable the venv's
//! `bin/python` points to, and the activate scripts the interpreter's own
//! `venv` module would write for the final prefix.
//!
//! The interpreter is always the configured absolute path (default
//! `/usr/bin/python3`), run isolated (`-I -S`) with an empty environment so
//! that neither PATH, PYTHON* variables, locale nor the working directory can
//! change the answer. It does not compute tags (see `plan::tags`).
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// What the build needs to know about the target interpreter.
#[derive(Debug, Clone, Deserialize)]
pub struct Interpreter {
    /// The configured path (absolute).
    #[serde(skip)]
    pub path: PathBuf,
    /// `sys.version_info[:3]`.
    pub version: (u32, u32, u32),
    /// `sys.implementation.name`, e.g. `cpython`.
    pub implementation: String,
    /// `sysconfig.get_config_var("py_version_nodot")`, e.g. `311`.
    pub version_nodot: String,
    /// `Py_DEBUG` set in the build configuration.
    pub py_debug: bool,
    /// `sysconfig.get_config_var("SOABI")`.
    pub soabi: Option<String>,
    /// `sysconfig.get_platform()`, e.g. `linux-x86_64`.
    pub platform: String,
    /// Pointer size in bytes (a 32-bit interpreter on a 64-bit kernel).
    pub pointer_size: u32,
    /// `os.confstr("CS_GNU_LIBC_VERSION")` parsed, when glibc.
    pub glibc: Option<(u32, u32)>,
    /// Directory of the base executable (pyvenv.cfg `home`).
    pub home: String,
    /// `os.path.realpath(sys.executable)`: the versioned interpreter the
    /// venv's `bin/python` links to, e.g. `/usr/bin/python3.11`.
    pub executable: String,
    /// The `venv` sysconfig scheme for the final prefix.
    pub scheme: Scheme,
    /// The activate scripts (no Activate.ps1) rendered for the final prefix
    /// by the interpreter's own `venv` module.
    pub activate: Vec<ActivateScript>,
}

/// The `venv` scheme's paths, absolute, for the final prefix.
#[derive(Debug, Clone, Deserialize)]
pub struct Scheme {
    pub purelib: String,
    pub platlib: String,
    pub scripts: String,
    pub include: String,
    pub data: String,
}

/// One activate script: its file name in `bin/`, text and permission bits.
#[derive(Debug, Clone, Deserialize)]
pub struct ActivateScript {
    pub name: String,
    pub text: String,
    pub mode: u32,
}

const QUERY: &str = r#"
import json, os, struct, sys, sysconfig, types
prefix = sys.argv[1]
try:
    libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
except (AttributeError, OSError, ValueError):
    libc = ""
glibc = None
parts = libc.split()
if len(parts) == 2 and parts[0] == "glibc":
    try:
        major, minor = parts[1].split(".")[:2]
        glibc = [int(major), int(minor)]
    except ValueError:
        glibc = None
v = dict(base=prefix, platbase=prefix, installed_base=prefix, installed_platbase=prefix)
scheme = {k: sysconfig.get_path(k, scheme="venv", vars=v)
          for k in ("purelib", "platlib", "scripts", "include", "data")}
executable = sys._base_executable
dirname, exename = os.path.split(os.path.abspath(executable))
import venv
ctx = types.SimpleNamespace()
ctx.env_dir = prefix
ctx.env_name = os.path.split(prefix)[1]
ctx.prompt = "(%s) " % ctx.env_name
ctx.bin_name = os.path.relpath(scheme["scripts"], prefix)
ctx.env_exe = os.path.join(scheme["scripts"], exename)
builder = venv.EnvBuilder(with_pip=False)
root = os.path.join(os.path.dirname(venv.__file__), "scripts")
activate = []
for sub in ("common", os.name):
    d = os.path.join(root, sub)
    if not os.path.isdir(d):
        continue
    for f in sorted(os.listdir(d)):
        src = os.path.join(d, f)
        if f == "Activate.ps1" or f.endswith((".exe", ".pdb", ".bat")) or not os.path.isfile(src):
            continue
        with open(src, "rb") as fh:
            text = fh.read().decode("utf-8")
        ctx.script_path = src
        activate.append(dict(name=f, text=builder.replace_variables(text, ctx),
                             mode=os.stat(src).st_mode & 0o777))
print(json.dumps(dict(
    version=list(sys.version_info[:3]),
    implementation=sys.implementation.name,
    version_nodot=sysconfig.get_config_var("py_version_nodot") or "%d%d" % sys.version_info[:2],
    py_debug=bool(sysconfig.get_config_var("Py_DEBUG")) or hasattr(sys, "gettotalrefcount"),
    soabi=sysconfig.get_config_var("SOABI"),
    platform=sysconfig.get_platform(),
    pointer_size=struct.calcsize("P"),
    glibc=glibc,
    home=dirname,
    executable=os.path.realpath(sys.executable),
    scheme=scheme,
    activate=activate,
), sort_keys=True))
"#;

impl Interpreter {
    /// Run `python` once to learn everything the build needs for a venv at
    /// `prefix`.
    pub fn query(python: &Path, prefix: &str) -> Result<Interpreter> {
        if !python.is_absolute() {
            bail!(
                "the target interpreter {} must be an absolute path",
                python.display()
            );
        }
        let out = Command::new(python)
            .args(["-I", "-S", "-c", QUERY, prefix])
            .env_clear()
            .current_dir("/")
            .output()
            .with_context(|| format!("running the target interpreter {}", python.display()))?;
        if !out.status.success() {
            bail!(
                "querying the target interpreter {} failed ({}): {}",
                python.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let mut it: Interpreter = serde_json::from_slice(&out.stdout).with_context(|| {
            format!(
                "reading the answer of the target interpreter {}",
                python.display()
            )
        })?;
        it.path = python.to_path_buf();
        it.check()
            .with_context(|| format!("target interpreter {}", python.display()))?;
        Ok(it)
    }

    fn check(&self) -> Result<()> {
        if self.implementation != "cpython" {
            bail!(
                "implementation {:?} is not supported (CPython only)",
                self.implementation
            );
        }
        if self.version.0 != 3 {
            bail!(
                "Python {}.{} is not Python 3",
                self.version.0,
                self.version.1
            );
        }
        if !self.platform.starts_with("linux-") {
            bail!("platform {:?} is not Linux", self.platform);
        }
        if self.glibc.is_none() {
            bail!("not linked with glibc (musl and others are not supported yet)");
        }
        if !self.executable.starts_with('/') || !self.home.starts_with('/') {
            bail!(
                "executable {:?} / home {:?} are not absolute",
                self.executable,
                self.home
            );
        }
        Ok(())
    }

    /// `X.Y`, e.g. `3.11`.
    pub fn short_version(&self) -> String {
        format!("{}.{}", self.version.0, self.version.1)
    }

    /// `X.Y.Z`, e.g. `3.11.2`.
    pub fn full_version(&self) -> String {
        format!("{}.{}.{}", self.version.0, self.version.1, self.version.2)
    }

    /// The machine part of the platform as `packaging` spells it: the
    /// `linux_<arch>` tag's arch (`x86_64`, `i686` for a 32-bit interpreter
    /// on x86_64, `aarch64`, ...).
    pub fn arch(&self) -> String {
        let arch = self
            .platform
            .trim_start_matches("linux-")
            .replace(['-', '.'], "_");
        if self.pointer_size == 4 {
            match arch.as_str() {
                "x86_64" => return "i686".into(),
                "aarch64" => return "armv8l".into(),
                _ => {}
            }
        }
        arch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_debian_python() {
        let it = Interpreter::query(Path::new("/usr/bin/python3"), "/opt/venvs/demo").unwrap();
        assert_eq!(it.implementation, "cpython");
        assert_eq!(it.version.0, 3);
        assert_eq!(
            it.executable,
            format!("/usr/bin/python{}", it.short_version())
        );
        assert_eq!(it.home, "/usr/bin");
        assert_eq!(
            it.scheme.purelib,
            format!(
                "/opt/venvs/demo/lib/python{}/site-packages",
                it.short_version()
            )
        );
        assert_eq!(it.scheme.scripts, "/opt/venvs/demo/bin");
        assert_eq!(it.scheme.data, "/opt/venvs/demo");
        let names: Vec<&str> = it.activate.iter().map(|a| a.name.as_str()).collect();
        assert!(names.contains(&"activate"), "{names:?}");
        assert!(!names.contains(&"Activate.ps1"));
        let sh = it.activate.iter().find(|a| a.name == "activate").unwrap();
        assert!(
            sh.text.contains("VIRTUAL_ENV=/opt/venvs/demo\n"),
            "{}",
            sh.text
        );
        assert!(sh.text.contains("(demo) "));
        assert!(!sh.text.contains("__VENV_"));
    }

    #[test]
    fn relative_interpreter_is_refused() {
        let e = Interpreter::query(Path::new("python3"), "/opt/venvs/x").unwrap_err();
        assert!(e.to_string().contains("absolute"), "{e}");
    }

    #[test]
    fn missing_interpreter_names_it() {
        let e = Interpreter::query(Path::new("/nonexistent/python3"), "/opt/venvs/x").unwrap_err();
        assert!(format!("{e:#}").contains("/nonexistent/python3"), "{e:#}");
    }
}
