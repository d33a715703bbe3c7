//! Helpers for the debhelper tests: run `dh`, `dh_venvdeb` and
//! dpkg-buildpackage with the addon and dh_venvdeb taken from this
//! repository and venvdeb from the test build (nothing installed into the
//! system).
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Lay out `Debian/Debhelper/Sequence/venvdeb.pm` below `dir` (a symlink
/// to the repository's addon) and return `dir`, for PERL5LIB.
pub fn perl5lib(dir: &Path) -> PathBuf {
    let seq = dir.join("Debian/Debhelper/Sequence");
    fs::create_dir_all(&seq).unwrap();
    let link = seq.join("venvdeb.pm");
    if fs::symlink_metadata(&link).is_err() {
        std::os::unix::fs::symlink(
            crate::common::repo().join("debian-templates/debhelper/venvdeb.pm"),
            &link,
        )
        .unwrap();
    }
    dir.to_path_buf()
}

/// PATH with dh_venvdeb (repository) and venvdeb (test build) first.
pub fn path() -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_venvdeb"))
        .parent()
        .unwrap()
        .to_path_buf();
    format!(
        "{}:{}:{}",
        crate::common::repo()
            .join("debian-templates/debhelper")
            .display(),
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Set PATH and PERL5LIB (below `scratch`) on a command.
pub fn dh_env<'a>(c: &'a mut Command, scratch: &Path) -> &'a mut Command {
    c.env("PATH", path())
        .env("PERL5LIB", perl5lib(&scratch.join("perl5lib")))
        .env_remove("DH_VERBOSE")
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("DEB_BUILD_OPTIONS")
        .env_remove("MAKEFLAGS")
        .env_remove("VENVDEB")
}

/// The example's application metadata, as its source tree would carry it
/// (the bundled example ships the wheel, not a pyproject.toml).
pub const EXAMPLE_PYPROJECT: &str = r#"[project]
name = "demoapp"
version = "1.0.0"
description = "demo application in a virtualenv"
license = "GPL-2.0-or-later"
authors = [{ name = "Demo Maintainer", email = "demo@example.org" }]

[project.scripts]
demoapp = "demoapp.cli:main"
"#;

/// A source tree for the example at `dir/demoapp-1.0.0`, ready for
/// `venvdeb init`: the example's wheels and signed list plus a
/// pyproject.toml, without its own debian/ (a changelog for `venvdeb
/// build`) and build configuration, which are not part of a dh source
/// package.
pub fn example_source(dir: &Path) -> PathBuf {
    let src = dir.join("demoapp-1.0.0");
    crate::common::ok(
        Command::new("cp")
            .arg("-a")
            .arg(crate::common::repo().join("example"))
            .arg(&src),
    );
    let _ = fs::remove_dir_all(src.join("debian"));
    let _ = fs::remove_file(src.join("venvdeb.toml"));
    if !src.join("pyproject.toml").exists() {
        fs::write(src.join("pyproject.toml"), EXAMPLE_PYPROJECT).unwrap();
    }
    src
}

/// Every `sha256=` line of every RECORD of the venv at `prefix` in the
/// unpacked package `root` must match the file's bytes: nothing in the dh
/// sequence altered a wheel's file. Returns how many files were checked.
pub fn check_records(root: &Path, prefix: &str) -> usize {
    let lib = root.join(prefix.trim_start_matches('/')).join("lib");
    let mut sites: Vec<PathBuf> = fs::read_dir(&lib)
        .unwrap_or_else(|e| panic!("{}: {e}", lib.display()))
        .map(|e| e.unwrap().path().join("site-packages"))
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(sites.len(), 1, "one site-packages under {}", lib.display());
    let site = sites.pop().unwrap();
    let mut checked = 0;
    for e in fs::read_dir(&site).unwrap() {
        let dist = e.unwrap().path();
        if !dist.to_string_lossy().ends_with(".dist-info") {
            continue;
        }
        let record = fs::read_to_string(dist.join("RECORD")).unwrap();
        for line in record.lines() {
            let mut f = line.rsplitn(3, ',');
            let (_size, hash, path) = (f.next(), f.next().unwrap_or(""), f.next().unwrap_or(""));
            let Some(b64) = hash.strip_prefix("sha256=") else {
                continue;
            };
            let file = site.join(path);
            let want = hex_of_urlsafe_b64(b64);
            assert_eq!(
                crate::common::sha256_file(&file),
                want,
                "{} differs from its RECORD after the dh sequence",
                file.display()
            );
            checked += 1;
        }
    }
    checked
}

fn hex_of_urlsafe_b64(s: &str) -> String {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = ALPHA.iter().position(|&a| a == c).expect("base64url") as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    out.iter().map(|b| format!("{b:02x}")).collect()
}

/// lintian on a .deb reports no error and no warning (overrides apply).
pub fn assert_lintian_clean(deb: &Path) {
    let out = crate::common::run(Command::new("lintian").arg(deb));
    let report = String::from_utf8_lossy(&out.stdout);
    let bad: Vec<&str> = report
        .lines()
        .filter(|l| l.starts_with("E: ") || l.starts_with("W: "))
        .collect();
    assert!(
        bad.is_empty(),
        "lintian {}:\n{report}{}",
        deb.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `dpkg-buildpackage -us -uc -b -d` in `src` (the example's source
/// tree), through `sh -c PRELUDE dpkg-buildpackage …` so that the prelude
/// can set umask, taskset and faketime; `envs` added. It must succeed and
/// run dh_venvdeb. The .deb and the build log.
pub fn dpkg_buildpackage(
    src: &Path,
    scratch: &Path,
    prelude: &str,
    envs: &[(&str, &str)],
) -> (PathBuf, String) {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(format!("{prelude} dpkg-buildpackage -us -uc -b -d"))
        .current_dir(src);
    dh_env(&mut c, scratch);
    for (k, v) in envs {
        c.env(k, v);
    }
    let out = crate::common::run(&mut c);
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
    assert!(log.contains("dh_venvdeb"), "dh_venvdeb did not run:\n{log}");
    let deb = src.parent().unwrap().join(crate::common::example_deb());
    assert!(deb.is_file(), "{} not built:\n{log}", deb.display());
    (deb, log)
}

/// Create the directory `p` (and its parents) and return it.
pub fn mkdir(p: PathBuf) -> PathBuf {
    fs::create_dir_all(&p).unwrap();
    p
}

/// `dpkg-deb -x DEB DIR`; returns DIR.
pub fn unpack(deb: &Path, dir: PathBuf) -> PathBuf {
    crate::common::ok(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&dir));
    dir
}

/// `example_source` plus the debian/ that `venvdeb init` (the program
/// `init`, e.g. the test build or an installed /usr/bin/venvdeb) writes,
/// with the signers' key as an armored file in debian/upstream/, the way a
/// packager ships it.
pub fn example_source_with_debian(dir: &Path, mut init: Command) -> PathBuf {
    let src = example_source(dir);
    let _ = fs::remove_file(src.join("keyring.gpg"));
    crate::common::ok(
        init.args(["init", ".", "--import-key"])
            .arg(crate::common::repo().join("fixtures/keys/test-key-a.public.asc"))
            .current_dir(&src)
            .env("DEBFULLNAME", "Demo Maintainer")
            .env("DEBEMAIL", "demo@example.org")
            .env("SOURCE_DATE_EPOCH", "1704067200"),
    );
    src
}
