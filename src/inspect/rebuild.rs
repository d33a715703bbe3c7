//! What `rebuild --check` needs from the package under test, read as a
//! stream: its name, version and architecture from control, the
//! compression of its data.tar, and the manifest it carries; and the check
//! that the inputs at hand are the ones that manifest lists (each wheel, by
//! file name and sha256; the interpreter; the signers once rebuilt).
//! Running the build and comparing are the command's (`commands::rebuild`).
//!
//! For `rebuild --check DEB --index URL` (no configuration at hand),
//! [`reconstruct_config`] writes the `venvdeb.toml` the package implies:
//! control fields (Maintainer, Description, Section, Priority, Homepage and
//! the other relation fields; of Depends, what follows the generated
//! part), the copyright
//! file, `debian/changelog` (from `changelog.Debian.gz`), the launchers
//! linked into `/usr/bin` (`expose`), the prefix, interpreter, bytecode
//! mode and SBOM from the package, and a hash-pinned lock naming exactly
//! the manifest's wheels. A wrong guess cannot make a package look
//! reproducible: the rebuild is still compared byte for byte.
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use super::controlfile::parse_fields;
use super::debreader::{read_deb_file, Part};
use super::hashio::sha256_file;
use super::manifest::{manifest_path, Manifest};
use super::sbom::SystemModule;
use crate::deb::Compression;

/// Largest manifest read from a package.
const MANIFEST_LIMIT: u64 = 256 << 20;

/// Facts about a package read from its bytes.
#[derive(Debug, Clone)]
pub(crate) struct DebFacts {
    pub package: String,
    pub version: String,
    pub architecture: String,
    pub data_codec: Compression,
    pub manifest: Manifest,
    /// sha256 of the manifest's bytes (uncompressed, had dh_compress
    /// gzipped it), as the provenance statement names it.
    pub manifest_sha256: String,
    /// What the package says about how it was configured.
    implied: Implied,
}

/// What the package says about how it was configured (for
/// [`reconstruct_config`]).
#[derive(Debug, Clone, Default)]
struct Implied {
    control: Vec<(String, String)>,
    copyright: Option<Vec<u8>>,
    changelog_gz: Option<Vec<u8>>,
    /// `/usr/bin/<name>` → link target.
    usr_bin: Vec<(String, String)>,
    postinst: bool,
    sbom: bool,
}

/// Read a venvdeb-built package's control fields, data.tar compression,
/// manifest and what it implies about its configuration, in one pass. A
/// package without a manifest is an error.
pub(crate) fn read_facts(deb: &Path) -> Result<DebFacts> {
    let mut control: Option<Vec<(String, String)>> = None;
    let mut manifest_bytes: Option<Vec<u8>> = None;
    let mut imp = Implied::default();
    let summary = read_deb_file(deb, |part, entry, reader| {
        let path = entry.path.as_str();
        match part {
            Part::Control => match path.trim_start_matches("./") {
                "control" => {
                    let mut text = String::new();
                    reader
                        .take(1 << 20)
                        .read_to_string(&mut text)
                        .context("control is not UTF-8")?;
                    control = Some(parse_fields(&text));
                }
                "postinst" => imp.postinst = true,
                _ => {}
            },
            Part::Data => {
                let Some(fields) = &control else {
                    return Ok(());
                };
                let Some((_, name)) = fields.iter().find(|(k, _)| k == "Package") else {
                    return Ok(());
                };
                let plain = format!(".{}", manifest_path(name));
                let mut read = || -> Result<Vec<u8>> {
                    let mut b = Vec::new();
                    reader.take(MANIFEST_LIMIT).read_to_end(&mut b)?;
                    Ok(b)
                };
                if path == plain {
                    manifest_bytes = Some(read()?);
                } else if path == format!("{plain}.gz") {
                    // gzipped by dh_compress in a debhelper build
                    let mut buf = Vec::new();
                    flate2::read::GzDecoder::new(reader)
                        .take(MANIFEST_LIMIT)
                        .read_to_end(&mut buf)
                        .with_context(|| format!("decompressing {}", entry.path))?;
                    manifest_bytes = Some(buf);
                } else if let Some(rest) = path.strip_prefix(&format!("./usr/share/doc/{name}/")) {
                    match rest {
                        "copyright" => imp.copyright = Some(read()?),
                        "changelog.Debian.gz" => imp.changelog_gz = Some(read()?),
                        super::sbom::SBOM_NAME => imp.sbom = true,
                        _ => {}
                    }
                } else if let Some(name) = path.strip_prefix("./usr/bin/") {
                    if let Some(target) = &entry.link {
                        if !name.contains('/') {
                            imp.usr_bin.push((name.to_string(), target.clone()));
                        }
                    }
                }
            }
        }
        Ok(())
    })?;
    let fields =
        control.with_context(|| format!("{}: no ./control in control.tar", deb.display()))?;
    let get = |k: &str| {
        fields
            .iter()
            .find(|(f, _)| f == k)
            .map(|(_, v)| v.clone())
            .with_context(|| format!("{}: control has no {k} field", deb.display()))
    };
    let package = get("Package")?;
    let Some(bytes) = manifest_bytes else {
        bail!(
            "{}: no {} inside: not built by venvdeb (or by a venvdeb without manifests)",
            deb.display(),
            manifest_path(&package)
        );
    };
    let manifest = Manifest::from_json(&bytes)
        .with_context(|| format!("{}: {}", deb.display(), manifest_path(&package)))?;
    let manifest_sha256 = crate::encoding::hex(&<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    let data_codec = summary
        .tars
        .iter()
        .find(|t| t.part == Part::Data)
        .map(|t| t.codec)
        .context("no data.tar")?;
    Ok(DebFacts {
        package,
        version: get("Version")?,
        architecture: get("Architecture")?,
        data_codec,
        manifest,
        manifest_sha256,
        implied: Implied {
            control: fields,
            ..imp
        },
    })
}

/// The configured part of a package's Depends. The build writes its own
/// relationships first — the `python3 (…)` pins, `libc6 (>= …)`, the
/// Debian packages of the manifest's system modules — then the
/// configuration's `package.depends` as given; the configured part is what
/// follows the leading generated entries. A configured Depends that itself
/// starts with such an entry is guessed short; the rebuild is still
/// compared byte for byte, so a wrong guess reports a difference, never a
/// false match.
fn configured_depends(depends: &str, system: &[SystemModule]) -> Option<String> {
    let generated = |e: &str| {
        e.starts_with("python3 (")
            || e.starts_with("libc6 (")
            || system.iter().any(|s| s.debian_package == e)
    };
    // The configured text is kept byte for byte from its first entry on.
    let mut rest = depends;
    loop {
        let (entry, after) = rest.split_once(',').unwrap_or((rest, ""));
        if !generated(entry.trim()) {
            return Some(rest.trim().to_string()).filter(|r| !r.is_empty());
        }
        if after.is_empty() {
            return None;
        }
        rest = after;
    }
}

/// One way the inputs at hand are not the package's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct InputFinding {
    pub what: String,
    pub expected: String,
    pub actual: String,
}

impl InputFinding {
    pub(crate) fn line(&self) -> String {
        format!(
            "input {}: expected {}, found {}",
            self.what, self.expected, self.actual
        )
    }
}

fn finding(
    what: impl Into<String>,
    expected: impl Into<String>,
    actual: impl Into<String>,
) -> InputFinding {
    InputFinding {
        what: what.into(),
        expected: expected.into(),
        actual: actual.into(),
    }
}

/// Before rebuilding: every wheel the manifest lists is in `wheelhouse`
/// with its sha256, and the interpreter path is the same.
pub(crate) fn check_inputs_before(
    m: &Manifest,
    wheelhouse: &Path,
    interpreter: &Path,
) -> Result<Vec<InputFinding>> {
    let mut out = Vec::new();
    if interpreter.to_str() != Some(m.interpreter.path.as_str()) {
        out.push(finding(
            "interpreter",
            &m.interpreter.path,
            interpreter.display().to_string(),
        ));
    }
    for w in &m.wheels {
        if w.filename.contains('/') || w.filename.starts_with('.') {
            bail!(
                "manifest names a wheel {:?} that is not a plain file name",
                w.filename
            );
        }
        let p = wheelhouse.join(&w.filename);
        if !p.is_file() {
            out.push(finding(
                format!("wheel {}", w.filename),
                format!("sha256 {}", w.sha256),
                format!("no such file in {}", wheelhouse.display()),
            ));
            continue;
        }
        let (sha, _) = sha256_file(&p)?;
        if sha != w.sha256 {
            out.push(finding(
                format!("wheel {}", w.filename),
                format!("sha256 {}", w.sha256),
                format!("sha256 {sha}"),
            ));
        }
    }
    Ok(out)
}

/// After rebuilding: the rebuilt package's manifest names the same wheels,
/// signers, interpreter and package as the original's.
pub(crate) fn check_inputs_after(original: &Manifest, rebuilt: &Manifest) -> Vec<InputFinding> {
    let mut out = Vec::new();
    let names = |m: &Manifest| {
        m.wheels
            .iter()
            .map(|w| format!("{} ({})", w.filename, &w.sha256))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if original.wheels != rebuilt.wheels {
        out.push(finding("wheels installed", names(original), names(rebuilt)));
    }
    if original.signers != rebuilt.signers {
        out.push(finding(
            "signers",
            original.signers.join(", "),
            rebuilt.signers.join(", "),
        ));
    }
    if original.interpreter != rebuilt.interpreter {
        let show = |m: &Manifest| format!("{} {}", m.interpreter.path, m.interpreter.version);
        out.push(finding("interpreter", show(original), show(rebuilt)));
    }
    if original.package != rebuilt.package {
        let show = |m: &Manifest| {
            format!(
                "{} {} {}",
                m.package.name, m.package.version, m.package.architecture
            )
        };
        out.push(finding("package", show(original), show(rebuilt)));
    }
    if original.prefix != rebuilt.prefix {
        out.push(finding("prefix", &original.prefix, &rebuilt.prefix));
    }
    out
}

/// The inputs a reconstructed configuration points at.
#[derive(Debug, Clone)]
pub(crate) struct ReconstructInputs<'a> {
    pub wheelhouse: &'a Path,
    pub sums: &'a Path,
    pub signature: &'a Path,
    pub keyring: &'a Path,
    pub threshold: usize,
}

/// Write `dir/venvdeb.toml` (and the files it names) for rebuilding `deb`
/// from the inputs given; returns the configuration's path.
pub(crate) fn reconstruct_config(
    facts: &DebFacts,
    inputs: &ReconstructInputs<'_>,
    dir: &Path,
) -> Result<PathBuf> {
    use toml::{Table, Value};
    let m = &facts.manifest;
    let imp = &facts.implied;
    let get = |k: &str| {
        imp.control
            .iter()
            .find(|(f, _)| f.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
    };
    let mut package = Table::new();
    package.insert("name".into(), Value::String(facts.package.clone()));
    package.insert("version".into(), Value::String(facts.version.clone()));
    package.insert(
        "maintainer".into(),
        Value::String(get("Maintainer").context("control has no Maintainer")?),
    );
    let descr = get("Description").context("control has no Description")?;
    let description: Vec<String> = descr
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                l.to_string()
            } else if l.trim() == "." {
                String::new()
            } else {
                l.strip_prefix(' ').unwrap_or(l).to_string()
            }
        })
        .collect();
    package.insert("description".into(), Value::String(description.join("\n")));
    package.insert(
        "architecture".into(),
        Value::String(facts.architecture.clone()),
    );
    // Depends: the build generates the leading part again; what follows it
    // is the configuration's own.
    for (key, field) in crate::config::EXTRA_FIELDS {
        let v = match *key {
            "depends" => get(field).and_then(|d| configured_depends(&d, &m.system_modules)),
            _ => get(field),
        };
        if let Some(v) = v {
            package.insert((*key).into(), Value::String(v));
        }
    }
    package.insert("sbom".into(), Value::Boolean(imp.sbom));
    if let Some(c) = &imp.copyright {
        let p = dir.join("copyright");
        std::fs::write(&p, c).with_context(|| format!("writing {}", p.display()))?;
        package.insert("copyright".into(), Value::String("copyright".into()));
    }
    if let Some(gz) = &imp.changelog_gz {
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .take(MANIFEST_LIMIT)
            .read_to_end(&mut text)
            .context("decompressing changelog.Debian.gz")?;
        let d = dir.join("debian");
        std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
        std::fs::write(d.join("changelog"), text)
            .with_context(|| format!("writing {}", d.join("changelog").display()))?;
    }

    // The lock: exactly the manifest's wheels, hash-pinned.
    let mut lock = String::new();
    let mut wheels = m.wheels.clone();
    wheels.sort();
    for w in &wheels {
        lock.push_str(&format!(
            "{}=={} --hash=sha256:{}\n",
            crate::wheel::name::normalize_name(&w.name),
            w.version,
            w.sha256
        ));
    }
    std::fs::write(dir.join("requirements.txt"), lock)
        .with_context(|| format!("writing {}", dir.join("requirements.txt").display()))?;
    let abs = |p: &Path| -> Result<Value> {
        let a = std::path::absolute(p).with_context(|| format!("resolving {}", p.display()))?;
        Ok(Value::String(
            a.to_str()
                .with_context(|| format!("{} is not UTF-8", a.display()))?
                .to_string(),
        ))
    };
    let mut inputs_t = Table::new();
    inputs_t.insert("wheelhouse".into(), abs(inputs.wheelhouse)?);
    inputs_t.insert("lock".into(), Value::String("requirements.txt".into()));
    inputs_t.insert("sums".into(), abs(inputs.sums)?);
    inputs_t.insert("signature".into(), abs(inputs.signature)?);
    inputs_t.insert("keyring".into(), abs(inputs.keyring)?);
    inputs_t.insert(
        "threshold".into(),
        Value::Integer(inputs.threshold.max(1) as i64),
    );

    let mut venv = Table::new();
    venv.insert("python".into(), Value::String(m.interpreter.path.clone()));
    venv.insert("prefix".into(), Value::String(m.prefix.clone()));
    venv.insert(
        "bytecode".into(),
        Value::String(if imp.postinst { "postinst" } else { "none" }.into()),
    );
    let bin = format!("{}/bin/", m.prefix);
    let mut expose: Vec<String> = imp
        .usr_bin
        .iter()
        .filter(|(name, target)| target.strip_prefix(&bin) == Some(name.as_str()))
        .map(|(name, _)| name.clone())
        .collect();
    expose.sort();
    venv.insert(
        "expose".into(),
        Value::Array(expose.into_iter().map(Value::String).collect()),
    );
    // System site packages: the manifest names the modules (the build
    // refuses system-site-packages without them), and the build adds their
    // Debian packages to Depends again.
    if !m.system_modules.is_empty() {
        venv.insert("system-site-packages".into(), Value::Boolean(true));
        let mut modules: Vec<String> = m.system_modules.iter().map(|s| s.module.clone()).collect();
        modules.sort();
        venv.insert(
            "system-modules".into(),
            Value::Array(modules.into_iter().map(Value::String).collect()),
        );
    }

    let mut top = Table::new();
    top.insert("package".into(), Value::Table(package));
    top.insert("inputs".into(), Value::Table(inputs_t));
    top.insert("venv".into(), Value::Table(venv));
    let text = toml::to_string(&top).context("writing the reconstructed configuration")?;
    let cfg = dir.join("venvdeb.toml");
    std::fs::write(&cfg, text).with_context(|| format!("writing {}", cfg.display()))?;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::super::manifest::{tests::sample, write_into};
    use super::*;
    use std::process::Command;

    #[test]
    fn configured_depends_is_what_follows_the_generated_entries() {
        let d = "python3 (>= 3.11~), python3 (<< 3.12), libc6 (>= 2.17), adduser,foo (>= 1) | bar";
        assert_eq!(
            configured_depends(d, &[]).as_deref(),
            Some("adduser,foo (>= 1) | bar")
        );
        assert_eq!(
            configured_depends("python3 (>= 3.11~), python3 (<< 3.12)", &[]),
            None
        );
        let yaml = SystemModule {
            module: "yaml".into(),
            file: "/usr/lib/python3/dist-packages/yaml/__init__.py".into(),
            debian_package: "python3-yaml".into(),
        };
        assert_eq!(
            configured_depends("python3 (>= 3.11~), python3-yaml, adduser", &[yaml]).as_deref(),
            Some("adduser")
        );
    }

    #[test]
    fn facts_from_a_dpkg_deb_package_and_input_checks() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("root");
        std::fs::create_dir(&root).unwrap();
        let input = sample(&root);
        std::fs::write(
            root.join("DEBIAN/control"),
            "Package: demo\nVersion: 1.0-1\nArchitecture: all\nMaintainer: T <t@example.org>\nDescription: d\n",
        )
        .unwrap();
        write_into(&root, &input).unwrap();
        let deb = d.path().join("demo.deb");
        let st = Command::new("dpkg-deb")
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .args(["--root-owner-group", "-Zzstd", "--build"])
            .arg(&root)
            .arg(&deb)
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
        let f = read_facts(&deb).unwrap();
        assert_eq!(
            (
                f.package.as_str(),
                f.version.as_str(),
                f.architecture.as_str()
            ),
            ("demo", "1.0-1", "all")
        );
        assert_eq!(f.data_codec, Compression::Zstd);
        assert_eq!(f.manifest.source_date_epoch, 1_700_000_000);

        // inputs: the sample's wheel is not in an empty wheelhouse
        let wh = d.path().join("wheelhouse");
        std::fs::create_dir(&wh).unwrap();
        let found = check_inputs_before(&f.manifest, &wh, Path::new("/usr/bin/python3")).unwrap();
        assert_eq!(found.len(), 1);
        assert!(
            found[0].line().contains("no such file"),
            "{}",
            found[0].line()
        );
        std::fs::write(wh.join(&f.manifest.wheels[0].filename), "other bytes").unwrap();
        let found =
            check_inputs_before(&f.manifest, &wh, Path::new("/usr/local/bin/python3")).unwrap();
        let lines: Vec<String> = found.iter().map(InputFinding::line).collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with("input interpreter: expected /usr/bin/python3"),
            "{lines:?}"
        );
        assert!(lines[1].contains("expected sha256 abab"), "{lines:?}");

        let mut other = f.manifest.clone();
        assert!(check_inputs_after(&f.manifest, &other).is_empty());
        other.signers = vec!["CCCC".into()];
        assert_eq!(check_inputs_after(&f.manifest, &other).len(), 1);

        // the manifest gzipped by dh_compress (a debhelper build)
        let st = Command::new("gzip")
            .arg("-9n")
            .arg(root.join("usr/share/doc/demo/venvdeb-manifest.json"))
            .status()
            .unwrap();
        assert!(st.success());
        let gz = d.path().join("gz.deb");
        let st = Command::new("dpkg-deb")
            .args(["--root-owner-group", "--build"])
            .arg(&root)
            .arg(&gz)
            .output()
            .unwrap();
        assert!(st.status.success());
        assert_eq!(read_facts(&gz).unwrap().manifest, f.manifest);

        // a package without a manifest
        std::fs::remove_file(root.join("usr/share/doc/demo/venvdeb-manifest.json.gz")).unwrap();
        let plain = d.path().join("plain.deb");
        let st = Command::new("dpkg-deb")
            .args(["--root-owner-group", "--build"])
            .arg(&root)
            .arg(&plain)
            .output()
            .unwrap();
        assert!(st.status.success());
        let err = read_facts(&plain).unwrap_err();
        assert!(
            format!("{err:#}").contains("not built by venvdeb"),
            "{err:#}"
        );
    }
}
