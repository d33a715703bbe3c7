//! `venvdeb build` failing closed: bad configuration, a tampered wheel, a
//! lock that is not closed under its dependencies, a wheel for another
//! platform, no SOURCE_DATE_EPOCH. Each exits with the documented code, names
//! what is wrong, and leaves the output directory empty.
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{copy_example, example_deb, ok, resign, run, scratch, venvdeb};

fn example(dir: &Path) -> PathBuf {
    copy_example(dir)
}

fn build(ex: &Path, out: &Path) -> Output {
    std::fs::create_dir_all(out).unwrap();
    run(venvdeb()
        .arg("build")
        .arg("--config")
        .arg(ex.join("venvdeb.toml"))
        .arg("--output-dir")
        .arg(out))
}

fn expect_failure(out: &Output, code: i32, words: &[&str]) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "stderr:\n{err}");
    for w in words {
        assert!(err.contains(w), "{w:?} not in:\n{err}");
    }
    err
}

fn assert_empty(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn unknown_config_key_is_named() {
    let s = scratch();
    let ex = example(s.path());
    let cfg = std::fs::read_to_string(ex.join("venvdeb.toml")).unwrap();
    std::fs::write(
        ex.join("venvdeb.toml"),
        cfg.replace("[venv]", "[venv]\npyhton = \"/x\""),
    )
    .unwrap();
    let out = s.path().join("out");
    expect_failure(&build(&ex, &out), 2, &["pyhton", "venvdeb.toml"]);
    assert_empty(&out);
}

#[test]
fn tampered_wheel_fails_verification_and_writes_nothing() {
    let s = scratch();
    let ex = example(s.path());
    let w = ex.join("wheelhouse/tabulate-0.9.0-py3-none-any.whl");
    let mut bytes = std::fs::read(&w).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 1;
    std::fs::write(&w, bytes).unwrap();
    let out = s.path().join("out");
    expect_failure(&build(&ex, &out), 3, &["tabulate-0.9.0-py3-none-any.whl"]);
    assert_empty(&out);
}

#[test]
fn lock_missing_a_dependency_is_listed() {
    let s = scratch();
    let ex = example(s.path());
    // Drop MarkupSafe from the lock and the wheelhouse (and re-sign).
    let lock = std::fs::read_to_string(ex.join("requirements.txt")).unwrap();
    let mut kept = Vec::new();
    let mut skip = false;
    for l in lock.lines() {
        if l.starts_with("markupsafe==") {
            skip = true;
            continue;
        }
        if skip && l.starts_with(' ') {
            continue;
        }
        skip = false;
        kept.push(l);
    }
    std::fs::write(ex.join("requirements.txt"), kept.join("\n") + "\n").unwrap();
    for e in std::fs::read_dir(ex.join("wheelhouse")).unwrap() {
        let p = e.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("MarkupSafe")
        {
            std::fs::remove_file(p).unwrap();
        }
    }
    resign(&ex);
    let out = s.path().join("out");
    expect_failure(
        &build(&ex, &out),
        2,
        &[
            "demoapp 1.0.0 requires \"MarkupSafe>=2.1\"",
            "markupsafe is not in the lock",
        ],
    );
    assert_empty(&out);
}

#[test]
fn wheel_for_another_platform_is_named() {
    let s = scratch();
    let ex = example(s.path());
    let wh = ex.join("wheelhouse");
    // Every MarkupSafe wheel (one per CPython release) made aarch64-only.
    let mut renamed = Vec::new();
    for e in std::fs::read_dir(&wh).unwrap() {
        let from = e.unwrap().file_name().into_string().unwrap();
        if from.starts_with("MarkupSafe-") {
            let to = from.replace("x86_64", "aarch64");
            std::fs::rename(wh.join(&from), wh.join(&to)).unwrap();
            renamed.push(to);
        }
    }
    assert!(!renamed.is_empty());
    resign(&ex);
    let out = s.path().join("out");
    let mut want: Vec<&str> = renamed.iter().map(String::as_str).collect();
    want.extend(["/usr/bin/python3", "no wheel fits"]);
    expect_failure(&build(&ex, &out), 2, &want);
    assert_empty(&out);
}

#[test]
fn no_source_date_epoch_anywhere_is_an_error() {
    let s = scratch();
    let ex = example(s.path());
    std::fs::remove_file(ex.join("debian/changelog")).unwrap();
    let out = s.path().join("out");
    expect_failure(&build(&ex, &out), 2, &["SOURCE_DATE_EPOCH"]);
    assert_empty(&out);
}

#[test]
fn source_date_epoch_from_env_beats_changelog() {
    let s = scratch();
    let ex = example(s.path());
    let out = s.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    ok(venvdeb()
        .env("SOURCE_DATE_EPOCH", "1234567890")
        .arg("build")
        .arg("--config")
        .arg(ex.join("venvdeb.toml"))
        .arg("--output-dir")
        .arg(&out));
    let listing = ok(Command::new("dpkg-deb")
        .env("TZ", "UTC")
        .arg("--contents")
        .arg(out.join(example_deb())));
    assert!(
        listing.contains("2009-02-13 23:31 ./opt/venvs/demoapp/pyvenv.cfg"),
        "{listing}"
    );
    let bad = run(venvdeb()
        .env("SOURCE_DATE_EPOCH", "12x")
        .arg("build")
        .arg("--config")
        .arg(ex.join("venvdeb.toml"))
        .arg("--output-dir")
        .arg(s.path().join("out2")));
    expect_failure(&bad, 2, &["SOURCE_DATE_EPOCH", "malformed"]);
}
