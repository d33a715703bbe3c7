//! `venvdeb deb` refusing bad input with a clear error before anything is
//! written: the control-file and maintainer-script checks dpkg-deb makes
//! (each also shown to fail with the real dpkg-deb), venvdeb's stricter
//! `#!` check, device nodes, FIFOs and sockets, SOURCE_DATE_EPOCH, and an
//! output inside the tree. After every failure no output or temporary file
//! is left behind, and an existing output file is untouched.
mod common;
mod deb_support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::{run, scratch, venvdeb};
use deb_support::*;

/// Run `venvdeb deb` on `root` into an output directory holding one
/// pre-existing file; require exit 2, a message containing `expect`, and
/// the output directory unchanged.
fn refuses(root: &Path, expect: &str) -> String {
    let outdir = scratch();
    let out = outdir.path().join("pkg.deb");
    fs::write(&out, b"previous").unwrap();
    let o = run(venvdeb()
        .arg("deb")
        .arg("--root")
        .arg(root)
        .arg("--output")
        .arg(&out)
        .arg("--source-date-epoch")
        .arg(SDE.to_string()));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "expected exit 2, stderr: {err}");
    assert!(err.contains(expect), "expected {expect:?} in: {err}");
    assert_eq!(
        dir_names(outdir.path()),
        vec![out.clone()],
        "output dir changed"
    );
    assert_eq!(fs::read(&out).unwrap(), b"previous");
    err
}

/// dpkg-deb must refuse the same tree (so the check is one dpkg-deb makes).
fn dpkg_refuses(root: &Path, expect: &str) {
    let d = scratch();
    let o = Command::new("dpkg-deb")
        .env("SOURCE_DATE_EPOCH", SDE.to_string())
        .args(["--root-owner-group", "--build"])
        .arg(root)
        .arg(d.path().join("x.deb"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "dpkg-deb accepted it");
    assert!(err.contains(expect), "dpkg-deb said: {err}");
}

fn tree() -> tempfile::TempDir {
    let d = scratch();
    make_tree(&d.path().join("t"), false);
    d
}

fn set_control(root: &Path, text: &str) {
    fs::write(root.join("DEBIAN/control"), text).unwrap();
}

#[test]
fn control_file_errors_like_dpkg_deb() {
    let cases: Vec<(String, &str, &str)> = vec![
        (
            CONTROL.replace("Package: venvdeb-test\n", ""),
            "missing 'Package' field",
            "missing 'Package' field",
        ),
        (
            CONTROL.replace("Version: 1:2.0~rc1-3\n", ""),
            "missing 'Version' field",
            "missing 'Version' field",
        ),
        (
            CONTROL.replace("Architecture: all\n", ""),
            "architecture is missing",
            "architecture is missing",
        ),
        (
            CONTROL.replace("venvdeb-test", "venvdeb_test"),
            "aren't lowercase alphanums",
            "aren't lowercase alphanums",
        ),
        (
            CONTROL.replace("venvdeb-test", "-venvdeb"),
            "must start with an alphanumeric",
            "must start with an alphanumeric",
        ),
        (
            CONTROL.replace("1:2.0~rc1-3", "a1.0"),
            "does not start with digit",
            "does not start with digit",
        ),
        (
            CONTROL.replace("1:2.0~rc1-3", "1.0 2"),
            "embedded spaces",
            "embedded spaces",
        ),
        (
            CONTROL.replace("1:2.0~rc1-3", "1.0-"),
            "revision number is empty",
            "revision number is empty",
        ),
        (
            CONTROL.replace("1:2.0~rc1-3", "1_0"),
            "invalid character in version",
            "invalid character in version",
        ),
        (
            format!("{CONTROL}Foo bar\n"),
            "must be followed by colon",
            "must be followed by colon",
        ),
        (
            format!("{CONTROL}Package: again\n"),
            "duplicate value for 'Package'",
            "duplicate value for 'Package'",
        ),
        (
            format!("{CONTROL}\nPackage: two\nVersion: 1\n"),
            "several package info entries",
            "several package info entries",
        ),
    ];
    for (text, ours, theirs) in cases {
        let d = tree();
        let root = d.path().join("t");
        set_control(&root, &text);
        dpkg_refuses(&root, theirs);
        let err = refuses(&root, ours);
        assert!(
            err.contains("DEBIAN/control"),
            "error does not name the file: {err}"
        );
    }
    let d = tree();
    let root = d.path().join("t");
    fs::remove_file(root.join("DEBIAN/control")).unwrap();
    dpkg_refuses(&root, "control");
    refuses(&root, "DEBIAN/control");
}

#[test]
fn maintainer_script_and_control_dir_errors_like_dpkg_deb() {
    let d = tree();
    let root = d.path().join("t");
    let script = root.join("DEBIAN/postinst");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o644)).unwrap();
    dpkg_refuses(&root, "bad permissions 644");
    refuses(&root, "bad permissions 644");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o777)).unwrap();
    dpkg_refuses(&root, "bad permissions 777");
    refuses(&root, "bad permissions 777");

    fs::remove_file(&script).unwrap();
    fs::create_dir(&script).unwrap();
    dpkg_refuses(&root, "is not a plain file or symlink");
    refuses(&root, "is not a plain file or symlink");
    fs::remove_dir(&script).unwrap();

    fs::set_permissions(root.join("DEBIAN"), fs::Permissions::from_mode(0o700)).unwrap();
    dpkg_refuses(&root, "control directory has bad permissions 700");
    refuses(&root, "control directory");
    fs::set_permissions(root.join("DEBIAN"), fs::Permissions::from_mode(0o755)).unwrap();

    fs::write(root.join("DEBIAN/conffiles"), "/etc/not-there\n").unwrap();
    dpkg_refuses(&root, "does not appear in package");
    refuses(&root, "'/etc/not-there' does not appear in package");
    fs::write(root.join("DEBIAN/conffiles"), "/etc/venvdeb-test.conf").unwrap();
    dpkg_refuses(&root, "missing final newline");
    refuses(&root, "missing final newline");
    for (text, msg) in [
        (
            "etc/venvdeb-test.conf\n",
            "'etc/venvdeb-test.conf' is not an absolute pathname",
        ),
        (
            "/etc/venvdeb-test.conf\n\n",
            "'' is not an absolute pathname",
        ),
        (
            "bogus-flag /etc/venvdeb-test.conf\n",
            "unknown flag 'bogus-flag'",
        ),
        (
            "remove-on-upgrade /etc/venvdeb-test.conf\n",
            "is present but is requested to be removed",
        ),
    ] {
        fs::write(root.join("DEBIAN/conffiles"), text).unwrap();
        dpkg_refuses(&root, msg);
        refuses(&root, msg);
    }
}

/// Stricter than dpkg-deb (which builds it; `dpkg -i` then cannot run it).
#[test]
fn maintainer_script_without_shebang_is_refused() {
    for text in ["set -e\nexit 0\n", ""] {
        let d = tree();
        let root = d.path().join("t");
        let script = root.join("DEBIAN/postinst");
        fs::write(&script, text).unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
        refuses(&root, "does not start with a '#!'");
    }
}

#[test]
fn special_files_are_refused_naming_the_path() {
    let d = tree();
    let root = d.path().join("t");
    let fifo = root.join("x/a/pipe");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    refuses(&root, "x/a/pipe is a FIFO");
    fs::remove_file(&fifo).unwrap();

    let sock = root.join("usr/sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    refuses(&root, "usr/sock is a socket");
    drop(listener);
    fs::remove_file(&sock).unwrap();

    // Device nodes need CAP_MKNOD: tested when the suite runs as root.
    let dev = root.join("dev-null");
    let made = Command::new("mknod")
        .arg(&dev)
        .args(["c", "1", "3"])
        .output()
        .unwrap();
    if made.status.success() {
        refuses(&root, "dev-null is a character device");
    } else {
        eprintln!("NOTE: not root, mknod refused: device-node case not exercised");
    }
}

#[test]
fn source_date_epoch_required_and_well_formed() {
    let d = tree();
    let root = d.path().join("t");
    let outdir = scratch();
    let out = outdir.path().join("p.deb");
    let o = run(venvdeb()
        .arg("deb")
        .arg("--root")
        .arg(&root)
        .arg("--output")
        .arg(&out));
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("SOURCE_DATE_EPOCH is not set") && err.contains("--source-date-epoch"),
        "{err}"
    );
    for bad in ["1.5", " 17", "-1", "0x10", "17e8"] {
        let o = run(venvdeb()
            .env("SOURCE_DATE_EPOCH", bad)
            .arg("deb")
            .arg("--root")
            .arg(&root)
            .arg("--output")
            .arg(&out));
        assert_eq!(o.status.code(), Some(2), "{bad:?} accepted");
        assert!(String::from_utf8_lossy(&o.stderr).contains("malformed"));
    }
    assert!(dir_names(outdir.path()).is_empty());
}

#[test]
fn output_inside_the_tree_is_refused() {
    let d = tree();
    let root = d.path().join("t");
    let o = run(venvdeb()
        .arg("deb")
        .arg("--root")
        .arg(&root)
        .arg("--output")
        .arg(root.join("usr/p.deb"))
        .arg("--source-date-epoch")
        .arg("1"));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("inside the package tree"));
    assert!(!root.join("usr/p.deb").exists());
}
