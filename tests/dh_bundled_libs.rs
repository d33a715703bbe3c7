//! `dh --with venvdeb` on a wheel that bundles two libraries the way
//! auditwheel does (`<dist>.libs/`, no RPATH on the libraries), one needing
//! the other: dpkg-shlibdeps does not search a bundled library's own
//! directory, so without the addon's `dh_shlibdeps -l` the build fails with
//! "cannot find library" (as it did on the large benchmark set: scipy's
//! libgfortran needs its libquadmath). With it, the build succeeds and
//! `${shlibs:Depends}` has what the bundled libraries themselves link
//! against (zlib1g here, which no other file of the package needs: it
//! would be lost by excluding `*.libs/` from dh_shlibdeps instead). Built
//! twice, from two directories under different umask, time zone, locale
//! and CPU set: the same bytes.
//!
//! The libraries are compiled here with gcc; the wheel is written by
//! /usr/bin/python3's zipfile with its RECORD, added to a copy of the
//! bundled example, locked and signed with the TEST-ONLY key a.
mod common;
mod dh_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// gcc, in `dir`.
fn cc(dir: &Path, args: &[&str]) {
    ok(Command::new("gcc").args(args).current_dir(dir));
}

/// The wheel `vendlib-1.0-py3-none-linux_<machine>.whl` in `wheelhouse`,
/// from the ELF files compiled in `build`: `vendlib/_core.so` (RUNPATH
/// `$ORIGIN/../vendlib.libs`) needs `libvenda-…`, which needs `libvendb-…`
/// (no RUNPATH), which needs the system's libz.
fn make_wheel(build: &Path, wheelhouse: &Path) -> PathBuf {
    fs::write(
        build.join("b.c"),
        "#include <zlib.h>\nint vb(void) { return zlibVersion()[0]; }\n",
    )
    .unwrap();
    fs::write(
        build.join("a.c"),
        "int vb(void);\nint va(void) { return vb() + 1; }\n",
    )
    .unwrap();
    fs::write(
        build.join("core.c"),
        "int va(void);\nint core(void) { return va(); }\n",
    )
    .unwrap();
    let b = "libvendb-1a2b3c4d.so.1.0.0";
    let a = "libvenda-5e6f7a8b.so.1.0.0";
    cc(
        build,
        &[
            "-shared",
            "-fPIC",
            "-O2",
            "-Wl,-soname,libvendb-1a2b3c4d.so.1.0.0",
            "-o",
            b,
            "b.c",
            "-lz",
        ],
    );
    cc(
        build,
        &[
            "-shared",
            "-fPIC",
            "-O2",
            "-Wl,-soname,libvenda-5e6f7a8b.so.1.0.0",
            "-o",
            a,
            "a.c",
            &format!("-l:{b}"),
            "-L.",
        ],
    );
    cc(
        build,
        &[
            "-shared",
            "-fPIC",
            "-O2",
            "-Wl,-rpath,$ORIGIN/../vendlib.libs",
            "-o",
            "_core.so",
            "core.c",
            &format!("-l:{a}"),
            "-L.",
        ],
    );
    let machine = ok(Command::new("uname").arg("-m")).trim().to_string();
    let wheel = wheelhouse.join(format!("vendlib-1.0-py3-none-linux_{machine}.whl"));
    let read = |n: &str| fs::read(build.join(n)).unwrap();
    let (core, lib_a, lib_b) = (read("_core.so"), read(a), read(b));
    let wheel_meta = format!(
        "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: py3-none-linux_{machine}\n"
    );
    let la = format!("vendlib.libs/{a}");
    let lb = format!("vendlib.libs/{b}");
    write_wheel(
        &wheel,
        "vendlib-1.0.dist-info",
        &[
            ("vendlib/__init__.py", b"", 0o644),
            ("vendlib/_core.so", &core, 0o755),
            (&la, &lib_a, 0o755),
            (&lb, &lib_b, 0o755),
            (
                "vendlib-1.0.dist-info/METADATA",
                b"Metadata-Version: 2.1\nName: vendlib\nVersion: 1.0\n",
                0o644,
            ),
            ("vendlib-1.0.dist-info/WHEEL", wheel_meta.as_bytes(), 0o644),
        ],
    );
    wheel
}

#[test]
fn bundled_libraries_that_need_each_other_are_found_by_dh_shlibdeps() {
    let tmp = scratch();
    let a = dh_support::mkdir(tmp.path().join("a"));
    let src_a = dh_support::example_source_with_debian(&a, venvdeb());
    let cbuild = dh_support::mkdir(tmp.path().join("cc"));
    let wheel = make_wheel(&cbuild, &src_a.join("wheelhouse"));
    let mut lock = fs::read_to_string(src_a.join("requirements.txt")).unwrap();
    lock.push_str(&format!(
        "vendlib==1.0 \\\n    --hash=sha256:{}\n",
        sha256_file(&wheel)
    ));
    fs::write(src_a.join("requirements.txt"), lock).unwrap();
    resign(&src_a);

    // What the addon tells dh_shlibdeps, asked the way it asks.
    let dirs = ok(venvdeb()
        .args(["debhelper", "library-dirs", "demoapp=debian/venvdeb.toml"])
        .current_dir(&src_a));
    let site = format!("/opt/venvs/demoapp/lib/python{}/site-packages", py_short());
    assert!(
        dirs.lines().any(|l| l == format!("{site}/vendlib.libs")),
        "{dirs}"
    );

    let b = dh_support::mkdir(tmp.path().join("elsewhere/b"));
    ok(Command::new("cp")
        .arg("-a")
        .arg(&src_a)
        .arg(b.join("demoapp-1.0.0")));
    let (deb_a, log) = dh_support::dpkg_buildpackage(
        &src_a,
        tmp.path(),
        "umask 022; exec",
        &[("TZ", "UTC"), ("LC_ALL", "C")],
    );
    assert!(
        log.contains(&format!("-l{site}/")) && log.contains("vendlib.libs"),
        "dh_shlibdeps was not given the bundled libraries' directory:\n{log}"
    );
    let (deb_b, _) = dh_support::dpkg_buildpackage(
        &b.join("demoapp-1.0.0"),
        tmp.path(),
        "umask 077; exec taskset -c 0",
        &[("TZ", "Asia/Tokyo"), ("LC_ALL", "C.UTF-8")],
    );
    assert_eq!(
        sha256_file(&deb_a),
        sha256_file(&deb_b),
        "the two builds differ"
    );

    // The bundled libraries are in the package, unchanged (RECORD), and
    // their own dependency made it to Depends.
    let root = dh_support::unpack(&deb_a, tmp.path().join("unpacked"));
    let libs = root.join(site.trim_start_matches('/')).join("vendlib.libs");
    assert!(libs.join("libvendb-1a2b3c4d.so.1.0.0").is_file());
    assert!(dh_support::check_records(&root, "/opt/venvs/demoapp") > 0);
    let depends = ok(Command::new("dpkg-deb")
        .args(["-f"])
        .arg(&deb_a)
        .arg("Depends"));
    assert!(depends.contains("zlib1g"), "Depends: {depends}");
    // …and only through the bundled library: no other ELF file of the
    // package needs libz.
    let others = ok(Command::new("sh")
        .arg("-c")
        .arg("find . -name '*.so*' -type f ! -path '*/vendlib.libs/*' -exec readelf -d {} + | grep NEEDED || true")
        .current_dir(&root));
    assert!(!others.contains("libz.so"), "{others}");
}
