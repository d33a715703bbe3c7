//! Hostile verification inputs: a FIFO, `/dev/zero` and a 100 MB one-line
//! file at every input path of `venvdeb verify` (each flag, and the config
//! path), of `venvdeb build` (each `[inputs]` path, and `--config`) and of
//! the release side (`wheels index --sums/--signature`, `wheels build
//! --requirements`) and of `venvdeb provenance` (the package and `--sums`). Each
//! must give a clear error quickly: no hang (a watchdog kills the process and
//! fails the test), no unbounded read, no panic, nothing written.
mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{copy_example, scratch, venvdeb};

/// Generous: a correct run takes well under a second; a hang never ends.
const WATCHDOG: Duration = Duration::from_secs(120);

/// Run with a watchdog: a process still running after WATCHDOG is killed and
/// the test fails (rather than hanging the suite).
fn run_bounded(cmd: &mut Command, what: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > WATCHDOG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {WATCHDOG:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct Hostile {
    _dir: tempfile::TempDir,
    cases: Vec<(&'static str, PathBuf, &'static str)>,
}

/// The hostile files: (label, path, words the error must contain).
fn hostile() -> Hostile {
    let dir = scratch();
    let fifo = dir.path().join("fifo");
    let st = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(st.success());
    let big = dir.path().join("big-one-line");
    let mut f = std::fs::File::create(&big).unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..100 {
        f.write_all(&chunk).unwrap();
    }
    drop(f);
    Hostile {
        cases: vec![
            ("fifo", fifo, "expected a regular file, found a FIFO"),
            (
                "dev-zero",
                PathBuf::from("/dev/zero"),
                "expected a regular file, found a character device",
            ),
            ("100MB", big, "expected at most"),
        ],
        _dir: dir,
    }
}

fn check(out: &Output, what: &str, path: &Path, words: &str, dir_flag: bool) {
    let err = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code();
    assert!(
        matches!(code, Some(2) | Some(3)),
        "{what}: expected exit 2 or 3, got {:?}\nstderr: {err}",
        out.status
    );
    assert!(!err.contains("panicked"), "{what}: panic\n{err}");
    assert!(err.contains("venvdeb: error"), "{what}: {err}");
    assert!(
        err.contains(&path.display().to_string()),
        "{what}: the message does not name {}\n{err}",
        path.display()
    );
    // The wheelhouse is a directory: "not a directory" is its clear error.
    if !dir_flag {
        assert!(err.contains(words), "{what}: lacks {words:?}\n{err}");
    }
}

#[test]
fn verify_refuses_special_and_huge_inputs_quickly() {
    let s = scratch();
    let ex = copy_example(s.path());
    let h = hostile();
    let base = |flag: &str, bad: &Path| -> Vec<String> {
        let mut a = vec!["verify".to_string()];
        for (f, v) in [
            ("--wheelhouse", ex.join("wheelhouse")),
            ("--lock", ex.join("requirements.txt")),
            ("--sums", ex.join("sha256sums.txt")),
            ("--signature", ex.join("sha256sums.txt.asc")),
            ("--keyring", ex.join("keyring.gpg")),
        ] {
            a.push(f.into());
            a.push(if f == flag { bad } else { &v }.display().to_string());
        }
        if flag == "--config" {
            a.push("--config".into());
            a.push(bad.display().to_string());
        }
        a
    };
    for flag in [
        "--lock",
        "--sums",
        "--signature",
        "--keyring",
        "--config",
        "--wheelhouse",
    ] {
        for (label, path, words) in &h.cases {
            let what = format!("verify {flag} {label}");
            let out = run_bounded(
                venvdeb().args(base(flag, path)).current_dir(s.path()),
                &what,
            );
            check(&out, &what, path, words, flag == "--wheelhouse");
            assert!(out.stdout.is_empty(), "{what}: stdout");
        }
    }
    // Control: the same inputs, all regular, verify.
    let out = run_bounded(venvdeb().args(base("", Path::new("/"))), "control");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn build_refuses_special_and_huge_inputs_quickly() {
    let s = scratch();
    let ex = copy_example(s.path());
    let h = hostile();
    let cfg = std::fs::read_to_string(ex.join("venvdeb.toml")).unwrap();
    let out_dir = s.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    for key in [
        "lock",
        "sums",
        "signature",
        "keyring",
        "wheelhouse",
        "config",
    ] {
        for (label, path, words) in &h.cases {
            let what = format!("build {key} {label}");
            let config = if key == "config" {
                path.clone()
            } else {
                let c = s.path().join(format!("{key}-{label}.toml"));
                let mut text = String::new();
                for line in cfg.lines() {
                    if line.starts_with(&format!("{key} = ")) {
                        text.push_str(&format!("{key} = {:?}\n", path.display().to_string()));
                    } else {
                        text.push_str(line);
                        text.push('\n');
                    }
                }
                assert!(text != cfg, "{key} not in the example config");
                std::fs::write(&c, text).unwrap();
                // Relative paths stay relative to the example.
                let dst = ex.join(c.file_name().unwrap());
                std::fs::rename(&c, &dst).unwrap();
                dst
            };
            let out = run_bounded(
                venvdeb()
                    .arg("build")
                    .arg("--config")
                    .arg(&config)
                    .arg("--output-dir")
                    .arg(&out_dir)
                    .env("SOURCE_DATE_EPOCH", "1700000000"),
                &what,
            );
            check(&out, &what, path, words, key == "wheelhouse");
            let left: Vec<_> = std::fs::read_dir(&out_dir).unwrap().collect();
            assert!(
                left.is_empty(),
                "{what}: left {left:?} in the output directory"
            );
        }
    }
}

/// `at` and `max-signature-age` in `[inputs]` reach `venvdeb build`: a bad
/// value is a configuration error naming the key; a reference time before
/// the example's signature makes that signature one from the future (exit
/// 3, nothing written).
#[test]
fn build_takes_the_signature_policy_from_the_config() {
    let s = scratch();
    let ex = copy_example(s.path());
    let cfg = std::fs::read_to_string(ex.join("venvdeb.toml")).unwrap();
    let out_dir = s.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    for (extra, code, words) in [
        ("at = \"soon\"", 2, "inputs.at"),
        (
            "max-signature-age = \"3 days\"",
            2,
            "inputs.max-signature-age",
        ),
        ("at = \"2000-01-01\"", 3, "is in the future"),
        ("max-signature-age = \"1s\"", 3, "at most 1 s old"),
    ] {
        std::fs::write(
            ex.join("venvdeb.toml"),
            cfg.replace("[inputs]\n", &format!("[inputs]\n{extra}\n")),
        )
        .unwrap();
        let out = run_bounded(
            venvdeb()
                .arg("build")
                .arg("--config")
                .arg(ex.join("venvdeb.toml"))
                .arg("--output-dir")
                .arg(&out_dir)
                .env("SOURCE_DATE_EPOCH", "1700000000"),
            extra,
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{extra}: {err}");
        assert!(err.contains(words), "{extra}: lacks {words:?}\n{err}");
        let left: Vec<_> = std::fs::read_dir(&out_dir).unwrap().collect();
        assert!(left.is_empty(), "{extra}: left {left:?}");
    }
}

/// The release side's inputs given by flag: `wheels index --sums/--signature`
/// and `wheels build --requirements` get the same clear, quick refusal.
#[test]
fn release_commands_refuse_special_and_huge_inputs_quickly() {
    let s = scratch();
    let ex = copy_example(s.path());
    let h = hostile();
    let empty = s.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    for (label, path, words) in &h.cases {
        for flag in ["--sums", "--signature"] {
            let what = format!("wheels index {flag} {label}");
            let (sums, sig) = if flag == "--sums" {
                (path.clone(), ex.join("sha256sums.txt.asc"))
            } else {
                (ex.join("sha256sums.txt"), path.clone())
            };
            let out = run_bounded(
                venvdeb()
                    .args(["wheels", "index"])
                    .arg(ex.join("wheelhouse"))
                    .arg("--output")
                    .arg(s.path().join(format!("index-{flag}-{label}")))
                    .arg("--sums")
                    .arg(&sums)
                    .arg("--signature")
                    .arg(&sig),
                &what,
            );
            check(&out, &what, path, words, false);
        }
        let what = format!("wheels build --requirements {label}");
        let out = run_bounded(
            venvdeb()
                .args(["wheels", "build", "--requirements"])
                .arg(path)
                .arg("--sdists")
                .arg(&empty)
                .arg("--backends")
                .arg(&empty)
                .arg("--backend-requirements")
                .arg(ex.join("requirements.txt"))
                .arg("--output")
                .arg(s.path().join(format!("wheels-{label}")))
                .env("SOURCE_DATE_EPOCH", "1700000000"),
            &what,
        );
        check(&out, &what, path, words, false);
    }
}

/// `venvdeb provenance`: the package and `--sums` get the same clear, quick
/// refusal, and no statement is written. The package is streamed, so it
/// has no size cap: the 100 MB file is refused as not a package.
#[test]
fn provenance_refuses_special_and_huge_inputs_quickly() {
    let s = scratch();
    let (ex, out) = common::build_example_copy(s.path());
    let deb = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .unwrap();
    let h = hostile();
    for (label, path, words) in &h.cases {
        for (flag, what_words) in [("--sums", *words), ("package", *words)] {
            let what = format!("provenance {flag} {label}");
            let statement = s
                .path()
                .join(format!("st-{label}-{}.json", flag.trim_start_matches('-')));
            let mut cmd = venvdeb();
            cmd.arg("provenance");
            let words = if flag == "--sums" {
                cmd.arg(&deb).arg("--sums").arg(path);
                what_words
            } else {
                cmd.arg(path).arg("--sums").arg(ex.join("sha256sums.txt"));
                if *label == "100MB" {
                    "not a Debian package"
                } else {
                    what_words
                }
            };
            let o = run_bounded(cmd.arg("--output").arg(&statement), &what);
            check(&o, &what, path, words, false);
            assert!(!statement.exists(), "{what}: a statement was written");
        }
    }
}
