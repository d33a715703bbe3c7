//! Staging: everything a package build does before the .deb — verify, plan
//! (`plan::target`), build the venv for its final prefix under a package
//! staging directory, normalize it, write the manifest and SBOM — and what
//! the package needs: Depends, Architecture, the postinst/prerm snippets.
//! `venvdeb stage` (dh_venvdeb) and `venvdeb build` both call [`stage`].
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::config::Config;
use crate::normalize;
use crate::package::{self, BinaryNeeds};
use crate::plan::target::plan;
use crate::venv::install::{install_all, InstalledDist, Installer};
use crate::venv::interpreter::Interpreter;
use crate::venv::layout::Layout;
use crate::verify::{verify, VerifiedWheel};
use crate::wheel::markers::MarkerEnv;

/// Overrides `dh_venvdeb` passes from debian/control.
#[derive(Debug, Clone, Default)]
pub(crate) struct StageOptions {
    pub package: Option<String>,
    pub version: Option<String>,
    pub arch: Option<String>,
    /// Leave the build-path scan of the venv to the caller (`build` scans
    /// the whole package tree once, at the end).
    pub caller_scans_for_leaks: bool,
    /// Install /usr/share/doc/<package>/copyright and changelog.Debian.gz
    /// (what dh_installdocs and dh_installchangelogs do under debhelper).
    pub install_docs: bool,
    /// Leave the wheels' bytes in the wheels: the venv on disk lacks
    /// those files (and the directories holding only them), which
    /// `StageReport::absent` lists, and `StageReport::deferred` says where
    /// each file's bytes are, for the .deb writer to stream them from there
    /// (`build`; `venvdeb stage` needs the real files). The tree is not
    /// normalized on disk either (the .deb writer does it as it reads).
    /// Implies `caller_scans_for_leaks`.
    pub defer_wheel_bytes: bool,
}

/// What staging produced and what the package needs.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct StageReport {
    pub package: String,
    pub version: String,
    pub architecture: String,
    /// Our Depends (python3 pin, libc6), without the user's.
    pub depends: Vec<String>,
    /// The Debian packages the system modules come from
    /// (`[venv] system-modules`) that the configuration's Depends does not
    /// already name: part of Depends and of `venvdeb:Depends`.
    pub system_depends: Vec<String>,
    pub prefix: String,
    /// The venv's scripts directory relative to the prefix (`bin`).
    pub scripts: String,
    pub interpreter: String,
    pub python_version: String,
    pub signers: Vec<String>,
    pub wheels: Vec<StagedWheel>,
    pub postinst: Option<String>,
    pub prerm: String,
    pub files: u64,
    pub bytes: u64,
    /// The manifest (and SBOM) written into the package, for `add_beside`.
    #[serde(skip)]
    pub manifest: Option<crate::inspect::manifest::Written>,
    /// With `defer_wheel_bytes`: the files not on disk and where their
    /// bytes are.
    #[serde(skip)]
    pub deferred: Vec<crate::venv::deferred::Deferred>,
    #[serde(skip)]
    pub absent: crate::tree::Absent,
    /// `#!<prefix>/bin/python`'s interpreter path for `#!python` scripts.
    #[serde(skip)]
    pub venv_python: String,
}

impl StageReport {
    /// The value of `venvdeb:Depends`: ours, then the system modules'
    /// packages (with `[venv] system-site-packages`).
    pub(crate) fn substvar_depends(&self) -> String {
        let all: Vec<&str> = self
            .depends
            .iter()
            .chain(&self.system_depends)
            .map(String::as_str)
            .collect();
        all.join(", ")
    }
}

/// One installed wheel.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct StagedWheel {
    pub name: String,
    pub version: String,
    pub wheel: String,
    pub sha256: String,
    pub files: usize,
}

/// Apply `--package`/`--version`; the default prefix follows the name.
pub(crate) fn apply_options(cfg: &Config, opts: &StageOptions) -> Result<Config> {
    let mut cfg = cfg.clone();
    if let Some(name) = &opts.package {
        crate::config::check_package_name(name).context("--package")?;
        if !cfg.venv.prefix_explicit {
            cfg.venv.prefix = format!("/opt/venvs/{name}");
        }
        cfg.package.name = name.clone();
    }
    if let Some(v) = &opts.version {
        crate::config::check_version(v).context("--version")?;
        cfg.package.version = v.clone();
    }
    Ok(cfg)
}

/// Verify, plan, install the venv under `destdir` and normalize it.
/// `destdir` may hold other files of the package; the venv's directory must
/// not exist yet (or be empty). On error, whatever was staged is left for
/// the caller to remove (`build` stages into a directory it deletes).
pub(crate) fn stage(
    cfg: &Config,
    destdir: &Path,
    opts: &StageOptions,
    sde: u64,
) -> Result<StageReport> {
    let cfg = &apply_options(cfg, opts)?;
    let mut t = super::Timings::new();
    let python = &cfg.venv.python;
    let it = Interpreter::query(python, &cfg.venv.prefix)?;
    let env = MarkerEnv::query(python)?;
    // System modules: imported by the target interpreter, owned by a Debian
    // package the package then depends on (before anything is verified or
    // staged).
    let system_modules = crate::system_site::check_modules(python, &cfg.venv.system_modules)?;
    let system_depends = crate::system_site::extra_depends(
        &system_modules,
        cfg.package.fields.get("Depends").map_or("", String::as_str),
    );
    t.done("interpreter queries");

    // 1. Verify: nothing unverified goes on.
    // (`build` inflates each installed entry once, checking it against the
    // verified RECORD, as it packs it: verification need not inflate too.)
    let inputs = cfg.inputs.verify_inputs(env.clone());
    let wh = if opts.defer_wheel_bytes {
        crate::verify::verify_for_build(&inputs)?
    } else {
        verify(&inputs)?
    };
    t.done("verify");

    // 2. Plan: the best wheel per requirement, Requires-Python, the closure.
    let selected = plan(&wh, &it, &env, python)?;
    t.done("plan");

    // 3. Package needs: Architecture, Depends.
    let mut needs = BinaryNeeds::default();
    for s in &selected {
        let plats: Vec<&str> = s.platforms.iter().map(String::as_str).collect();
        needs.add_wheel(&s.file_name, &plats, &it)?;
    }
    let architecture = decide_architecture(cfg, opts, &needs)?;

    // 4. The venv: layout, then each wheel, streamed and re-checked.
    let destdir =
        std::path::absolute(destdir).with_context(|| format!("resolving {}", destdir.display()))?;
    std::fs::create_dir_all(&destdir).with_context(|| format!("creating {}", destdir.display()))?;
    // Everything staged stays inside destdir: no existing directory on the
    // way to what we write may be a symlink.
    let mut inside = vec![
        cfg.venv.prefix.clone(),
        crate::inspect::manifest::doc_dir(&cfg.package.name),
    ];
    if !cfg.venv.expose.is_empty() {
        inside.push("usr/bin".to_string());
    }
    for rel in &inside {
        refuse_symlinks(&destdir, rel)?;
    }
    let mut layout = Layout::new(&destdir, &cfg.venv.prefix, &it)?;
    layout.system_site_packages = cfg.venv.system_site_packages;
    layout.create(&it)?;
    let mut installer = Installer::new(&layout, &it.short_version());
    installer.defer_wheel_bytes = opts.defer_wheel_bytes;
    // The venv's files are scanned for the build path on their way to disk.
    let scan_here = !opts.caller_scans_for_leaks && !opts.defer_wheel_bytes;
    if scan_here {
        installer.scan_for = Some(destdir.as_os_str().as_encoded_bytes().to_vec());
    }
    // Every path claimed first (conflicts found in a fixed order), then the
    // wheels unzipped in parallel: the bytes written do not depend on it.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let wheels: Vec<&crate::verify::VerifiedWheel> = selected.iter().map(|s| s.wheel).collect();
    let mut installed: Vec<(InstalledDist, String)> =
        install_all(&mut installer, &wheels, threads)?
            .into_iter()
            .zip(&selected)
            .map(|(d, s)| (d, s.wheel.sha256_hex()))
            .collect();
    // Its claims (every path, its owner) are not needed any more.
    drop(installer);
    // The files left in their wheels, and their directories.
    let absent = crate::venv::deferred::absent(
        &layout.venv_dir(),
        installed.iter().flat_map(|(d, _)| &d.deferred),
    )?;
    // How many files each wheel installed, before the names of the
    // deferred ones are dropped.
    let file_counts: Vec<usize> = installed.iter().map(|(d, _)| d.files.len()).collect();
    if opts.defer_wheel_bytes {
        forget_deferred_names(&mut installed)?;
    }
    package::expose_links(&destdir, cfg, &layout.scripts, &absent)?;
    crate::system_site::check_not_shadowed(
        &[
            layout.on_disk(&layout.purelib),
            layout.on_disk(&layout.platlib),
        ],
        &system_modules,
        &absent,
    )?;
    t.done("install");

    // 5. Normalize what we staged, and prove no build path leaked into it.
    // `build`'s private tree is normalized as the .deb writer reads it
    // (`deb::DebOptions::normalize`): no pass of chmod and utimes here.
    let venv_dir = layout.venv_dir();
    if !opts.defer_wheel_bytes {
        normalize::normalize(&venv_dir, sde)?;
        normalize::ancestors(&destdir, &cfg.venv.prefix, sde)?;
        for name in &cfg.venv.expose {
            normalize::normalize(&destdir.join("usr/bin").join(name), sde)?;
            normalize::ancestors(&destdir, &format!("usr/bin/{name}"), sde)?;
        }
    }
    if scan_here {
        // What the installer wrote was scanned as it was written: only the
        // layout's files and the symlinks are left.
        let scanned: std::collections::HashSet<std::path::PathBuf> = installed
            .iter()
            .flat_map(|(d, _)| d.files.iter().map(|f| layout.on_disk(&f.rel)))
            .collect();
        normalize::scan_for_leaks_except(
            &venv_dir,
            destdir.as_os_str().as_encoded_bytes(),
            &scanned,
        )?;
    }

    let mut signers: Vec<String> = wh.signers().to_vec();
    signers.sort();

    t.done("normalize + leak scan (venv)");

    if opts.install_docs {
        crate::package::install_docs(&destdir, cfg, sde)?;
    }

    // 6. The build manifest (and SBOM) into /usr/share/doc/<package>/:
    // the installed files' sha256 as the installer computed or planned
    // them, not read back.
    let mut known = known_files(cfg, &wheels, &installed, absent, opts.defer_wheel_bytes)?;
    let manifest = write_manifest(
        cfg,
        &destdir,
        &architecture,
        &it,
        sde,
        Trust {
            signers: &signers,
            system_modules: &system_modules,
            known: &known,
        },
        &wheels
            .iter()
            .zip(&installed)
            .map(|(w, (d, _))| (*w, d))
            .collect::<Vec<_>>(),
    )?;
    // The table of the absent files is not needed any more: freed before
    // the deferred files are gathered into one list (of their exact
    // size: no growing by copies).
    let absent = std::mem::take(&mut known.absent);
    drop(known);
    let mut deferred = Vec::with_capacity(installed.iter().map(|(d, _)| d.deferred.len()).sum());
    for (d, _) in &mut installed {
        deferred.extend(std::mem::take(&mut d.deferred));
    }
    let wheels = installed
        .into_iter()
        .zip(file_counts)
        .map(|((d, sha), files)| StagedWheel {
            files,
            name: d.name,
            version: d.version,
            wheel: d.wheel,
            sha256: sha,
        })
        .collect();
    t.done("manifest + SBOM");
    Ok(StageReport {
        package: cfg.package.name.clone(),
        version: cfg.package.version.clone(),
        architecture,
        depends: needs.depends(&it),
        system_depends,
        prefix: cfg.venv.prefix.clone(),
        scripts: layout.scripts.clone(),
        interpreter: python.display().to_string(),
        python_version: it.full_version(),
        signers,
        wheels,
        postinst: package::postinst_snippet(cfg, &it),
        prerm: package::prerm_snippet(cfg),
        // As the manifest lists them (files left in their wheels too).
        files: manifest.prefix_files,
        bytes: manifest.prefix_bytes,
        manifest: Some(manifest),
        deferred,
        absent,
        venv_python: layout.python.clone(),
    })
}

/// Drop what the manifest and the .deb writer do not need of the deferred
/// files (tens of thousands in a large venv) before the manifest is
/// written: their paths (the absent tree has them) and their entries in
/// `InstalledDist::files` (RECORD is written; the manifest takes their
/// sha256, size and wheel from [`known_files`]'s table). In a build
/// every file from a wheel is deferred.
fn forget_deferred_names(installed: &mut [(InstalledDist, String)]) -> Result<()> {
    for (d, _) in installed {
        let before = d.files.len();
        d.files.retain(|f| !f.from_wheel);
        d.files.shrink_to_fit();
        if before - d.files.len() != d.deferred.len() {
            bail!(
                "internal: {}: {} files from the wheel, {} deferred",
                d.wheel,
                before - d.files.len(),
                d.deferred.len()
            );
        }
        for f in &mut d.deferred {
            f.path = std::path::PathBuf::new();
        }
    }
    Ok(())
}

/// What the manifest takes from the installer rather than from the disk:
/// the sha256 and size of the files on disk it hashed, and the absent
/// files' sha256, size and wheel (numbered as `absent` numbers them: the
/// deferred files of `installed` in order).
fn known_files(
    cfg: &Config,
    wheels: &[&VerifiedWheel],
    installed: &[(InstalledDist, String)],
    absent: crate::tree::Absent,
    canonical_modes: bool,
) -> Result<crate::inspect::manifest::Known> {
    use crate::inspect::manifest::{AbsentFile, Known};
    let mut known = Known {
        canonical_modes,
        absent,
        ..Known::default()
    };
    known
        .absent_files
        .reserve_exact(installed.iter().map(|(d, _)| d.deferred.len()).sum());
    for (i, (w, (d, _))) in wheels.iter().zip(installed).enumerate() {
        for f in d.files.iter().filter(|f| !f.sha256.is_empty()) {
            known.hashes.insert(
                format!("{}/{}", cfg.venv.prefix, f.rel),
                (f.sha256.clone(), f.size),
            );
        }
        let wheel = u32::try_from(i).context("more than 2^32 wheels")?;
        known.absent_wheels.push(w.file_name().to_string());
        known
            .absent_files
            .extend(d.deferred.iter().map(|f| AbsentFile {
                sha256: f.sha256,
                size: f.size,
                wheel,
            }));
    }
    Ok(known)
}

/// Whom the venv trusts: the signers of the wheel list, and the Debian
/// packages of the system modules.
struct Trust<'a> {
    signers: &'a [String],
    system_modules: &'a [crate::system_site::SystemModule],
    /// And the installed files' sha256 and size, as computed or planned
    /// on install (not read back).
    known: &'a crate::inspect::manifest::Known,
}

/// The manifest (and SBOM) into the staging tree: the wheels as verified
/// (name, version and licenses from the METADATA verification parsed), the
/// files each installed.
fn write_manifest(
    cfg: &Config,
    destdir: &Path,
    architecture: &str,
    it: &Interpreter,
    sde: u64,
    trust: Trust,
    wheels: &[(&VerifiedWheel, &InstalledDist)],
) -> Result<crate::inspect::manifest::Written> {
    use crate::inspect::manifest::{self as m, Licenses, ManifestInput};
    let mut origins = BTreeMap::new();
    let mut inputs = Vec::new();
    let mut licenses = BTreeMap::new();
    for (w, dist) in wheels {
        let md = w.metadata();
        inputs.push(m::InputWheel {
            filename: w.file_name().to_string(),
            sha256: w.sha256_hex(),
            name: md.name.clone(),
            version: md.version.clone(),
        });
        licenses.insert(w.file_name().to_string(), md.license_fields.clone());
        for f in dist.files.iter().filter(|f| f.from_wheel) {
            origins.insert(
                format!("{}/{}", cfg.venv.prefix, f.rel),
                w.file_name().to_string(),
            );
        }
    }
    m::write_docs(
        destdir,
        &ManifestInput {
            package: m::PackageId {
                name: cfg.package.name.clone(),
                version: cfg.package.version.clone(),
                architecture: architecture.to_string(),
            },
            source_date_epoch: sde,
            interpreter: m::Interpreter {
                path: it.path.display().to_string(),
                version: it.full_version(),
            },
            prefix: cfg.venv.prefix.clone(),
            signers: trust.signers.to_vec(),
            wheels: inputs,
            origins,
            sbom: cfg.package.sbom,
            system_modules: trust.system_modules.to_vec(),
        },
        Licenses::Verified(&licenses),
        trust.known,
    )
    .context("writing the build manifest")
}

/// Refuse to stage through a symlink: each existing component of `rel`
/// (relative to `destdir`, a leading `/` ignored) must be a real directory
/// (or the last one absent), so that nothing is written outside `destdir`.
fn refuse_symlinks(destdir: &Path, rel: &str) -> Result<()> {
    let mut p = destdir.to_path_buf();
    for part in rel.split('/').filter(|c| !c.is_empty()) {
        if part == "." || part == ".." {
            bail!("{rel}: a path inside the package may not contain {part:?}");
        }
        p.push(part);
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => bail!(
                "{} is a symlink: refusing to stage through it (it would write outside {})",
                p.display(),
                destdir.display()
            ),
            Ok(m) if m.is_dir() => {}
            Ok(_) => bail!("{} exists and is not a directory", p.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e).with_context(|| format!("checking {}", p.display())),
        }
    }
    Ok(())
}

/// The Architecture: from the wheels, unless the configuration or `--arch`
/// names one, which must then agree.
fn decide_architecture(cfg: &Config, opts: &StageOptions, needs: &BinaryNeeds) -> Result<String> {
    let derived = needs.architecture().to_string();
    let asked = opts
        .arch
        .clone()
        .or_else(|| cfg.package.architecture.clone());
    let Some(asked) = asked else {
        return Ok(derived);
    };
    if derived == "all" || asked == derived {
        return Ok(asked);
    }
    bail!(
        "the package is requested for architecture {asked}, but its wheels are built for {derived}"
    )
}

/// Rewrite a substvars file: keep other lines, replace ours.
pub(crate) fn write_substvars(path: &Path, report: &StageReport) -> Result<()> {
    let old = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut vars: BTreeMap<&str, String> = BTreeMap::new();
    vars.insert("venvdeb:Depends", report.substvar_depends());
    vars.insert("venvdeb:Architecture", report.architecture.clone());
    let mut out: String = old
        .lines()
        .filter(|l| !l.starts_with("venvdeb:"))
        .map(|l| format!("{l}\n"))
        .collect();
    for (k, v) in vars {
        out.push_str(&format!("{k}={v}\n"));
    }
    crate::atomic::write(path, out.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinked_components_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("dest");
        let outside = d.path().join("outside");
        std::fs::create_dir_all(dest.join("usr")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        refuse_symlinks(&dest, "/opt/venvs/x").unwrap();
        std::os::unix::fs::symlink(&outside, dest.join("opt")).unwrap();
        let e = refuse_symlinks(&dest, "/opt/venvs/x").unwrap_err();
        assert!(e.to_string().contains("is a symlink"), "{e}");
        std::os::unix::fs::symlink(&outside, dest.join("usr/bin")).unwrap();
        assert!(refuse_symlinks(&dest, "usr/bin").is_err());
        refuse_symlinks(&dest, "usr/share/doc/x").unwrap();
        std::fs::write(dest.join("usr/share"), b"").unwrap();
        assert!(refuse_symlinks(&dest, "usr/share/doc/x").is_err());
        assert!(refuse_symlinks(&dest, "usr/../x").is_err());
    }
}
