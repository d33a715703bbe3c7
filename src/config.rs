//! `venvdeb.toml`: the build configuration ([package], [inputs], [venv]),
//! its defaults and validation. Paths in the file are relative to the file's
//! directory. Unknown and missing keys are errors that name the key; values
//! that would make a bad control file (package name, version, prefix) are
//! refused here, before any work starts. It does not read wheels or run the
//! interpreter: it only says where things are and what the user asked for.
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// The file name looked for when `--config` is not given.
pub const DEFAULT_FILE: &str = "venvdeb.toml";
/// The default target interpreter: never a `python3` found on PATH.
pub const DEFAULT_PYTHON: &str = "/usr/bin/python3";

/// The whole, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The configuration file itself (absolute).
    pub file: PathBuf,
    /// Its directory: relative paths are resolved against it.
    pub dir: PathBuf,
    pub package: PackageConfig,
    pub inputs: InputsConfig,
    pub venv: VenvConfig,
}

/// `[package]`: the Debian side.
#[derive(Debug, Clone)]
pub struct PackageConfig {
    pub name: String,
    pub version: String,
    pub maintainer: String,
    /// Synopsis (first line) and long description (the rest, may be empty).
    pub synopsis: String,
    pub long_description: Vec<String>,
    /// `None`: derived from the wheels' platform tags.
    pub architecture: Option<String>,
    /// Extra control fields, in the order dpkg-gencontrol writes them
    /// (see `package::control`), values as given.
    pub fields: BTreeMap<String, String>,
    /// Also write a CycloneDX SBOM beside the build manifest (default true).
    pub sbom: bool,
    /// A Debian copyright file to install as /usr/share/doc/<name>/copyright
    /// (`venvdeb build` only; under debhelper, dh_installdocs does it).
    pub copyright: Option<PathBuf>,
}

/// `[inputs]`: exactly what `venvdeb verify` takes.
#[derive(Debug, Clone)]
pub struct InputsConfig {
    pub wheelhouse: PathBuf,
    pub lock: PathBuf,
    pub sums: PathBuf,
    pub signature: PathBuf,
    pub keyring: PathBuf,
    pub threshold: usize,
    pub max_uncompressed: u64,
    /// `at` (reference time) and `max-signature-age` (see docs/verify.md).
    pub signature_policy: crate::verify::SignaturePolicy,
}

/// What to do with bytecode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bytecode {
    /// Ship none; compile in postinst, remove in prerm (Debian policy).
    Postinst,
    /// Ship none and never compile (Python writes caches only if it can).
    None,
}

/// `[venv]`: the target interpreter and the layout.
#[derive(Debug, Clone)]
pub struct VenvConfig {
    pub python: PathBuf,
    /// Absolute, normalized install prefix, e.g. `/opt/venvs/demoapp`.
    pub prefix: String,
    /// Whether `prefix` was set in the file (else it follows the name).
    pub prefix_explicit: bool,
    pub bytecode: Bytecode,
    /// Launchers linked into /usr/bin.
    pub expose: Vec<String>,
}

/// The default cap on the total uncompressed size of one wheel: 4 GiB.
pub const DEFAULT_MAX_UNCOMPRESSED: u64 = 4 << 30;

/// Optional control fields the user may set in `[package]`, with their
/// control-file spelling.
const EXTRA_FIELDS: &[(&str, &str)] = &[
    ("section", "Section"),
    ("priority", "Priority"),
    ("homepage", "Homepage"),
    ("depends", "Depends"),
    ("pre-depends", "Pre-Depends"),
    ("recommends", "Recommends"),
    ("suggests", "Suggests"),
    ("enhances", "Enhances"),
    ("conflicts", "Conflicts"),
    ("breaks", "Breaks"),
    ("replaces", "Replaces"),
    ("provides", "Provides"),
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    package: RawPackage,
    inputs: RawInputs,
    #[serde(default)]
    venv: RawVenv,
}

/// A relationship field: a string as in debian/control or a list of items.
#[derive(Deserialize)]
#[serde(untagged)]
enum FieldValue {
    One(String),
    Many(Vec<String>),
}

impl FieldValue {
    fn render(self) -> String {
        match self {
            FieldValue::One(s) => s,
            FieldValue::Many(v) => v.join(", "),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPackage {
    name: String,
    version: String,
    maintainer: String,
    description: String,
    architecture: Option<String>,
    section: Option<String>,
    priority: Option<String>,
    homepage: Option<String>,
    depends: Option<FieldValue>,
    pre_depends: Option<FieldValue>,
    recommends: Option<FieldValue>,
    suggests: Option<FieldValue>,
    enhances: Option<FieldValue>,
    conflicts: Option<FieldValue>,
    breaks: Option<FieldValue>,
    replaces: Option<FieldValue>,
    provides: Option<FieldValue>,
    sbom: Option<bool>,
    copyright: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawInputs {
    wheelhouse: PathBuf,
    lock: PathBuf,
    sums: PathBuf,
    signature: PathBuf,
    keyring: PathBuf,
    threshold: Option<usize>,
    max_uncompressed: Option<u64>,
    at: Option<String>,
    max_signature_age: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawVenv {
    python: Option<PathBuf>,
    prefix: Option<String>,
    bytecode: Option<String>,
    expose: Option<Vec<String>>,
}

impl Config {
    /// Read and validate a configuration file.
    pub fn load(path: &Path) -> Result<Config> {
        // Regular file, no blocking open, size cap (crate::input).
        let text = crate::input::read_regular_text(path, "configuration", crate::input::MAX_TEXT)?;
        let file = std::path::absolute(path)
            .with_context(|| format!("resolving configuration path {}", path.display()))?;
        let dir = file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("/"));
        Config::parse(&text, &file, &dir)
            .with_context(|| format!("configuration {}", path.display()))
    }

    /// Parse configuration text as if it were the file `file` in `dir`.
    pub fn parse(text: &str, file: &Path, dir: &Path) -> Result<Config> {
        let raw: RawFile = toml::from_str(text).map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        let p = raw.package;
        check_package_name(&p.name)?;
        check_version(&p.version)?;
        check_single_line("package.maintainer", &p.maintainer)?;
        if !p.maintainer.contains('<') || !p.maintainer.trim_end().ends_with('>') {
            bail!(
                "package.maintainer {:?} must look like \"Name <email>\"",
                p.maintainer
            );
        }
        let (synopsis, long_description) = split_description(&p.description)?;
        if let Some(a) = &p.architecture {
            check_architecture(a)?;
        }
        let mut fields = BTreeMap::new();
        let values = [
            p.section.map(FieldValue::One),
            p.priority.map(FieldValue::One),
            p.homepage.map(FieldValue::One),
            p.depends,
            p.pre_depends,
            p.recommends,
            p.suggests,
            p.enhances,
            p.conflicts,
            p.breaks,
            p.replaces,
            p.provides,
        ];
        for ((key, field), value) in EXTRA_FIELDS.iter().zip(values) {
            if let Some(v) = value {
                let v = v.render();
                check_single_line(&format!("package.{key}"), &v)?;
                if v.trim().is_empty() {
                    bail!("package.{key} is empty");
                }
                fields.insert(field.to_string(), v.trim().to_string());
            }
        }

        let i = raw.inputs;
        let rel = |p: PathBuf| if p.is_absolute() { p } else { dir.join(p) };
        let threshold = i.threshold.unwrap_or(1);
        if threshold == 0 {
            bail!("inputs.threshold must be at least 1");
        }
        let inputs = InputsConfig {
            wheelhouse: rel(i.wheelhouse),
            lock: rel(i.lock),
            sums: rel(i.sums),
            signature: rel(i.signature),
            keyring: rel(i.keyring),
            threshold,
            max_uncompressed: i.max_uncompressed.unwrap_or(DEFAULT_MAX_UNCOMPRESSED),
            signature_policy: crate::verify::SignaturePolicy {
                at: i
                    .at
                    .as_deref()
                    .map(crate::verify::signature::parse_time)
                    .transpose()
                    .context("inputs.at")?,
                max_age: i
                    .max_signature_age
                    .as_deref()
                    .map(crate::verify::signature::parse_duration)
                    .transpose()
                    .context("inputs.max-signature-age")?,
            },
        };

        let v = raw.venv;
        let python = v.python.unwrap_or_else(|| PathBuf::from(DEFAULT_PYTHON));
        if !python.is_absolute() {
            bail!(
                "venv.python {:?} must be an absolute path (a python3 found on PATH is not \
                 the one the package will run with)",
                python.display().to_string()
            );
        }
        let prefix_explicit = v.prefix.is_some();
        let prefix = match v.prefix {
            Some(p) => check_prefix(&p)?,
            None => format!("/opt/venvs/{}", p.name),
        };
        let bytecode = match v.bytecode.as_deref() {
            None | Some("postinst") => Bytecode::Postinst,
            Some("none") => Bytecode::None,
            Some(other) => {
                bail!("venv.bytecode {other:?} is not one of \"postinst\", \"none\"")
            }
        };
        let expose = v.expose.unwrap_or_default();
        for e in &expose {
            check_launcher_name(e).with_context(|| format!("venv.expose entry {e:?}"))?;
        }
        let mut seen = std::collections::BTreeSet::new();
        for e in &expose {
            if !seen.insert(e) {
                bail!("venv.expose lists {e:?} twice");
            }
        }
        Ok(Config {
            file: file.to_path_buf(),
            dir: dir.to_path_buf(),
            package: PackageConfig {
                name: p.name,
                version: p.version,
                maintainer: p.maintainer.trim().to_string(),
                synopsis,
                long_description,
                architecture: p.architecture,
                fields,
                sbom: p.sbom.unwrap_or(true),
                copyright: p
                    .copyright
                    .map(|c| if c.is_absolute() { c } else { dir.join(c) }),
            },
            inputs,
            venv: VenvConfig {
                python,
                prefix,
                prefix_explicit,
                bytecode,
                expose,
            },
        })
    }

    /// The Debian version without its epoch, as it appears in file names.
    pub fn version_in_filename(&self) -> &str {
        match self.package.version.split_once(':') {
            Some((_, v)) => v,
            None => &self.package.version,
        }
    }
}

fn check_single_line(key: &str, v: &str) -> Result<()> {
    if v.contains('\n') || v.contains('\r') {
        bail!("{key} must be a single line");
    }
    Ok(())
}

/// Debian policy 5.6.1: lowercase letters, digits, `+ - .`; at least two
/// characters; starts with an alphanumeric.
pub fn is_valid_package_name(name: &str) -> bool {
    name.len() >= 2
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b))
}

/// `package.name` must be a valid Debian package name (policy 5.6.1).
pub fn check_package_name(name: &str) -> Result<()> {
    if !is_valid_package_name(name) {
        bail!(
            "package.name {name:?} is not a valid Debian package name \
             (lowercase letters, digits, '+', '-', '.', at least 2 characters, starting \
             with a letter or digit)"
        );
    }
    Ok(())
}

/// Debian policy 5.6.12: `[epoch:]upstream[-revision]`.
pub fn check_version(v: &str) -> Result<()> {
    let bad =
        |why: &str| anyhow::anyhow!("package.version {v:?} is not a valid Debian version: {why}");
    let rest = match v.split_once(':') {
        Some((epoch, rest)) => {
            if epoch.is_empty() || !epoch.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("the epoch must be a number"));
            }
            rest
        }
        None => v,
    };
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((u, r)) => (u, Some(r)),
        None => (rest, None),
    };
    if !upstream.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        return Err(bad("the upstream version must start with a digit"));
    }
    if !upstream
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b".+~-".contains(&b))
    {
        return Err(bad(
            "the upstream version may hold only alphanumerics and . + ~ -",
        ));
    }
    if let Some(r) = revision {
        if r.is_empty()
            || !r
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+.~".contains(&b))
        {
            return Err(bad("the revision may hold only alphanumerics and + . ~"));
        }
    }
    if rest.contains(':') {
        return Err(bad("only one ':' (the epoch) is allowed"));
    }
    Ok(())
}

fn check_architecture(a: &str) -> Result<()> {
    if a.is_empty()
        || !a
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        bail!("package.architecture {a:?} is not a Debian architecture name");
    }
    Ok(())
}

/// An absolute, normalized directory below `/` (not `/` itself, no `.`,
/// `..`, doubled or trailing slashes, no whitespace or control characters).
fn check_prefix(p: &str) -> Result<String> {
    let path = Path::new(p);
    let normal = path
        .components()
        .skip(1)
        .all(|c| matches!(c, Component::Normal(_)));
    let clean = path.is_absolute()
        && normal
        && path.components().count() >= 2
        && !p.ends_with('/')
        && !p.contains("//")
        && !p.chars().any(|c| c.is_whitespace() || c.is_control());
    if !clean {
        bail!(
            "venv.prefix {p:?} must be an absolute, normalized directory such as /opt/venvs/NAME"
        );
    }
    Ok(p.to_string())
}

/// A launcher name: a plain file name that is not `python*` and has no
/// path separators or leading dot.
pub fn check_launcher_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.starts_with('.')
        || name.contains('/')
        || name.contains('\\')
        || name.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        bail!("{name:?} is not a plain file name");
    }
    // `python`, `python3`, `python3.11`, `pythonw`, …: the venv's own
    // interpreter names (`python-foo` is fine).
    if let Some(rest) = name.strip_prefix("python") {
        let rest = rest.strip_suffix('w').unwrap_or(rest);
        if rest.chars().all(|c| c.is_ascii_digit() || c == '.') {
            bail!("{name:?} would shadow the venv's python");
        }
    }
    Ok(())
}

/// Split `description` into the synopsis and the long description lines.
fn split_description(d: &str) -> Result<(String, Vec<String>)> {
    let mut lines = d.lines();
    let synopsis = lines.next().unwrap_or("").trim().to_string();
    if synopsis.is_empty() {
        bail!("package.description: the first line (the synopsis) is empty");
    }
    let mut long: Vec<String> = lines.map(|l| l.trim_end().to_string()).collect();
    while long.first().is_some_and(|l| l.is_empty()) {
        long.remove(0);
    }
    while long.last().is_some_and(|l| l.is_empty()) {
        long.pop();
    }
    Ok((synopsis, long))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[package]
name = "demoapp"
version = "1:1.0.0-1"
maintainer = "Demo Maintainer <demo@example.org>"
description = """demo application
A longer text.

Second paragraph."""
depends = ["curl", "libpq5 (>= 15)"]
section = "python"

[inputs]
wheelhouse = "wheelhouse"
lock = "requirements.txt"
sums = "sha256sums.txt"
signature = "sha256sums.txt.asc"
keyring = "/etc/keys/k.gpg"

[venv]
expose = ["demoapp"]
"#;

    fn parse(t: &str) -> Result<Config> {
        Config::parse(t, Path::new("/src/app/venvdeb.toml"), Path::new("/src/app"))
    }

    #[test]
    fn good_file_with_defaults() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.package.name, "demoapp");
        assert_eq!(c.version_in_filename(), "1.0.0-1");
        assert_eq!(c.package.synopsis, "demo application");
        assert_eq!(
            c.package.long_description,
            vec!["A longer text.", "", "Second paragraph."]
        );
        assert_eq!(c.package.fields["Depends"], "curl, libpq5 (>= 15)");
        assert_eq!(c.package.fields["Section"], "python");
        assert_eq!(c.inputs.wheelhouse, Path::new("/src/app/wheelhouse"));
        assert_eq!(c.inputs.keyring, Path::new("/etc/keys/k.gpg"));
        assert_eq!(c.inputs.threshold, 1);
        assert_eq!(c.venv.python, Path::new("/usr/bin/python3"));
        assert_eq!(c.venv.prefix, "/opt/venvs/demoapp");
        assert_eq!(c.venv.bytecode, Bytecode::Postinst);
        assert_eq!(c.venv.expose, vec!["demoapp"]);
    }

    #[test]
    fn unknown_key_is_named() {
        let t = GOOD.replace("[venv]", "[venv]\npyhton = \"/usr/bin/python3\"");
        let e = format!("{:#}", parse(&t).unwrap_err());
        assert!(e.contains("pyhton"), "{e}");
        let t = GOOD.replace("[venv]", "[extra]\nx = 1\n[venv]");
        let e = format!("{:#}", parse(&t).unwrap_err());
        assert!(e.contains("extra"), "{e}");
    }

    #[test]
    fn missing_key_is_named() {
        let t = GOOD.replace("maintainer = \"Demo Maintainer <demo@example.org>\"\n", "");
        let e = format!("{:#}", parse(&t).unwrap_err());
        assert!(e.contains("maintainer"), "{e}");
        let t = GOOD.replace("lock = \"requirements.txt\"\n", "");
        let e = format!("{:#}", parse(&t).unwrap_err());
        assert!(e.contains("lock"), "{e}");
    }

    #[test]
    fn bad_values_are_refused() {
        for (from, to, word) in [
            ("name = \"demoapp\"", "name = \"Demo_App\"", "package name"),
            ("version = \"1:1.0.0-1\"", "version = \"v1\"", "version"),
            ("[venv]", "[venv]\npython = \"python3\"", "absolute"),
            ("[venv]", "[venv]\nprefix = \"/opt/../x\"", "prefix"),
            ("[venv]", "[venv]\nbytecode = \"ship\"", "bytecode"),
            ("expose = [\"demoapp\"]", "expose = [\"python3\"]", "shadow"),
            (
                "expose = [\"demoapp\"]",
                "expose = [\"python3.11\"]",
                "shadow",
            ),
            ("expose = [\"demoapp\"]", "expose = [\"../x\"]", "plain"),
        ] {
            let t = GOOD.replace(from, to);
            assert_ne!(t, GOOD);
            let e = format!("{:#}", parse(&t).unwrap_err());
            assert!(e.contains(word), "{to}: {e}");
        }
    }

    #[test]
    fn launcher_names() {
        for bad in [
            "python",
            "python3",
            "python3.11",
            "pythonw",
            "python2",
            "",
            ".x",
            "a/b",
        ] {
            assert!(check_launcher_name(bad).is_err(), "{bad}");
        }
        for good in ["python-foo", "pythonista", "demoapp", "x.y"] {
            check_launcher_name(good).unwrap();
        }
    }

    #[test]
    fn versions() {
        for good in ["1", "1.0", "1:2.3-4", "2.0~rc1-1+deb12u1", "1.0-1-2"] {
            check_version(good).unwrap();
        }
        for bad in ["", "a1", "1.0-", ":1", "x:1", "1 0", "1:2:3", "1.0_1"] {
            assert!(check_version(bad).is_err(), "{bad}");
        }
    }
}
