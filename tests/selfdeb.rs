//! venvdeb's own Debian package, as scripts/make-deb.sh builds it:
//!
//! - built twice with the same bytes: the second time from a copy of the
//!   checkout at another, longer path, under umask 077, another time zone
//!   and locale and one CPU (`taskset -c 0`), packaging the first run's
//!   executable (`--binary`: one release build per test run; the Rust
//!   build's own independence of the checkout path and CARGO_HOME is what
//!   its --remap-path-prefix flags give, checked by hand in
//!   docs/debhelper.md);
//! - lintian: no error or warning (the overrides it ships apply);
//! - `apt-get install ./venvdeb_….deb` on this host, then
//!   `dpkg-buildpackage -us -uc -b` (without -d: the build dependencies are
//!   checked) of the bundled example with `Build-Depends:
//!   dh-sequence-venvdeb`, using nothing but the installed package: PATH is
//!   /usr/bin:/bin (no /usr/local, no checkout), no PERL5LIB, no VENVDEB;
//!   `venvdeb init` is the installed one and reads its templates from
//!   /usr/share/venvdeb. The example's venv gets a prefix outside
//!   /opt/venvs, set with TOML dotted keys: every wheel file still matches
//!   its RECORD and the .so modules keep their mode in the built package,
//!   so the addon kept dh_strip, dh_fixperms & co. off it; the package
//!   installs and runs;
//! - purge, pass or fail, and nothing of either package is left.
//!
//! faketime is not among the variations: rustc and cargo hang under
//! libfaketime, and make-deb.sh takes every timestamp from
//! SOURCE_DATE_EPOCH (the last commit's time here).
mod common;
mod dh_support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

const PREFIX: &str = "/srv/venvs/demoapp";

/// Purges both packages when dropped, so that a failing test leaves no trace.
struct Purge;
impl Drop for Purge {
    fn drop(&mut self) {
        let _ = apt_get(&["purge", "-y", "demoapp", "venvdeb"]).output();
    }
}

/// apt-get, waiting for the dpkg lock (other tests on this machine may hold
/// it) instead of failing at once.
fn apt_get(args: &[&str]) -> Command {
    let mut c = Command::new("apt-get");
    c.args(["-o", "DPkg::Lock::Timeout=600"])
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive");
    c
}

/// scripts/make-deb.sh of the checkout `tree` into `out`; the .deb's path.
fn make_deb(
    tree: &Path,
    out: &Path,
    prelude: &str,
    extra: &[&str],
    envs: &[(&str, &str)],
) -> PathBuf {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(format!("{prelude} \"$@\""))
        .arg("sh")
        .arg(tree.join("scripts/make-deb.sh"))
        .arg("--output-dir")
        .arg(out)
        .args(extra)
        .current_dir(tree)
        .env_remove("SOURCE_DATE_EPOCH");
    common::without_cargo_test_env(&mut c);
    for (k, v) in envs {
        c.env(k, v);
    }
    let stdout = ok(&mut c);
    let path = stdout
        .split_whitespace()
        .last()
        .unwrap_or_else(|| panic!("make-deb.sh printed nothing"));
    let deb = PathBuf::from(path);
    assert!(deb.is_file(), "{stdout}");
    deb
}

/// The executable make-deb.sh builds (and reuses when up to date).
fn built_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"));
    target.join("make-deb/release/venvdeb")
}

/// A copy of the checkout (with .git, for SOURCE_DATE_EPOCH; without
/// target/) at `dst`.
fn copy_checkout(dst: &Path) {
    fs::create_dir_all(dst).unwrap();
    ok(Command::new("sh").arg("-c").arg(format!(
        "tar -C '{}' --exclude=./target -cf - . | tar -C '{}' -xf -",
        repo().display(),
        dst.display()
    )));
}

#[test]
fn make_deb_twice_identical_lintian_clean_installs_builds_example_and_purges() {
    let tmp = scratch();
    let arch = deb_arch();
    let version = env!("CARGO_PKG_VERSION");
    let name = format!("venvdeb_{version}-1_{}.deb", arch.trim());

    // 1. Twice, the same bytes.
    let a = tmp.path().join("a");
    let deb_a = make_deb(
        &repo(),
        &a,
        "umask 022; exec",
        &[],
        &[("TZ", "UTC"), ("LC_ALL", "C")],
    );
    assert_eq!(deb_a.file_name().unwrap().to_string_lossy(), name);
    let other = tmp.path().join("elsewhere/with/a/longer/path/venvdeb");
    copy_checkout(&other);
    let b = tmp.path().join("b");
    let binary = built_binary();
    let deb_b = make_deb(
        &other,
        &b,
        "umask 077; exec taskset -c 0",
        &["--binary", binary.to_str().unwrap()],
        &[("TZ", "Pacific/Kiritimati"), ("LC_ALL", "C.UTF-8")],
    );
    assert_eq!(
        sha256_file(&deb_a),
        sha256_file(&deb_b),
        "make-deb.sh gave different bytes:\n{}\n{}",
        ok(Command::new("dpkg-deb").arg("-c").arg(&deb_a)),
        ok(Command::new("dpkg-deb").arg("-c").arg(&deb_b))
    );

    // What the package says and holds.
    let fields = ok(Command::new("dpkg-deb").arg("-f").arg(&deb_a));
    assert!(
        fields.contains(&format!("Version: {version}-1\n")),
        "{fields}"
    );
    assert!(
        fields.contains("Provides: dh-sequence-venvdeb\n"),
        "{fields}"
    );
    let depends = fields
        .lines()
        .find_map(|l| l.strip_prefix("Depends: "))
        .unwrap_or_else(|| panic!("no Depends:\n{fields}"));
    for lib in [
        "libc6 (>= ",
        "liblzma5",
        "libzstd1",
        "zlib1g",
        "debhelper (>= 13)",
    ] {
        assert!(depends.contains(lib), "{lib} not in Depends: {depends}");
    }
    let list = ok(Command::new("dpkg-deb").arg("-c").arg(&deb_a));
    for want in [
        "./usr/bin/venvdeb",
        "./usr/bin/dh_venvdeb",
        "./usr/bin/dh_venvdeb_provenance",
        "./usr/share/perl5/Debian/Debhelper/Sequence/venvdeb.pm",
        "./usr/share/debhelper/autoscripts/postinst-venvdeb",
        "./usr/share/debhelper/autoscripts/prerm-venvdeb",
        "./usr/share/venvdeb/debian-templates/control",
        "./usr/share/man/man1/venvdeb.1.gz",
        "./usr/share/man/man1/dh_venvdeb.1.gz",
        "./usr/share/man/man1/dh_venvdeb_provenance.1.gz",
        "./usr/share/man/man1/venvdeb-provenance.1.gz",
        "./usr/share/doc/venvdeb/copyright",
        "./usr/share/doc/venvdeb/changelog.Debian.gz",
        "./usr/share/lintian/overrides/venvdeb",
    ] {
        assert!(
            list.lines().any(|l| l.ends_with(&format!(" {want}"))),
            "{want} missing:\n{list}"
        );
    }
    let unpacked = dh_support::unpack(&deb_a, tmp.path().join("unpacked"));
    let copyright = fs::read_to_string(unpacked.join("usr/share/doc/venvdeb/copyright")).unwrap();
    assert!(copyright.starts_with(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
    ));
    for crate_ in [
        "Files: cargo-vendor/pgp-",
        "Files: cargo-vendor/xz2-",
        "Files: cargo-vendor/zstd-",
    ] {
        assert!(copyright.contains(crate_), "{crate_} not listed");
    }
    // No build path, checkout or CARGO_HOME in the executable.
    let exe = fs::read(unpacked.join("usr/bin/venvdeb")).unwrap();
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo"));
    for needle in [repo(), other.clone(), home] {
        let n = needle.to_string_lossy().into_owned();
        assert!(
            !exe.windows(n.len()).any(|w| w == n.as_bytes()),
            "{n} in /usr/bin/venvdeb"
        );
    }

    // 2. lintian: nothing but what the shipped overrides cover.
    dh_support::assert_lintian_clean(&deb_a);

    // 3. Install it, build the example with it alone, install that, purge.
    let _lock = DPKG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let before = run(Command::new("dpkg-query").args(["-W", "-f", "${Status}", "venvdeb"]));
    assert!(
        !String::from_utf8_lossy(&before.stdout).contains("installed"),
        "a venvdeb package is installed already; this test would purge it"
    );
    let _purge = Purge;
    ok(apt_get(&["install", "-y", "--no-install-recommends"]).arg(&deb_a));
    let clean_env = |c: &mut Command| {
        c.env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("HOME", tmp.path())
            .env("LC_ALL", "C.UTF-8");
    };
    let mut init = Command::new("/usr/bin/venvdeb");
    clean_env(&mut init);
    let src = dh_support::example_source_with_debian(
        &dh_support::mkdir(tmp.path().join("example")),
        init,
    );
    let control = fs::read_to_string(src.join("debian/control")).unwrap();
    assert!(control.contains("dh-sequence-venvdeb"), "{control}");
    // The venv's configuration in dotted keys, with a prefix outside
    // /opt/venvs/: only venvdeb's own TOML reading gives the addon that -X.
    fs::write(
        src.join("debian/venvdeb.toml"),
        format!(
            "inputs.wheelhouse = \"wheelhouse\"\ninputs.lock = \"requirements.txt\"\n\
             inputs.sums = \"sha256sums.txt\"\ninputs.signature = \"sha256sums.txt.asc\"\n\
             inputs.keyring = \"debian/upstream/wheels-signing-key.asc\"\n\
             venv.python = \"/usr/bin/python3\"\nvenv.prefix = \"{PREFIX}\"\nvenv.expose = [\"demoapp\"]\n"
        ),
    )
    .unwrap();
    let mut build = Command::new("dpkg-buildpackage");
    clean_env(&mut build);
    let out = run(build.args(["-us", "-uc", "-b"]).current_dir(&src));
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "dpkg-buildpackage failed:\n{log}");
    assert!(log.contains("dh_venvdeb"), "dh_venvdeb did not run:\n{log}");
    assert!(
        log.contains(&format!("-X{PREFIX}/")),
        "no -X{PREFIX}/ in the sequence:\n{log}"
    );
    let app = src
        .parent()
        .unwrap()
        .join(format!("demoapp_1.0.0-1_{}.deb", arch.trim()));
    let app_root = dh_support::unpack(&app, tmp.path().join("app"));
    let checked = dh_support::check_records(&app_root, PREFIX);
    assert!(checked > 50, "only {checked} RECORD entries checked");
    let so = ok(Command::new("find")
        .arg(app_root.join(PREFIX.trim_start_matches('/')))
        .args(["-name", "*.so", "-type", "f"]));
    assert!(so.lines().count() >= 2, "no compiled modules:\n{so}");
    for f in so.lines() {
        let mode = fs::metadata(f).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o755, "{f}: dh_fixperms changed its mode");
    }
    assert!(!app_root.join("opt").exists(), "files under /opt");
    let postinst = ok(Command::new("dpkg-deb").arg("-I").arg(&app).arg("postinst"));
    assert!(postinst.contains(&format!("'{PREFIX}'\n")), "{postinst}");
    ok(apt_get(&["install", "-y", "--no-install-recommends"]).arg(&app));
    let out = ok(Command::new("/usr/bin/demoapp").current_dir("/"));
    assert!(!out.trim().is_empty(), "demoapp printed nothing");

    // 4. Purge both: nothing of either is left.
    ok(&mut apt_get(&["purge", "-y", "demoapp", "venvdeb"]));
    assert!(!Path::new(PREFIX).exists(), "{PREFIX} left behind");
    for line in list.lines() {
        let path = line
            .split_whitespace()
            .last()
            .unwrap()
            .trim_start_matches('.');
        let owned = path.contains("venvdeb") || path.ends_with("/dh_venvdeb");
        if owned {
            assert!(
                fs::symlink_metadata(path).is_err(),
                "{path} left behind after purge"
            );
        }
    }
}
