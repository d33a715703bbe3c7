//! End to end through debhelper: `venvdeb init` on a copy of the bundled
//! example, `dpkg-buildpackage -us -uc -b` twice (the second time from
//! another directory, under another umask, time zone, locale, CPU set and a
//! faked clock) with identical .deb bytes; every installed file that a
//! wheel's RECORD lists still has the RECORD's hash after the whole dh
//! sequence; lintian reports no error or warning; `dpkg -i`, run the
//! launcher from another directory, purge (nothing left under the prefix).
//!
//! dh_venvdeb and the addon come from this repository (PATH, PERL5LIB) and
//! venvdeb from this test build: nothing is installed into the system
//! except the package under test, which is purged again pass or fail.
//! dpkg-buildpackage runs with -d: `Build-Depends: dh-sequence-venvdeb` is
//! satisfied by the checkout here, not by an installed venvdeb package
//! (tests/selfdeb.rs builds with the installed package and no -d).
mod common;
mod dh_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use dh_support::dh_env;

const PACKAGE: &str = "demoapp";
const PREFIX: &str = "/opt/venvs/demoapp";

fn copy_tree(from: &Path, to: &Path) {
    ok(Command::new("cp").arg("-a").arg(from).arg(to));
}

/// A source package: the example plus `venvdeb init`'s debian/.
fn make_source(dir: &Path) -> PathBuf {
    dh_support::example_source_with_debian(dir, venvdeb())
}

/// `dpkg-buildpackage -us -uc -b` in `src` (`dh_support::dpkg_buildpackage`).
fn build(src: &Path, scratch: &Path, prelude: &str, envs: &[(&str, &str)]) -> PathBuf {
    dh_support::dpkg_buildpackage(src, scratch, prelude, envs).0
}

/// Purges the package when dropped, so that a failing test leaves no trace.
struct Purge;
impl Drop for Purge {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").args(["--purge", PACKAGE]).output();
    }
}

#[test]
fn init_dpkg_buildpackage_twice_identical_lintian_clean_installs_and_purges() {
    if !repo().join("example/wheelhouse").is_dir() {
        panic!("the bundled example (example/) is missing");
    }
    let tmp = scratch();
    let a = tmp.path().join("a");
    fs::create_dir(&a).unwrap();
    let src_a = make_source(&a);
    // The second build's source is a pristine copy taken before the first
    // build, far away in another directory.
    let b = tmp.path().join("elsewhere/with/a/longer/path");
    fs::create_dir_all(&b).unwrap();
    copy_tree(&src_a, &b.join("demoapp-1.0.0"));
    let src_b = b.join("demoapp-1.0.0");

    let deb_a = build(
        &src_a,
        tmp.path(),
        "umask 022; exec",
        &[("TZ", "UTC"), ("LC_ALL", "C")],
    );
    let deb_b = build(
        &src_b,
        tmp.path(),
        "umask 077; exec taskset -c 0 faketime '2031-06-15 12:34:56'",
        &[("TZ", "Pacific/Kiritimati"), ("LC_ALL", "C.UTF-8")],
    );
    if fs::read(&deb_a).unwrap() != fs::read(&deb_b).unwrap() {
        let list = |d: &Path| ok(Command::new("dpkg-deb").arg("-c").arg(d));
        panic!(
            "the two builds differ:\n{} {}\n{} {}\n--- a\n{}\n--- b\n{}",
            sha256_file(&deb_a),
            deb_a.display(),
            sha256_file(&deb_b),
            deb_b.display(),
            list(&deb_a),
            list(&deb_b)
        );
    }

    // dh_venvdeb_provenance (after dh_builddeb) wrote the provenance
    // statement beside each .deb: valid, naming the .deb by its sha256, the
    // same bytes from both builds.
    let stem = example_deb().trim_end_matches(".deb").to_string();
    let st_a = deb_a.with_file_name(format!("{stem}.intoto.json"));
    let st_b = deb_b.with_file_name(format!("{stem}.intoto.json"));
    validate_intoto(&st_a).unwrap_or_else(|e| panic!("statement refused by the schemas:\n{e}"));
    let v: serde_json::Value = serde_json::from_slice(&fs::read(&st_a).unwrap()).unwrap();
    assert_eq!(v["subject"][0]["name"], example_deb());
    assert_eq!(v["subject"][0]["digest"]["sha256"], sha256_file(&deb_a));
    assert_eq!(
        fs::read(&st_a).unwrap(),
        fs::read(&st_b).unwrap(),
        "the two dh builds' statements differ"
    );

    // What the package holds: the venv, the launcher link, the maintainer
    // scripts from dh_venvdeb, Depends from venvdeb and dpkg-shlibdeps.
    let fields = ok(Command::new("dpkg-deb").args(["-f"]).arg(&deb_a));
    assert!(
        fields.contains(&format!("python3 (>= {}~)", py_short())),
        "{fields}"
    );
    assert!(fields.contains("libc6"), "{fields}");
    let postinst = ok(Command::new("dpkg-deb")
        .args(["-I"])
        .arg(&deb_a)
        .arg("postinst"));
    assert!(
        postinst.contains("# Automatically added by dh_venvdeb/"),
        "{postinst}"
    );
    assert!(postinst.contains("py3compile"), "{postinst}");
    // The static autoscripts, tokens filled in as `venvdeb build` fills them.
    assert!(
        postinst.contains("\tpy3compile -p demoapp -V 3.")
            && postinst.contains(" '/opt/venvs/demoapp'\n"),
        "{postinst}"
    );
    let prerm = ok(Command::new("dpkg-deb")
        .args(["-I"])
        .arg(&deb_a)
        .arg("prerm"));
    assert!(
        prerm.contains("# Automatically added by dh_venvdeb/")
            && prerm.contains("\tpy3clean -p demoapp || true\n")
            && prerm.contains("find '/opt/venvs/demoapp' -depth -type d -name __pycache__"),
        "{prerm}"
    );
    // dh_venvdeb's files are under debian/.debhelper/, none in the source root.
    assert!(src_a
        .join("debian/.debhelper/generated/demoapp/venvdeb.toml")
        .is_file());
    for e in fs::read_dir(&src_a).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !name.starts_with(".venvdeb"),
            "{name} left in the source root"
        );
    }
    let unpacked = dh_support::unpack(&deb_a, tmp.path().join("unpacked"));
    let link = fs::read_link(unpacked.join("usr/bin/demoapp")).unwrap();
    assert_eq!(link, Path::new(&format!("{PREFIX}/bin/demoapp")));
    let checked = dh_support::check_records(&unpacked, PREFIX);
    assert!(checked > 50, "only {checked} RECORD entries checked");
    let so = ok(Command::new("find").arg(&unpacked).args(["-name", "*.so"]));
    assert!(
        so.lines().count() >= 2,
        "no compiled modules in the package:\n{so}"
    );
    // No build path in any byte of the package.
    for src in [&src_a, &src_b] {
        let out = run(Command::new("grep")
            .args(["-r", "-l", "-F"])
            .arg(src.to_str().unwrap())
            .arg(&unpacked));
        assert!(
            out.stdout.is_empty(),
            "build path in {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    // Fail closed: one flipped byte in a wheel stops dpkg-buildpackage in
    // dh_venvdeb with venvdeb's verification error, and no .deb is written.
    let c = tmp.path().join("tampered");
    fs::create_dir(&c).unwrap();
    copy_tree(&src_b, &c.join("demoapp-1.0.0"));
    let src_c = c.join("demoapp-1.0.0");
    let _ = fs::remove_dir_all(src_c.join("debian/demoapp"));
    let wheel = src_c.join("wheelhouse/tabulate-0.9.0-py3-none-any.whl");
    let mut bytes = fs::read(&wheel).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    fs::write(&wheel, bytes).unwrap();
    let mut cmd = Command::new("dpkg-buildpackage");
    cmd.args(["-us", "-uc", "-b", "-d"]).current_dir(&src_c);
    let out = run(dh_env(&mut cmd, tmp.path()));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a tampered wheel was packaged");
    assert!(
        log.contains("verification failed") && log.contains("tabulate-0.9.0-py3-none-any.whl"),
        "{log}"
    );
    assert!(!c.join(example_deb()).exists());

    // lintian: no error or warning (overrides from venvdeb init apply).
    dh_support::assert_lintian_clean(&deb_a);

    // Install, run from another directory, purge.
    let _lock = DPKG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let _purge = Purge;
    ok(Command::new("dpkg").arg("-i").arg(&deb_a));
    let out = ok(Command::new("/usr/bin/demoapp").current_dir("/"));
    assert!(!out.trim().is_empty(), "demoapp printed nothing");
    let pyc = ok(Command::new("find").arg(PREFIX).args(["-name", "*.pyc"]));
    assert!(!pyc.is_empty(), "postinst compiled no bytecode");
    ok(Command::new("dpkg").args(["--purge", PACKAGE]));
    assert!(
        !Path::new(PREFIX).exists(),
        "{PREFIX} left behind after purge"
    );
    assert!(fs::symlink_metadata("/usr/bin/demoapp").is_err());
}
