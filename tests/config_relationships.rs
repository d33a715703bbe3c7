//! `[package]` relationship fields against the real dpkg-deb: every value
//! venvdeb's configuration accepts is built by `dpkg-deb --build` without an
//! error or a warning and read back by `dpkg-deb -f`; every value dpkg-deb
//! refuses, venvdeb refuses too. Where venvdeb is stricter than dpkg-deb
//! (Debian policy's package names, what dpkg only warns about), the cases are
//! listed and dpkg-deb's tolerance is shown.
mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{run, scratch};
use venvdeb::config::check_relationships;

/// Both accept.
const VALID: &[(&str, &str)] = &[
    ("Depends", "curl"),
    ("Depends", "libpq5 (>= 15)"),
    (
        "Depends",
        "python3-yaml, python3-pyqt5 (>= 5.15~), libc6 (>= 2.17)",
    ),
    ("Depends", "aa | bb (<< 2:1.0-1~bpo12+1), cc"),
    ("Depends", "aa(>=1)"),
    ("Depends", "aa ( >= 1 )"),
    ("Depends", "aa|bb"),
    ("Depends", "python3:any"),
    ("Depends", "libfoo1:amd64 (= 1.0-1)"),
    ("Depends", "aa (<= 1.0+dfsg), bb (>> 0)"),
    ("Pre-Depends", "dpkg (>= 1.19.1)"),
    ("Recommends", "aa | bb"),
    ("Suggests", "aa"),
    ("Enhances", "aa | bb"),
    ("Conflicts", "aa (<< 2), bb"),
    ("Breaks", "aa (<< 2)"),
    ("Replaces", "aa (<< 2)"),
    ("Provides", "aa (= 1.0), bb"),
];

/// dpkg-deb refuses them (exit 2): so must venvdeb.
const INVALID: &[(&str, &str)] = &[
    ("Depends", "${shlibs:Depends}"),
    ("Depends", "${misc:Depends}, curl"),
    ("Depends", "libc6 (>= 2.17"),
    ("Depends", "aa,"),
    ("Depends", ",aa"),
    ("Depends", "aa, , bb"),
    ("Depends", "aa [amd64]"),
    ("Depends", "aa <!nocheck>"),
    ("Depends", "aa (>< 1)"),
    ("Depends", "aa (>= 1 2)"),
    ("Depends", "aa (>= a1)"),
    ("Depends", "aa (>= 1:)"),
    ("Depends", "aa (= 1-)"),
    ("Depends", "aa (>= 1_0)"),
    ("Depends", "aa bb"),
    ("Depends", "aa |"),
    ("Depends", "-aa"),
    ("Depends", "aa (>= 1))"),
    ("Provides", "aa | bb"),
    ("Conflicts", "aa | bb"),
    ("Breaks", "aa|bb"),
    ("Replaces", "aa | bb"),
];

/// dpkg-deb builds them (some with a warning), venvdeb refuses: not policy
/// names (uppercase, `_`, one letter), obsolete or implicit operators, an
/// inexact Provides, uppercase or meaningless architecture qualifiers.
const STRICTER: &[(&str, &str)] = &[
    ("Depends", "Aa"),
    ("Depends", "aa_b"),
    ("Depends", "a"),
    ("Depends", "aa (> 1)"),
    ("Depends", "aa (< 1)"),
    ("Depends", "aa (1)"),
    ("Depends", "aa:Amd64"),
    ("Depends", "aa:all"),
    ("Depends", "aa:source"),
    ("Provides", "aa (>= 1)"),
];

fn alternatives(field: &str) -> bool {
    !matches!(field, "Conflicts" | "Breaks" | "Replaces" | "Provides")
}

/// `dpkg-deb --build` of a minimal package with `field: value`: (exit code,
/// stderr, what `dpkg-deb -f` reads back).
fn dpkg_deb(dir: &Path, field: &str, value: &str) -> (i32, String, Option<String>) {
    let tree = dir.join("tree");
    let _ = fs::remove_dir_all(&tree);
    fs::create_dir_all(tree.join("DEBIAN")).unwrap();
    fs::write(
        tree.join("DEBIAN/control"),
        format!(
            "Package: venvdeb-rel-test\nVersion: 1.0\nArchitecture: all\n\
             Maintainer: T <t@example.org>\n{field}: {value}\nDescription: test\n"
        ),
    )
    .unwrap();
    let deb = dir.join("t.deb");
    let _ = fs::remove_file(&deb);
    let out = run(Command::new("dpkg-deb")
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args(["--root-owner-group", "--build"])
        .arg(&tree)
        .arg(&deb));
    let code = out.status.code().unwrap_or(-1);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let back = (code == 0).then(|| {
        let out = run(Command::new("dpkg-deb").arg("-f").arg(&deb).arg(field));
        assert!(out.status.success(), "dpkg-deb -f {field}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    });
    (code, err, back)
}

#[test]
fn accepted_relationships_build_with_dpkg_deb() {
    let d = scratch();
    for (field, value) in VALID {
        check_relationships(field, value, alternatives(field))
            .unwrap_or_else(|e| panic!("venvdeb refuses {field}: {value}: {e:#}"));
        let (code, err, back) = dpkg_deb(d.path(), field, value);
        assert_eq!(code, 0, "dpkg-deb refuses {field}: {value}: {err}");
        assert!(!err.contains("warning"), "{field}: {value}: {err}");
        assert!(back.is_some_and(|b| !b.is_empty()), "{field}: {value}");
    }
}

#[test]
fn relationships_dpkg_deb_refuses_are_refused() {
    let d = scratch();
    for (field, value) in INVALID {
        let (code, err, _) = dpkg_deb(d.path(), field, value);
        assert_eq!(code, 2, "dpkg-deb accepts {field}: {value}: {err}");
        assert!(err.contains("error"), "{err}");
        assert!(
            check_relationships(field, value, alternatives(field)).is_err(),
            "venvdeb accepts {field}: {value}, dpkg-deb says: {err}"
        );
    }
}

#[test]
fn venvdeb_is_stricter_than_dpkg_deb_where_policy_is() {
    let d = scratch();
    for (field, value) in STRICTER {
        let (code, _, _) = dpkg_deb(d.path(), field, value);
        assert_eq!(
            code, 0,
            "dpkg-deb refuses {field}: {value}: move it to INVALID"
        );
        assert!(
            check_relationships(field, value, alternatives(field)).is_err(),
            "venvdeb accepts {field}: {value}"
        );
    }
}
