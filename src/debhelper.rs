//! The debhelper side of venvdeb, in Rust:
//!
//! - the debian/ skeleton `venvdeb init` writes: the templates under
//!   `debian-templates/` (read from `share/venvdeb/debian-templates/` beside
//!   an installed venvdeb, else the copy embedded in the binary) and their
//!   rendering from the facts init gathered;
//! - what `dh_venvdeb` and the sequence addon ask `venvdeb debhelper` for:
//!   the venv prefixes to keep dh_strip & co. off, and the dh configuration
//!   file (`debian/venvdeb.toml`) turned into a `venvdeb.toml` for `venvdeb
//!   stage`. Both read the file with the TOML parser and the validation of
//!   `crate::config`, so dotted keys and inline tables mean what they mean
//!   to `venvdeb stage`.
//!
//! Reading pyproject.toml, the environment and the disk for init is
//! `commands::init`'s job. The rest of the debhelper integration (the
//! sequence addon, `dh_venvdeb`, its autoscripts) is Perl and shell, in
//! `debian-templates/debhelper/`.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// Every template, by its path below `debian-templates/`, as embedded.
const EMBEDDED: [(&str, &str); 9] = [
    ("control", include_str!("../debian-templates/control")),
    ("rules", include_str!("../debian-templates/rules")),
    ("changelog", include_str!("../debian-templates/changelog")),
    ("copyright", include_str!("../debian-templates/copyright")),
    (
        "source/format",
        include_str!("../debian-templates/source/format"),
    ),
    (
        "lintian-overrides",
        include_str!("../debian-templates/lintian-overrides"),
    ),
    (
        "venvdeb.toml",
        include_str!("../debian-templates/venvdeb.toml"),
    ),
    ("manpage.1", include_str!("../debian-templates/manpage.1")),
    (
        "licenses/Expat",
        include_str!("../debian-templates/licenses/Expat"),
    ),
];

/// The templates `render` fills in, by path below `debian-templates/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Templates(BTreeMap<&'static str, String>);

impl Templates {
    /// The copy compiled into this binary.
    pub(crate) fn embedded() -> Templates {
        Templates(EMBEDDED.iter().map(|(k, v)| (*k, v.to_string())).collect())
    }

    /// Every template read from `dir` (an installed
    /// `/usr/share/venvdeb/debian-templates`); a missing one is an error.
    pub(crate) fn from_dir(dir: &Path) -> Result<Templates> {
        let mut map = BTreeMap::new();
        for (name, _) in EMBEDDED {
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading the venvdeb init template {}", path.display()))?;
            map.insert(name, text);
        }
        Ok(Templates(map))
    }

    /// Those of an installed venvdeb (`BIN/../share/venvdeb/debian-templates`
    /// beside the executable `exe`, as the package and scripts/install.sh lay
    /// them out), else the embedded copy.
    pub(crate) fn for_executable(exe: &Path) -> Result<Templates> {
        let dir = exe
            .parent()
            .and_then(Path::parent)
            .map(|p| p.join("share/venvdeb/debian-templates"));
        match dir {
            Some(d) if d.is_dir() => Templates::from_dir(&d),
            _ => Ok(Templates::embedded()),
        }
    }

    fn get(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or_default()
    }
}

/// Everything the skeleton is filled in with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Facts {
    /// Debian source and binary package name.
    pub name: String,
    /// The name upstream uses (pyproject.toml), for debian/copyright.
    pub upstream_name: String,
    /// Upstream version, already in Debian syntax (see `debian_upstream_version`).
    pub upstream_version: String,
    /// `Full Name <email>`.
    pub maintainer: String,
    /// One line, lintian-friendly (see `synopsis`).
    pub synopsis: String,
    /// RFC 2822 date for the changelog trailer.
    pub date: String,
    /// The year for debian/copyright.
    pub year: u32,
    /// Upstream copyright holders (`Name <email>` or names), never empty.
    pub authors: Vec<String>,
    /// The license as pyproject.toml gives it (SPDX or classifier), if any.
    pub license: Option<String>,
    /// The console scripts to link into /usr/bin.
    pub expose: Vec<String>,
    /// The venvdeb.toml `[inputs]`, relative to the source root.
    pub inputs: Inputs,
}

/// The `[inputs]` paths written to debian/venvdeb.toml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Inputs {
    pub wheelhouse: String,
    pub lock: String,
    pub sums: String,
    pub signature: String,
    pub keyring: String,
}

/// One file of the skeleton: path below debian/, content, Unix mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SkeletonFile {
    pub content: String,
    pub mode: u32,
}

/// The default venv prefix of a package (as `venvdeb stage` uses it).
pub(crate) fn default_prefix(name: &str) -> String {
    format!("/opt/venvs/{name}")
}

/// Render every file of debian/, keyed by its path below debian/ (sorted).
pub(crate) fn render(f: &Facts, t: &Templates) -> Result<BTreeMap<String, SkeletonFile>> {
    // The package name `init` derives (policy 5.6.1, as `crate::config` checks it).
    crate::deb::control::check_policy_package_name(&f.name)
        .context("the package name (pass --name to choose another)")?;
    for s in &f.expose {
        check_command_name(s)?;
    }
    let prefix = default_prefix(&f.name);
    let (license_name, license_paragraph) = license(f.license.as_deref(), t.get("licenses/Expat"));
    let expose = if f.expose.is_empty() {
        "# expose = []                   # launchers to link into /usr/bin".to_string()
    } else {
        let list: Vec<String> = f.expose.iter().map(|s| toml_string(s)).collect();
        format!("expose = [{}]", list.join(", "))
    };
    let vars: BTreeMap<&str, String> = BTreeMap::from([
        ("name", f.name.clone()),
        ("upstream_name", f.upstream_name.clone()),
        ("upstream_version", f.upstream_version.clone()),
        ("version", format!("{}-1", f.upstream_version)),
        ("maintainer", f.maintainer.clone()),
        ("synopsis", f.synopsis.clone()),
        ("synopsis_roff", roff_escape(&f.synopsis)),
        ("date", f.date.clone()),
        ("prefix_rel", prefix.trim_start_matches('/').to_string()),
        ("prefix", prefix),
        ("copyright", format!("{} {}", f.year, f.authors.join(", "))),
        ("debian_copyright", format!("{} {}", f.year, f.maintainer)),
        ("license", license_name),
        ("license_paragraph", license_paragraph),
        ("expose", expose),
        ("wheelhouse", toml_inner(&f.inputs.wheelhouse)),
        ("lock", toml_inner(&f.inputs.lock)),
        ("sums", toml_inner(&f.inputs.sums)),
        ("signature", toml_inner(&f.inputs.signature)),
        ("keyring", toml_inner(&f.inputs.keyring)),
    ]);
    let mut out = BTreeMap::new();
    let mut put = |path: String, template: &str, mode: u32| -> Result<()> {
        let content = fill(template, &vars)?;
        out.insert(path, SkeletonFile { content, mode });
        Ok(())
    };
    put("control".into(), t.get("control"), 0o644)?;
    put("rules".into(), t.get("rules"), 0o755)?;
    put("changelog".into(), t.get("changelog"), 0o644)?;
    put("copyright".into(), t.get("copyright"), 0o644)?;
    put("source/format".into(), t.get("source/format"), 0o644)?;
    put(
        format!("{}.lintian-overrides", f.name),
        t.get("lintian-overrides"),
        0o644,
    )?;
    put("venvdeb.toml".into(), t.get("venvdeb.toml"), 0o644)?;
    if !f.expose.is_empty() {
        let mut pages = String::new();
        for cmd in &f.expose {
            let mut v = vars.clone();
            v.insert("command", cmd.clone());
            v.insert("upper_command", roff_escape(&cmd.to_uppercase()));
            let content = fill(t.get("manpage.1"), &v)?;
            out.insert(
                format!("{cmd}.1"),
                SkeletonFile {
                    content,
                    mode: 0o644,
                },
            );
            pages.push_str(&format!("debian/{cmd}.1\n"));
        }
        out.insert(
            format!("{}.manpages", f.name),
            SkeletonFile {
                content: pages,
                mode: 0o644,
            },
        );
    }
    Ok(out)
}

/// Replace every `{{key}}`; an unknown key is a bug in the templates.
fn fill(template: &str, vars: &BTreeMap<&str, String>) -> Result<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            bail!("debian template: unterminated {{{{ placeholder");
        };
        let key = &after[..end];
        match vars.get(key) {
            Some(v) => out.push_str(v),
            None => bail!("debian template: unknown placeholder {{{{{key}}}}}"),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A launcher name that can safely be a file name in /usr/bin and debian/.
fn check_command_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-._".contains(&b));
    if !ok {
        bail!("console script {name:?} cannot be exposed in /usr/bin: its name must be ASCII letters, digits, '+', '-', '.', '_'");
    }
    Ok(())
}

/// A Python project name as a Debian package name: PEP 503 normalization
/// (runs of `-_.` become `-`, lowercase).
pub(crate) fn debian_name(project: &str) -> String {
    crate::wheel::name::normalize_name(project.trim())
}

/// A PEP 440 version in Debian syntax: its normal form (`crate::pep440`),
/// with pre-releases and dev releases sorting before the release
/// (`1.0rc1` → `1.0~rc1`, `1.0.dev2` → `1.0~dev2`), post-releases after
/// (`1.0.post1` unchanged); a local `+x` kept; no epoch.
pub(crate) fn debian_upstream_version(v: &str) -> Result<String> {
    let bad = || {
        anyhow::anyhow!(
            "version {v:?} cannot be written as a Debian upstream version: pass --upstream-version"
        )
    };
    let p = crate::pep440::Version::parse(v).map_err(|_| bad())?;
    if p.epoch != 0 {
        return Err(bad());
    }
    let normal = p.to_string();
    let (public, local) = normal.split_once('+').unwrap_or((&normal, ""));
    let (release, rest) = public.split_at(p.base().to_string().len());
    let tilde = if p.pre.is_some() { "~" } else { "" };
    let mut out = format!("{release}{tilde}{}", rest.replace(".dev", "~dev"));
    if !local.is_empty() {
        out = format!("{out}+{local}");
    }
    Ok(out)
}

/// One line for the Description field: no trailing period, under 80
/// characters, not starting with the package name (lintian warns on both).
pub(crate) fn synopsis(description: Option<&str>, name: &str) -> String {
    let generic = "Python application in a virtualenv".to_string();
    let Some(d) = description else { return generic };
    let mut s: String = d.split_whitespace().collect::<Vec<_>>().join(" ");
    while s.ends_with('.') {
        s.pop();
    }
    let lower = s.to_lowercase();
    if s.is_empty() || lower == name || lower.starts_with(&format!("{name} ")) {
        return generic;
    }
    if s.chars().count() > 79 {
        let cut: String = s.chars().take(79).collect();
        s = match cut.rfind(' ') {
            Some(i) if i > 20 => cut[..i].to_string(),
            _ => cut,
        };
    }
    s
}

/// RFC 2822 date (changelog trailer) of a Unix time, in UTC.
pub(crate) fn rfc2822(epoch: u64) -> (String, u32) {
    let days = (epoch / 86_400) as i64;
    let (y, m, d, hh, mm, ss) = crate::sde::utc_parts(epoch);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    let month = crate::sde::MONTHS[(m - 1) as usize];
    let s = format!("{weekday}, {d:02} {month} {y} {hh:02}:{mm:02}:{ss:02} +0000");
    (s, y as u32)
}

/// The DEP-5 short name and, when the text is not in
/// /usr/share/common-licenses, a stand-alone License paragraph.
fn license(raw: Option<&str>, expat: &str) -> (String, String) {
    let common = |short: &str, file: &str| {
        (
            short.to_string(),
            format!(
                "\nLicense: {short}\n On Debian systems, the complete text of the license can be found in\n \"/usr/share/common-licenses/{file}\".\n"
            ),
        )
    };
    let key = raw
        .map(|r| r.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match key.as_str() {
        "mit" | "expat" | "mit license" | "license :: osi approved :: mit license" => {
            ("Expat".into(), format!("\nLicense: Expat\n{expat}"))
        }
        "apache-2.0"
        | "apache 2.0"
        | "apache license 2.0"
        | "apache software license"
        | "license :: osi approved :: apache software license" => {
            common("Apache-2.0", "Apache-2.0")
        }
        "gpl-2.0-or-later" | "gpl-2+" | "gpl-2.0+" => common("GPL-2+", "GPL-2"),
        "gpl-2.0-only" | "gpl-2.0" | "gpl-2" => common("GPL-2", "GPL-2"),
        "gpl-3.0-or-later" | "gpl-3+" | "gpl-3.0+" => common("GPL-3+", "GPL-3"),
        "gpl-3.0-only" | "gpl-3.0" | "gpl-3" => common("GPL-3", "GPL-3"),
        "lgpl-2.1-or-later" | "lgpl-2.1+" => common("LGPL-2.1+", "LGPL-2.1"),
        "lgpl-3.0-or-later" | "lgpl-3+" => common("LGPL-3+", "LGPL-3"),
        "mpl-2.0" => common("MPL-2.0", "MPL-2.0"),
        "cc0-1.0" => common("CC0-1.0", "CC0-1.0"),
        _ => {
            let short = match raw.map(str::trim) {
                Some(r) if !r.is_empty() && r.bytes().all(|b| b.is_ascii_graphic()) => {
                    r.to_string()
                }
                _ => "unknown".to_string(),
            };
            (
                short.clone(),
                format!("\nLicense: {short}\n FIXME: venvdeb init could not identify the license; paste its complete\n text here.\n"),
            )
        }
    }
}

/// True when `license` found no text for this license: init warns.
pub(crate) fn license_needs_text(raw: Option<&str>) -> bool {
    license(raw, "").1.contains("FIXME")
}

/// A TOML basic string, quotes included.
fn toml_string(s: &str) -> String {
    format!("\"{}\"", toml_inner(s))
}

/// The inside of a TOML basic string.
fn toml_inner(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// Text safe inside a roff line (no leading dot or quote, backslashes doubled).
fn roff_escape(s: &str) -> String {
    let s = s.replace('\\', "\\e").replace('-', "\\-");
    if s.starts_with('.') || s.starts_with('\'') {
        format!("\\&{s}")
    } else {
        s
    }
}

/// What dh_venvdeb takes from debian/control and debian/changelog for the
/// `[package]` table of the staged configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DhPackage {
    pub name: String,
    pub version: String,
    pub maintainer: String,
    pub description: String,
}

impl DhPackage {
    /// A package for reading a dh configuration outside dh_venvdeb (the
    /// addon's `prefixes` and `library-dirs`): only `name` matters (it
    /// names the default prefix); version and maintainer are stand-ins.
    fn stand_in(name: &str, description: &str) -> DhPackage {
        DhPackage {
            name: name.into(),
            version: "0".into(),
            maintainer: "venvdeb <venvdeb@localhost>".into(),
            description: description.into(),
        }
    }
}

/// The input paths of `[inputs]`, which a dh configuration gives relative
/// to the source root.
const INPUT_PATHS: [&str; 5] = ["wheelhouse", "lock", "sums", "signature", "keyring"];

/// A dh configuration file (`debian/venvdeb.toml`: no `[package]` table,
/// paths relative to the source root `root`) as the text of a
/// `venvdeb.toml` for `venvdeb stage`, valid wherever it is written: the
/// `[package]` table from `pkg` added, relative input paths made absolute
/// against `root`. Checked with `Config::parse` before it is returned.
pub(crate) fn staged_config(
    text: &str,
    file: &Path,
    root: &Path,
    pkg: &DhPackage,
) -> Result<(String, crate::config::Config)> {
    let mut doc: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| anyhow::anyhow!("{}", e.message()))
        .with_context(|| format!("parsing {}", file.display()))?;
    if doc.contains_key("package") {
        bail!(
            "{}: remove its [package] table: dh_venvdeb takes the package from debian/control and debian/changelog",
            file.display()
        );
    }
    if let Some(toml::Value::Table(inputs)) = doc.get_mut("inputs") {
        for key in INPUT_PATHS {
            if let Some(toml::Value::String(p)) = inputs.get_mut(key) {
                if Path::new(p.as_str()).is_relative() {
                    let abs = root.join(p.as_str());
                    let Some(abs) = abs.to_str() else {
                        bail!(
                            "{}: inputs.{key}: the source root {} is not UTF-8",
                            file.display(),
                            root.display()
                        );
                    };
                    *p = abs.to_string();
                }
            }
        }
    }
    let mut package = toml::Table::new();
    package.insert("name".into(), pkg.name.clone().into());
    package.insert("version".into(), pkg.version.clone().into());
    package.insert("maintainer".into(), pkg.maintainer.clone().into());
    package.insert("description".into(), pkg.description.clone().into());
    doc.insert("package".into(), toml::Value::Table(package));
    let out = format!(
        "# Written by dh_venvdeb (venvdeb debhelper config) from {} and debian/control.\n{}",
        file.display(),
        toml::to_string(&doc).context("writing the staged configuration")?
    );
    let cfg = crate::config::Config::parse(&out, file, root)
        .with_context(|| format!("configuration {}", file.display()))?;
    Ok((out, cfg))
}

/// A dh configuration file's text (`debian/venvdeb.toml`,
/// `debian/<package>.venvdeb.toml`), read as `venvdeb.toml` is: a regular
/// file (a FIFO or device is refused, never waited on), size-capped, UTF-8.
pub(crate) fn read_dh_config(file: &Path) -> Result<String> {
    crate::input::read_regular_text(file, "dh configuration", crate::input::MAX_TEXT)
}

/// The prefixes the sequence addon keeps dh_strip, dh_dwz,
/// dh_strip_nondeterminism, dh_makeshlibs and dh_fixperms off: `/opt/venvs/`
/// and every `venv.prefix` the dh configuration files set (however the
/// TOML spells it: table, dotted key, inline table), each ending in `/`,
/// sorted and unique. A file that `venvdeb stage` would reject is an error.
pub(crate) fn exclude_prefixes(files: &[PathBuf], root: &Path) -> Result<Vec<String>> {
    let mut out = std::collections::BTreeSet::from(["/opt/venvs/".to_string()]);
    let pkg = DhPackage::stand_in("venvdeb-prefixes", "prefixes");
    for file in files {
        let text = read_dh_config(file)?;
        let (_, cfg) = staged_config(&text, file, root, &pkg)?;
        if cfg.venv.prefix_explicit {
            out.insert(format!("{}/", cfg.venv.prefix));
        }
    }
    Ok(out.into_iter().collect())
}

/// The directories where the manylinux wheels of each dh configuration
/// bundle their libraries, for dh_shlibdeps' `-l`: `<platlib>/<dist>.libs`
/// under the venv's prefix (auditwheel's layout) for every wheel of the
/// wheelhouse whose platform tag is not `any`, one per line, sorted and
/// unique. dpkg-shlibdeps does not search a bundled library's own
/// directory, so without them it cannot find a library that another bundled
/// one needs (scipy's libgfortran needs its libquadmath) and fails the
/// build; a directory that does not exist is harmless. `packages` are
/// (binary package, configuration file) pairs: the package names the
/// default prefix. Only file names are read, never a wheel's contents
/// (they are not verified yet when dh builds its sequence); a wheelhouse
/// that is not there gives none.
pub(crate) fn library_dirs(packages: &[(String, PathBuf)], root: &Path) -> Result<Vec<String>> {
    let mut out = std::collections::BTreeSet::new();
    for (name, file) in packages {
        let text = read_dh_config(file)?;
        let pkg = DhPackage::stand_in(name, "library directories");
        let (_, cfg) = staged_config(&text, file, root, &pkg)?;
        let wheelhouse = &cfg.inputs.wheelhouse;
        // Not there yet (`dh clean` before the wheels are fetched):
        // nothing to search; dh_venvdeb refuses a missing wheelhouse.
        if matches!(std::fs::metadata(wheelhouse), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
        {
            continue;
        }
        let mut dists = std::collections::BTreeSet::new();
        for n in crate::verify::wheel_names(wheelhouse)? {
            let w = crate::wheel::name::WheelName::parse(&n)
                .with_context(|| format!("wheelhouse {}", wheelhouse.display()))?;
            if w.tags.iter().any(|t| t.platform != "any") {
                dists.insert(w.distribution);
            }
        }
        if dists.is_empty() {
            continue;
        }
        let it = crate::venv::interpreter::Interpreter::query(&cfg.venv.python, &cfg.venv.prefix)
            .with_context(|| format!("configuration {}", file.display()))?;
        let layout = crate::venv::layout::Layout::new(root, &cfg.venv.prefix, &it)?;
        for d in dists {
            out.insert(format!("{}/{}/{d}.libs", cfg.venv.prefix, layout.platlib));
        }
    }
    Ok(out.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            name: "demoapp".into(),
            upstream_name: "DemoApp".into(),
            upstream_version: "1.0.0".into(),
            maintainer: "Demo Maintainer <demo@example.org>".into(),
            synopsis: "demo application".into(),
            date: rfc2822(1_700_000_000).0,
            year: 2023,
            authors: vec!["Upstream Author".into()],
            license: Some("MIT".into()),
            expose: vec!["demoapp".into()],
            inputs: Inputs {
                wheelhouse: "wheelhouse".into(),
                lock: "requirements.txt".into(),
                sums: "sha256sums.txt".into(),
                signature: "sha256sums.txt.asc".into(),
                keyring: "debian/upstream/wheels-signing-key.asc".into(),
            },
        }
    }

    #[test]
    fn renders_every_file_without_placeholders() {
        let files = render(&facts(), &Templates::embedded()).unwrap();
        let names: Vec<&str> = files.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "changelog",
                "control",
                "copyright",
                "demoapp.1",
                "demoapp.lintian-overrides",
                "demoapp.manpages",
                "rules",
                "source/format",
                "venvdeb.toml"
            ]
        );
        for (path, f) in &files {
            assert!(!f.content.contains("{{"), "{path} keeps a placeholder");
        }
        assert_eq!(files["rules"].mode, 0o755);
        assert_eq!(
            files["rules"].content,
            "#!/usr/bin/make -f\n\n%:\n\tdh $@\n"
        );
        assert!(files["control"].content.contains(
            "Build-Depends: debhelper-compat (= 13), dh-sequence-venvdeb, python3, python3-pip\n"
        ));
        assert!(files["control"].content.contains("${venvdeb:Depends}"));
        assert!(files["control"].content.contains("${misc:Depends}"));
        assert!(files["changelog"]
            .content
            .starts_with("demoapp (1.0.0-1) UNRELEASED; urgency=medium\n"));
        assert!(files["changelog"]
            .content
            .contains(" -- Demo Maintainer <demo@example.org>  Tue, 14 Nov 2023 22:13:20 +0000\n"));
        assert!(files["copyright"]
            .content
            .contains("License: Expat\n Permission"));
        assert!(files["venvdeb.toml"]
            .content
            .contains("expose = [\"demoapp\"]"));
        let toml: toml::Table = files["venvdeb.toml"].content.parse().unwrap();
        assert_eq!(
            toml["inputs"]["keyring"].as_str(),
            Some("debian/upstream/wheels-signing-key.asc")
        );
    }

    fn dh_pkg() -> DhPackage {
        DhPackage {
            name: "demo".into(),
            version: "1.0-1".into(),
            maintainer: "A B <a@b.c>".into(),
            description: "demo \"app\"".into(),
        }
    }

    #[test]
    fn staged_config_adds_package_and_absolute_inputs() {
        let text =
            "venv.prefix = \"/srv/demo\"\n[inputs]\nwheelhouse = \"wh\"\nlock = \"/abs/req.txt\"\n\
                    sums = \"s.txt\"\nsignature = \"s.txt.asc\"\nkeyring = \"debian/k.asc\"\n";
        let (out, cfg) = staged_config(
            text,
            Path::new("debian/venvdeb.toml"),
            Path::new("/src/root"),
            &dh_pkg(),
        )
        .unwrap();
        assert_eq!(cfg.package.name, "demo");
        assert_eq!(cfg.package.version, "1.0-1");
        assert_eq!(cfg.venv.prefix, "/srv/demo");
        assert_eq!(cfg.inputs.wheelhouse, Path::new("/src/root/wh"));
        assert_eq!(cfg.inputs.lock, Path::new("/abs/req.txt"));
        // Read back from anywhere, the text means the same.
        let again =
            crate::config::Config::parse(&out, Path::new("/x/y.toml"), Path::new("/x")).unwrap();
        assert_eq!(again.inputs.keyring, Path::new("/src/root/debian/k.asc"));
        assert_eq!(again.package.synopsis, "demo \"app\"");
        let err = staged_config(
            "[package]\nname = \"x\"\n",
            Path::new("debian/venvdeb.toml"),
            Path::new("/r"),
            &dh_pkg(),
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("remove its [package] table"),
            "{err:#}"
        );
    }

    #[test]
    fn library_dirs_from_platform_wheel_names() {
        let dir = tempfile::tempdir().unwrap();
        let wh = dir.path().join("w");
        std::fs::create_dir(&wh).unwrap();
        let cfg = dir.path().join("venvdeb.toml");
        std::fs::write(
            &cfg,
            "[inputs]\nwheelhouse = \"w\"\nlock = \"l\"\nsums = \"s\"\nsignature = \"g\"\nkeyring = \"k\"\n",
        )
        .unwrap();
        let pairs = [("demo".to_string(), cfg.clone())];
        // Pure wheels only (and files that are not wheels): nothing to
        // search, and no interpreter asked.
        std::fs::write(wh.join("tabulate-0.9.0-py3-none-any.whl"), b"").unwrap();
        std::fs::write(wh.join("sha256sums.txt"), b"").unwrap();
        assert!(library_dirs(&pairs, dir.path()).unwrap().is_empty());
        for n in [
            "scipy-1.16.0-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
            "scipy-1.16.0-cp313-cp313-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
            "opencv_python_headless-4.12.0-cp37-abi3-manylinux2014_x86_64.whl",
        ] {
            std::fs::write(wh.join(n), b"").unwrap();
        }
        let it = crate::venv::interpreter::Interpreter::query(
            std::path::Path::new(crate::config::DEFAULT_PYTHON),
            "/opt/venvs/demo",
        )
        .unwrap();
        let site = format!(
            "/opt/venvs/demo/lib/python{}/site-packages",
            it.short_version()
        );
        assert_eq!(
            library_dirs(&pairs, dir.path()).unwrap(),
            [
                format!("{site}/opencv_python_headless.libs"),
                format!("{site}/scipy.libs"),
            ]
        );
        std::fs::write(wh.join("not-a-wheel.whl"), b"").unwrap();
        let err = library_dirs(&pairs, dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains("not-a-wheel.whl"), "{err:#}");
        std::fs::remove_dir_all(&wh).unwrap();
        assert!(library_dirs(&pairs, dir.path()).unwrap().is_empty());
        // A configuration that is a FIFO is refused at once, not waited on
        // (nor by `prefixes`, which reads the same way).
        let fifo = dir.path().join("fifo.venvdeb.toml");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = library_dirs(&[("demo".into(), fifo.clone())], dir.path()).unwrap_err();
        assert!(format!("{e:#}").contains("fifo.venvdeb.toml"), "{e:#}");
        assert!(exclude_prefixes(&[fifo], dir.path()).is_err());
    }

    #[test]
    fn prefixes_from_every_toml_spelling() {
        let dir = tempfile::tempdir().unwrap();
        let inputs =
            "wheelhouse = \"w\"\nlock = \"l\"\nsums = \"s\"\nsignature = \"g\"\nkeyring = \"k\"\n";
        let files = [
            (
                "venvdeb.toml",
                format!("[inputs]\n{inputs}[venv]\nprefix = \"/opt/a\"\n"),
            ),
            (
                "b.venvdeb.toml",
                format!("venv.prefix = \"/srv/b\"\n[inputs]\n{inputs}"),
            ),
            (
                "c.venvdeb.toml",
                format!("venv = {{ prefix = '/opt/c' }}\n[inputs]\n{inputs}"),
            ),
            ("d.venvdeb.toml", format!("[inputs]\n{inputs}")),
        ];
        let mut paths = Vec::new();
        for (name, text) in &files {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            paths.push(p);
        }
        assert_eq!(
            exclude_prefixes(&paths, dir.path()).unwrap(),
            ["/opt/a/", "/opt/c/", "/opt/venvs/", "/srv/b/"]
        );
        std::fs::write(
            &paths[3],
            format!("[inputs]\n{inputs}[venv]\nprefix = \"rel\"\n"),
        )
        .unwrap();
        let err = exclude_prefixes(&paths, dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains("venv.prefix"), "{err:#}");
    }

    #[test]
    fn templates_from_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let share = dir.path().join("share/venvdeb/debian-templates");
        for (name, text) in EMBEDDED {
            let p = share.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(
                &p,
                text.replace(
                    "Standards-Version",
                    "X-Installed-Copy: yes\nStandards-Version",
                ),
            )
            .unwrap();
        }
        let exe = dir.path().join("bin/venvdeb");
        let t = Templates::for_executable(&exe).unwrap();
        assert!(t.get("control").contains("X-Installed-Copy: yes"));
        let files = render(&facts(), &t).unwrap();
        assert!(files["control"].content.contains("X-Installed-Copy: yes"));
        // No directory: the embedded copy; a missing file: an error naming it.
        assert_eq!(
            Templates::for_executable(Path::new("/nonexistent/bin/venvdeb")).unwrap(),
            Templates::embedded()
        );
        std::fs::remove_file(share.join("manpage.1")).unwrap();
        let err = Templates::for_executable(&exe).unwrap_err();
        assert!(format!("{err:#}").contains("manpage.1"), "{err:#}");
    }

    #[test]
    fn placeholder_errors_are_caught() {
        let vars = BTreeMap::from([("a", "x".to_string())]);
        assert_eq!(fill("{{a}}-{{a}}", &vars).unwrap(), "x-x");
        assert!(fill("{{b}}", &vars).is_err());
        assert!(fill("{{a", &vars).is_err());
    }

    #[test]
    fn names() {
        assert_eq!(debian_name("Demo_App.x"), "demo-app-x");
        assert_eq!(debian_name("foo__-bar"), "foo-bar");
        assert!(check_command_name("../x").is_err());
        assert!(check_command_name("demo-app").is_ok());
    }

    #[test]
    fn versions() {
        for (pep, deb) in [
            ("1.0.0", "1.0.0"),
            ("1.0rc1", "1.0~rc1"),
            ("1.0.0a2", "1.0.0~a2"),
            ("1.0.dev3", "1.0~dev3"),
            ("1.0.post1", "1.0.post1"),
            ("2.0b1.dev2", "2.0~b1~dev2"),
            ("v1.2", "1.2"),
            ("1.0+local.1", "1.0+local.1"),
            // PEP 440's spellings, normalized: `-1` is a post-release.
            ("1.0-1", "1.0.post1"),
            ("1.0ALPHA2", "1.0~a2"),
        ] {
            assert_eq!(debian_upstream_version(pep).unwrap(), deb, "{pep}");
        }
        assert!(debian_upstream_version("abc").is_err());
        assert!(debian_upstream_version("1.0 x").is_err());
        assert!(debian_upstream_version("1!2.0").is_err(), "no epoch");
    }

    #[test]
    fn synopses() {
        assert_eq!(synopsis(Some("A demo app."), "demoapp"), "A demo app");
        assert_eq!(
            synopsis(Some("demoapp does things"), "demoapp"),
            "Python application in a virtualenv"
        );
        assert_eq!(synopsis(None, "x"), "Python application in a virtualenv");
        let long = "word ".repeat(40);
        assert!(synopsis(Some(&long), "x").chars().count() < 80);
    }

    #[test]
    fn dates() {
        assert_eq!(
            rfc2822(0),
            ("Thu, 01 Jan 1970 00:00:00 +0000".to_string(), 1970)
        );
        assert_eq!(rfc2822(951_782_400).0, "Tue, 29 Feb 2000 00:00:00 +0000");
        assert_eq!(rfc2822(1_735_689_599).0, "Tue, 31 Dec 2024 23:59:59 +0000");
    }

    #[test]
    fn licenses() {
        assert_eq!(license(Some("Apache-2.0"), "").0, "Apache-2.0");
        assert!(license(Some("GPL-3.0-or-later"), "")
            .1
            .contains("/usr/share/common-licenses/GPL-3"));
        assert!(license_needs_text(Some("Weird License")));
        assert!(license_needs_text(None));
        assert!(!license_needs_text(Some("MIT")));
    }
}
