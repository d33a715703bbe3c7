//! `venvdeb stage`, what dh_venvdeb runs: the venv staged into a package
//! directory for the requested package name (and so prefix), the substvars
//! file updated, the JSON report carrying the maintainer-script snippets;
//! and its refusals (architecture mismatch, an existing venv).
mod common;

use std::path::Path;

use common::{deb_arch, ok, py_next, py_short, repo, run, scratch, venvdeb};

fn stage(destdir: &Path, extra: &[&str]) -> std::process::Output {
    run(venvdeb()
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .arg("stage")
        .arg("--config")
        .arg(repo().join("example/venvdeb.toml"))
        .arg("--destdir")
        .arg(destdir)
        .args(extra))
}

#[test]
fn stage_for_another_package_name_with_substvars_and_json() {
    let s = scratch();
    let dest = s.path().join("debian/other-app");
    let substvars = s.path().join("debian/other-app.substvars");
    std::fs::create_dir_all(&dest).unwrap();
    std::fs::write(&substvars, "misc:Depends=foo\nvenvdeb:Depends=stale\n").unwrap();
    let arch = deb_arch();
    let out = stage(
        &dest,
        &[
            "--package",
            "other-app",
            "--version",
            "2:2.0-1",
            "--arch",
            &arch,
            "--substvars",
            substvars.to_str().unwrap(),
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["package"], "other-app");
    assert_eq!(report["version"], "2:2.0-1");
    assert_eq!(report["architecture"], arch.as_str());
    assert_eq!(report["prefix"], "/opt/venvs/other-app");
    let postinst = report["postinst"].as_str().unwrap();
    assert!(
        postinst.contains(&format!(
            "py3compile -p other-app -V {} '/opt/venvs/other-app'",
            py_short()
        )),
        "{postinst}"
    );
    let prerm = report["prerm"].as_str().unwrap();
    assert!(prerm.contains("-name __pycache__"), "{prerm}");
    assert_eq!(report["wheels"].as_array().unwrap().len(), 5);

    let launcher = std::fs::read_to_string(dest.join("opt/venvs/other-app/bin/demoapp")).unwrap();
    assert!(
        launcher.starts_with("#!/opt/venvs/other-app/bin/python\n"),
        "{launcher}"
    );
    assert!(
        !dest.join("DEBIAN").exists(),
        "stage must not write DEBIAN/"
    );
    assert_eq!(
        std::fs::read_link(dest.join("usr/bin/demoapp")).unwrap(),
        Path::new("/opt/venvs/other-app/bin/demoapp")
    );
    assert!(dest
        .join("usr/share/doc/other-app/venvdeb-manifest.json")
        .is_file());
    let sv = std::fs::read_to_string(&substvars).unwrap();
    assert_eq!(
        sv,
        format!(
            "misc:Depends=foo\n\
             venvdeb:Architecture={arch}\n\
             venvdeb:Depends=python3 (>= {}~), python3 (<< {}), libc6 (>= 2.17)\n",
            py_short(),
            py_next()
        )
    );

    // Staging again over the same venv is refused.
    let again = stage(&dest, &["--package", "other-app"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
}

#[test]
fn binary_wheels_cannot_make_an_arch_all_package() {
    let s = scratch();
    let dest = s.path().join("debian/demoapp");
    let out = stage(&dest, &["--arch", "all"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("architecture all") && err.contains(&deb_arch()),
        "{err}"
    );
    assert!(
        !dest.join("opt").exists(),
        "nothing staged before the check"
    );
}

#[test]
fn plain_output_names_depends() {
    let s = scratch();
    let dest = s.path().join("d");
    let out = ok(venvdeb()
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .arg("stage")
        .arg("--config")
        .arg(repo().join("example/venvdeb.toml"))
        .arg("--destdir")
        .arg(&dest));
    assert!(
        out.contains(&format!("venvdeb:Depends=python3 (>= {}~)", py_short())),
        "{out}"
    );
    assert!(dest.join("opt/venvs/demoapp/pyvenv.cfg").is_file());
}
