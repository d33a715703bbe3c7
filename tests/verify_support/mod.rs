//! Shared by the `verify_*` tests: the fixtures made by
//! `fixtures/make-verify-fixtures.py` (once per test binary, into cargo's
//! target tmpdir), running `venvdeb verify` on a case, and a snapshot of a
//! directory tree to prove that nothing was written.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The fixture root for this test binary (made on first use).
pub fn fixtures(binary: &str) -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let out =
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("verify-fixtures-{binary}"));
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/make-verify-fixtures.py");
        let st = Command::new("/usr/bin/python3")
            .arg(&script)
            .arg(&out)
            .env_remove("GNUPGHOME")
            .output()
            .expect("run fixture script");
        assert!(
            st.status.success(),
            "fixture script failed:\n{}",
            String::from_utf8_lossy(&st.stderr)
        );
        out
    })
}

/// The standard arguments for a case directory.
pub fn case_args(case: &Path) -> Vec<String> {
    let lock = if case.join("pylock.toml").exists() {
        case.join("pylock.toml")
    } else {
        case.join("requirements.txt")
    };
    let keyring = if case.join("keyring.asc").exists() {
        case.join("keyring.asc")
    } else {
        case.join("keyring.gpg")
    };
    let mut a: Vec<String> = vec![
        "verify".into(),
        "--wheelhouse".into(),
        case.join("wheelhouse").display().to_string(),
        "--lock".into(),
        lock.display().to_string(),
        "--sums".into(),
        case.join("sha256sums.txt").display().to_string(),
        "--signature".into(),
        case.join("sha256sums.txt.asc").display().to_string(),
        "--keyring".into(),
        keyring.display().to_string(),
    ];
    if let Ok(extra) = std::fs::read_to_string(case.join("args")) {
        a.extend(extra.lines().map(str::to_string));
    }
    a
}

/// Every file under `dir` with its size and modification time.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            }
            out.insert(e.path(), (m.len(), m.modified().unwrap()));
        }
    }
    out
}

/// Run `venvdeb verify` on a case from an empty working directory; check
/// that neither the case nor the working directory changed.
pub fn run_case(binary: &str, name: &str, extra: &[&str]) -> Output {
    let case = fixtures(binary).join("cases").join(name);
    assert!(case.is_dir(), "no fixture case {name}");
    let before = snapshot(&case);
    let cwd = tempfile::Builder::new()
        .prefix("venvdeb-verify-cwd-")
        .tempdir()
        .unwrap();
    let mut args = case_args(&case);
    // `--flag value` in `extra` replaces the case's own value of that flag.
    let mut i = 0;
    while i < extra.len() {
        let flag = extra[i];
        match args.iter().position(|a| a == flag) {
            Some(p) if flag.starts_with("--") && i + 1 < extra.len() && p + 1 < args.len() => {
                args[p + 1] = extra[i + 1].to_string();
                i += 2;
            }
            _ => {
                args.push(flag.to_string());
                i += 1;
            }
        }
    }
    let out = Command::new(env!("CARGO_BIN_EXE_venvdeb"))
        .args(&args)
        .current_dir(cwd.path())
        .env("HOME", cwd.path())
        .env("GNUPGHOME", cwd.path().join("must-not-be-used"))
        .output()
        .expect("run venvdeb");
    assert_eq!(
        before,
        snapshot(&case),
        "{name}: the case directory changed"
    );
    assert!(
        std::fs::read_dir(cwd.path()).unwrap().next().is_none(),
        "{name}: something was written to the working directory"
    );
    out
}
