//! scripts/install.sh into a temporary --prefix: what it installs, that a
//! second run changes nothing, that the installed dh finds the addon and
//! dh_venvdeb finds the venvdeb beside it, and that --uninstall removes
//! every file it installed.
mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::*;

fn install(prefix: &Path, extra: &[&str]) -> String {
    ok(Command::new("sh")
        .arg(repo().join("scripts/install.sh"))
        .arg("--prefix")
        .arg(prefix)
        .arg("--binary")
        .arg(env!("CARGO_BIN_EXE_venvdeb"))
        .args(extra))
}

/// (relative path, sha256, mode) of every file under `dir`, sorted.
fn files(dir: &Path) -> Vec<(String, String, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((rel, sha256_file(&p), m.permissions().mode() & 0o7777));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn install_is_idempotent_and_uninstall_removes_it_all() {
    let tmp = scratch();
    let prefix = tmp.path().join("prefix");
    install(&prefix, &[]);
    let first = files(&prefix);
    let names: Vec<&str> = first.iter().map(|f| f.0.as_str()).collect();
    for want in [
        "bin/venvdeb",
        "bin/dh_venvdeb",
        "bin/dh_venvdeb_provenance",
        "share/perl5/Debian/Debhelper/Sequence/venvdeb.pm",
        "share/man/man1/venvdeb.1",
        "share/man/man1/venvdeb-init.1",
        "share/man/man1/venvdeb-stage.1",
        "share/man/man1/dh_venvdeb.1",
        "share/man/man1/dh_venvdeb_provenance.1",
        "share/man/man1/venvdeb-provenance.1",
        "share/venvdeb/installed-files",
        "share/debhelper/autoscripts/postinst-venvdeb",
        "share/debhelper/autoscripts/prerm-venvdeb",
        "share/venvdeb/debian-templates/control",
        "share/venvdeb/debian-templates/source/format",
    ] {
        assert!(names.contains(&want), "{want} not installed: {names:?}");
    }
    let mode = |n: &str| first.iter().find(|f| f.0 == n).unwrap().2;
    assert_eq!(mode("bin/venvdeb"), 0o755);
    assert_eq!(mode("bin/dh_venvdeb"), 0o755);
    assert_eq!(mode("share/man/man1/dh_venvdeb.1"), 0o644);
    assert_eq!(
        sha256_file(&prefix.join("bin/venvdeb")),
        sha256_file(Path::new(env!("CARGO_BIN_EXE_venvdeb")))
    );
    // The manifest lists exactly the installed files.
    let manifest = fs::read_to_string(prefix.join("share/venvdeb/installed-files")).unwrap();
    let mut listed: Vec<String> = manifest
        .lines()
        .map(|l| {
            l.strip_prefix(&format!("{}/", prefix.display()))
                .unwrap()
                .to_string()
        })
        .collect();
    listed.sort();
    assert_eq!(listed, names);

    // The man pages render.
    let page = ok(Command::new("man")
        .arg("-l")
        .arg(prefix.join("share/man/man1/dh_venvdeb.1"))
        .env("MANWIDTH", "80"));
    assert!(
        page.contains("dh_venvdeb - install a verified Python virtualenv"),
        "{page}"
    );

    // Installed, dh finds the addon (PERL5LIB for a non-standard prefix) and
    // dh_venvdeb the venvdeb beside it.
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(
        src.join("pyproject.toml"),
        "[project]\nname = \"x-app\"\nversion = \"1\"\n",
    )
    .unwrap();
    ok(Command::new(prefix.join("bin/venvdeb"))
        .args(["init", "."])
        .current_dir(&src)
        .env("DEBFULLNAME", "T")
        .env("DEBEMAIL", "t@example.org"));
    let path = format!("{}:/usr/bin:/bin", prefix.join("bin").display());
    let out = ok(Command::new("dh")
        .args(["binary", "--with", "venvdeb", "--no-act"])
        .current_dir(&src)
        .env("PATH", &path)
        .env("PERL5LIB", prefix.join("share/perl5")));
    assert!(out.lines().any(|l| l.trim() == "dh_venvdeb"), "{out}");
    let out = ok(Command::new("dh_venvdeb")
        .args(["--no-act", "-v"])
        .current_dir(&src)
        .env("PATH", &path));
    assert!(
        out.contains(&format!(
            "{} stage --config debian/.debhelper/generated/x-app/venvdeb.toml",
            prefix.join("bin/venvdeb").display()
        )),
        "{out}"
    );

    // Again: the same files, the same bytes.
    install(&prefix, &[]);
    assert_eq!(files(&prefix), first);

    // A file the previous install listed but this one does not is removed.
    let stale = prefix.join("share/man/man1/venvdeb-gone.1");
    fs::write(&stale, "old").unwrap();
    fs::write(
        prefix.join("share/venvdeb/installed-files"),
        format!("{manifest}{}\n", stale.display()),
    )
    .unwrap();
    install(&prefix, &[]);
    assert!(!stale.exists());
    assert_eq!(files(&prefix), first);

    install(&prefix, &["--uninstall"]);
    assert_eq!(files(&prefix), Vec::<(String, String, u32)>::new());
    // Uninstalling twice is harmless.
    install(&prefix, &["--uninstall"]);
}

#[test]
fn install_rejects_bad_arguments() {
    let out = run(Command::new("sh")
        .arg(repo().join("scripts/install.sh"))
        .args(["--prefix", "relative/dir"]));
    assert_eq!(out.status.code(), Some(2));
    let out = run(Command::new("sh")
        .arg(repo().join("scripts/install.sh"))
        .arg("--bogus"));
    assert_eq!(out.status.code(), Some(2));
}
