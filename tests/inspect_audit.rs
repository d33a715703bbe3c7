//! `venvdeb audit` on a package installed with the real `dpkg -i`: a venv
//! tree whose manifest is written by `inspect::manifest::write_into` (the
//! function the build calls), packed by dpkg-deb, installed, altered,
//! audited and purged again (pass or fail).
mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::{ok, py_short, run, scratch, venvdeb, DPKG_LOCK};
use venvdeb::inspect::manifest::{write_into, InputWheel, Interpreter, ManifestInput, PackageId};

const PKG: &str = "venvdeb-inspect-audit-test";

/// Purges the test package (and anything the test added under its prefix)
/// when dropped.
struct Purge;

impl Drop for Purge {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").args(["--purge", PKG]).output();
        let _ = fs::remove_dir_all(format!("/opt/venvs/{PKG}"));
    }
}

fn make_package(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("tree");
    let prefix = format!("/opt/venvs/{PKG}");
    let venv = root.join(prefix.trim_start_matches('/'));
    let site = venv.join(format!("lib/python{}/site-packages", py_short()));
    fs::create_dir_all(root.join("DEBIAN")).unwrap();
    fs::write(
        root.join("DEBIAN/control"),
        format!("Package: {PKG}\nVersion: 1.0-1\nArchitecture: all\nMaintainer: T <t@example.org>\nDescription: audit test\n"),
    )
    .unwrap();
    fs::create_dir_all(site.join("mod-1.0.dist-info")).unwrap();
    fs::create_dir_all(venv.join("bin")).unwrap();
    fs::write(site.join("mod.py"), "VALUE = 1\n").unwrap();
    fs::write(
        site.join("mod-1.0.dist-info/METADATA"),
        "Metadata-Version: 2.1\nName: mod\nVersion: 1.0\nLicense: MIT\n",
    )
    .unwrap();
    fs::write(venv.join("bin/tool"), "#!/bin/sh\necho tool\n").unwrap();
    fs::write(venv.join("pyvenv.cfg"), "home = /usr/bin\n").unwrap();
    std::os::unix::fs::symlink("/usr/bin/python3", venv.join("bin/python")).unwrap();
    let mut dirs = vec![root.clone()];
    while let Some(d) = dirs.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
                dirs.push(p);
            } else if m.is_file() {
                let mode = if p.ends_with("bin/tool") {
                    0o755
                } else {
                    0o644
                };
                fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
            }
        }
    }
    let wheel = "mod-1.0-py3-none-any.whl".to_string();
    let origins: BTreeMap<String, String> = [
        format!("{prefix}/lib/python{}/site-packages/mod.py", py_short()),
        format!(
            "{prefix}/lib/python{}/site-packages/mod-1.0.dist-info/METADATA",
            py_short()
        ),
    ]
    .into_iter()
    .map(|p| (p, wheel.clone()))
    .collect();
    let input = ManifestInput {
        package: PackageId {
            name: PKG.into(),
            version: "1.0-1".into(),
            architecture: "all".into(),
        },
        source_date_epoch: 1_700_000_000,
        interpreter: Interpreter {
            path: "/usr/bin/python3".into(),
            version: "3.11.2".into(),
        },
        prefix: prefix.clone(),
        signers: vec!["0123456789ABCDEF0123456789ABCDEF01234567".into()],
        wheels: vec![InputWheel {
            filename: wheel,
            sha256: "00".repeat(32),
            name: "mod".into(),
            version: "1.0".into(),
        }],
        origins,
        sbom: true,
        system_modules: Vec::new(),
    };
    write_into(&root, &input).unwrap();
    let deb = dir.join(format!("{PKG}.deb"));
    ok(Command::new("dpkg-deb")
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args(["--root-owner-group", "--build"])
        .arg(&root)
        .arg(&deb));
    deb
}

fn audit(args: &[&str]) -> (i32, String, String) {
    let out = run(venvdeb().arg("audit").args(args));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn audit_installed_package_finds_modified_missing_added_and_mode() {
    let _lock = DPKG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch();
    let deb = make_package(dir.path());
    let _purge = Purge;
    ok(Command::new("dpkg").arg("-i").arg(&deb));
    let prefix = format!("/opt/venvs/{PKG}");

    let (code, out, err) = audit(&[PKG]);
    assert_eq!(code, 0, "fresh install: {out}{err}");
    assert!(out.contains(": 1") || out.contains("paths match"), "{out}");
    let (code, out, err) = audit(&[&prefix]);
    assert_eq!(code, 0, "by prefix: {out}{err}");

    // bytecode made the way postinst makes it is not a finding
    ok(Command::new("/usr/bin/python3")
        .args(["-m", "compileall", "-q"])
        .arg(&prefix));
    assert!(Path::new(&prefix)
        .join(format!(
            "lib/python{}/site-packages/__pycache__",
            py_short()
        ))
        .is_dir());
    let (code, out, _) = audit(&[PKG]);
    assert_eq!(code, 0, "after compiling bytecode: {out}");

    let site = format!("{prefix}/lib/python{}/site-packages", py_short());
    fs::write(format!("{site}/mod.py"), "VALUE = 2\n").unwrap();
    fs::remove_file(format!("{site}/mod-1.0.dist-info/METADATA")).unwrap();
    fs::write(format!("{site}/evil.pth"), "import os\n").unwrap();
    fs::set_permissions(
        format!("{prefix}/bin/tool"),
        fs::Permissions::from_mode(0o4755),
    )
    .unwrap();
    let (code, out, err) = audit(&[PKG]);
    assert_eq!(code, 1, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(
        lines[0],
        format!("mode {prefix}/bin/tool: expected 0755, found 4755")
    );
    assert_eq!(lines[1], format!("added {site}/evil.pth: file"));
    assert_eq!(
        lines[2],
        format!("missing {site}/mod-1.0.dist-info/METADATA: expected file (from mod-1.0-py3-none-any.whl)")
    );
    assert!(
        lines[3].starts_with(&format!("modified {site}/mod.py: expected sha256 "))
            && lines[3].ends_with("(10 bytes) (from mod-1.0-py3-none-any.whl)"),
        "{}",
        lines[3]
    );
    assert!(err.contains("4 findings"), "{err}");

    // JSON
    let (code, out, _) = audit(&["--json", PKG]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 4);

    // The manifest itself, altered: dpkg's md5sums catch it.
    let manifest = format!("/usr/share/doc/{PKG}/venvdeb-manifest.json");
    let text = fs::read_to_string(&manifest).unwrap();
    let mut altered = text.clone();
    altered.push(' ');
    fs::write(&manifest, altered).unwrap();
    let (code, out, _) = audit(&[PKG]);
    assert_eq!(code, 1);
    assert!(
        out.lines()
            .any(|l| l.starts_with(&format!("manifest modified {manifest}: expected md5 "))),
        "{out}"
    );

    // Not installed / unknown: a clear error, exit 2.
    let (code, _, err) = audit(&["venvdeb-no-such-package"]);
    assert_eq!(code, 2);
    assert!(err.contains("no venvdeb manifest"), "{err}");

    ok(Command::new("dpkg").args(["--purge", PKG]));
    assert!(!Path::new(&manifest).exists());
}

/// `venvdeb audit --root R --manifest M` with a manifest whose path climbs
/// out of R with `..`, and with a directory in R that links out of it: the
/// file outside R is never read (its sha256 never reported).
#[test]
fn audit_never_reads_outside_the_root() {
    let dir = scratch();
    let d = dir.path();
    let root = d.join("root");
    let outside = d.join("outside");
    fs::create_dir_all(outside.join("venvs/demo")).unwrap();
    let secret = outside.join("venvs/demo/secret");
    fs::write(&secret, "not yours\n").unwrap();
    let sha = common::sha256_file(&secret);
    fs::create_dir_all(&root).unwrap();
    let depth = root.components().count() + 3;
    let escape = format!(
        "/opt/venvs/demo/{}{}",
        "../".repeat(depth),
        secret.display()
    );
    let manifest = |path: &str| {
        serde_json::json!({
            "format": "venvdeb-manifest/1",
            "tool": {"name": "venvdeb", "version": "0"},
            "package": {"name": "demo", "version": "1.0-1", "architecture": "all"},
            "source_date_epoch": 0,
            "interpreter": {"path": "/usr/bin/python3", "version": "3.11.2"},
            "prefix": "/opt/venvs/demo",
            "signers": [],
            "wheels": [],
            "files": [{"path": path, "type": "file", "mode": "0644", "size": 1, "sha256": "00".repeat(32)}],
        })
        .to_string()
    };
    let m = d.join("m.json");
    fs::write(&m, manifest(&escape)).unwrap();
    let args = |m: &Path| {
        vec![
            "--root".to_string(),
            root.display().to_string(),
            "--manifest".to_string(),
            m.display().to_string(),
            "/opt/venvs/demo".to_string(),
        ]
    };
    let a = args(&m);
    let (code, out, err) = audit(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("normalized"), "{err}");
    assert!(!out.contains(&sha) && !err.contains(&sha), "{out}{err}");

    // /opt inside the root links out of it: resolved inside the root.
    std::os::unix::fs::symlink(&outside, root.join("opt")).unwrap();
    fs::write(&m, manifest("/opt/venvs/demo/secret")).unwrap();
    let (code, out, err) = audit(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(
        out.trim(),
        "missing /opt/venvs/demo/secret: expected file",
        "{out}"
    );
    assert!(!out.contains(&sha) && !err.contains(&sha), "{out}{err}");
}
