//! The packager's clean-chroot build, for bookworm and trixie: venvdeb
//! comes in only as its own Debian package (scripts/make-deb.sh, built once
//! per test run and reused from target/make-deb when up to date), and the
//! bundled example's source package, with the debian/ that the installed
//! `venvdeb init` writes (`Build-Depends: dh-sequence-venvdeb`), is built
//! with `dpkg-buildpackage -us -uc -b` (build dependencies checked).
//!
//! Each release runs in a fresh copy of the cached chroot tarball of
//! `scripts/chroot.sh` (mmdebstrap from Debian's archive), without network;
//! the host lends it read-only nothing but venvdeb's .deb, the example's
//! source tree and the wheel-list signer's public key — no /usr/local, no
//! cargo, no checkout, no test binary. `tests/chroot_support/dh.sh` then, in
//! the chroot: `apt-get install ./venvdeb_….deb`; on trixie, lintian on it
//! (printed; errors fail); `venvdeb init`; dpkg-buildpackage twice, the
//! second time from another path under umask 077, another TZ and locale, one
//! CPU and a faked clock, with the same bytes; the package installs, demoapp
//! runs, its purge leaves the file system as it was; `apt-get remove --purge
//! venvdeb` leaves the file system as it was before venvdeb.
//!
//! Needs root and, the first time, Debian's archive (the tarballs are then
//! cached). It fails — never skips — when a chroot cannot be made.
mod common;
mod dh_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use common::{ok, repo, scratch};

/// venvdeb's own .deb, made by scripts/make-deb.sh once for both tests, in
/// a directory of its own under the target directory.
fn venvdeb_deb() -> &'static Path {
    static DEB: OnceLock<PathBuf> = OnceLock::new();
    DEB.get_or_init(|| {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("chroot_dh-deb");
        let _ = std::fs::remove_dir_all(&out);
        let start = Instant::now();
        let mut c = Command::new("sh");
        c.arg(repo().join("scripts/make-deb.sh"))
            .arg("--output-dir")
            .arg(&out)
            .current_dir(repo())
            .env_remove("SOURCE_DATE_EPOCH");
        common::without_cargo_test_env(&mut c);
        let stdout = ok(&mut c);
        let deb = PathBuf::from(
            stdout
                .split_whitespace()
                .last()
                .unwrap_or_else(|| panic!("make-deb.sh printed nothing")),
        );
        assert!(deb.is_file(), "make-deb.sh: no .deb at {}", deb.display());
        eprintln!(
            "chroot_dh: scripts/make-deb.sh in {:.1} s: {}",
            start.elapsed().as_secs_f64(),
            deb.display()
        );
        deb
    })
}

fn clean_chroot_build(release: &str, extra: &[&str], script_args: &[&str]) {
    let start = Instant::now();
    let deb = venvdeb_deb();
    let tar = common::chroot_tarball(release, extra);
    let s = scratch();
    // Only what the chroot may see: the .deb alone in a directory, and the
    // source tree with the key beside it.
    let debdir = s.path().join("deb");
    std::fs::create_dir(&debdir).unwrap();
    std::fs::copy(deb, debdir.join(deb.file_name().unwrap())).unwrap();
    let src = s.path().join("src");
    std::fs::create_dir(&src).unwrap();
    dh_support::example_source(&src);
    std::fs::copy(
        repo().join("fixtures/keys/test-key-a.public.asc"),
        src.join("signing-key.asc"),
    )
    .unwrap();
    let ro = |host: &Path, inside: &str| {
        [
            "--ro-bind".to_string(),
            format!("{}:{inside}", host.display()),
        ]
    };
    let out = Command::new("sh")
        .arg(repo().join("scripts/chroot.sh"))
        .args(["run", &tar, "--no-net"])
        .args(ro(&debdir, "/in/deb"))
        .args(ro(&src, "/in/src"))
        .args(ro(&repo().join("tests/chroot_support"), "/oracle"))
        .args(["--", "sh", "/oracle/dh.sh", release])
        .args(script_args)
        .output()
        .expect("run scripts/chroot.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "clean-chroot build in {release} failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains(": same bytes")
            && stdout.contains(&format!("dh: {release} ok: demoapp_1.0.0-1_")),
        "{stdout}"
    );
    eprintln!(
        "{stdout}chroot_dh: {release} in {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

#[test]
fn bookworm_apt_installs_venvdeb_deb_and_dpkg_buildpackage_builds_example() {
    clean_chroot_build("bookworm", &[], &[]);
}

/// trixie's chroot has lintian too (a tarball of its own): the newer lintian
/// checks venvdeb's .deb.
#[test]
fn trixie_apt_installs_venvdeb_deb_lintian_and_dpkg_buildpackage_builds_example() {
    clean_chroot_build("trixie", &["lintian"], &["--lintian"]);
}
