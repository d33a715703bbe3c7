//! `venvdeb init`: the debian/ it writes, its refusal to overwrite, its
//! determinism, its errors; and that `Build-Depends: dh-sequence-venvdeb`
//! and `dh --with venvdeb` load the addon from the repository (PERL5LIB),
//! which orders and configures the sequence.
mod common;
mod dh_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use dh_support::dh_env;

const PYPROJECT: &str = r#"[project]
name = "Demo_App"
version = "2.0rc1"
description = "Small demonstration tool."
license = "MIT"
authors = [{ name = "Upstream Person", email = "up@example.org" }]
[project.scripts]
demo-app = "demo_app:main"
"#;

fn init_cmd(dir: &Path) -> Command {
    let mut c = venvdeb();
    c.arg("init")
        .arg(dir)
        .env("DEBFULLNAME", "Test Maintainer")
        .env("DEBEMAIL", "test@example.org")
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env_remove("NAME")
        .env_remove("EMAIL");
    c
}

fn project(dir: &Path) -> PathBuf {
    let p = dir.join("src");
    fs::create_dir(&p).unwrap();
    fs::write(p.join("pyproject.toml"), PYPROJECT).unwrap();
    p
}

/// Every file below `dir`, relative, with its bytes and mode.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let meta = fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            if meta.is_dir() {
                out.push((rel + "/", Vec::new(), meta.permissions().mode() & 0o7777));
                stack.push(p);
            } else {
                out.push((
                    rel,
                    fs::read(&p).unwrap(),
                    meta.permissions().mode() & 0o7777,
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn init_writes_a_complete_debian_dir() {
    let tmp = scratch();
    let src = project(tmp.path());
    ok(&mut init_cmd(&src));
    let d = src.join("debian");
    let names: Vec<String> = snapshot(&d).into_iter().map(|f| f.0).collect();
    assert_eq!(
        names,
        [
            "changelog",
            "control",
            "copyright",
            "demo-app.1",
            "demo-app.lintian-overrides",
            "demo-app.manpages",
            "rules",
            "source/",
            "source/format",
            "venvdeb.toml"
        ]
    );
    let read = |f: &str| fs::read_to_string(d.join(f)).unwrap();
    let control = read("control");
    assert!(control.contains("Source: demo-app\n"), "{control}");
    assert!(control.contains("Package: demo-app\n"));
    assert!(control.contains("Maintainer: Test Maintainer <test@example.org>\n"));
    assert!(control.contains(
        "Build-Depends: debhelper-compat (= 13), dh-sequence-venvdeb, python3, python3-pip\n"
    ));
    assert!(control.contains("Depends: ${venvdeb:Depends}, ${shlibs:Depends}, ${misc:Depends}\n"));
    assert!(control.contains("Description: Small demonstration tool\n"));
    assert_eq!(
        read("changelog"),
        "demo-app (2.0~rc1-1) UNRELEASED; urgency=medium\n\n  * Initial packaging with venvdeb.\n\n \
         -- Test Maintainer <test@example.org>  Tue, 14 Nov 2023 22:13:20 +0000\n"
    );
    assert_eq!(read("rules"), "#!/usr/bin/make -f\n\n%:\n\tdh $@\n");
    assert_eq!(read("source/format"), "3.0 (quilt)\n");
    assert!(read("copyright")
        .contains("Copyright: 2023 Upstream Person <up@example.org>\nLicense: Expat\n"));
    assert!(read("demo-app.lintian-overrides").contains("dir-or-file-in-opt [opt/venvs/*]"));
    assert!(read("venvdeb.toml").contains("expose = [\"demo-app\"]"));
    assert_eq!(read("demo-app.manpages"), "debian/demo-app.1\n");
    // The changelog parses for dpkg, and the man page for man.
    let v = ok(Command::new("dpkg-parsechangelog")
        .args(["-l", "debian/changelog", "-SVersion"])
        .current_dir(&src));
    assert_eq!(v.trim(), "2.0~rc1-1");
    let m = ok(Command::new("man")
        .arg("-l")
        .arg(d.join("demo-app.1"))
        .env("MANWIDTH", "80"));
    assert!(m.contains("demo-app - Small demonstration tool"), "{m}");
    // Nothing left behind but debian/ and the project.
    let mut top: Vec<String> = fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["debian", "pyproject.toml"]);
}

#[test]
fn init_is_deterministic_and_ignores_umask() {
    let tmp = scratch();
    let a = project(&dh_support::mkdir(tmp.path().join("a")));
    let b = project(&dh_support::mkdir(tmp.path().join("b")));
    ok(&mut init_cmd(&a));
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("umask 077; exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_venvdeb"))
        .arg("init")
        .arg(&b)
        .env("DEBFULLNAME", "Test Maintainer")
        .env("DEBEMAIL", "test@example.org")
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("TZ", "Pacific/Kiritimati")
        .env("LC_ALL", "C.UTF-8");
    ok(&mut c);
    assert_eq!(snapshot(&a.join("debian")), snapshot(&b.join("debian")));
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let tmp = scratch();
    let src = project(tmp.path());
    fs::create_dir(src.join("debian")).unwrap();
    fs::write(src.join("debian/keep-me"), "mine").unwrap();
    let out = run(&mut init_cmd(&src));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(src.join("debian/keep-me")).unwrap(),
        "mine"
    );
    assert_eq!(fs::read_dir(src.join("debian")).unwrap().count(), 1);

    ok(init_cmd(&src).arg("--force"));
    assert!(!src.join("debian/keep-me").exists());
    assert!(src.join("debian/control").is_file());
    assert_eq!(
        fs::read_dir(&src).unwrap().count(),
        2,
        "temporary directories left behind"
    );
}

#[test]
fn init_errors_write_nothing() {
    let tmp = scratch();
    let src = project(tmp.path());
    // No maintainer.
    let out = run(init_cmd(&src)
        .env_remove("DEBEMAIL")
        .env_remove("DEBFULLNAME"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("DEBEMAIL"));
    // A name that is no Debian package name.
    let out = run(init_cmd(&src).args(["--name", "Bad_Name"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("\"Bad_Name\" is not a valid Debian package name"));
    // Malformed pyproject.toml, and none at all.
    fs::write(src.join("pyproject.toml"), "[project\nname=").unwrap();
    let out = run(&mut init_cmd(&src));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pyproject.toml"));
    let empty = dh_support::mkdir(tmp.path().join("empty"));
    let out = run(&mut init_cmd(&empty));
    assert_eq!(out.status.code(), Some(2));
    // A malformed SOURCE_DATE_EPOCH is an error, not the current time.
    fs::write(src.join("pyproject.toml"), PYPROJECT).unwrap();
    let out = run(init_cmd(&src).env("SOURCE_DATE_EPOCH", "soon"));
    assert_eq!(out.status.code(), Some(2));
    for d in [&src, &empty] {
        let names: Vec<_> = fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(names.iter().all(|n| n == "pyproject.toml"), "{names:?}");
    }
}

#[test]
fn dh_sequence_runs_dh_venvdeb_and_protects_the_venv() {
    let tmp = scratch();
    let src = project(tmp.path());
    ok(&mut init_cmd(&src));
    // Other packages with their own venvs and custom prefixes, spelled as a
    // top-level dotted key and as an inline table: the addon asks venvdeb,
    // which reads TOML as TOML.
    let inputs =
        "wheelhouse = \"w\"\nlock = \"l\"\nsums = \"s\"\nsignature = \"s.asc\"\nkeyring = \"k\"\n";
    fs::write(
        src.join("debian/demo-app.venvdeb.toml"),
        format!("venv.prefix = \"/srv/apps/demo\"\n[inputs]\n{inputs}"),
    )
    .unwrap();
    fs::write(
        src.join("debian/demo-tool.venvdeb.toml"),
        format!("venv = {{ prefix = \"/opt/tool\", bytecode = \"none\" }}\n[inputs]\n{inputs}"),
    )
    .unwrap();
    let check = |args: &[&str]| {
        let out = ok(dh_env(Command::new("dh").args(args), tmp.path()).current_dir(&src));
        let lines: Vec<&str> = out.lines().map(str::trim).collect();
        let pos = |cmd: &str| {
            lines
                .iter()
                .position(|l| l.split_whitespace().next() == Some(cmd))
                .unwrap_or_else(|| panic!("{cmd} not in the sequence:\n{out}"))
        };
        assert_eq!(pos("dh_venvdeb"), pos("dh_install") + 1, "{out}");
        assert_eq!(
            pos("dh_venvdeb_provenance"),
            pos("dh_builddeb") + 1,
            "{out}"
        );
        for cmd in [
            "dh_strip",
            "dh_dwz",
            "dh_strip_nondeterminism",
            "dh_makeshlibs",
            "dh_fixperms",
        ] {
            let l = lines[pos(cmd)];
            assert!(
                l.contains("-X/opt/venvs/")
                    && l.contains("-X/srv/apps/demo/")
                    && l.contains("-X/opt/tool/"),
                "{l}"
            );
            assert!(pos(cmd) > pos("dh_venvdeb"));
        }
        assert!(
            !lines[pos("dh_shlibdeps")].contains("-X"),
            "dh_shlibdeps must see the venv"
        );
        for gone in ["dh_auto_build", "dh_auto_test", "dh_auto_install"] {
            assert!(
                !lines.iter().any(|l| l.starts_with(gone)),
                "{gone} still runs:\n{out}"
            );
        }
    };
    // venvdeb init's form: Build-Depends: dh-sequence-venvdeb, plain `dh $@`.
    check(&["binary", "--no-act"]);
    // The older form: `dh $@ --with venvdeb`, no dh-sequence-venvdeb.
    let control = fs::read_to_string(src.join("debian/control")).unwrap();
    fs::write(
        src.join("debian/control"),
        control.replace(" dh-sequence-venvdeb,", ""),
    )
    .unwrap();
    check(&["binary", "--with", "venvdeb", "--no-act"]);
    // Without either, dh knows nothing of venvdeb.
    let out =
        ok(dh_env(Command::new("dh").args(["binary", "--no-act"]), tmp.path()).current_dir(&src));
    assert!(
        !out.contains("dh_venvdeb") && !out.contains("-X/opt/venvs/"),
        "{out}"
    );
    // A prefix venvdeb would reject stops dh (fail closed), naming it.
    fs::write(
        src.join("debian/demo-tool.venvdeb.toml"),
        format!("venv.prefix = \"relative/dir\"\n[inputs]\n{inputs}"),
    )
    .unwrap();
    let out = run(dh_env(
        Command::new("dh").args(["binary", "--with", "venvdeb", "--no-act"]),
        tmp.path(),
    )
    .current_dir(&src));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("debian/demo-tool.venvdeb.toml") && err.contains("venv.prefix"),
        "{err}"
    );
}

#[test]
fn dh_venvdeb_acts_like_a_dh_command() {
    let tmp = scratch();
    let src = project(tmp.path());
    ok(&mut init_cmd(&src));
    let stage_line = |args: &[&str]| -> String {
        ok(dh_env(Command::new("dh_venvdeb").args(args), tmp.path()).current_dir(&src))
    };
    let out = stage_line(&["--no-act", "-v"]);
    let want = "venvdeb stage --config debian/.debhelper/generated/demo-app/venvdeb.toml \
                --destdir debian/demo-app --package demo-app --version 2.0\\~rc1-1 --arch ";
    assert!(out.contains(want), "{out}");
    assert!(out.contains(
        "--substvars debian/.debhelper/generated/demo-app/venvdeb.substvars --json \
         > debian/.debhelper/generated/demo-app/venvdeb-stage.json"
    ));
    assert!(
        out.contains(
            "venvdeb debhelper config debian/venvdeb.toml \
         --output debian/.debhelper/generated/demo-app/venvdeb.toml --package demo-app \
         --version 2.0\\~rc1-1 --maintainer"
        ),
        "{out}"
    );
    // --no-act writes nothing.
    assert!(!src
        .join("debian/.debhelper/generated/demo-app/venvdeb.toml")
        .exists());
    // -N excludes the only package; --venvdeb picks the program.
    assert!(!stage_line(&["--no-act", "-v", "-Ndemo-app"]).contains("stage"));
    assert!(stage_line(&["--no-act", "-v", "--venvdeb=/x/venvdeb"]).contains("/x/venvdeb stage"));
    // DH_VERBOSE shows the command too.
    let out = ok(
        dh_env(Command::new("dh_venvdeb").arg("--no-act"), tmp.path())
            .env("DH_VERBOSE", "1")
            .current_dir(&src),
    );
    assert!(out.contains(want), "{out}");
    // The version debhelper writes into maintainer scripts is venvdeb's.
    let script = fs::read_to_string(repo().join("debian-templates/debhelper/dh_venvdeb")).unwrap();
    assert!(
        script.contains(&format!("our $VERSION = '{}';", env!("CARGO_PKG_VERSION"))),
        "dh_venvdeb's $VERSION differs from Cargo.toml's {}",
        env!("CARGO_PKG_VERSION")
    );
    // A second binary package with its own file gets its own venv; -p
    // picks one.
    let mut control = fs::read_to_string(src.join("debian/control")).unwrap();
    control.push_str("\nPackage: demo-tool\nArchitecture: all\nDepends: ${venvdeb:Depends}, ${misc:Depends}\nDescription: second venv\n Another one.\n");
    fs::write(src.join("debian/control"), control).unwrap();
    fs::copy(
        src.join("debian/venvdeb.toml"),
        src.join("debian/demo-tool.venvdeb.toml"),
    )
    .unwrap();
    let out = stage_line(&["--no-act", "-v"]);
    assert_eq!(out.matches(" stage ").count(), 2, "{out}");
    assert!(
        out.contains(
            "--destdir debian/demo-tool --package demo-tool --version 2.0\\~rc1-1 --arch all"
        ),
        "{out}"
    );
    assert!(
        out.contains("debhelper config debian/demo-tool.venvdeb.toml --output debian/.debhelper/generated/demo-tool/venvdeb.toml"),
        "{out}"
    );
    let out = stage_line(&["--no-act", "-v", "-pdemo-tool"]);
    assert_eq!(out.matches(" stage ").count(), 1, "{out}");
    let out = stage_line(&["--no-act", "-v", "-i"]);
    assert!(
        out.contains("--package demo-tool") && !out.contains("--package demo-app "),
        "{out}"
    );
    // override_dh_venvdeb is honoured by dh.
    let mut rules = fs::read_to_string(src.join("debian/rules")).unwrap();
    rules.push_str("\noverride_dh_venvdeb:\n\tdh_venvdeb --venvdeb=/opt/x/venvdeb\n");
    fs::write(src.join("debian/rules"), rules).unwrap();
    let out = ok(dh_env(
        Command::new("dh").args(["binary", "--with", "venvdeb", "--no-act"]),
        tmp.path(),
    )
    .current_dir(&src));
    assert!(out.contains("debian/rules override_dh_venvdeb"), "{out}");
    fs::remove_file(src.join("debian/demo-tool.venvdeb.toml")).unwrap();
    // No configuration file: nothing to do.
    fs::remove_file(src.join("debian/venvdeb.toml")).unwrap();
    assert!(!stage_line(&["--no-act", "-v"]).contains("stage"));
    assert!(!src.join("debian/demo-app").exists());
}
