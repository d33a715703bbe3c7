//! The build environment: backend wheels (setuptools, flit-core, …) taken
//! only from `--backends`, each pinned by sha256 in `--backend-requirements`,
//! checked and unpacked by venvdeb into a throwaway directory; and the PEP 517
//! hook driver that runs the target interpreter on a source tree.
//!
//! Backends are pure Python, so "installing" one is a verified unpack of its
//! wheel into one directory put first on the driver's `sys.path` (every
//! member checked against its RECORD as it is written; `.data/purelib` and
//! `platlib` go to the same directory, any other `.data` key is refused).
//! The interpreter runs with `-S -s` (no site-packages: Debian's
//! `dist-packages` cannot leak in), an emptied environment that venvdeb sets
//! whole, and venvdeb's own driver script; no pip, no `build`, no network.
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use super::digest;
use super::pins;
use super::requires::{parse_build_requirement, version_matches};
use crate::wheel::archive::DEFAULT_MAX_UNCOMPRESSED;
use crate::wheel::contents::read_wheel;
use crate::wheel::markers::{Marker, MarkerEnv};
use crate::wheel::name::{canonical_version, WheelName};

const DRIVER: &str = include_str!("pep517_driver.py");

/// A directory holding the verified backends.
#[derive(Debug)]
pub(crate) struct BackendEnv {
    pub dir: PathBuf,
    /// normalized name → version of each installed backend.
    pub dists: BTreeMap<String, String>,
    /// normalized names of wheels present in `--backends` but not pinned.
    pub unpinned: BTreeSet<String>,
    pub pin_file: PathBuf,
}

impl BackendEnv {
    /// Verify every pinned backend wheel of `wheel_dir` and unpack it into
    /// `scratch/env`.
    pub(crate) fn prepare(wheel_dir: &Path, pin_file: &Path, scratch: &Path) -> Result<Self> {
        let pins = pins::read(pin_file)?;
        let copies = scratch.join("backend-wheels");
        let env = scratch.join("env");
        fs::create_dir_all(&copies)?;
        fs::create_dir_all(&env)?;
        let mut candidates: BTreeMap<String, Vec<(String, PathBuf)>> = BTreeMap::new();
        for (n, path) in digest::listing(wheel_dir)? {
            if !n.ends_with(".whl") {
                continue;
            }
            let wn = WheelName::parse(&n).with_context(|| format!("{}", wheel_dir.display()))?;
            candidates
                .entry(wn.normalized_name())
                .or_default()
                .push((n, path));
        }
        let mut dists = BTreeMap::new();
        for (key, pin) in &pins {
            let files: Vec<_> = candidates
                .get(key)
                .map(|v| {
                    v.iter()
                        .filter(|(n, _)| {
                            WheelName::parse(n)
                                .map(|w| {
                                    canonical_version(&w.version) == canonical_version(&pin.version)
                                })
                                .unwrap_or(false)
                        })
                        .collect()
                })
                .unwrap_or_default();
            if files.is_empty() {
                return Err(crate::exit::verification(format!(
                    "{}: no wheel of {key}=={} (pinned in {})",
                    wheel_dir.display(),
                    pin.version,
                    pin_file.display()
                )));
            }
            let mut chosen = None;
            let mut seen = Vec::new();
            for (n, p) in files {
                let copy = copies.join(n);
                let (sha, _) = digest::copy_hashed(p, &copy)?;
                if pin.hashes.contains(&sha) {
                    chosen = Some((n.clone(), copy));
                    break;
                }
                seen.push(format!("{n} has {sha}"));
            }
            let Some((n, copy)) = chosen else {
                return Err(crate::exit::verification(format!(
                    "{}: backend {key}=={}: sha256 expected {} (pinned in {}), found: {}",
                    wheel_dir.display(),
                    pin.version,
                    pin.hashes.iter().cloned().collect::<Vec<_>>().join(" or "),
                    pin_file.display(),
                    seen.join("; ")
                )));
            };
            let wn = WheelName::parse(&n)?;
            let pure = wn
                .tags
                .iter()
                .any(|t| t.python == "py3" && t.abi == "none" && t.platform == "any");
            if !pure {
                bail!("{n}: backends must be pure-Python py3-none-any wheels");
            }
            unpack_verified(&copy, &env).with_context(|| format!("installing backend {n}"))?;
            dists.insert(key.clone(), pin.version.clone());
        }
        let unpinned = candidates
            .keys()
            .filter(|k| !pins.contains_key(*k))
            .cloned()
            .collect();
        Ok(Self {
            dir: env,
            dists,
            unpinned,
            pin_file: pin_file.to_path_buf(),
        })
    }

    /// Every requirement must be met by a backend in this environment.
    /// Requirements whose marker is false for `markers` (the target
    /// interpreter's environment) do not apply.
    pub(crate) fn check_requires(
        &self,
        reqs: &[String],
        markers: &MarkerEnv,
        who: &str,
    ) -> Result<()> {
        let mut missing = Vec::new();
        for r in reqs {
            let req = parse_build_requirement(r)
                .with_context(|| format!("{who}: build requirement {r:?}"))?;
            if let Some(m) = &req.marker {
                let applies = Marker::parse(m)
                    .and_then(|m| m.evaluate(markers, &[]))
                    .with_context(|| format!("{who}: build requirement {r:?}: marker"))?;
                if !applies {
                    continue;
                }
            }
            match self.dists.get(&req.name) {
                Some(v) if version_matches(v, &req) => {}
                Some(v) => missing.push(format!("{r} (the pinned backend is {}=={v})", req.name)),
                None if self.unpinned.contains(&req.name) => missing.push(format!(
                    "{r} (a wheel is in --backends but it is not pinned in {})",
                    self.pin_file.display()
                )),
                None => missing.push(r.clone()),
            }
        }
        if !missing.is_empty() {
            return Err(crate::exit::verification(format!(
                "{who}: build requirements not met by the pinned backends: {}",
                missing.join(", ")
            )));
        }
        Ok(())
    }
}

/// Unpack a pure wheel into `env` through `crate::wheel`'s reader, which
/// checks the container and every member against RECORD as it streams.
fn unpack_verified(wheel: &Path, env: &Path) -> Result<()> {
    let dist = wheel
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| WheelName::parse(n).ok())
        .map(|w| format!("{}-{}.data/", w.distribution, w.version))
        .unwrap_or_default();
    read_wheel(wheel, DEFAULT_MAX_UNCOMPRESSED, None, |e, r| {
        if e.at.is_dir {
            return Ok(());
        }
        let name = &e.name;
        let rel = match name.strip_prefix(&dist) {
            None if name.split('/').next().is_some_and(|t| t.ends_with(".data")) => {
                bail!("{name}: a .data directory that does not match the wheel's name")
            }
            None => name.clone(),
            Some(rest) => match rest.split_once('/') {
                Some(("purelib" | "platlib", r)) if !r.is_empty() => r.to_string(),
                _ => bail!("{name}: only purelib/platlib data is accepted in a backend"),
            },
        };
        let dest = env.join(&rel);
        if let Some(p) = dest.parent() {
            fs::create_dir_all(p).with_context(|| format!("creating {}", p.display()))?;
        }
        let mut out = File::create_new(&dest)
            .with_context(|| format!("creating {} (two backends ship it?)", dest.display()))?;
        std::io::copy(r, &mut out).with_context(|| format!("extracting {name}"))?;
        digest::set_mode(&dest, 0o644)
    })
    .with_context(|| format!("unpacking {}", wheel.display()))?;
    Ok(())
}

/// What the hook driver needs to run one hook in the controlled environment.
pub(crate) struct HookRun<'a> {
    pub python: &'a Path,
    pub env: &'a BackendEnv,
    pub source: &'a Path,
    /// `module:object` from `[build-system] build-backend`.
    pub backend: &'a str,
    pub backend_path: &'a [String],
    pub scratch: &'a Path,
    pub sde: u64,
    /// Where the source tree claims to be, for `-ffile-prefix-map`.
    pub mapped_source: &'a str,
}

impl HookRun<'_> {
    /// Run the backend in one interpreter process: ask
    /// `get_requires_for_build_wheel`, let `check` judge the answer (an
    /// error stops the driver before anything is built), then `build_wheel`
    /// into `out_dir`. Returns the wheel's path.
    pub(crate) fn build(
        &self,
        out_dir: &Path,
        check: impl FnOnce(&[String]) -> Result<()>,
    ) -> Result<PathBuf> {
        let driver_dir = self.scratch.join("driver");
        let home = self.scratch.join("home");
        let tmp = self.scratch.join("tmp");
        for d in [&driver_dir, &home, &tmp] {
            fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
        }
        let driver = driver_dir.join("venvdeb_pep517.py");
        fs::write(&driver, DRIVER).with_context(|| format!("writing {}", driver.display()))?;
        let map = format!(
            "-ffile-prefix-map={}={}",
            self.source.display(),
            self.mapped_source
        );
        let mut child = Command::new(self.python)
            .args(["-S", "-s", "-B"])
            .arg(&driver)
            .arg(self.source)
            .arg(&self.env.dir)
            .arg(self.backend)
            .arg(serde_json::to_string(self.backend_path)?)
            .arg(out_dir)
            .current_dir(self.source)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &home)
            .env("TMPDIR", &tmp)
            .env("SOURCE_DATE_EPOCH", self.sde.to_string())
            .env("PYTHONHASHSEED", "0")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONNOUSERSITE", "1")
            .env("PYTHONUTF8", "1")
            .env("LC_ALL", "C.UTF-8")
            .env("LANG", "C.UTF-8")
            .env("TZ", "UTC")
            .env("PIP_NO_INDEX", "1")
            .env("CFLAGS", &map)
            .env("CXXFLAGS", &map)
            .env("CPPFLAGS", &map)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("running {}", self.python.display()))?;
        let mut stderr = child.stderr.take().context("stderr pipe")?;
        let log = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stderr.read_to_end(&mut buf);
            buf
        });
        let mut stdin = child.stdin.take().context("stdin pipe")?;
        let mut results = BufReader::new(child.stdout.take().context("stdout pipe")?);
        let outcome = (|| -> Result<PathBuf> {
            let requires: Vec<String> = match next_result(&mut results)? {
                Some(v) => serde_json::from_value(v["requires"].clone())
                    .context("get_requires_for_build_wheel did not return a list of strings")?,
                None => bail!("the backend stopped before answering get_requires_for_build_wheel"),
            };
            if let Err(e) = check(&requires) {
                let _ = stdin.write_all(b"abort\n");
                return Err(e);
            }
            stdin
                .write_all(b"build\n")
                .context("starting build_wheel")?;
            stdin.flush()?;
            let v = next_result(&mut results)?.context("build_wheel returned nothing")?;
            let name = v["wheel"]
                .as_str()
                .context("build_wheel returned no file name")?;
            if name.contains('/') || !name.ends_with(".whl") {
                bail!("build_wheel returned {name:?}, not a wheel file name");
            }
            let p = out_dir.join(name);
            if !p.is_file() {
                bail!("build_wheel said {name} but {} does not exist", p.display());
            }
            Ok(p)
        })();
        drop(stdin);
        let status = child.wait().context("waiting for the backend")?;
        let log = log.join().unwrap_or_default();
        let tail = || {
            let s = String::from_utf8_lossy(&log);
            let lines: Vec<&str> = s.lines().collect();
            lines[lines.len().saturating_sub(30)..].join("\n")
        };
        match outcome {
            Err(e) if crate::exit::code_for(&e) == crate::exit::VERIFICATION => Err(e),
            Err(e) => Err(e.context(format!(
                "PEP 517 backend {} on {} ({status}):\n{}",
                self.backend,
                self.source.display(),
                tail()
            ))),
            Ok(_) if !status.success() => bail!(
                "PEP 517 backend {} on {} failed ({status}):\n{}",
                self.backend,
                self.source.display(),
                tail()
            ),
            Ok(p) => Ok(p),
        }
    }
}

/// One JSON line from the driver's result channel (`None` at its end).
fn next_result(r: &mut impl BufRead) -> Result<Option<serde_json::Value>> {
    let mut line = String::new();
    if r.read_line(&mut line)
        .context("reading the backend's answer")?
        == 0
    {
        return Ok(None);
    }
    serde_json::from_str(&line)
        .map(Some)
        .context("parsing the backend's answer")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requires_are_checked_against_pins_and_markers() {
        let env = BackendEnv {
            dir: PathBuf::new(),
            dists: [("flit-core".to_string(), "4.2.0".to_string())].into(),
            unpinned: ["setuptools".to_string()].into(),
            pin_file: PathBuf::from("backends.txt"),
        };
        let m = crate::wheel::markers::test_env();
        let ok = |r: &[&str]| {
            env.check_requires(
                &r.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                &m,
                "x",
            )
        };
        ok(&["flit_core >=3.2,<5", "tomli; python_version < '3.11'"]).unwrap();
        let e = ok(&["flit_core<4"]).unwrap_err();
        assert_eq!(crate::exit::code_for(&e), 3);
        assert!(format!("{e:#}").contains("the pinned backend is flit-core==4.2.0"));
        let e = format!("{:#}", ok(&["setuptools>=61"]).unwrap_err());
        assert!(e.contains("not pinned in backends.txt"), "{e}");
        let e = format!(
            "{:#}",
            ok(&["hatchling; python_version >= '3'"]).unwrap_err()
        );
        assert!(e.contains("hatchling"), "{e}");
    }
}
