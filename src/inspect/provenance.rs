//! The build's provenance statement, written beside the .deb as
//! `<name>_<version>_<arch>.intoto.json`: an in-toto Statement v1 whose
//! predicate is SLSA Provenance v1.
//!
//! - subject: the .deb (file name, sha256);
//! - `buildDefinition.externalParameters`: the package, version,
//!   architecture, SOURCE_DATE_EPOCH, data.tar compression and prefix;
//! - `buildDefinition.resolvedDependencies`: every installed wheel (file
//!   name, `pkg:pypi/<name>@<version>`, sha256), the signed wheel list
//!   (sha256 of its bytes, the signers' primary-key fingerprints) and the
//!   target interpreter (path, version, Debian release);
//! - `runDetails.builder`: venvdeb and its version;
//! - `runDetails.byproducts`: the build manifest shipped in the package
//!   (its path and sha256), which records the same wheels, signers,
//!   interpreter and SOURCE_DATE_EPOCH.
//!
//! [`statement`] is a pure function from [`Facts`] to bytes: keys sorted at
//! every level (`canonical`), entries sorted, two-space
//! pretty JSON with a final newline, no time at all (SOURCE_DATE_EPOCH is a
//! parameter), no build path, host or user. [`check`] compares a statement
//! with what a rebuild produced (`venvdeb rebuild`).
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{json, Map, Value};

use super::manifest::{manifest_path, Manifest};

/// in-toto Statement v1.
pub(crate) const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// SLSA Provenance v1.
pub(crate) const PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v1";
/// What a venvdeb build is (documented in docs/inspect.md).
pub(crate) const BUILD_TYPE: &str = "urn:venvdeb:buildtype:deb:v1";
/// Who ran it: venvdeb itself, wherever it runs.
pub(crate) const BUILDER_ID: &str = "urn:venvdeb:builder:venvdeb";
/// The statement's file-name suffix (replacing `.deb`).
pub(crate) const SUFFIX: &str = ".intoto.json";

/// Everything the statement says.
#[derive(Debug, Clone)]
pub(crate) struct Facts<'a> {
    /// The .deb's file name (no directory).
    pub deb_name: String,
    /// Its sha256, lowercase hex.
    pub deb_sha256: String,
    /// The manifest the package carries (wheels, signers, interpreter, SDE).
    pub manifest: &'a Manifest,
    /// sha256 of the manifest's bytes.
    pub manifest_sha256: String,
    /// sha256 of the signed wheel list's bytes.
    pub sums_sha256: String,
    /// data.tar compression (`xz`, `zstd`, `gzip`, `none`).
    pub compression: String,
    /// The Debian release of the target interpreter, e.g. `debian 12
    /// (bookworm)`, when known.
    pub release: Option<String>,
}

fn rd_wheel(w: &super::manifest::InputWheel) -> Value {
    json!({
        "name": w.filename,
        "uri": format!("pkg:pypi/{}@{}", crate::wheel::name::normalize_name(&w.name), w.version),
        "digest": { "sha256": w.sha256 },
        "annotations": { "distribution": w.name, "version": w.version },
    })
}

/// The statement's bytes.
pub(crate) fn statement(f: &Facts<'_>) -> Vec<u8> {
    let m = f.manifest;
    let mut wheels = m.wheels.clone();
    wheels.sort();
    let mut signers = m.signers.clone();
    signers.sort();
    let mut deps: Vec<Value> = wheels.iter().map(rd_wheel).collect();
    deps.push(json!({
        "name": "sha256sums.txt",
        "digest": { "sha256": f.sums_sha256 },
        "annotations": { "role": "signed wheel list", "signers": signers },
    }));
    let mut interp = Map::new();
    interp.insert("path".into(), json!(m.interpreter.path));
    interp.insert("version".into(), json!(m.interpreter.version));
    if let Some(r) = &f.release {
        interp.insert("release".into(), json!(r));
    }
    deps.push(json!({
        "name": "python3",
        "uri": format!("file://{}", m.interpreter.path),
        "annotations": Value::Object(interp),
    }));
    let v = json!({
        "_type": STATEMENT_TYPE,
        "subject": [ { "name": f.deb_name, "digest": { "sha256": f.deb_sha256 } } ],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "package": m.package.name,
                    "version": m.package.version,
                    "architecture": m.package.architecture,
                    "sourceDateEpoch": m.source_date_epoch,
                    "compression": f.compression,
                    "prefix": m.prefix,
                },
                "internalParameters": {},
                "resolvedDependencies": deps,
            },
            "runDetails": {
                "builder": {
                    "id": BUILDER_ID,
                    "version": { "venvdeb": m.tool.version },
                },
                "metadata": {},
                "byproducts": [ {
                    "name": "venvdeb-manifest.json",
                    "uri": format!("file://{}", manifest_path(&m.package.name)),
                    "digest": { "sha256": f.manifest_sha256 },
                } ],
            },
        },
    });
    super::canonical::to_canonical_json(&v).expect("a JSON value always serializes")
}

/// Where the statement of `deb` goes: beside it, `.deb` replaced.
pub(crate) fn path_beside(deb: &Path) -> Result<PathBuf> {
    let name = deb
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{} has no file name", deb.display()))?;
    let stem = name.strip_suffix(".deb").unwrap_or(name);
    Ok(deb
        .parent()
        .unwrap_or(Path::new("."))
        .join(format!("{stem}{SUFFIX}")))
}

/// The Debian release named by an os-release file's text:
/// `<ID> <VERSION_ID> (<VERSION_CODENAME>)`, as much as it has.
pub(crate) fn release_from_os_release(text: &str) -> Option<String> {
    let get = |k: &str| {
        text.lines().find_map(|l| {
            l.strip_prefix(k)
                .and_then(|r| r.strip_prefix('='))
                .map(|v| v.trim().trim_matches('"').to_string())
                .filter(|v| !v.is_empty())
        })
    };
    let id = get("ID")?;
    let mut s = id;
    if let Some(v) = get("VERSION_ID") {
        s.push(' ');
        s.push_str(&v);
    }
    if let Some(c) = get("VERSION_CODENAME") {
        s.push_str(&format!(" ({c})"));
    }
    Some(s)
}

/// The release of the machine that builds (its `/usr/bin/python3` is the
/// target interpreter): from `/etc/os-release`, else `/usr/lib/os-release`.
pub(crate) fn host_release() -> Option<String> {
    ["/etc/os-release", "/usr/lib/os-release"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| release_from_os_release(&t))
}

/// The data.tar compression's name as `venvdeb build -Z` takes it.
pub(crate) fn compression_name(c: crate::deb::Compression) -> &'static str {
    use crate::deb::Compression;
    match c {
        Compression::Xz => "xz",
        Compression::Zstd => "zstd",
        Compression::Gzip => "gzip",
        Compression::None => "none",
    }
}

/// The build's output step: the statement of the .deb just written (its
/// sha256 given), from the manifest it carries and the signed list it was
/// verified against (hashed again here). The caller writes the bytes
/// beside the .deb ([`path_beside`]) with its other outputs.
pub(crate) fn statement_for_build(
    deb: &Path,
    deb_sha256: &str,
    manifest_json: &[u8],
    sums: &Path,
    compression: crate::deb::Compression,
) -> Result<Vec<u8>> {
    let manifest = Manifest::from_json(manifest_json).context("reading back the manifest")?;
    let (manifest_sha256, _) =
        super::hashio::sha256_reader(manifest_json).context("hashing the manifest")?;
    statement_of(
        deb,
        deb_sha256,
        &manifest,
        manifest_sha256,
        sums,
        compression_name(compression),
    )
}

/// `venvdeb provenance DEB --sums FILE`: the statement of a package already
/// written (by `venvdeb build`, or by dh_builddeb after dh_venvdeb), from
/// its own bytes — the manifest it carries, its data.tar compression, its
/// sha256 — and the signed list it was built from. For a package `venvdeb
/// build` wrote, the bytes are the statement the build wrote beside it.
pub(crate) fn statement_for_deb(deb: &Path, sums: &Path) -> Result<Vec<u8>> {
    let facts = super::rebuild::read_facts(deb)?;
    let m = &facts.manifest.package;
    let control = (&facts.package, &facts.version, &facts.architecture);
    if control != (&m.name, &m.version, &m.architecture) {
        anyhow::bail!(
            "{}: the control file says {} {} {}, its manifest {} {} {}: not the package the manifest was written for",
            deb.display(),
            control.0,
            control.1,
            control.2,
            m.name,
            m.version,
            m.architecture
        );
    }
    let deb_sha256 = sha256_input(deb, "package", u64::MAX)?;
    statement_of(
        deb,
        &deb_sha256,
        &facts.manifest,
        facts.manifest_sha256.clone(),
        sums,
        facts.data_codec.name(),
    )
}

/// The sha256 of an input opened as one (a regular file of at most `cap`
/// bytes, see `crate::input`).
fn sha256_input(path: &Path, what: &str, cap: u64) -> Result<String> {
    let (f, _) = crate::input::open_regular(path, what, cap)?;
    let (h, _) = super::hashio::sha256_reader(f)
        .with_context(|| format!("reading {what} {}", path.display()))?;
    Ok(h)
}

fn statement_of(
    deb: &Path,
    deb_sha256: &str,
    manifest: &Manifest,
    manifest_sha256: String,
    sums: &Path,
    compression: &str,
) -> Result<Vec<u8>> {
    let sums_sha256 = sha256_input(sums, "signed wheel list", crate::input::MAX_TEXT)?;
    let deb_name = deb
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{} has no UTF-8 file name", deb.display()))?
        .to_string();
    Ok(statement(&Facts {
        deb_name,
        deb_sha256: deb_sha256.to_string(),
        manifest,
        manifest_sha256,
        sums_sha256,
        compression: compression.into(),
        release: host_release(),
    }))
}

/// One way a statement disagrees with a rebuild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mismatch {
    pub what: String,
    pub expected: String,
    pub actual: String,
}

/// Compare a statement (its bytes) with the statement of a rebuild: the
/// subject (name and sha256) and every resolved dependency and parameter
/// must be the same; returns what differs (empty: the statement holds).
pub(crate) fn check(statement_bytes: &[u8], rebuilt: &[u8]) -> Result<Vec<Mismatch>> {
    let a: Value = serde_json::from_slice(statement_bytes).context("the statement is not JSON")?;
    let b: Value = serde_json::from_slice(rebuilt).context("the rebuilt statement is not JSON")?;
    let mut out = Vec::new();
    if a.get("_type") != Some(&json!(STATEMENT_TYPE))
        || a.get("predicateType") != Some(&json!(PREDICATE_TYPE))
    {
        out.push(Mismatch {
            what: "statement type".into(),
            expected: format!("{STATEMENT_TYPE} with {PREDICATE_TYPE}"),
            actual: format!(
                "{} with {}",
                a.get("_type").unwrap_or(&Value::Null),
                a.get("predicateType").unwrap_or(&Value::Null)
            ),
        });
        return Ok(out);
    }
    for (what, ptr) in [
        ("subject", "/subject"),
        ("build type", "/predicate/buildDefinition/buildType"),
        (
            "parameters",
            "/predicate/buildDefinition/externalParameters",
        ),
        (
            "resolved dependencies",
            "/predicate/buildDefinition/resolvedDependencies",
        ),
        ("byproducts", "/predicate/runDetails/byproducts"),
    ] {
        let x = a.pointer(ptr).cloned().unwrap_or(Value::Null);
        let y = b.pointer(ptr).cloned().unwrap_or(Value::Null);
        if x != y {
            out.push(Mismatch {
                what: what.into(),
                expected: serde_json::to_string(&x).unwrap_or_default(),
                actual: serde_json::to_string(&y).unwrap_or_default(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        let w = |f: &str, sha: &str, n: &str, v: &str| json!({"filename": f, "sha256": sha.repeat(32), "name": n, "version": v});
        let v = json!({
            "format": super::super::manifest::FORMAT,
            "tool": {"name": "venvdeb", "version": env!("CARGO_PKG_VERSION")},
            "package": {"name": "demo", "version": "1.0-1", "architecture": "amd64"},
            "source_date_epoch": 1_700_000_000u64,
            "interpreter": {"path": "/usr/bin/python3", "version": "3.11.2"},
            "prefix": "/opt/venvs/demo",
            "signers": ["BBBB", "AAAA"],
            "wheels": [
                w("z_pkg-2.0-py3-none-any.whl", "22", "Z_Pkg", "2.0"),
                w("a-1.0-py3-none-any.whl", "11", "a", "1.0"),
            ],
            "files": [],
        });
        Manifest::from_json(&serde_json::to_vec(&v).unwrap()).unwrap()
    }

    fn facts(m: &Manifest) -> Facts<'_> {
        Facts {
            deb_name: "demo_1.0-1_amd64.deb".into(),
            deb_sha256: "ab".repeat(32),
            manifest: m,
            manifest_sha256: "cd".repeat(32),
            sums_sha256: "ef".repeat(32),
            compression: "xz".into(),
            release: Some("debian 12 (bookworm)".into()),
        }
    }

    #[test]
    fn statement_is_sorted_and_names_every_input() {
        let m = manifest();
        let bytes = statement(&facts(&m));
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.ends_with("}\n"));
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["subject"][0]["digest"]["sha256"], "ab".repeat(32));
        let deps = v["predicate"]["buildDefinition"]["resolvedDependencies"]
            .as_array()
            .unwrap();
        assert_eq!(deps[0]["name"], "a-1.0-py3-none-any.whl");
        assert_eq!(deps[1]["uri"], "pkg:pypi/z-pkg@2.0");
        assert_eq!(deps[2]["annotations"]["signers"], json!(["AAAA", "BBBB"]));
        assert_eq!(deps[3]["annotations"]["release"], "debian 12 (bookworm)");
        // Keys sorted at the top level.
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(keys, ["_type", "predicate", "predicateType", "subject"]);
        // The order of the manifest's lists does not matter.
        let mut m2 = m.clone();
        m2.wheels.reverse();
        m2.signers.reverse();
        assert_eq!(statement(&facts(&m2)), bytes);
        assert!(!text.contains("startedOn"));
    }

    #[test]
    fn check_names_what_differs() {
        let m = manifest();
        let a = statement(&facts(&m));
        assert!(check(&a, &a).unwrap().is_empty());
        let mut f = facts(&m);
        f.deb_sha256 = "00".repeat(32);
        let b = statement(&f);
        let d = check(&a, &b).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].what, "subject");
        let mut m3 = m.clone();
        m3.wheels[0].sha256 = "33".repeat(32);
        let d = check(&a, &statement(&facts(&m3))).unwrap();
        assert_eq!(d[0].what, "resolved dependencies");
        assert!(check(b"{}", &a).unwrap()[0].what == "statement type");
    }

    #[test]
    fn release_names() {
        let t = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n";
        assert_eq!(
            release_from_os_release(t).as_deref(),
            Some("debian 12 (bookworm)")
        );
        assert_eq!(
            release_from_os_release("ID=debian\nVERSION_CODENAME=trixie\n").as_deref(),
            Some("debian (trixie)")
        );
        assert_eq!(release_from_os_release("NAME=x\n"), None);
        assert_eq!(
            path_beside(Path::new("/o/demo_1.0-1_amd64.deb")).unwrap(),
            Path::new("/o/demo_1.0-1_amd64.intoto.json")
        );
    }
}
