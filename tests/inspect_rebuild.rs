//! The manifest and SBOM in a package built by `venvdeb build` (the bundled
//! example): schema-valid, equal to the copies beside the .deb, byte-identical
//! across rebuilds; `audit` of the installed example (real `dpkg -i`, real
//! postinst bytecode); `rebuild --check` on an untouched package (0, under
//! another path, umask, TZ, CPU set and clock) and with changed inputs (1).
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{copy_example, example_deb, ok, py_short, repo, run, scratch, venvdeb, DPKG_LOCK};

fn stem() -> String {
    example_deb().trim_end_matches(".deb").to_string()
}

const PKG: &str = "demoapp";
const PREFIX: &str = "/opt/venvs/demoapp";
const TABULATE: &str = "tabulate-0.9.0-py3-none-any.whl";

/// A copy of the bundled example under `dir`; returns its venvdeb.toml.
fn example(dir: &Path) -> PathBuf {
    copy_example(dir).join("venvdeb.toml")
}

fn build(config: &Path, out: &Path) -> PathBuf {
    ok(venvdeb()
        .arg("build")
        .arg("--config")
        .arg(config)
        .arg("--output-dir")
        .arg(out));
    out.join(example_deb())
}

/// (exit code, stdout, stderr)
fn outcome(cmd: &mut Command) -> (i32, String, String) {
    let o = run(cmd);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn validate(schema: &str, doc: &Path) {
    ok(Command::new("/usr/bin/python3")
        .arg(repo().join("fixtures/cyclonedx/validate.py"))
        .arg(repo().join(schema))
        .arg(doc));
}

/// Purges the example, pass or fail.
struct Purge;
impl Drop for Purge {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").args(["--purge", PKG]).output();
        let _ = fs::remove_dir_all(PREFIX);
    }
}

#[test]
fn manifest_and_sbom_of_the_example_validate_match_and_audit() {
    let s = scratch();
    let config = example(s.path());
    let out = s.path().join("out");
    let deb = build(&config, &out);
    let x = s.path().join("x");
    ok(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&x));
    let doc = x.join("usr/share/doc/demoapp");
    let manifest = fs::read(doc.join("venvdeb-manifest.json")).unwrap();
    let sbom = fs::read(doc.join("venvdeb-sbom.cdx.json")).unwrap();
    assert_eq!(
        manifest,
        fs::read(out.join(format!("{}.venvdeb-manifest.json", stem()))).unwrap()
    );
    assert_eq!(
        sbom,
        fs::read(out.join(format!("{}.cdx.json", stem()))).unwrap()
    );
    validate(
        "fixtures/manifest/venvdeb-manifest-1.schema.json",
        &doc.join("venvdeb-manifest.json"),
    );
    validate(
        "fixtures/cyclonedx/bom-1.5.schema.json",
        &doc.join("venvdeb-sbom.cdx.json"),
    );

    let m: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    assert_eq!(m["package"]["name"], PKG);
    assert_eq!(m["prefix"], PREFIX);
    assert_eq!(m["interpreter"]["path"], "/usr/bin/python3");
    let fpr = fs::read_to_string(repo().join("fixtures/keys/test-key-a.fingerprint")).unwrap();
    assert_eq!(m["signers"], serde_json::json!([fpr.trim()]));
    let wheels = m["wheels"].as_array().unwrap();
    assert_eq!(wheels.len(), 5, "{wheels:?}");
    let sums = fs::read_to_string(config.parent().unwrap().join("sha256sums.txt")).unwrap();
    for w in wheels {
        let line = format!(
            "{}  {}",
            w["sha256"].as_str().unwrap(),
            w["filename"].as_str().unwrap()
        );
        assert!(
            sums.lines().any(|l| l == line),
            "{line} not in the signed list"
        );
    }
    // every file of the package's venv is listed, with its provenance
    let files = m["files"].as_array().unwrap();
    let tabulate_py = files
        .iter()
        .find(|f| {
            f["path"]
                == format!(
                    "{PREFIX}/lib/python{}/site-packages/tabulate/__init__.py",
                    py_short()
                )
        })
        .expect("tabulate/__init__.py listed");
    assert_eq!(tabulate_py["wheel"], TABULATE);
    let cfg = files
        .iter()
        .find(|f| f["path"] == format!("{PREFIX}/pyvenv.cfg"))
        .unwrap();
    assert!(cfg.get("wheel").is_none(), "pyvenv.cfg is generated");
    assert!(files
        .iter()
        .any(|f| f["path"] == "/usr/bin/demoapp" && f["type"] == "symlink"));
    assert!(!files.iter().any(|f| f["path"]
        .as_str()
        .unwrap()
        .ends_with("venvdeb-manifest.json")));
    // SBOM: one component per wheel, purl and hash from the manifest
    let b: serde_json::Value = serde_json::from_slice(&sbom).unwrap();
    let comps = b["components"].as_array().unwrap();
    assert_eq!(comps.len(), 5);
    let t = comps.iter().find(|c| c["name"] == "tabulate").unwrap();
    assert_eq!(t["purl"], "pkg:pypi/tabulate@0.9.0");
    let tw = wheels.iter().find(|w| w["filename"] == TABULATE).unwrap();
    assert_eq!(t["hashes"][0]["content"], tw["sha256"]);
    assert_eq!(t["licenses"][0]["license"]["name"], "MIT");
    // the unpacked tree audits clean against its manifest
    let (code, o, e) = outcome(venvdeb().args(["audit", PKG, "--root"]).arg(&x));
    assert_eq!(code, 0, "{o}{e}");

    // installed with the real dpkg: postinst compiles bytecode, audit ignores it
    let _lock = DPKG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let _purge = Purge;
    ok(Command::new("dpkg").arg("-i").arg(&deb));
    assert!(Path::new(PREFIX)
        .join(format!(
            "lib/python{}/site-packages/tabulate/__pycache__",
            py_short()
        ))
        .is_dir());
    let (code, o, e) = outcome(venvdeb().args(["audit", PKG]));
    assert_eq!(code, 0, "{o}{e}");
    let target = format!(
        "{PREFIX}/lib/python{}/site-packages/tabulate/__init__.py",
        py_short()
    );
    let mut text = fs::read_to_string(&target).unwrap();
    text.push_str("\n# altered\n");
    fs::write(&target, text).unwrap();
    let (code, o, _) = outcome(venvdeb().args(["audit", PREFIX]));
    assert_eq!(code, 1, "{o}");
    assert!(
        o.starts_with(&format!("modified {target}: expected sha256 ")),
        "{o}"
    );
    assert!(o.trim_end().ends_with(&format!("(from {TABULATE})")), "{o}");
    ok(Command::new("dpkg").args(["--purge", PKG]));
}

#[test]
fn rebuild_check_untouched_is_identical_and_changed_inputs_differ() {
    let s = scratch();
    let out = s.path().join("out");
    let deb = build(&example(&s.path().join("a")), &out);

    // Untouched: rebuilt from another copy, elsewhere, in a changed environment.
    let other = s.path().join("b/elsewhere/deeper");
    let config_b = example(&other);
    let kept = other.join("rebuilt");
    let script = format!(
        "umask 077; exec taskset -c 0 faketime '2031-06-15 12:34:56' {} rebuild --check {} --config {} --output-dir {}",
        env!("CARGO_BIN_EXE_venvdeb"),
        deb.display(),
        config_b.display(),
        kept.display()
    );
    let (code, o, e) = outcome(
        Command::new("sh")
            .arg("-c")
            .arg(&script)
            .current_dir(&other)
            .env_remove("SOURCE_DATE_EPOCH")
            .env("TZ", "Pacific/Kiritimati")
            .env("LC_ALL", "POSIX"),
    );
    assert_eq!(code, 0, "{o}{e}");
    assert!(
        o.starts_with(&format!("identical: {}", deb.display())),
        "{o}"
    );
    // the manifest and SBOM beside the rebuilt .deb are byte-identical too
    for name in [
        format!("{}.venvdeb-manifest.json", stem()),
        format!("{}.cdx.json", stem()),
    ] {
        assert_eq!(
            fs::read(out.join(&name)).unwrap(),
            fs::read(kept.join(&name)).unwrap(),
            "{name}"
        );
    }

    // Changed inputs: the tabulate wheel re-zipped (same files, other bytes),
    // the lock and sums updated and re-signed with the same test key.
    let config_c = example(&s.path().join("c"));
    let ex = config_c.parent().unwrap();
    let wheel = ex.join("wheelhouse").join(TABULATE);
    let rezipped = s.path().join(TABULATE);
    ok(Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(
            "import sys, zipfile\n\
             with zipfile.ZipFile(sys.argv[1]) as zi, zipfile.ZipFile(sys.argv[2], 'w') as zo:\n\
             \x20   for i in zi.infolist():\n\
             \x20       zo.writestr(i, zi.read(i.filename), compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)\n",
        )
        .arg(&wheel)
        .arg(&rezipped));
    let old = common::sha256_file(&wheel);
    let new = common::sha256_file(&rezipped);
    assert_ne!(old, new);
    fs::copy(&rezipped, &wheel).unwrap();
    for f in ["sha256sums.txt", "requirements.txt"] {
        let t = fs::read_to_string(ex.join(f)).unwrap();
        assert!(t.contains(&old));
        fs::write(ex.join(f), t.replace(&old, &new)).unwrap();
    }
    let gnupg = scratch();
    ok(Command::new("gpg")
        .env("GNUPGHOME", gnupg.path())
        .args(["--batch", "--quiet", "--import"])
        .arg(repo().join("fixtures/keys/test-key-a.secret.asc")));
    ok(Command::new("gpg")
        .env("GNUPGHOME", gnupg.path())
        .args(["--batch", "--yes", "--armor", "--detach-sign", "-o"])
        .arg(ex.join("sha256sums.txt.asc"))
        .arg(ex.join("sha256sums.txt")));
    let (code, o, e) = outcome(
        venvdeb()
            .args(["rebuild", "--check"])
            .arg(&deb)
            .arg("--config")
            .arg(&config_c),
    );
    assert_eq!(code, 1, "{o}{e}");
    assert!(
        o.contains(&format!(
            "input wheel {TABULATE}: expected sha256 {old}, found sha256 {new}\n"
        )),
        "{o}"
    );
    assert!(
        o.contains("data.tar ./usr/share/doc/demoapp/venvdeb-manifest.json: sha256: "),
        "the diff report names the manifest:\n{o}"
    );
    assert!(
        !o.contains("tabulate/__init__.py"),
        "installed files are the same:\n{o}"
    );

    // Changed configuration: another description.
    let config_d = example(&s.path().join("d"));
    let t = fs::read_to_string(&config_d).unwrap();
    fs::write(
        &config_d,
        t.replace(
            "demo application in a virtualenv",
            "demo application, changed",
        ),
    )
    .unwrap();
    let (code, o, e) = outcome(
        venvdeb()
            .args(["rebuild", "--check"])
            .arg(&deb)
            .arg("--config")
            .arg(&config_d),
    );
    assert_eq!(code, 1, "{o}{e}");
    assert!(
        o.lines()
            .any(|l| l
                .starts_with("control Description: field value: demo application in a virtualenv")),
        "{o}"
    );

    // Not a venvdeb package: exit 2.
    let plain = s.path().join("plain");
    fs::create_dir_all(plain.join("DEBIAN")).unwrap();
    fs::write(
        plain.join("DEBIAN/control"),
        "Package: plain\nVersion: 1\nArchitecture: all\nMaintainer: a <a@b.c>\nDescription: x\n",
    )
    .unwrap();
    ok(Command::new("dpkg-deb")
        .args(["--root-owner-group", "--build"])
        .arg(&plain)
        .arg(s.path().join("plain.deb")));
    let (code, _, e) = outcome(
        venvdeb()
            .args(["rebuild", "--check"])
            .arg(s.path().join("plain.deb"))
            .arg("--config")
            .arg(&config_d),
    );
    assert_eq!(code, 2);
    assert!(e.contains("not built by venvdeb"), "{e}");
}
