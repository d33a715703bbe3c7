//! The release side's outputs read back by the verify side: wheels built by
//! `venvdeb wheels build`, their `wheels sums` list signed with the test key
//! by the real gpg (throwaway GNUPGHOME), and the `wheels lock` file in both
//! formats, passed to `venvdeb verify`. Then one wheel is rebuilt with
//! another SOURCE_DATE_EPOCH (other bytes, same name): verify refuses it.
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{ok, repo, run, scratch, venvdeb};

fn build(out: &Path, sde: &str) {
    let f = repo().join("fixtures/release");
    ok(venvdeb()
        .args(["wheels", "build", "--requirements"])
        .arg(f.join("sdists/requirements.txt"))
        .arg("--sdists")
        .arg(f.join("sdists"))
        .arg("--backends")
        .arg(f.join("backends"))
        .arg("--backend-requirements")
        .arg(f.join("backends/requirements.txt"))
        .arg("--output")
        .arg(out)
        .arg("--source-date-epoch")
        .arg(sde));
}

/// Sign `file` with test key A in a throwaway GNUPGHOME; returns the .asc.
fn sign(file: &Path, home: &Path) -> PathBuf {
    fs::create_dir_all(home).unwrap();
    common::ok(Command::new("chmod").arg("700").arg(home));
    let keys = repo().join("fixtures/keys");
    let gpg = |args: &[&str]| {
        let mut c = Command::new("gpg");
        c.env("GNUPGHOME", home)
            .args(["--batch", "--yes", "--quiet"])
            .args(args);
        c
    };
    ok(&mut gpg(&[
        "--import",
        keys.join("test-key-a.secret.asc").to_str().unwrap(),
    ]));
    let asc = PathBuf::from(format!("{}.asc", file.display()));
    ok(&mut gpg(&[
        "--armor",
        "--detach-sign",
        "-o",
        asc.to_str().unwrap(),
        file.to_str().unwrap(),
    ]));
    let _ = Command::new("gpgconf")
        .env("GNUPGHOME", home)
        .args(["--kill", "all"])
        .output();
    asc
}

fn verify(wh: &Path, lock: &Path, sums: &Path, sig: &Path) -> std::process::Output {
    run(venvdeb()
        .arg("verify")
        .arg("--wheelhouse")
        .arg(wh)
        .arg("--lock")
        .arg(lock)
        .arg("--sums")
        .arg(sums)
        .arg("--signature")
        .arg(sig)
        .arg("--keyring")
        .arg(repo().join("fixtures/keys/test-key-a.public.gpg"))
        .env("GNUPGHOME", "/nonexistent/must-not-be-used"))
}

#[test]
fn signed_sums_and_both_lock_formats_pass_venvdeb_verify() {
    let d = scratch();
    let wh = d.path().join("wheelhouse");
    fs::create_dir(&wh).unwrap();
    build(&wh, "1700000000");
    let sums = d.path().join("sha256sums.txt");
    ok(venvdeb()
        .args(["wheels", "sums"])
        .arg(&wh)
        .arg("--output")
        .arg(&sums));
    let sig = sign(&sums, &d.path().join("gnupg"));
    let req = d.path().join("requirements.txt");
    ok(venvdeb()
        .args(["wheels", "lock"])
        .arg(&wh)
        .arg("--output")
        .arg(&req));
    let pylock = d.path().join("pylock.toml");
    ok(venvdeb()
        .args(["wheels", "lock", "--format", "pylock"])
        .arg(&wh)
        .arg("--output")
        .arg(&pylock));
    let fpr = fs::read_to_string(repo().join("fixtures/keys/test-key-a.fingerprint")).unwrap();
    for lock in [&req, &pylock] {
        let o = verify(&wh, lock, &sums, &sig);
        let (out, err) = (
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr),
        );
        assert!(
            o.status.success(),
            "verify with {} failed:\n{out}\n{err}",
            lock.display()
        );
        assert!(
            out.contains(fpr.trim()) || err.contains(fpr.trim()),
            "signer {} not reported:\n{out}\n{err}",
            fpr.trim()
        );
    }

    // A rebuild with another timestamp has other bytes under the same
    // names: the signed list and the lock no longer match it.
    let other = d.path().join("other");
    fs::create_dir(&other).unwrap();
    build(&other, "1600000000");
    let name = "fixsetup-2.0-py3-none-any.whl";
    assert_ne!(
        fs::read(wh.join(name)).unwrap(),
        fs::read(other.join(name)).unwrap()
    );
    fs::copy(other.join(name), wh.join(name)).unwrap();
    let o = verify(&wh, &req, &sums, &sig);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("fixsetup"), "{err}");
}
