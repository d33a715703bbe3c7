//! `venvdeb wheels build`: the whole chain from pinned sdists to canonical
//! wheels. Everything is verified before anything is built (every sdist
//! against its pin, every backend wheel against its pin and RECORD), each
//! sdist is built in scratch space by its PEP 517 backend in the controlled
//! environment of `backend::HookRun`, each wheel is normalized, and only
//! when every sdist has built are the wheels copied into `--output` (each
//! through a temporary file renamed into place).
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::backend::{BackendEnv, HookRun};
use super::{normalize, pins, sdist};
use crate::wheel::markers::MarkerEnv;
use crate::wheel::name::{canonical_version, WheelName};

pub(crate) struct BuildOptions {
    pub requirements: PathBuf,
    pub sdists: PathBuf,
    pub backends: PathBuf,
    pub backend_requirements: PathBuf,
    pub output: PathBuf,
    pub python: PathBuf,
    pub sde: u64,
    /// Cap on the bytes one sdist may unpack to.
    pub max_unpacked: u64,
}

/// How a source tree is built, from `pyproject.toml` (PEP 517/518) or the
/// setuptools legacy fallback.
#[derive(Debug, PartialEq)]
pub(crate) struct BuildSystem {
    pub requires: Vec<String>,
    pub backend: String,
    pub backend_path: Vec<String>,
}

pub(crate) fn read_build_system(source: &Path) -> Result<BuildSystem> {
    let legacy = |requires: Vec<String>| BuildSystem {
        requires,
        backend: "setuptools.build_meta:__legacy__".into(),
        backend_path: vec![],
    };
    let path = source.join("pyproject.toml");
    if !path.exists() {
        return Ok(legacy(vec!["setuptools>=40.8.0".into()]));
    }
    let text = crate::input::read_regular_text(&path, "pyproject.toml", 64 << 20)?;
    let doc: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let Some(bs) = doc.get("build-system") else {
        return Ok(legacy(vec!["setuptools>=40.8.0".into()]));
    };
    let strings = |key: &str| -> Result<Option<Vec<String>>> {
        match bs.get(key) {
            None => Ok(None),
            Some(toml::Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_string).with_context(|| {
                        format!(
                            "{}: [build-system] {key} holds a non-string",
                            path.display()
                        )
                    })
                })
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Some(_) => bail!("{}: [build-system] {key} is not a list", path.display()),
        }
    };
    let requires = strings("requires")?
        .with_context(|| format!("{}: [build-system] has no requires", path.display()))?;
    let backend_path = strings("backend-path")?.unwrap_or_default();
    for p in &backend_path {
        if p.starts_with('/') || p.split('/').any(|c| c == "..") {
            bail!(
                "{}: backend-path {p:?} leaves the source tree",
                path.display()
            );
        }
    }
    match bs.get("build-backend") {
        None => Ok(legacy(requires)),
        Some(toml::Value::String(b)) => Ok(BuildSystem {
            requires,
            backend: b.clone(),
            backend_path,
        }),
        Some(_) => bail!(
            "{}: [build-system] build-backend is not a string",
            path.display()
        ),
    }
}

/// Build every pinned sdist; returns the output wheels' paths.
pub(crate) fn build(o: &BuildOptions) -> Result<Vec<PathBuf>> {
    if !o.python.is_absolute() {
        bail!(
            "--python {}: give the interpreter's absolute path",
            o.python.display()
        );
    }
    if !o.output.is_dir() {
        bail!("--output {}: not a directory", o.output.display());
    }
    let scratch = crate::atomic::TempDir::new("venvdeb-wheels")?;
    let s = scratch.path();
    let pins = pins::read(&o.requirements)?;
    if pins.is_empty() {
        bail!("{}: no sdists are pinned", o.requirements.display());
    }
    let copies = s.join("sdists");
    fs::create_dir(&copies)?;
    let sdists = sdist::verify_dir(&o.sdists, &pins, &o.requirements, &copies)?;
    let env = BackendEnv::prepare(&o.backends, &o.backend_requirements, s)?;
    let markers = MarkerEnv::query(&o.python)?;
    let staged = s.join("out");
    fs::create_dir(&staged)?;
    let mut built = Vec::new();
    for sd in &sdists {
        let who = &sd.file_name;
        let work = s.join("build").join(&sd.name);
        fs::create_dir_all(&work)?;
        let source = sdist::unpack(&sd.copy, sd.kind, &work, o.max_unpacked, o.sde)?;
        let bs = read_build_system(&source)
            .with_context(|| format!("{who}: reading its build system"))?;
        env.check_requires(&bs.requires, &markers, who)?;
        let mapped = format!("/usr/src/{}-{}", sd.name, sd.version);
        let hook = HookRun {
            python: &o.python,
            env: &env,
            source: &source,
            backend: &bs.backend,
            backend_path: &bs.backend_path,
            scratch: &s.join("hook").join(&sd.name),
            sde: o.sde,
            mapped_source: &mapped,
        };
        fs::create_dir_all(hook.scratch)?;
        let dist = s.join("dist").join(&sd.name);
        fs::create_dir_all(&dist)?;
        let wheel = hook
            .build(&dist, |extra| env.check_requires(extra, &markers, who))
            .with_context(|| format!("{who}: building the wheel"))?;
        let wn = WheelName::parse(&wheel.file_name().unwrap_or_default().to_string_lossy())?;
        if wn.normalized_name() != sd.name
            || canonical_version(&wn.version) != canonical_version(&sd.version)
        {
            bail!(
                "{who}: the backend built {}, not {}=={}",
                wheel.display(),
                sd.name,
                sd.version
            );
        }
        let out = normalize::normalize_wheel(&wheel, &staged, o.sde)
            .with_context(|| format!("{who}: normalizing the wheel"))?;
        built.push(out);
    }
    let mut results = Vec::new();
    for w in &built {
        let name = w.file_name().context("wheel name")?;
        let dest = o.output.join(name);
        let mut f = crate::atomic::AtomicFile::create(&dest)?;
        std::io::copy(&mut fs::File::open(w)?, f.file())
            .with_context(|| format!("writing {}", dest.display()))?;
        f.commit()?;
        results.push(dest);
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_system_defaults() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(
            read_build_system(d.path()).unwrap().backend,
            "setuptools.build_meta:__legacy__"
        );
        fs::write(d.path().join("pyproject.toml"), "[build-system]\nrequires = [\"flit_core>=3\"]\nbuild-backend = \"flit_core.buildapi\"\n").unwrap();
        let bs = read_build_system(d.path()).unwrap();
        assert_eq!(
            (bs.backend.as_str(), bs.requires.len()),
            ("flit_core.buildapi", 1)
        );
        fs::write(
            d.path().join("pyproject.toml"),
            "[build-system]\nrequires = [\"setuptools\"]\n",
        )
        .unwrap();
        assert_eq!(
            read_build_system(d.path()).unwrap().backend,
            "setuptools.build_meta:__legacy__"
        );
        fs::write(
            d.path().join("pyproject.toml"),
            "[build-system]\nrequires = []\nbuild-backend = \"b\"\nbackend-path = [\"../x\"]\n",
        )
        .unwrap();
        assert!(read_build_system(d.path()).is_err());
    }
}
