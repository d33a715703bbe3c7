//! Issue 15: a marker made of a 60k-term `and`/`or` chain (a 1.5 MB line)
//! in requirements.txt, in pylock.toml or in a signed wheel's
//! `Requires-Dist` is read without recursion and accepted; a marker nested
//! deeper than the documented limit (64 parentheses) is refused with a
//! message and exit 2 or 3 — never a stack overflow (SIGABRT). Runs the
//! built binary on copies of the bundled example.
mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{ok, repo, run, scratch, sha256_file, venvdeb};

/// A true chain of `n` comparisons, alternating `or` and `and`.
fn chain(n: usize) -> String {
    let mut s = String::from("python_version >= \"3\"");
    for i in 1..n {
        s.push_str(if i % 2 == 0 { " and " } else { " or " });
        s.push_str("python_version >= \"3\"");
    }
    assert!(s.len() > 1_500_000);
    s
}

/// Parentheses nested `n` deep around one comparison.
fn nested(n: usize) -> String {
    format!("{}python_version >= \"3\"{}", "(".repeat(n), ")".repeat(n))
}

fn verify(ex: &Path, lock: &Path) -> Output {
    run(venvdeb()
        .arg("verify")
        .arg("--wheelhouse")
        .arg(ex.join("wheelhouse"))
        .arg("--lock")
        .arg(lock)
        .arg("--sums")
        .arg(ex.join("sha256sums.txt"))
        .arg("--signature")
        .arg(ex.join("sha256sums.txt.asc"))
        .arg("--keyring")
        .arg(ex.join("keyring.gpg")))
}

fn accepted(out: &Output) {
    assert!(
        out.status.success(),
        "{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn refused(out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(2 | 3)),
        "expected exit 2 or 3, got {} (a signal is a crash):\n{}",
        out.status,
        &stderr[..stderr.len().min(2000)]
    );
    assert!(
        stderr.contains("parentheses nested more than 64 deep"),
        "{stderr}"
    );
    assert!(
        stderr.len() < 10_000,
        "the 1.5 MB marker is not echoed whole"
    );
}

/// The example's requirements.txt with `marker` on demoapp's line.
fn requirements_with(ex: &Path, marker: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(ex.join("requirements.txt")).unwrap();
    let changed = text.replace(
        "demoapp==1.0.0 \\",
        &format!("demoapp==1.0.0 ; {marker} \\"),
    );
    assert_ne!(text, changed);
    let p = ex.join("requirements-marker.txt");
    std::fs::write(&p, changed).unwrap();
    p
}

/// A pylock.toml for the example's wheels with `marker` on demoapp.
fn pylock_with(ex: &Path, marker: &str) -> std::path::PathBuf {
    let mut t = String::from("lock-version = \"1.0\"\ncreated-by = \"marker_chains\"\n");
    let sums = std::fs::read_to_string(ex.join("sha256sums.txt")).unwrap();
    let mut packages: std::collections::BTreeMap<(&str, &str), Vec<String>> = Default::default();
    for line in sums.lines() {
        let (hash, file) = line.split_once("  ").unwrap();
        let mut parts = file.split('-');
        let key = (parts.next().unwrap(), parts.next().unwrap());
        packages.entry(key).or_default().push(format!(
            "{{ name = \"{file}\", hashes = {{ sha256 = \"{hash}\" }} }}"
        ));
    }
    for ((name, version), wheels) in packages {
        t.push_str(&format!(
            "\n[[packages]]\nname = \"{name}\"\nversion = \"{version}\"\n"
        ));
        if name == "demoapp" {
            t.push_str(&format!("marker = '{marker}'\n"));
        }
        t.push_str(&format!("wheels = [{}]\n", wheels.join(", ")));
    }
    let p = ex.join("pylock.toml");
    std::fs::write(&p, t).unwrap();
    p
}

#[test]
fn requirements_txt_chain_and_nesting() {
    let tmp = scratch();
    let ex = common::copy_example(tmp.path());
    accepted(&verify(&ex, &requirements_with(&ex, &chain(60_000))));
    refused(&verify(&ex, &requirements_with(&ex, &nested(65))));
    refused(&verify(&ex, &requirements_with(&ex, &nested(200_000))));
}

#[test]
fn pylock_toml_chain_and_nesting() {
    let tmp = scratch();
    let ex = common::copy_example(tmp.path());
    accepted(&verify(&ex, &pylock_with(&ex, &chain(60_000))));
    refused(&verify(&ex, &pylock_with(&ex, &nested(65))));
}

const REWRITE_WHEEL: &str = r#"
import base64, hashlib, sys, zipfile
path, line = sys.argv[1], sys.stdin.read()
with zipfile.ZipFile(path) as z:
    members = [(i, z.read(i.filename)) for i in z.infolist()]
def record_line(name, data):
    d = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (name, d, len(data))
out = []
for info, data in members:
    if info.filename.endswith(".dist-info/METADATA"):
        head, _, body = data.decode().partition("\n\n")
        data = (head + "\n" + line + "\n\n" + body).encode()
        meta = (info.filename, data)
    out.append([info, data])
for entry in out:
    if entry[0].filename.endswith(".dist-info/RECORD"):
        lines = [record_line(*meta) if l.startswith(meta[0] + ",") else l
                 for l in entry[1].decode().splitlines()]
        entry[1] = ("\n".join(lines) + "\n").encode()
with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
    for info, data in out:
        z.writestr(info, data)
"#;

/// Add `Requires-Dist: line` to the example's demoapp wheel, then update
/// the sums, the lock and the signature (the TEST-ONLY key) to match.
fn sign_wheel_with(ex: &Path, line: &str) {
    let wheel = ex.join("wheelhouse/demoapp-1.0.0-py3-none-any.whl");
    let old = sha256_file(&wheel);
    let mut child = Command::new("/usr/bin/python3")
        .args(["-I", "-c", REWRITE_WHEEL])
        .arg(&wheel)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(line.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    let new = sha256_file(&wheel);
    for f in ["sha256sums.txt", "requirements.txt"] {
        let t = std::fs::read_to_string(ex.join(f)).unwrap();
        std::fs::write(ex.join(f), t.replace(&old, &new)).unwrap();
    }
    let gnupg = ex.join("gnupg");
    std::fs::create_dir(&gnupg).unwrap();
    let gpg = |args: &[&str]| {
        ok(Command::new("gpg")
            .env("GNUPGHOME", &gnupg)
            .args(["--batch", "--quiet", "--yes"])
            .args(args))
    };
    let key = repo().join("fixtures/keys/test-key-a.secret.asc");
    gpg(&["--import", key.to_str().unwrap()]);
    let sums = ex.join("sha256sums.txt");
    let sig = ex.join("sha256sums.txt.asc");
    gpg(&[
        "--armor",
        "--detach-sign",
        "-o",
        sig.to_str().unwrap(),
        sums.to_str().unwrap(),
    ]);
}

fn build(ex: &Path, out: &Path) -> Output {
    run(venvdeb()
        .arg("build")
        .arg("--config")
        .arg(ex.join("venvdeb.toml"))
        .arg("--output-dir")
        .arg(out))
}

#[test]
fn requires_dist_chain_and_nesting() {
    let tmp = scratch();
    let ex = common::copy_example(tmp.path());
    sign_wheel_with(&ex, &format!("Requires-Dist: tabulate ; {}", chain(60_000)));
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    accepted(&verify(&ex, &ex.join("requirements.txt")));
    accepted(&build(&ex, &out));

    let tmp = scratch();
    let ex = common::copy_example(tmp.path());
    sign_wheel_with(&ex, &format!("Requires-Dist: tabulate ; {}", nested(65)));
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    accepted(&verify(&ex, &ex.join("requirements.txt")));
    refused(&build(&ex, &out));
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        0,
        "nothing written"
    );
}
