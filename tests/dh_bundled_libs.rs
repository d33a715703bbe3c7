//! `dh --with venvdeb` on a wheel that bundles two libraries the way
//! auditwheel does (`<dist>.libs/`, no RPATH on the libraries), one needing
//! the other: dpkg-shlibdeps does not search a bundled library's own
//! directory, so without the addon's `dh_shlibdeps -l` the build fails with
//! "cannot find library" (as it did on the large benchmark set: scipy's
//! libgfortran needs its libquadmath). With it, the build succeeds and
//! `${shlibs:Depends}` has what the bundled libraries themselves link
//! against (zlib1g here, which no other file of the package needs: it
//! would be lost by excluding `*.libs/` from dh_shlibdeps instead). Built
//! twice, from two directories under different umask, time zone and
//! locale: the same bytes.
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
use dh_support::dh_env;

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
    ok(Command::new("/usr/bin/python3")
        .args(["-c", MAKE_WHEEL])
        .arg(&wheel)
        .arg(build)
        .arg(format!("py3-none-linux_{machine}"))
        .args([a, b]));
    wheel
}

/// argv: wheel, build dir, tag, bundled library file names.
const MAKE_WHEEL: &str = r#"
import base64, hashlib, os, sys, zipfile
out, build, tag, libs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
def read(n):
    with open(os.path.join(build, n), "rb") as f:
        return f.read()
files = [("vendlib/__init__.py", b"", 0o644), ("vendlib/_core.so", read("_core.so"), 0o755)]
files += [("vendlib.libs/" + n, read(n), 0o755) for n in libs]
files += [
    ("vendlib-1.0.dist-info/METADATA", b"Metadata-Version: 2.1\nName: vendlib\nVersion: 1.0\n", 0o644),
    ("vendlib-1.0.dist-info/WHEEL",
     ("Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: %s\n" % tag).encode(), 0o644),
]
record = []
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for name, data, mode in files:
        info = zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0))
        info.external_attr = mode << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (name, digest, len(data)))
    record.append("vendlib-1.0.dist-info/RECORD,,")
    info = zipfile.ZipInfo("vendlib-1.0.dist-info/RECORD", (2024, 1, 1, 0, 0, 0))
    info.external_attr = 0o644 << 16
    z.writestr(info, "\n".join(record) + "\n")
"#;

/// `dpkg-buildpackage -us -uc -b -d` in `src` (through `sh -c PRELUDE
/// dpkg-buildpackage …`); the .deb and the build log.
fn build(src: &Path, scratch: &Path, prelude: &str, envs: &[(&str, &str)]) -> (PathBuf, String) {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(format!("{prelude} dpkg-buildpackage -us -uc -b -d"))
        .current_dir(src);
    dh_env(&mut c, scratch);
    for (k, v) in envs {
        c.env(k, v);
    }
    let out = run(&mut c);
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "dpkg-buildpackage failed in {}:\n{log}",
        src.display()
    );
    (src.parent().unwrap().join(example_deb()), log)
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
    let (deb_a, log) = build(
        &src_a,
        tmp.path(),
        "umask 022; exec",
        &[("TZ", "UTC"), ("LC_ALL", "C")],
    );
    assert!(
        log.contains(&format!("-l{site}/")) && log.contains("vendlib.libs"),
        "dh_shlibdeps was not given the bundled libraries' directory:\n{log}"
    );
    let (deb_b, _) = build(
        &b.join("demoapp-1.0.0"),
        tmp.path(),
        "umask 077; exec",
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
