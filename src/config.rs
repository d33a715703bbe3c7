//! `venvdeb.toml`: the build configuration ([package], [inputs], [venv]),
//! its defaults and validation. Paths in the file are relative to the file's
//! directory. Unknown and missing keys are errors that name the key; values
//! that would make a bad control file or a dangerous package are refused
//! here, before any work starts: package name, version, relationship fields
//! (dpkg's grammar), launcher names (not the venv's python or activate
//! scripts), and prefixes that are, are above or are inside directories the
//! system, dpkg or the administrator own, or hold characters no package path
//! needs. It does not read wheels or run the
//! interpreter: it only says where things are and what the user asked for.
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::deb::control;
use crate::wheel::archive::DEFAULT_MAX_UNCOMPRESSED;

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

impl InputsConfig {
    /// From `[inputs]` (and, for `venvdeb verify`, the flags over it): the
    /// five paths are required (`missing` says how to give one), the
    /// threshold is at least 1, the rest have their defaults.
    pub(crate) fn from_table(
        t: crate::verify::inputs::InputsTable,
        missing: impl Fn(&str) -> String,
    ) -> Result<InputsConfig> {
        let need = |k: &str, p: Option<PathBuf>| p.with_context(|| missing(k));
        let threshold = t.threshold.unwrap_or(1);
        if threshold == 0 {
            bail!("the threshold (inputs.threshold, --threshold) must be at least 1");
        }
        Ok(InputsConfig {
            wheelhouse: need("wheelhouse", t.wheelhouse)?,
            lock: need("lock", t.lock)?,
            sums: need("sums", t.sums)?,
            signature: need("signature", t.signature)?,
            keyring: need("keyring", t.keyring)?,
            threshold,
            max_uncompressed: t.max_uncompressed.unwrap_or(DEFAULT_MAX_UNCOMPRESSED),
            signature_policy: crate::verify::SignaturePolicy {
                at: t.at,
                max_age: t.max_signature_age,
            },
        })
    }

    /// The inputs of `venvdeb verify`, for a target whose marker environment
    /// is `marker_env`: the one config -> inputs path (here, so that
    /// `verify` does not import `config` back).
    pub fn verify_inputs(
        &self,
        marker_env: crate::wheel::markers::MarkerEnv,
    ) -> crate::verify::VerifyInputs {
        crate::verify::VerifyInputs {
            wheelhouse: self.wheelhouse.clone(),
            lock: self.lock.clone(),
            sums: self.sums.clone(),
            signature: self.signature.clone(),
            keyring: self.keyring.clone(),
            threshold: self.threshold,
            marker_env,
            max_uncompressed: self.max_uncompressed,
            signature_policy: self.signature_policy,
        }
    }
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
    /// `include-system-site-packages = true` in pyvenv.cfg: the venv also
    /// imports from the target interpreter's system site-packages (Debian's
    /// `python3-*` packages). Not the default.
    pub system_site_packages: bool,
    /// Top-level modules the app takes from the system site-packages; the
    /// build imports each with the target interpreter and fails when one is
    /// missing. Sorted, no duplicates; empty unless `system_site_packages`.
    pub system_modules: Vec<String>,
}

/// Optional control fields the user may set in `[package]`, with their
/// control-file spelling.
pub(crate) const EXTRA_FIELDS: &[(&str, &str)] = &[
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
    inputs: crate::verify::inputs::RawInputs,
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

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawVenv {
    python: Option<PathBuf>,
    prefix: Option<String>,
    bytecode: Option<String>,
    expose: Option<Vec<String>>,
    system_site_packages: Option<bool>,
    system_modules: Option<Vec<String>>,
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
        if let Some(a) = p
            .architecture
            .as_ref()
            .filter(|a| !control::is_architecture_name(a))
        {
            bail!("package.architecture {a:?} is not a Debian architecture name");
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
                check_field_value(field, v.trim())
                    .with_context(|| format!("package.{key} {:?}", v.trim()))?;
                fields.insert(field.to_string(), v.trim().to_string());
            }
        }

        let inputs = InputsConfig::from_table(raw.inputs.resolve(dir)?, |k| {
            format!("inputs.{k} is missing")
        })?;

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
        let system_site_packages = v.system_site_packages.unwrap_or(false);
        let mut system_modules = v.system_modules.unwrap_or_default();
        if !system_site_packages && !system_modules.is_empty() {
            bail!(
                "venv.system-modules is set but venv.system-site-packages is not true: \
                 the venv could not import them"
            );
        }
        if system_site_packages && system_modules.is_empty() {
            bail!(
                "venv.system-site-packages = true needs venv.system-modules: name the modules \
                 the app imports from Debian's packages, so that the build checks they are there \
                 and the manifest records them"
            );
        }
        for m in &system_modules {
            check_module_name(m).with_context(|| format!("venv.system-modules entry {m:?}"))?;
        }
        system_modules.sort();
        if let Some(w) = system_modules.windows(2).find(|w| w[0] == w[1]) {
            bail!("venv.system-modules lists {:?} twice", w[0]);
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
                system_site_packages,
                system_modules,
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

/// `package.name` must be a valid Debian package name (policy 5.6.1).
pub fn check_package_name(name: &str) -> Result<()> {
    control::check_policy_package_name(name).context("package.name")
}

/// `package.version` must be a valid Debian version (policy 5.6.12).
pub fn check_version(v: &str) -> Result<()> {
    control::check_policy_version(v)
        .with_context(|| format!("package.version {v:?} is not a valid Debian version"))
}

/// Directories that belong to the system, to dpkg or to the local
/// administrator (FHS 3.0, Debian policy 9.1): a prefix may be neither one of
/// them, nor above one, nor inside one. (`/usr/lib/NAME`, `/usr/share/NAME`,
/// `/opt/NAME`, `/srv/NAME` are fine; `/opt/venvs` itself is shared by every
/// venv package.)
const SYSTEM_DIRS: &[&str] = &[
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/lost+found",
    "/media",
    "/mnt",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/sys",
    "/tmp",
    "/usr/bin",
    "/usr/games",
    "/usr/include",
    "/usr/lib/debug",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libx32",
    "/usr/local",
    "/usr/sbin",
    "/usr/share/doc",
    "/usr/share/info",
    "/usr/share/man",
    "/usr/src",
    "/var/backups",
    "/var/cache",
    "/var/lib/apt",
    "/var/lib/dpkg",
    "/var/lock",
    "/var/log",
    "/var/mail",
    "/var/run",
    "/var/spool",
    "/var/tmp",
];

/// Shared parents: a prefix may be below them, not one of them (nor above).
const SHARED_DIRS: &[&str] = &[
    "/opt",
    "/opt/venvs",
    "/srv",
    "/usr/lib",
    "/usr/libexec",
    "/usr/share",
    "/var/lib",
    "/var/opt",
];

/// Longest prefix accepted (in bytes); a path component may have 255.
const MAX_PREFIX: usize = 1024;

/// `dir` is `p` or below it.
fn at_or_below(p: &str, dir: &str) -> bool {
    p == dir || p.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

/// The install prefix: an absolute, normalized directory of letters, digits
/// and `. _ + -` (no component starting with `-`), neither a system or
/// shared directory, nor above one, nor inside a system one (see
/// [`SYSTEM_DIRS`]), not Debian's own Python directories
/// (`/usr/lib/python3*`) nor a multiarch library directory.
pub fn check_prefix(p: &str) -> Result<String> {
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
        && !p.split('/').any(|c| c == "." || c == "..");
    if !clean {
        bail!(
            "venv.prefix {p:?} must be an absolute, normalized directory such as /opt/venvs/NAME"
        );
    }
    if let Some(c) = p
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "/._+-".contains(*c)))
    {
        bail!(
            "venv.prefix {p:?}: character {c:?} is not allowed (only ASCII letters, digits, \
             '/', '.', '_', '+', '-')"
        );
    }
    if let Some(c) = p.split('/').find(|c| c.starts_with('-')) {
        bail!("venv.prefix {p:?}: the component {c:?} starts with '-'");
    }
    if p.len() > MAX_PREFIX || p.split('/').any(|c| c.len() > 255) {
        bail!("venv.prefix {p:?} is too long (at most {MAX_PREFIX} bytes, 255 per component)");
    }
    let system = |why: &str| {
        anyhow::anyhow!(
            "venv.prefix {p:?} {why}: the package would own or overwrite what the system, \
             dpkg or the administrator owns; use a directory of its own such as \
             /opt/venvs/NAME, /opt/NAME or /usr/lib/NAME"
        )
    };
    for dir in SYSTEM_DIRS.iter().chain(SHARED_DIRS) {
        if at_or_below(dir, p) {
            return Err(system(&format!("is {dir} or above it")));
        }
    }
    for dir in SYSTEM_DIRS {
        if at_or_below(p, dir) {
            return Err(system(&format!("is inside {dir}")));
        }
    }
    let comps: Vec<&str> = p.split('/').skip(1).collect();
    if comps.len() == 1 {
        return Err(system("is a new top-level directory"));
    }
    if let ["usr", "lib" | "libexec" | "share", c, ..] = comps.as_slice() {
        if c.starts_with("python") || c.starts_with("pyshared") {
            return Err(system(&format!(
                "is inside Debian's Python directory /usr/{}/{c}",
                comps[1]
            )));
        }
    }
    if let ["usr", "lib", c] = comps.as_slice() {
        if c.contains("-linux-") || c.contains("-kfreebsd-") || c.contains("-hurd-") {
            return Err(system(&format!(
                "is the multiarch library directory /usr/lib/{c}"
            )));
        }
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
    // The venv's activate scripts are sourced by a shell, not run.
    let lower = name.to_ascii_lowercase();
    if lower == "activate"
        || lower.starts_with("activate.")
        || lower == "activate_this.py"
        || lower.starts_with("deactivate.")
    {
        bail!("{name:?} is the venv's activate script (sourced by a shell), not a launcher");
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

/// Relationship fields, and whether they may hold alternatives (`|`):
/// dpkg refuses alternatives in Conflicts, Breaks, Replaces and Provides.
const RELATIONSHIP_FIELDS: &[(&str, bool)] = &[
    ("Depends", true),
    ("Pre-Depends", true),
    ("Recommends", true),
    ("Suggests", true),
    ("Enhances", true),
    ("Conflicts", false),
    ("Breaks", false),
    ("Replaces", false),
    ("Provides", false),
];

/// Check the value of an extra control field before it reaches the control
/// file: relationship fields with dpkg's grammar, the others for their
/// simple syntax.
fn check_field_value(field: &str, v: &str) -> Result<()> {
    if let Some((_, alternatives)) = RELATIONSHIP_FIELDS.iter().find(|(f, _)| *f == field) {
        return check_relationships(field, v, *alternatives);
    }
    let ok = match field {
        "Section" => v
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"/+-.".contains(&b)),
        "Priority" => ["required", "important", "standard", "optional", "extra"].contains(&v),
        "Homepage" => {
            (v.starts_with("https://") || v.starts_with("http://"))
                && !v.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        _ => true,
    };
    if !ok {
        bail!(
            "not a valid {field}: a Section is lowercase letters, digits and / + - .; a \
             Priority one of required, important, standard, optional, extra; a Homepage an \
             http(s):// URL without spaces"
        );
    }
    Ok(())
}

/// A binary package's relationship field, with the rules of dpkg's parser
/// (lib/dpkg/fields.c, `f_dependency`), made stricter where dpkg only warns:
/// `pkg[:arch] [(op version)]`, alternatives with `|`, items separated by
/// `,`. The package name follows Debian policy (lowercase, 2 characters or
/// more); `op` is one of `<< <= = >= >>` (dpkg warns about the obsolete `<`
/// and `>` and about a version without an operator); the version follows
/// dpkg's version syntax; Provides takes only `=`. Substitution variables
/// (`${shlibs:Depends}`), architecture restrictions (`[amd64]`) and build
/// profiles (`<!nocheck>`) belong in debian/control, not in a binary
/// package: dpkg-deb refuses them.
pub fn check_relationships(field: &str, v: &str, alternatives: bool) -> Result<()> {
    for item in v.split(',') {
        let alts: Vec<&str> = item.split('|').collect();
        if alts.len() > 1 && !alternatives {
            bail!("alternatives ('|') are not allowed in the {field} field");
        }
        for rel in alts {
            check_relation(field, rel.trim())?;
        }
    }
    Ok(())
}

/// One `pkg[:arch] [(op version)]`.
fn check_relation(field: &str, rel: &str) -> Result<()> {
    if rel.is_empty() {
        bail!("{field}: an empty item (missing package name)");
    }
    let end = rel
        .find(|c: char| c.is_ascii_whitespace() || c == '(' || c == ':')
        .unwrap_or(rel.len());
    let (name, rest) = rel.split_at(end);
    control::check_policy_package_name(name).with_context(|| {
        format!(
            "{field} (substitution variables such as ${{shlibs:Depends}} belong in debian/control)"
        )
    })?;
    let rest = match rest.strip_prefix(':') {
        Some(r) => {
            let end = r
                .find(|c: char| c.is_ascii_whitespace() || c == '(')
                .unwrap_or(r.len());
            let arch = &r[..end];
            let valid = control::is_architecture_name(arch) && arch != "all" && arch != "source";
            if !valid {
                bail!("{field}: {name}:{arch}: {arch:?} is not an architecture qualifier (any, or an architecture name)");
            }
            &r[end..]
        }
        None => rest,
    };
    let rest = rest.trim_start();
    if rest.is_empty() {
        return Ok(());
    }
    let Some(inner) = rest.strip_prefix('(') else {
        bail!("{field}: unexpected {rest:?} after {name} (architecture restrictions [..] and build profiles <..> are not allowed in a binary package)");
    };
    let Some(inner) = inner.strip_suffix(')') else {
        bail!("{field}: the version of {name} is unterminated or followed by something: expected `(op version)`");
    };
    let inner = inner.trim();
    let op = ["<<", "<=", ">=", ">>", "="]
        .into_iter()
        .find(|op| inner.starts_with(op))
        .with_context(|| {
            format!("{field}: {name} ({inner}): expected one of << <= = >= >> before the version")
        })?;
    if field == "Provides" && op != "=" {
        bail!("{field}: {name} ({inner}): only exact versions (=) may be provided");
    }
    let version = inner[op.len()..].trim();
    if version.contains(['(', ')']) || version.chars().any(|c| c.is_ascii_whitespace()) {
        bail!("{field}: {name} ({inner}): the version contains a space or parenthesis");
    }
    control::check_version(version)
        .with_context(|| format!("{field}: {name} ({inner}): version {version:?}"))?;
    Ok(())
}

/// A Python module name as `import` takes it: dotted ASCII identifiers.
pub fn check_module_name(m: &str) -> Result<()> {
    let ident = |p: &str| {
        p.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    if m.is_empty() || m.len() > 255 || !m.split('.').all(ident) {
        bail!("{m:?} is not a module name (dotted ASCII identifiers, e.g. PyQt5 or yaml)");
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

    #[test]
    fn prefixes_the_system_owns_are_refused() {
        for bad in [
            "/usr",
            "/usr/local",
            "/usr/local/app",
            "/etc",
            "/etc/app",
            "/var",
            "/var/lib",
            "/var/lib/dpkg",
            "/var/lib/dpkg/info",
            "/bin",
            "/sbin",
            "/lib",
            "/lib64",
            "/boot",
            "/dev/shm/x",
            "/proc/self",
            "/sys/x",
            "/run/app",
            "/tmp/app",
            "/var/tmp/app",
            "/home",
            "/home/user/app",
            "/root/app",
            "/opt",
            "/opt/venvs",
            "/srv",
            "/usr/bin/app",
            "/usr/lib",
            "/usr/share",
            "/usr/share/doc/app",
            "/usr/lib/python3",
            "/usr/lib/python3/dist-packages",
            "/usr/lib/python3.11/app",
            "/usr/lib/x86_64-linux-gnu",
            "/app",
        ] {
            let e = format!("{:#}", check_prefix(bad).unwrap_err());
            assert!(
                e.contains("the system, dpkg or the administrator"),
                "{bad}: {e}"
            );
        }
        for good in [
            "/opt/venvs/demoapp",
            "/opt/demoapp",
            "/opt/vendor/app-1.0",
            "/usr/lib/demoapp",
            "/usr/share/demoapp",
            "/usr/libexec/demoapp",
            "/srv/apps/demo",
            "/usr/lib/x86_64-linux-gnu/demoapp",
            "/opt/app/.venv",
            "/opt/venvs/a_b+c",
        ] {
            assert_eq!(check_prefix(good).unwrap(), good);
        }
    }

    #[test]
    fn prefix_characters_and_syntax() {
        for bad in [
            "/opt/venvs/$(touch /tmp/pwned)",
            "/opt/venvs/a b",
            "/opt/venvs/a`id`",
            "/opt/venvs/a;b",
            "/opt/venvs/a\"b",
            "/opt/venvs/a'b",
            "/opt/venvs/a\\b",
            "/opt/venvs/a&b",
            "/opt/venvs/a|b",
            "/opt/venvs/a*",
            "/opt/venvs/caf\u{e9}",
            "/opt/venvs/a\nb",
            "/opt/venvs/-rf",
        ] {
            assert!(check_prefix(bad).is_err(), "{bad:?}");
        }
        for bad in ["opt/x", "/opt/../x", "/opt/./x", "/opt//x", "/opt/x/", "/"] {
            let e = format!("{:#}", check_prefix(bad).unwrap_err());
            assert!(e.contains("normalized"), "{bad}: {e}");
        }
        let long = format!("/opt/venvs/{}", "a".repeat(256));
        assert!(check_prefix(&long).is_err());
        let long = format!("/opt/venvs/{}", "abcdefgh/".repeat(120) + "x");
        assert!(check_prefix(&long).is_err());
        // Long (the /bin/sh trampoline) but harmless: fine.
        let long = format!("/opt/venvs/{}", "d".repeat(150));
        check_prefix(&long).unwrap();
        // Through the whole file, with the key named.
        let t = GOOD.replace("[venv]", "[venv]\nprefix = \"/usr\"");
        let e = format!("{:#}", parse(&t).unwrap_err());
        assert!(e.contains("venv.prefix \"/usr\""), "{e}");
    }

    #[test]
    fn activate_scripts_are_not_launchers() {
        for bad in [
            "activate",
            "activate.fish",
            "activate.csh",
            "Activate.ps1",
            "activate.nu",
            "activate_this.py",
        ] {
            let e = format!("{:#}", check_launcher_name(bad).unwrap_err());
            assert!(e.contains("activate script"), "{bad}: {e}");
            let t = GOOD.replace("expose = [\"demoapp\"]", &format!("expose = [\"{bad}\"]"));
            assert!(parse(&t).is_err(), "{bad}");
        }
        for good in ["activate-app", "activator", "myactivate"] {
            check_launcher_name(good).unwrap();
        }
    }

    #[test]
    fn relationship_fields_follow_dpkg() {
        for good in [
            "curl",
            "libpq5 (>= 15)",
            "aa (>= 1), bb | cc (<< 2:1.0-1~bpo1), python3:any",
            "aa(>=1)",
            "aa ( >= 1 )",
            "aa:amd64 (= 1.0)",
            "python3-yaml (>= 5.4~)",
        ] {
            check_relationships("Depends", good, true).unwrap();
        }
        for bad in [
            "${shlibs:Depends}",
            "${misc:Depends}, curl",
            "aa (>= 2.17",
            "aa (>= 2.17))",
            "aa,",
            ",aa",
            "aa, , b",
            "aa [amd64]",
            "aa <!nocheck>",
            "aa (> 1)",
            "aa (< 1)",
            "aa (1)",
            "aa (>< 1)",
            "aa (>= 1 2)",
            "aa (>= a1)",
            "aa (>= 1:)",
            "aa (= 1-)",
            "aa (>= 1_0)",
            "A",
            "aa_b",
            "x",
            "aa:Amd64",
            "aa:all",
            "aa:",
            "aa bb",
            "aa | ",
        ] {
            assert!(
                check_relationships("Depends", bad, true).is_err(),
                "{bad:?} accepted"
            );
        }
        assert!(check_relationships("Conflicts", "aa | bb", false).is_err());
        assert!(check_relationships("Provides", "aa (>= 1)", false).is_err());
        check_relationships("Provides", "aa (= 1)", false).unwrap();
        // Through the file: the key and the reason are named.
        let t = GOOD.replace("\"libpq5 (>= 15)\"", "\"${shlibs:Depends}\"");
        let e = format!("{:#}", parse(&t).unwrap_err());
        assert!(e.contains("package.depends") && e.contains("shlibs"), "{e}");
        let t = GOOD.replace("\"libpq5 (>= 15)\"", "\"libc6 (>= 2.17\"");
        let e = format!("{:#}", parse(&t).unwrap_err());
        assert!(
            e.contains("package.depends") && e.contains("unterminated"),
            "{e}"
        );
        let t = GOOD.replace(
            "section = \"python\"",
            "section = \"python\"\nbreaks = \"a | b\"",
        );
        assert!(parse(&t).is_err());
        let t = GOOD.replace("section = \"python\"", "section = \"Py thon\"");
        assert!(parse(&t).is_err());
        let t = GOOD.replace("section = \"python\"", "priority = \"urgent\"");
        assert!(parse(&t).is_err());
    }

    #[test]
    fn system_site_packages() {
        let c = parse(GOOD).unwrap();
        assert!(!c.venv.system_site_packages);
        assert!(c.venv.system_modules.is_empty());
        let t = GOOD.replace(
            "[venv]",
            "[venv]\nsystem-site-packages = true\nsystem-modules = [\"yaml\", \"PyQt5.QtCore\"]",
        );
        let c = parse(&t).unwrap();
        assert!(c.venv.system_site_packages);
        assert_eq!(c.venv.system_modules, vec!["PyQt5.QtCore", "yaml"]);
        for (venv, word) in [
            (
                "system-modules = [\"yaml\"]",
                "system-site-packages is not true",
            ),
            (
                "system-site-packages = true\nsystem-modules = [\"ya ml\"]",
                "not a module name",
            ),
            (
                "system-site-packages = true\nsystem-modules = [\"os.\"]",
                "not a module name",
            ),
            (
                "system-site-packages = true\nsystem-modules = [\"yaml\", \"yaml\"]",
                "twice",
            ),
            ("system-site-packages = \"yes\"", "expected a boolean"),
            ("system-site-packages = true", "needs venv.system-modules"),
        ] {
            let t = GOOD.replace("[venv]", &format!("[venv]\n{venv}"));
            let e = format!("{:#}", parse(&t).unwrap_err());
            assert!(e.contains(word), "{venv}: {e}");
        }
    }
}
