//! Per-release correctness, inside clean Debian chroots (bookworm: CPython
//! 3.11 and pip 23.0.1; trixie: CPython 3.13 and pip 25.1.1), made by
//! `scripts/chroot.sh` with mmdebstrap from Debian's archive and cached under
//! /var/cache/venvdeb-chroots.
//!
//! In each chroot, without network, against that release's own
//! /usr/bin/python3 and python3-pip, `tests/chroot_support/oracle.sh` takes
//! the bundled example: venvdeb (the binary under test, bind-mounted
//! read-only; it links only libc, liblzma, libzstd and zlib, which every
//! Debian chroot has) builds it; the package is installed with dpkg, run,
//! snapshotted and purged (the file system after equals the one before);
//! the release's `python3 -m venv --without-pip` + pip install the same
//! wheels at the same prefix, and `compare.py` requires both trees equal byte
//! for byte — site-packages, launchers, `.data` scripts and files, activate
//! scripts, pyvenv.cfg — apart from the differences docs/releases.md lists;
//! a second build from another path, umask, TZ, locale, CPU set and clock
//! gives the same bytes and `venvdeb rebuild --check` agrees.
//!
//! Needs root and, the first time, Debian's archive (the tarballs are then
//! cached). It fails — never skips — when a chroot cannot be made.
mod common;

use std::process::Command;

use common::{chroot_tarball, repo, scratch};

fn oracle(release: &str) {
    let tar = chroot_tarball(release, &[]);
    let s = scratch();
    // A copy of the binary: the chroot sees this directory only.
    let bin = s.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_venvdeb"), bin.join("venvdeb")).unwrap();
    let ro = |host: &std::path::Path, inside: &str| {
        [
            "--ro-bind".to_string(),
            format!("{}:{inside}", host.display()),
        ]
    };
    let out = Command::new("sh")
        .arg(repo().join("scripts/chroot.sh"))
        .args(["run", &tar, "--no-net"])
        .args(ro(&repo().join("example"), "/ex"))
        .args(ro(&bin, "/venvdeb"))
        .args(ro(&repo().join("tests/chroot_support"), "/oracle"))
        .args([
            "--",
            "sh",
            "/oracle/oracle.sh",
            release,
            "demoapp",
            "--example",
        ])
        .output()
        .expect("run scripts/chroot.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "oracle in {release} failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    assert!(stdout.contains(" paths equal"), "{stdout}");
    assert!(
        stdout.contains(&format!("oracle: {release} ok: demoapp_1.0.0-1_")),
        "{stdout}"
    );
    eprintln!("{stdout}");
}

#[test]
fn bookworm_venv_equals_python_venv_and_pip() {
    oracle("bookworm");
}

#[test]
fn trixie_venv_equals_python_venv_and_pip() {
    oracle("trixie");
}
