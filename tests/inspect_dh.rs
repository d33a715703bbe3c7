//! The manifest of a package built through debhelper (`venvdeb init` on a
//! copy of the bundled example, then `dpkg-buildpackage -b` with
//! `dh $@ --with venvdeb`): dh_compress gzips documentation over 4 KiB, so
//! the manifest may be `venvdeb-manifest.json.gz`; `audit` and
//! `rebuild`'s reader find it either way, and the unpacked package's venv
//! matches it (dh_strip and friends must not have altered a file).
mod common;
mod dh_support;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{ok, py_short, run, scratch, venvdeb};
use dh_support::dh_env;

#[test]
fn dh_built_package_carries_a_manifest_that_audits_clean() {
    let s = scratch();
    let src = dh_support::example_source(s.path());
    ok(venvdeb()
        .args(["init", ".", "--keyring", "keyring.gpg"])
        .current_dir(&src)
        .env("DEBFULLNAME", "Demo Maintainer")
        .env("DEBEMAIL", "demo@example.org")
        .env("SOURCE_DATE_EPOCH", "1704067200"));
    // -d: `Build-Depends: dh-sequence-venvdeb` is satisfied by the checkout
    // here (dh_env), not by an installed venvdeb package (tests/selfdeb.rs
    // builds with the installed package and no -d).
    let mut c = Command::new("dpkg-buildpackage");
    c.args(["-us", "-uc", "-b", "-d"]).current_dir(&src);
    dh_env(&mut c, s.path());
    let out = run(&mut c);
    assert!(
        out.status.success(),
        "dpkg-buildpackage:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let deb = fs::read_dir(s.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .expect("a .deb");
    let x = s.path().join("x");
    ok(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&x));
    let doc = x.join("usr/share/doc/demoapp");
    let plain = doc.join("venvdeb-manifest.json");
    let gz = doc.join("venvdeb-manifest.json.gz");
    assert!(
        plain.is_file() || gz.is_file(),
        "no manifest in {}",
        doc.display()
    );
    // Audit the unpacked package: contents, types, links and modes are
    // exactly the manifest's (the addon keeps dh_fixperms, dh_strip & co.
    // off the venv).
    let r = run(venvdeb().args(["audit", "demoapp", "--root"]).arg(&x));
    let o = String::from_utf8_lossy(&r.stdout).into_owned();
    let e = String::from_utf8_lossy(&r.stderr).into_owned();
    assert_eq!(r.status.code(), Some(0), "audit found differences:\n{o}{e}");
    assert!(
        o.lines().all(|l| l.contains("paths match")),
        "unexpected audit output:\n{o}"
    );
    // by prefix too
    let r = run(venvdeb()
        .args(["audit", "/opt/venvs/demoapp", "--root"])
        .arg(&x));
    assert_eq!(
        String::from_utf8_lossy(&r.stdout),
        o,
        "the same audit by prefix"
    );
    // an altered venv file is named
    let init = x.join(format!(
        "opt/venvs/demoapp/lib/python{}/site-packages/demoapp/__init__.py",
        py_short()
    ));
    assert!(Path::new(&init).is_file());
    fs::write(&init, "# altered\n").unwrap();
    let r = run(venvdeb().args(["audit", "demoapp", "--root"]).arg(&x));
    assert_eq!(r.status.code(), Some(1));
    let o = String::from_utf8_lossy(&r.stdout);
    assert!(
        o.contains("modified ") && o.contains("demoapp/__init__.py"),
        "{o}"
    );
}
