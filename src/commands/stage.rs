//! `venvdeb stage`: everything `venvdeb build` does except writing the .deb —
//! verify, plan, build the venv for its final prefix under a package staging
//! directory (`--destdir debian/<pkg>`), normalize it — and report what the
//! package needs: `venvdeb:Depends` (written to `--substvars`), the
//! Architecture, and the postinst/prerm snippets. `dh_venvdeb` calls it; the
//! library function `stage` is what both commands share.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::config::Config;
use crate::normalize;
use crate::package::{self, BinaryNeeds};
use crate::plan::closure::{self, Dist};
use crate::plan::pep440;
use crate::plan::select::{select, Candidate, Wanted};
use crate::plan::tags::TagPriority;
use crate::venv::install::{install_all, InstalledDist, Installer};
use crate::venv::interpreter::Interpreter;
use crate::venv::layout::Layout;
use crate::verify::{verify, VerifyInputs};
use crate::wheel::markers::{Marker, MarkerEnv};

#[derive(Debug, clap::Args)]
pub struct StageArgs {
    /// The configuration file
    #[arg(long, value_name = "FILE", default_value = crate::config::DEFAULT_FILE)]
    pub config: PathBuf,
    /// The package staging directory (the future `/`), e.g. debian/<pkg>
    #[arg(long, value_name = "DIR")]
    pub destdir: PathBuf,
    /// Binary package name (default: package.name of the configuration)
    #[arg(long, value_name = "NAME")]
    pub package: Option<String>,
    /// Package version (default: package.version of the configuration)
    #[arg(long, value_name = "V")]
    pub version: Option<String>,
    /// Debian architecture the package is built for; must agree with the wheels
    #[arg(long, value_name = "A")]
    pub arch: Option<String>,
    /// Set `venvdeb:Depends=…` and `venvdeb:Architecture=…` in this substvars file (other lines kept)
    #[arg(long, value_name = "FILE")]
    pub substvars: Option<PathBuf>,
    /// Print the report (including maintainer-script snippets) as JSON
    #[arg(long)]
    pub json: bool,
}

/// Overrides `dh_venvdeb` passes from debian/control.
#[derive(Debug, Clone, Default)]
pub struct StageOptions {
    pub package: Option<String>,
    pub version: Option<String>,
    pub arch: Option<String>,
    /// Leave the build-path scan of the venv to the caller (`build` scans
    /// the whole package tree once, at the end).
    pub caller_scans_for_leaks: bool,
    /// Install /usr/share/doc/<package>/copyright and changelog.Debian.gz
    /// (what dh_installdocs and dh_installchangelogs do under debhelper).
    pub install_docs: bool,
}

/// What staging produced and what the package needs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StageReport {
    pub package: String,
    pub version: String,
    pub architecture: String,
    /// Our Depends (python3 pin, libc6), without the user's.
    pub depends: Vec<String>,
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
    /// The manifest (and SBOM) written into the package, for `copy_beside`.
    #[serde(skip)]
    pub manifest: Option<crate::inspect::manifest::Written>,
}

/// One installed wheel.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StagedWheel {
    pub name: String,
    pub version: String,
    pub wheel: String,
    pub sha256: String,
    pub files: usize,
}

/// Apply `--package`/`--version`; the default prefix follows the name.
pub fn apply_options(cfg: &Config, opts: &StageOptions) -> Result<Config> {
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
pub fn stage(cfg: &Config, destdir: &Path, opts: &StageOptions, sde: u64) -> Result<StageReport> {
    let cfg = &apply_options(cfg, opts)?;
    let mut t = super::Timings::new();
    let python = &cfg.venv.python;
    let it = Interpreter::query(python, &cfg.venv.prefix)?;
    let env = MarkerEnv::query(python)?;
    t.done("interpreter queries");

    // 1. Verify: nothing unverified goes on.
    let inputs = VerifyInputs {
        wheelhouse: cfg.inputs.wheelhouse.clone(),
        lock: cfg.inputs.lock.clone(),
        sums: cfg.inputs.sums.clone(),
        signature: cfg.inputs.signature.clone(),
        keyring: cfg.inputs.keyring.clone(),
        threshold: cfg.inputs.threshold,
        marker_env: env.clone(),
        max_uncompressed: cfg.inputs.max_uncompressed,
        signature_policy: cfg.inputs.signature_policy,
    };
    let wh = verify(&inputs)?;
    t.done("verify");

    // 2. Plan: the best wheel per requirement, Requires-Python, the closure.
    let tags = TagPriority::for_interpreter(&it);
    let mut wanted = Vec::new();
    let mut roots = Vec::new();
    for req in wh.requirements() {
        roots.push((req.name().to_string(), req.extras().to_vec()));
        wanted.push(Wanted {
            name: req.name().to_string(),
            version: req.version().to_string(),
            candidates: req
                .wheels()
                .iter()
                .map(|w| Candidate {
                    wheel: w,
                    file_name: w.file_name().to_string(),
                    tags: w.tags().to_vec(),
                })
                .collect(),
        });
    }
    let selected = select(wanted, &tags, &python.display().to_string())?;
    let full = it.full_version();
    let mut dists = Vec::new();
    for s in &selected {
        let md = s.wheel.metadata();
        if let Some(rp) = &md.requires_python {
            let specs = pep440::parse_specifiers(rp)
                .with_context(|| format!("{}: Requires-Python {rp:?}", s.file_name))?;
            if !pep440::satisfies(&full, &specs)? {
                bail!(
                    "{} requires Python {rp}, but the target interpreter {} is {full}",
                    s.file_name,
                    python.display()
                );
            }
        }
        dists.push(Dist {
            name: s.name.clone(),
            version: md.version.clone(),
            wheel: s.file_name.clone(),
            requires: md.requires_dist.clone(),
        });
    }
    let eval = |m: &str, extra: &str| -> Result<bool> {
        let extras: Vec<String> = if extra.is_empty() {
            Vec::new()
        } else {
            vec![extra.to_string()]
        };
        Marker::parse(m)?.evaluate(&env, &extras)
    };
    closure::check(&dists, &roots, &eval)?;

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
    let layout = Layout::new(&destdir, &cfg.venv.prefix, &it)?;
    layout.create(&it)?;
    let mut installer = Installer::new(&layout, &it.short_version());
    // Every path claimed first (conflicts found in a fixed order), then the
    // wheels unzipped in parallel: the bytes written do not depend on it.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let wheels: Vec<&crate::verify::VerifiedWheel> = selected.iter().map(|s| s.wheel).collect();
    let installed: Vec<(InstalledDist, String)> = install_all(&mut installer, &wheels, threads)?
        .into_iter()
        .zip(&selected)
        .map(|(d, s)| (d, s.wheel.sha256_hex()))
        .collect();
    package::expose_links(&destdir, cfg, &layout.scripts)?;
    t.done("install");

    // 5. Normalize what we staged, and prove no build path leaked into it.
    let venv_dir = layout.venv_dir();
    let sum = normalize::normalize(&venv_dir, sde)?;
    normalize::ancestors(&destdir, &cfg.venv.prefix, sde)?;
    for name in &cfg.venv.expose {
        normalize::normalize(&destdir.join("usr/bin").join(name), sde)?;
        normalize::ancestors(&destdir, &format!("usr/bin/{name}"), sde)?;
    }
    if !opts.caller_scans_for_leaks {
        normalize::scan_for_leaks(&venv_dir, destdir.as_os_str().as_encoded_bytes())?;
    }

    let mut signers: Vec<String> = wh.signers().to_vec();
    signers.sort();

    t.done("normalize + leak scan (venv)");

    if opts.install_docs {
        crate::package::install_docs(&destdir, cfg, sde)?;
    }

    // 6. The build manifest (and SBOM) into /usr/share/doc/<package>/.
    let manifest = write_manifest(
        cfg,
        &destdir,
        &architecture,
        &it,
        sde,
        &signers,
        &selected_files(&selected, &installed),
    )?;
    let wheels = installed
        .into_iter()
        .map(|(d, sha)| StagedWheel {
            files: d.files.len(),
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
        prefix: cfg.venv.prefix.clone(),
        scripts: layout.scripts.clone(),
        interpreter: python.display().to_string(),
        python_version: full,
        signers,
        wheels,
        postinst: package::postinst_snippet(cfg, &it),
        prerm: package::prerm_snippet(cfg),
        files: sum.files,
        bytes: sum.bytes,
        manifest: Some(manifest),
    })
}

/// For each installed wheel: (file name, sha256, name, version, installed dist).
type WheelFiles<'a> = Vec<(&'a str, String, &'a str, &'a str, &'a InstalledDist)>;

fn selected_files<'a>(
    selected: &'a [crate::plan::select::Selected<'a, crate::verify::VerifiedWheel>],
    installed: &'a [(InstalledDist, String)],
) -> WheelFiles<'a> {
    selected
        .iter()
        .zip(installed)
        .map(|(s, (d, sha))| {
            (
                s.file_name.as_str(),
                sha.clone(),
                s.wheel.metadata().name.as_str(),
                s.wheel.metadata().version.as_str(),
                d,
            )
        })
        .collect()
}

fn write_manifest(
    cfg: &Config,
    destdir: &Path,
    architecture: &str,
    it: &Interpreter,
    sde: u64,
    signers: &[String],
    wheels: &WheelFiles,
) -> Result<crate::inspect::manifest::Written> {
    use crate::inspect::manifest::{self as m, ManifestInput};
    let mut origins = BTreeMap::new();
    let mut inputs = Vec::new();
    for (file, sha, name, version, dist) in wheels {
        inputs.push(m::InputWheel {
            filename: file.to_string(),
            sha256: sha.clone(),
            name: name.to_string(),
            version: version.to_string(),
        });
        for f in dist.files.iter().filter(|f| f.from_wheel) {
            origins.insert(format!("{}/{}", cfg.venv.prefix, f.rel), file.to_string());
        }
    }
    m::write_into(
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
            signers: signers.to_vec(),
            wheels: inputs,
            origins,
            sbom: cfg.package.sbom,
        },
    )
    .context("writing the build manifest")
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
pub fn write_substvars(path: &Path, report: &StageReport) -> Result<()> {
    let old = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut vars: BTreeMap<&str, String> = BTreeMap::new();
    vars.insert("venvdeb:Depends", report.depends.join(", "));
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

pub fn run(args: &StageArgs) -> Result<()> {
    let cfg = Config::load(&args.config)?;
    let sde = crate::sde::resolve_with_changelog(&cfg.dir.join("debian/changelog"))?;
    let opts = StageOptions {
        package: args.package.clone(),
        version: args.version.clone(),
        arch: args.arch.clone(),
        caller_scans_for_leaks: false,
        install_docs: false,
    };
    let report = stage(&cfg, &args.destdir, &opts, sde)?;
    if let Some(sv) = &args.substvars {
        write_substvars(sv, &report)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "staged {} {} ({}) at {}{}: {} wheels, {} files, {} bytes",
            report.package,
            report.version,
            report.architecture,
            args.destdir.display(),
            report.prefix,
            report.wheels.len(),
            report.files,
            report.bytes
        );
        println!("venvdeb:Depends={}", report.depends.join(", "));
    }
    Ok(())
}
