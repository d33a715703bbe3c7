//! Good inputs `venvdeb verify` must accept: a signing subkey with an
//! armored keyring, binary signature and keyring, two signers with
//! `--threshold 2`, a text-mode signature, an outsider's extra signature,
//! markers and unselected wheels, pylock.toml, `[inputs]` from venvdeb.toml,
//! `--json`; output independent of CPU count.
mod verify_support;

use std::process::Command;

use verify_support::{case_args, fixtures, run_case};

const A: &str = "595A009BA81A0416E41F381346BEDEF97A3ECF34";
const B: &str = "D270D49ADA0BAF36F2B8251780722284157A9211";

fn passes(case: &str, extra: &[&str]) -> String {
    let out = run_case("good", case, extra);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{case}: expected success\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn signing_subkey_with_armored_keyring() {
    let out = passes("good-subkey-armored", &[]);
    assert!(
        out.contains(&format!("good signature from {A} (subkey ")),
        "{out}"
    );
    assert!(out.contains("verified 2 wheels"), "{out}");
}

#[test]
fn binary_signature_and_binary_keyring() {
    let out = passes("good-binary", &[]);
    assert!(out.contains(A), "{out}");
}

#[test]
fn two_signers_threshold_two() {
    let out = passes("good-two-signers", &[]);
    assert!(out.contains(&format!("good signature from {A}")), "{out}");
    assert!(
        out.contains(&format!("good signature from {B}, made ")),
        "{out}"
    );
    assert!(out.contains("2 signers"), "{out}");
}

#[test]
fn text_mode_signature() {
    passes("good-text-signature", &[]);
}

#[test]
fn outsider_signature_is_reported_not_counted() {
    let out = passes("good-plus-outsider", &[]);
    assert!(
        out.contains("a key not in the keyring: not counted"),
        "{out}"
    );
    assert!(out.contains("1 signer\n"), "{out}");
    // With two required it is not enough.
    let bad = run_case("good", "good-plus-outsider", &["--threshold", "2"]);
    assert_eq!(bad.status.code(), Some(3));
}

#[test]
fn markers_skip_and_unselected_wheels() {
    let out = passes("good-markers", &["--verbose"]);
    assert!(
        out.contains("skipped (marker false for the target): winonly==9.9"),
        "{out}"
    );
    assert!(
        out.contains("not selected by the lock (left alone): unrelated-3.0-py3-none-any.whl"),
        "{out}"
    );
    assert!(
        out.contains("verified foo-1.0-py3-none-any.whl sha256:"),
        "{out}"
    );
}

#[test]
fn pylock_toml() {
    let out = passes("good-pylock", &["--verbose"]);
    assert!(out.contains("verified 2 wheels"), "{out}");
    assert!(
        out.contains("skipped (marker false for the target): winonly==1"),
        "{out}"
    );
}

#[test]
fn json_report() {
    let out = passes("good-two-signers", &["--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(v["wheels"], 2);
    let signers: Vec<&str> = v["signers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(signers, vec![A, B]);
    let wheel = &v["requirements"][0]["wheels"][0];
    let case = fixtures("good").join("cases/good-two-signers/wheelhouse");
    let file = wheel["file"].as_str().unwrap();
    assert_eq!(
        wheel["sha256"].as_str().unwrap(),
        sha256_hex(&std::fs::read(case.join(file)).unwrap())
    );
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// `[inputs]` of ./venvdeb.toml with no flags; `--config`; flags override.
#[test]
fn inputs_from_config_file() {
    let case = fixtures("good").join("cases/good-two-signers");
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[package]\nname = \"app\"\n\n[inputs]\nwheelhouse = \"{w}\"\nlock = \"{c}/requirements.txt\"\nsums = \"{c}/sha256sums.txt\"\nsignature = \"{c}/sha256sums.txt.asc\"\nkeyring = \"{c}/keyring.gpg\"\nthreshold = 2\n\n[venv]\npython = \"/usr/bin/python3\"\n",
        w = case.join("wheelhouse").display(),
        c = case.display()
    );
    std::fs::write(dir.path().join("venvdeb.toml"), &toml).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_venvdeb"))
            .arg("verify")
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let out = run(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 signers"));
    // --config from elsewhere, and a flag overriding the file's threshold.
    let other = tempfile::tempdir().unwrap();
    let cfg = other.path().join("x.toml");
    std::fs::write(&cfg, toml.replace("threshold = 2", "threshold = 3")).unwrap();
    let out = run(&["--config", cfg.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "threshold 3 from the file must fail"
    );
    let out = run(&["--config", cfg.to_str().unwrap(), "--threshold", "2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A missing input is a usage error (exit 2) naming the flag.
    std::fs::write(dir.path().join("venvdeb.toml"), "[inputs]\n").unwrap();
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--wheelhouse"));
}

/// Same report on one CPU as on all of them.
#[test]
fn output_does_not_depend_on_cpu_count() {
    let case = fixtures("good").join("cases/good-markers");
    let args = case_args(&case);
    let all = Command::new(env!("CARGO_BIN_EXE_venvdeb"))
        .args(&args)
        .arg("--json")
        .output()
        .unwrap();
    let one = Command::new("taskset")
        .args(["-c", "0"])
        .arg(env!("CARGO_BIN_EXE_venvdeb"))
        .args(&args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(all.status.success() && one.status.success());
    assert_eq!(all.stdout, one.stdout);
}

/// A wheel written by Python's zipfile to a pipe: data descriptors, a Zip64
/// local header, a directory entry; `unzip -t` accepts it and so must we.
#[test]
fn python_zipfile_streamed_wheel() {
    let out = passes("good-python-zipfile", &[]);
    assert!(out.contains("verified 1 wheel ("), "{out}");
}
