//! The target interpreter, queried once: version, implementation, ABI,
//! platform, glibc, the `venv` sysconfig scheme, the executable the venv's
//! `bin/python` points to, and the activate scripts the interpreter's own
//! `venv` module would write for the final prefix.
//!
//! The interpreter is always the configured absolute path (default
//! `/usr/bin/python3`), run isolated (`-I -S`) with an empty environment so
//! that neither PATH, PYTHON* variables, locale nor the working directory can
//! change the answer. It does not compute tags (see `plan::tags`).
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// What the build needs to know about the target interpreter.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Interpreter {
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
    /// `pyvenv.cfg` as the interpreter's own `venv` module writes it, without
    /// its `command = ` line (which names the build path).
    pub pyvenv_cfg: String,
    /// The same with `include-system-site-packages = true`.
    pub pyvenv_cfg_system: String,
    /// The release's pip (`python3-pip`, never one under /usr/local), when
    /// installed: it decides how console-script launchers are written.
    pub pip: Option<Pip>,
}

/// What the target release's pip says about the launchers it writes.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Pip {
    /// pip's version, e.g. `23.0.1`.
    pub version: String,
    /// Where it is, e.g. `/usr/lib/python3/dist-packages/pip`.
    pub location: String,
    /// The `SCRIPT_TEMPLATE` of its vendored distlib, if it has one.
    pub distlib_template: Option<String>,
    /// Its wheel installer mentions a script template of its own.
    pub template_overridden: bool,
    /// Its wheel installer replaces every `pipN[.M]` entry point with
    /// `pip`, `pipX`, `pipX.Y` using the rule pip 23–25 use.
    pub versioned_pip_rule: bool,
}

/// The `venv` scheme's paths, absolute, for the final prefix.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Scheme {
    pub purelib: String,
    pub platlib: String,
    pub scripts: String,
    pub include: String,
    pub data: String,
}

/// One activate script: its file name in `bin/`, text and permission bits.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ActivateScript {
    pub name: String,
    pub text: String,
    pub mode: u32,
}

const QUERY: &str = r#"
import ast, json, os, shutil, struct, sys, sysconfig, tempfile, types
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

# The skeleton comes from this interpreter's own venv module: its
# ensure_directories decides the context (prompt, bin name, ...) for the final
# prefix -- with the file system calls it makes stubbed out, so nothing is
# created at the prefix on this machine -- then its setup_scripts and
# create_configuration write the activate scripts and pyvenv.cfg into a
# temporary directory, from which they are read back.
import venv
def skeleton(system_site_packages):
    builder = venv.EnvBuilder(with_pip=False, system_site_packages=system_site_packages)
    saved = os.makedirs, os.symlink, os.path.exists
    os.makedirs = lambda *a, **k: None
    os.symlink = lambda *a, **k: None
    os.path.exists = lambda p: False
    try:
        ctx = builder.ensure_directories(prefix)
    finally:
        os.makedirs, os.symlink, os.path.exists = saved
    tmp = tempfile.mkdtemp()
    try:
        ctx.bin_path = os.path.join(tmp, "bin")
        os.mkdir(ctx.bin_path)
        builder.setup_scripts(ctx)
        activate = []
        for f in sorted(os.listdir(ctx.bin_path)):
            p = os.path.join(ctx.bin_path, f)
            if f == "Activate.ps1":
                continue
            if not os.path.isfile(p) or os.path.islink(p):
                raise SystemExit("venv wrote %s in bin, not a regular file" % f)
            with open(p, "rb") as fh:
                text = fh.read().decode("utf-8")
            activate.append(dict(name=f, text=text, mode=os.stat(p).st_mode & 0o777))
        cfg_ctx = types.SimpleNamespace(**vars(ctx))
        cfg_ctx.env_dir = tmp
        builder.create_configuration(cfg_ctx)
        with open(os.path.join(tmp, "pyvenv.cfg"), encoding="utf-8") as fh:
            cfg = "".join(l for l in fh if not l.startswith("command = "))
    finally:
        shutil.rmtree(tmp)
    return activate, cfg
activate, pyvenv_cfg = skeleton(False)
_, pyvenv_cfg_system = skeleton(True)

# The release's pip (never one under /usr/local): its version, the launcher
# template its vendored distlib holds, and whether its wheel installer
# overrides that template or special-cases pip's own launchers as pip 23-25 do.
pip = None
try:
    import site, importlib.metadata as md
    dirs = [d for d in site.getsitepackages() if not d.startswith("/usr/local/")]
except Exception:
    dirs = []
for d in dirs:
    if pip is not None:
        break
    for dist in md.distributions(path=[d]):
        if (dist.metadata["Name"] or "").lower() != "pip":
            continue
        base = os.path.join(d, "pip")
        def source(rel):
            try:
                with open(os.path.join(base, rel), encoding="utf-8") as fh:
                    return fh.read()
            except OSError:
                return None
        template = None
        src = source("_vendor/distlib/scripts.py")
        if src is not None:
            for node in ast.parse(src).body:
                if (isinstance(node, ast.Assign) and len(node.targets) == 1
                        and getattr(node.targets[0], "id", None) == "SCRIPT_TEMPLATE"
                        and isinstance(node.value, ast.Constant)
                        and isinstance(node.value.value, str)):
                    template = node.value.value
        wheel_py = source("_internal/operations/install/wheel.py") or ""
        pip = dict(
            version=dist.version,
            location=base,
            distlib_template=template,
            template_overridden="script_template" in wheel_py.lower(),
            versioned_pip_rule='r"pip(\\d+(\\.\\d+)?)?$"' in wheel_py,
        )
        break

print(json.dumps(dict(
    version=list(sys.version_info[:3]),
    implementation=sys.implementation.name,
    version_nodot=sysconfig.get_config_var("py_version_nodot") or "%d%d" % sys.version_info[:2],
    py_debug=bool(sysconfig.get_config_var("Py_DEBUG")) or hasattr(sys, "gettotalrefcount"),
    platform=sysconfig.get_platform(),
    pointer_size=struct.calcsize("P"),
    glibc=glibc,
    home=dirname,
    executable=os.path.realpath(sys.executable),
    scheme=scheme,
    activate=activate,
    pyvenv_cfg=pyvenv_cfg,
    pyvenv_cfg_system=pyvenv_cfg_system,
    pip=pip,
), sort_keys=True))
"#;

/// How long a target interpreter may take to answer a query before it is
/// killed and the build stops (a hung or hostile interpreter must not be
/// waited on forever). A healthy one answers in well under a second.
pub(crate) const QUERY_TIMEOUT: Duration = Duration::from_secs(120);

/// Run `cmd` (an interpreter query) with stdout and stderr captured, killing
/// it when it has not exited after `timeout`. `what` names it in errors.
pub(crate) fn output_with_timeout(
    cmd: &mut Command,
    timeout: Duration,
    what: &str,
) -> Result<Output> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {what}"))?;
    // Both pipes are drained by threads so that a chatty child cannot block
    // on a full pipe while we wait for it.
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                // Bounded: an answer is a few KB; never read without limit.
                let _ = r.by_ref().take(64 << 20).read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child
            .try_wait()
            .with_context(|| format!("waiting for {what}"))?
        {
            break st;
        }
        if start.elapsed() >= timeout {
            let _ = child.kill();
            let _ = child.wait();
            // The reader threads are left to finish when the pipes close (a
            // grandchild may still hold them); nothing waits for them.
            bail!(
                "{what} did not answer within {} s: killed; is it a working Python interpreter?",
                timeout.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

impl Interpreter {
    /// Run `python` once to learn everything the build needs for a venv at
    /// `prefix` (killed after [`QUERY_TIMEOUT`]).
    pub(crate) fn query(python: &Path, prefix: &str) -> Result<Interpreter> {
        Self::query_within(python, prefix, QUERY_TIMEOUT)
    }

    /// [`Interpreter::query`] with another timeout.
    pub(crate) fn query_within(
        python: &Path,
        prefix: &str,
        timeout: Duration,
    ) -> Result<Interpreter> {
        if !python.is_absolute() {
            bail!(
                "the target interpreter {} must be an absolute path",
                python.display()
            );
        }
        let out = output_with_timeout(
            Command::new(python)
                .args(["-I", "-S", "-c", QUERY, prefix])
                .env_clear()
                .current_dir("/"),
            timeout,
            &format!("the target interpreter {}", python.display()),
        )?;
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
    pub(crate) fn short_version(&self) -> String {
        format!("{}.{}", self.version.0, self.version.1)
    }

    /// `X.Y.Z`, e.g. `3.11.2`.
    pub(crate) fn full_version(&self) -> String {
        format!("{}.{}.{}", self.version.0, self.version.1, self.version.2)
    }

    /// The machine part of the platform as `packaging` spells it: the
    /// `linux_<arch>` tag's arch (`x86_64`, `i686` for a 32-bit interpreter
    /// on x86_64, `aarch64`, ...).
    pub(crate) fn arch(&self) -> String {
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
        assert!(!sh.text.contains("__VENV_"));
        assert!(it
            .pyvenv_cfg
            .contains("include-system-site-packages = false\n"));
        assert!(it
            .pyvenv_cfg_system
            .contains("include-system-site-packages = true\n"));
        assert!(!it.pyvenv_cfg.contains("command"));
        // Debian's python3-pip is installed here (scripts/deps.sh).
        let pip = it.pip.as_ref().expect("python3-pip");
        assert!(pip.location.starts_with("/usr/lib/"), "{pip:?}");
        assert!(pip.distlib_template.is_some(), "{pip:?}");
    }

    #[test]
    fn hung_interpreter_is_killed() {
        let tmp = tempfile::tempdir().unwrap();
        let fake = tmp.path().join("python3");
        std::fs::write(&fake, "#!/bin/sh\nexec sleep 600\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = Interpreter::query_within(&fake, "/opt/venvs/x", Duration::from_secs(1))
            .unwrap_err()
            .to_string();
        assert!(e.contains("did not answer within 1 s"), "{e}");
        assert!(e.contains(&fake.display().to_string()), "{e}");
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
