//! The one-pass build (issue 13) against the real binary: `venvdeb build`
//! verifies without inflating the wheels' entries and inflates each once as
//! it packs it, so a wheel that is signed and pinned but whose entry bytes
//! disagree with its own RECORD must still fail — exit 3 naming the wheel
//! and the entry, nothing in the output directory, nothing left in TMPDIR —
//! as `venvdeb verify` (which inflates everything) fails on it.
mod common;

use std::path::Path;
use std::process::Command;

use common::{copy_example, resign, run, scratch, venvdeb};

/// Rewrite `tabulate/__init__.py` inside the example's tabulate wheel
/// (same length, one byte changed) keeping its RECORD line; return the
/// wheel's new sha256.
fn alter_entry(wheel: &Path) -> String {
    let script = r#"
import hashlib, sys, zipfile
path = sys.argv[1]
with zipfile.ZipFile(path) as z:
    items = [(i, z.read(i.filename)) for i in z.infolist()]
with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
    for info, data in items:
        if info.filename == "tabulate/__init__.py":
            i = data.index(b"def tabulate(")
            data = data[:i] + b"def tabulatE(" + data[i + 13:]
        z.writestr(info, data)
print(hashlib.sha256(open(path, "rb").read()).hexdigest())
"#;
    common::ok(
        Command::new("/usr/bin/python3")
            .arg("-c")
            .arg(script)
            .arg(wheel),
    )
    .trim()
    .to_string()
}

#[test]
fn signed_wheel_whose_entry_disagrees_with_its_record_fails_closed() {
    let s = scratch();
    let ex = copy_example(s.path());
    let whl = ex.join("wheelhouse/tabulate-0.9.0-py3-none-any.whl");
    let old = common::sha256_file(&whl);
    let new = alter_entry(&whl);
    assert_ne!(old, new);
    // Pin and sign the altered wheel: only its own RECORD disagrees.
    let lock = std::fs::read_to_string(ex.join("requirements.txt")).unwrap();
    assert!(lock.contains(&old));
    std::fs::write(ex.join("requirements.txt"), lock.replace(&old, &new)).unwrap();
    resign(&ex);

    let out = s.path().join("out");
    let tmp = s.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    for z in ["zstd", "xz"] {
        let r = run(venvdeb()
            .env("TMPDIR", &tmp)
            .arg("build")
            .arg("--config")
            .arg(ex.join("venvdeb.toml"))
            .arg("--output-dir")
            .arg(&out)
            .args(["-Z", z]));
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(3), "{z}: {err}");
        assert!(
            err.contains("tabulate-0.9.0-py3-none-any.whl")
                && err.contains("tabulate/__init__.py")
                && err.contains("RECORD expected"),
            "{z}: {err}"
        );
        assert!(!out.exists(), "{z}: output directory created");
        assert_eq!(
            std::fs::read_dir(&tmp).unwrap().count(),
            0,
            "{z}: staging left in TMPDIR"
        );
    }
    // `venvdeb verify` inflates everything and refuses it too.
    let r = run(venvdeb()
        .arg("verify")
        .arg("--config")
        .arg(ex.join("venvdeb.toml")));
    assert_eq!(
        r.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
}
