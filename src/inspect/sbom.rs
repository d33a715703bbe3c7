//! The CycloneDX 1.5 JSON SBOM of a package's Python components: one
//! `library` component per installed wheel (name, version,
//! `pkg:pypi/<name>@<version>` purl, the wheel's sha256, the license from its
//! METADATA fields as verification parsed them), the Debian package as the
//! described component. It reads no file: the manifest module hands it
//! everything (`SbomInput`).
//!
//! Deterministic: the only timestamp is SOURCE_DATE_EPOCH; the serial
//! number is a name-based (MD5, RFC 4122 version 3) UUID of the document's
//! own canonical content; keys and components are sorted.
use anyhow::{Context, Result};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::canonical::to_canonical_json;
use super::hashio::hex;
use crate::encoding::percent_encode;

/// A module the venv imports from the system site-packages: what the target
/// interpreter imported at build time, and the Debian package owning it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemModule {
    pub module: String,
    /// The file it was imported from, e.g.
    /// `/usr/lib/python3/dist-packages/yaml/__init__.py`.
    pub file: String,
    pub debian_package: String,
}

/// The SBOM's file name, in `/usr/share/doc/<package>/`.
pub(crate) const SBOM_NAME: &str = "venvdeb-sbom.cdx.json";

/// RFC 4122 name-based UUID, version 3 (MD5), in the URL namespace.
pub(crate) fn uuid_v3(name: &str) -> String {
    // 6ba7b811-9dad-11d1-80b4-00c04fd430c8: the RFC's URL namespace.
    const NS_URL: [u8; 16] = [
        0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30,
        0xc8,
    ];
    let mut h = Md5::new();
    h.update(NS_URL);
    h.update(name.as_bytes());
    let mut b: [u8; 16] = h.finalize().into();
    b[6] = (b[6] & 0x0f) | 0x30;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &x[0..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..32]
    )
}

/// SOURCE_DATE_EPOCH as RFC 3339 UTC (`1970-01-01T00:00:00Z`).
pub(crate) fn rfc3339(epoch: u64) -> String {
    let (y, m, d, hh, mm, ss) = crate::sde::utc_parts(epoch);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

/// `pkg:pypi/<normalized name>@<version>` (version percent-encoded).
pub(crate) fn pypi_purl(name: &str, version: &str) -> String {
    format!(
        "pkg:pypi/{}@{}",
        percent_encode(&crate::wheel::name::normalize_name(name), b".-_~"),
        percent_encode(version, b".-_~")
    )
}

/// The licenses of METADATA license fields (`wheel::metadata::license_fields`), as CycloneDX
/// license choices: `License-Expression` (PEP 639) as an expression; else
/// the `License` field (first line) and the `License ::` classifiers as
/// names.
pub(crate) fn licenses_from_fields(fields: &[(String, String)]) -> Vec<Value> {
    let mut expression = None;
    let mut license: Option<String> = None;
    let mut classifiers = Vec::new();
    for (k, v) in fields {
        // Continuation lines are not part of the name: the first line only.
        let v = v.split('\n').next().unwrap_or_default().trim();
        match k.to_ascii_lowercase().as_str() {
            "license-expression" if !v.is_empty() => expression = Some(v.to_string()),
            "license" if !v.is_empty() && !v.eq_ignore_ascii_case("unknown") => {
                license = Some(v.chars().take(200).collect())
            }
            "classifier" => {
                if let Some(rest) = v.strip_prefix("License ::") {
                    let name = rest.rsplit("::").next().unwrap_or(rest).trim();
                    if !name.is_empty() && !classifiers.iter().any(|c| c == name) {
                        classifiers.push(name.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(e) = expression {
        return vec![json!({ "expression": e })];
    }
    let mut names: Vec<String> = license.into_iter().collect();
    for c in classifiers {
        if !names.contains(&c) {
            names.push(c);
        }
    }
    names
        .into_iter()
        .map(|n| json!({ "license": { "name": n } }))
        .collect()
}

/// One installed wheel, as the SBOM describes it.
#[derive(Debug, Clone)]
pub(crate) struct SbomWheel<'a> {
    pub filename: &'a str,
    pub name: &'a str,
    pub version: &'a str,
    /// Lowercase hex.
    pub sha256: &'a str,
    /// Its METADATA's `license_fields`.
    pub license_fields: &'a [(String, String)],
}

/// Everything the SBOM says.
#[derive(Debug, Clone)]
pub(crate) struct SbomInput<'a> {
    pub package: &'a str,
    pub version: &'a str,
    pub architecture: &'a str,
    pub prefix: &'a str,
    /// `<path> <version>` of the target interpreter.
    pub interpreter: &'a str,
    pub source_date_epoch: u64,
    pub tool_name: &'a str,
    pub tool_version: &'a str,
    pub wheels: Vec<SbomWheel<'a>>,
    /// Modules the venv takes from Debian's packages.
    pub system_modules: &'a [SystemModule],
}

/// The SBOM as canonical JSON bytes.
pub(crate) fn sbom_json(m: &SbomInput) -> Result<Vec<u8>> {
    let root_ref = format!("deb:{}@{}?arch={}", m.package, m.version, m.architecture);
    let mut components = Vec::new();
    for w in &m.wheels {
        let licenses = licenses_from_fields(w.license_fields);
        let purl = pypi_purl(w.name, w.version);
        let mut c = json!({
            "type": "library",
            "bom-ref": purl,
            "name": w.name,
            "version": w.version,
            "purl": purl,
            "hashes": [{ "alg": "SHA-256", "content": w.sha256 }],
            "properties": [{ "name": "venvdeb:wheel", "value": w.filename }],
        });
        if !licenses.is_empty() {
            c["licenses"] = Value::Array(licenses);
        }
        components.push(c);
    }
    for s in m.system_modules {
        // From the target system, not a wheel: named by its Debian package
        // (its version is whatever the installed system has at run time).
        components.push(json!({
            "type": "library",
            "bom-ref": format!("system:{}", s.module),
            "name": s.module,
            "scope": "required",
            "properties": [
                { "name": "venvdeb:system-module", "value": s.module },
                { "name": "venvdeb:debian-package", "value": s.debian_package },
                { "name": "venvdeb:file", "value": s.file },
            ],
        }));
    }
    components.sort_by(|a, b| a["bom-ref"].as_str().cmp(&b["bom-ref"].as_str()));
    components.dedup_by(|a, b| a["bom-ref"] == b["bom-ref"]);
    let refs: Vec<Value> = components.iter().map(|c| c["bom-ref"].clone()).collect();
    let mut doc = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "timestamp": rfc3339(m.source_date_epoch),
            "tools": { "components": [{
                "type": "application",
                "name": m.tool_name,
                "version": m.tool_version,
            }]},
            "component": {
                "type": "application",
                "bom-ref": root_ref,
                "name": m.package,
                "version": m.version,
                "properties": [
                    { "name": "venvdeb:architecture", "value": m.architecture },
                    { "name": "venvdeb:prefix", "value": m.prefix },
                    { "name": "venvdeb:interpreter", "value": m.interpreter },
                ],
            },
        },
        "components": components,
        "dependencies": [{ "ref": root_ref, "dependsOn": refs }],
    });
    let body = to_canonical_json(&doc)?;
    let digest = super::hashio::sha256_reader(&body[..])
        .context("hashing the SBOM")?
        .0;
    doc["serialNumber"] = Value::String(format!(
        "urn:uuid:{}",
        uuid_v3(&format!("venvdeb-sbom:sha256:{digest}"))
    ));
    to_canonical_json(&doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn uuid_v3_matches_rfc_example_shape_and_python() {
        // Python: uuid.uuid3(uuid.NAMESPACE_URL, "https://example.org/")
        assert_eq!(
            uuid_v3("https://example.org/"),
            "38596661-c8a8-346e-825a-af55484b9a75".to_string()
        );
    }

    #[test]
    fn purls() {
        assert_eq!(
            pypi_purl("Typing_Extensions", "4.16.0"),
            "pkg:pypi/typing-extensions@4.16.0"
        );
        assert_eq!(
            pypi_purl("zope.interface", "1.0+local.1"),
            "pkg:pypi/zope-interface@1.0%2Blocal.1"
        );
        assert_eq!(pypi_purl("a", "1!2.0"), "pkg:pypi/a@1%212.0");
    }

    fn licenses_from_metadata(text: &str) -> Vec<Value> {
        let h = crate::wheel::metadata::parse_headers(text.as_bytes(), "METADATA").unwrap();
        licenses_from_fields(&crate::wheel::metadata::license_fields(&h))
    }

    #[test]
    fn licenses() {
        let l = licenses_from_metadata(
            "Name: x\nLicense-Expression: MIT\nLicense: whatever\n\nLicense: body\n",
        );
        assert_eq!(l, vec![json!({"expression": "MIT"})]);
        let l = licenses_from_metadata(
            "Name: x\nLicense: BSD 3-Clause\n        long text\nClassifier: License :: OSI Approved :: BSD License\nClassifier: Topic :: X\n",
        );
        assert_eq!(
            l,
            vec![
                json!({"license": {"name": "BSD 3-Clause"}}),
                json!({"license": {"name": "BSD License"}})
            ]
        );
        assert!(licenses_from_metadata("Name: x\nLicense: UNKNOWN\n").is_empty());
    }

    #[test]
    fn sbom_of_the_sample() {
        let d = tempfile::tempdir().unwrap();
        let input = super::super::manifest::tests::sample(d.path());
        let w = super::super::manifest::write_into(d.path(), &input).unwrap();
        let v: Value = serde_json::from_slice(w.sbom_json.as_ref().unwrap()).unwrap();
        assert_eq!(v["specVersion"], "1.5");
        assert_eq!(v["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
        let c = &v["components"][0];
        assert_eq!(c["purl"], "pkg:pypi/demo-app@1.0%2Blocal");
        assert_eq!(c["hashes"][0]["content"], "ab".repeat(32));
        assert_eq!(c["licenses"][0]["expression"], "MIT OR Apache-2.0");
        let serial = v["serialNumber"].as_str().unwrap();
        assert!(
            serial.starts_with("urn:uuid:") && serial.as_bytes()[23] == b'3',
            "{serial}"
        );
        // the serial number follows the content
        let mut other = input.clone();
        other.wheels[0].sha256 = "cd".repeat(32);
        let d2 = tempfile::tempdir().unwrap();
        let _ = super::super::manifest::tests::sample(d2.path());
        let w2 = super::super::manifest::write_into(d2.path(), &other).unwrap();
        let v2: Value = serde_json::from_slice(w2.sbom_json.as_ref().unwrap()).unwrap();
        assert_ne!(v2["serialNumber"], v["serialNumber"]);
    }

    /// Validate a document with the shipped schema, by Debian's
    /// /usr/bin/python3 and python3-jsonschema (scripts/deps.sh).
    pub(crate) fn validate(schema: &str, doc: &[u8]) -> (bool, String) {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("doc.json");
        std::fs::write(&file, doc).unwrap();
        let out = std::process::Command::new("/usr/bin/python3")
            .arg(repo.join("fixtures/cyclonedx/validate.py"))
            .arg(repo.join(schema))
            .arg(&file)
            .output()
            .expect("run /usr/bin/python3");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    #[test]
    fn system_modules_are_components_and_validate() {
        let d = tempfile::tempdir().unwrap();
        let mut input = super::super::manifest::tests::sample(d.path());
        input.system_modules = vec![super::SystemModule {
            module: "yaml".into(),
            file: "/usr/lib/python3/dist-packages/yaml/__init__.py".into(),
            debian_package: "python3-yaml".into(),
        }];
        let w = super::super::manifest::write_into(d.path(), &input).unwrap();
        for (schema, doc) in [
            (
                "fixtures/cyclonedx/bom-1.5.schema.json",
                w.sbom_json.as_ref().unwrap(),
            ),
            (
                "fixtures/manifest/venvdeb-manifest-1.schema.json",
                &w.manifest_json,
            ),
        ] {
            let (ok, text) = validate(schema, doc);
            assert!(ok, "{schema}: {text}");
        }
        let v: Value = serde_json::from_slice(w.sbom_json.as_ref().unwrap()).unwrap();
        let c = v["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["bom-ref"] == "system:yaml")
            .unwrap();
        assert_eq!(c["properties"][1]["value"], "python3-yaml");
        assert!(v["dependencies"][0]["dependsOn"]
            .as_array()
            .unwrap()
            .contains(&json!("system:yaml")));
        let m: Value = serde_json::from_slice(&w.manifest_json).unwrap();
        assert_eq!(m["system_modules"][0]["debian_package"], "python3-yaml");
        // Without system modules the manifest has no such key (as before).
        let d2 = tempfile::tempdir().unwrap();
        let input = super::super::manifest::tests::sample(d2.path());
        let w = super::super::manifest::write_into(d2.path(), &input).unwrap();
        assert!(!String::from_utf8_lossy(&w.manifest_json).contains("system_modules"));
    }

    #[test]
    fn sbom_and_manifest_validate_against_their_schemas() {
        let d = tempfile::tempdir().unwrap();
        let input = super::super::manifest::tests::sample(d.path());
        let w = super::super::manifest::write_into(d.path(), &input).unwrap();
        let (ok, text) = validate(
            "fixtures/cyclonedx/bom-1.5.schema.json",
            w.sbom_json.as_ref().unwrap(),
        );
        assert!(ok, "{text}");
        let (ok, text) = validate(
            "fixtures/manifest/venvdeb-manifest-1.schema.json",
            &w.manifest_json,
        );
        assert!(ok, "{text}");
        // The validator does reject: a bad serial number, a bad hash algorithm.
        let mut v: Value = serde_json::from_slice(w.sbom_json.as_ref().unwrap()).unwrap();
        v["serialNumber"] = json!("urn:uuid:not-a-uuid");
        v["components"][0]["hashes"][0]["alg"] = json!("SHA-999");
        // (an SPDX id outside the list: proves spdx.SNAPSHOT.schema.json resolved offline)
        v["components"][0]["licenses"] = json!([{ "license": { "id": "NOT-AN-SPDX-ID" } }]);
        let (ok, text) = validate(
            "fixtures/cyclonedx/bom-1.5.schema.json",
            &serde_json::to_vec(&v).unwrap(),
        );
        assert!(
            !ok && text.contains("serialNumber") && text.contains("SHA-999"),
            "{text}"
        );
        assert!(text.contains("NOT-AN-SPDX-ID"), "{text}");
        let mut m: Value = serde_json::from_slice(&w.manifest_json).unwrap();
        m["files"][0]["mode"] = json!("644");
        let (ok, text) = validate(
            "fixtures/manifest/venvdeb-manifest-1.schema.json",
            &serde_json::to_vec(&m).unwrap(),
        );
        assert!(!ok, "{text}");
    }
}
