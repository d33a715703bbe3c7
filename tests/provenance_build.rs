//! The provenance statement `venvdeb build` writes beside the .deb: valid
//! against the in-toto Statement v1 and SLSA Provenance v1 schemas
//! (fixtures/intoto/, checked with Debian's python3-jsonschema), subject
//! digest = the .deb's sha256, every input named, and the same bytes when
//! built again elsewhere.
mod common;

use std::path::Path;

use common::{
    build_example_copy, ok, repo, scratch, sha256_file, validate_intoto as validate, venvdeb,
};

const STEM: &str = "demoapp_1.0.0-1_amd64";

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn statement_validates_names_the_deb_and_every_input_and_is_reproducible() {
    let s = scratch();
    let (ex, out) = build_example_copy(&s.path().join("a"));
    let deb = out.join(format!("{STEM}.deb"));
    let st = out.join(format!("{STEM}.intoto.json"));
    validate(&st).unwrap_or_else(|e| panic!("statement refused by the schemas:\n{e}"));

    let v = json(&st);
    assert_eq!(v["subject"][0]["name"], format!("{STEM}.deb"));
    assert_eq!(v["subject"][0]["digest"]["sha256"], sha256_file(&deb));
    let manifest = json(&out.join(format!("{STEM}.venvdeb-manifest.json")));
    let deps = v["predicate"]["buildDefinition"]["resolvedDependencies"]
        .as_array()
        .unwrap();
    for w in manifest["wheels"].as_array().unwrap() {
        let d = deps
            .iter()
            .find(|d| d["name"] == w["filename"])
            .unwrap_or_else(|| panic!("{} not among the dependencies", w["filename"]));
        assert_eq!(d["digest"]["sha256"], w["sha256"]);
    }
    let sums = deps.iter().find(|d| d["name"] == "sha256sums.txt").unwrap();
    assert_eq!(
        sums["digest"]["sha256"],
        sha256_file(&ex.join("sha256sums.txt"))
    );
    let fpr = std::fs::read_to_string(repo().join("fixtures/keys/test-key-a.fingerprint")).unwrap();
    assert_eq!(sums["annotations"]["signers"][0], fpr.trim());
    let py = deps.iter().find(|d| d["name"] == "python3").unwrap();
    assert_eq!(py["annotations"]["path"], "/usr/bin/python3");
    assert_eq!(
        py["annotations"]["version"],
        manifest["interpreter"]["version"]
    );
    assert_eq!(
        v["predicate"]["runDetails"]["builder"]["version"]["venvdeb"],
        manifest["tool"]["version"]
    );
    assert_eq!(
        v["predicate"]["runDetails"]["byproducts"][0]["digest"]["sha256"],
        sha256_file(&out.join(format!("{STEM}.venvdeb-manifest.json")))
    );
    assert_eq!(
        v["predicate"]["buildDefinition"]["externalParameters"]["sourceDateEpoch"],
        manifest["source_date_epoch"]
    );

    // The schemas do refuse: a subject without a digest, a bad predicate type.
    let bad = s.path().join("bad.json");
    let mut b = v.clone();
    b["subject"][0].as_object_mut().unwrap().remove("digest");
    std::fs::write(&bad, serde_json::to_vec(&b).unwrap()).unwrap();
    assert!(validate(&bad).is_err(), "a subject without a digest passed");
    let mut b = v.clone();
    b["predicate"]["runDetails"]["builder"]
        .as_object_mut()
        .unwrap()
        .remove("id");
    std::fs::write(&bad, serde_json::to_vec(&b).unwrap()).unwrap();
    assert!(validate(&bad).is_err(), "a builder without an id passed");

    // Built again at another path: the same statement. (tests/build_example.rs
    // also rebuilds under another umask, TZ, locale, CPU set and clock and
    // compares every file beside the .deb, this statement included.)
    let (_, out2) = build_example_copy(&s.path().join("second/elsewhere"));
    assert_eq!(
        std::fs::read(&st).unwrap(),
        std::fs::read(out2.join(format!("{STEM}.intoto.json"))).unwrap(),
        "the statement differs between two builds"
    );
    assert_eq!(
        sha256_file(&deb),
        sha256_file(&out2.join(format!("{STEM}.deb")))
    );

    // `venvdeb provenance` (what dh_venvdeb_provenance runs after
    // dh_builddeb) writes the same statement from the .deb alone and the
    // signed list; a package altered after the build gets its own digest.
    let again = s.path().join("again.json");
    ok(venvdeb()
        .arg("provenance")
        .arg(&deb)
        .arg("--sums")
        .arg(ex.join("sha256sums.txt"))
        .arg("--output")
        .arg(&again));
    assert_eq!(
        std::fs::read(&again).unwrap(),
        std::fs::read(&st).unwrap(),
        "venvdeb provenance differs from the statement venvdeb build wrote"
    );
    // An altered package (here: the mtime in its first ar header) gets a
    // statement with its own digest; an unreadable one an error and none.
    let altered = s.path().join(format!("{STEM}.deb"));
    let mut bytes = std::fs::read(&deb).unwrap();
    assert_eq!(&bytes[8..24], b"debian-binary   ");
    bytes[24] = if bytes[24] == b'1' { b'2' } else { b'1' };
    std::fs::write(&altered, &bytes).unwrap();
    ok(venvdeb()
        .arg("provenance")
        .arg(&altered)
        .arg("--config")
        .arg(ex.join("venvdeb.toml")));
    let st2 = s.path().join(format!("{STEM}.intoto.json"));
    let v2 = json(&st2);
    assert_eq!(v2["subject"][0]["digest"]["sha256"], sha256_file(&altered));
    assert_ne!(v2["subject"][0]["digest"]["sha256"], sha256_file(&deb));
    std::fs::remove_file(&st2).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 0x01;
    std::fs::write(&altered, &bytes).unwrap();
    let o = common::run(
        venvdeb()
            .arg("provenance")
            .arg(&altered)
            .arg("--config")
            .arg(ex.join("venvdeb.toml")),
    );
    assert!(!o.status.success(), "a corrupt package got a statement");
    assert!(
        !st2.exists(),
        "a statement was written for a corrupt package"
    );
}
