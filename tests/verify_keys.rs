//! Signature validity at the signature's creation time, revocations hard and
//! soft, `--at` and `--max-signature-age`, certificates split over several
//! copies in the keyring, unknown critical subpackets and Git LFS pointers.
//! Keys and signatures are made by real gpg under faked times (see
//! fixtures/make-verify-fixtures.py, `make_time_cases`); every refusal exits
//! 3, prints nothing on stdout and writes nothing (`run_case` checks).
mod verify_support;

use std::path::PathBuf;
use std::process::Output;

use proptest::prelude::*;
use verify_support::{fixtures, run_case};

const BIN: &str = "keys";

fn case_dir(case: &str) -> PathBuf {
    fixtures(BIN).join("cases").join(case)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(case: &str, extra: &[&str], must_contain: &[&str]) -> String {
    let out = run_case(BIN, case, extra);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{case} {extra:?}: expected exit 0\nstderr: {}",
        stderr(&out)
    );
    for s in must_contain {
        assert!(stdout.contains(s), "{case}: stdout lacks {s:?}:\n{stdout}");
    }
    stdout
}

fn fails(case: &str, extra: &[&str], must_contain: &[&str]) -> String {
    let out = run_case(BIN, case, extra);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{case} {extra:?}: expected exit 3\nstderr: {err}"
    );
    assert!(out.stdout.is_empty(), "{case}: printed on stdout");
    for s in must_contain {
        assert!(err.contains(s), "{case}: stderr lacks {s:?}:\n{err}");
    }
    err
}

#[test]
fn signed_in_2024_by_a_key_that_expired_in_2025_verifies_now() {
    ok(
        "time-expired-after-signing",
        &[],
        &[
            "made 2024-06-01 00:00:00 UTC",
            "key expired since 2025-06-01",
            "still valid",
        ],
    );
    let json = ok("time-expired-after-signing", &["--json"], &[]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let s = &v["signers"][0];
    assert_eq!(s["created"], 1_717_200_000);
    assert_eq!(s["created_utc"], "2024-06-01 00:00:00 UTC");
    assert!(s["key_expires"].as_u64().unwrap() > 1_717_200_000);
    assert_eq!(s["key_expired_since"], s["key_expires"]);
    assert!(s["key_retired_since"].is_null());
    assert!(v["at"].is_null());
    let json = ok(
        "time-expired-after-signing",
        &["--json", "--at", "@1800000000"],
        &[],
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["at"], 1_800_000_000);
    // The older fixtures: primary and signing subkey expired after signing.
    ok("sig-expired-key", &[], &["key expired since 2020-12-31"]);
    ok(
        "sig-expired-subkey",
        &[],
        &["(subkey ", "key expired since"],
    );
}

#[test]
fn a_signature_made_after_the_key_expired_is_refused() {
    fails(
        "time-signed-after-expiry",
        &[],
        &[
            "made 2025-06-01 00:00:00 UTC",
            "had expired on 2024-04-01",
            "when the signature was made",
        ],
    );
}

#[test]
fn hard_revocations_void_signatures_of_any_date() {
    // Revoked (key compromised) in 2025, after the 2024 signature.
    fails(
        "time-hard-revoked",
        &[],
        &["key compromised", "hard revocation", "2025-01-01"],
    );
    // No reason given (gpg's stock revocation certificate): hard.
    fails("sig-revoked-key", &[], &["is revoked", "no reason"]);
    fails("sig-revoked-subkey", &[], &["subkey", "is revoked"]);
}

#[test]
fn soft_revocations_void_only_later_signatures() {
    ok(
        "time-soft-revoked-after-signing",
        &[],
        &["key retired since 2025-01-01", "still valid"],
    );
    let json = ok("time-retired-after-signing", &["--json"], &[]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["signers"][0]["key_retired_since"], 1_735_689_600);
    fails(
        "time-soft-revoked-before-signing",
        &[],
        &[
            "was revoked on 2025-01-01",
            "key superseded",
            "before the signature was made (2025-06-01",
        ],
    );
}

#[test]
fn a_sha1_revocation_still_revokes_and_a_broken_one_does_not() {
    fails(
        "time-sha1-revocation",
        &[],
        &["is revoked", "no reason specified"],
    );
    ok("time-sha1-revocation-tampered", &[], &["good signature"]);
}

#[test]
fn future_signatures_are_refused_and_at_moves_the_verdict() {
    fails(
        "time-future",
        &[],
        &[
            "creation time 2099-01-01 00:00:00 UTC is in the future",
            "300 s",
        ],
    );
    ok("time-future", &["--at", "2099-01-02"], &["good signature"]);
    // A signature that expires after 30 days.
    fails(
        "time-signature-expires",
        &[],
        &["expired on 2024-07-01 00:00:00 UTC"],
    );
    ok(
        "time-signature-expires",
        &["--at", "2024-06-15T12:00:00Z"],
        &["good signature"],
    );
    fails(
        "time-signature-expires",
        &["--at", "@1719792001"],
        &["expired on 2024-07-01"],
    );
    // Before it was made, a signature is in the future.
    fails(
        "time-expired-after-signing",
        &["--at", "2024-05-01"],
        &["in the future", "reference time 2024-05-01 00:00:00 UTC"],
    );
    let out = run_case(BIN, "time-future", &["--at", "tomorrow"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("expected YYYY-MM-DD"));
}

#[test]
fn max_signature_age_refuses_stale_lists() {
    fails(
        "time-expired-after-signing",
        &["--max-signature-age", "30d"],
        &["expected one at most 2592000 s old"],
    );
    ok(
        "time-expired-after-signing",
        &["--max-signature-age", "30d", "--at", "2024-06-20"],
        &["good signature"],
    );
}

#[test]
fn at_and_max_signature_age_from_the_config_file() {
    let d = case_dir("time-signature-expires");
    let cfg = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        cfg.path(),
        format!(
            "[inputs]\nwheelhouse = \"{0}/wheelhouse\"\nlock = \"{0}/requirements.txt\"\n\
             sums = \"{0}/sha256sums.txt\"\nsignature = \"{0}/sha256sums.txt.asc\"\n\
             keyring = \"{0}/keyring.gpg\"\nat = \"2024-06-15\"\n",
            d.display()
        ),
    )
    .unwrap();
    let run = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_venvdeb"))
            .arg("verify")
            .arg("--config")
            .arg(cfg.path())
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The flag wins over the file.
    let out = run(&["--at", "2024-08-01"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let out = run(&["--max-signature-age", "1d"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("at most 86400 s old"));
}

const MERGE_CASES: [(&str, &str); 3] = [
    ("merge-revocation-in-second-copy", "is revoked"),
    ("merge-expiry-in-second-copy", "had expired on 2024-04-01"),
    (
        "merge-subkey-revoked-in-second-copy",
        "is revoked (no reason specified",
    ),
];

#[test]
fn copies_of_a_certificate_merge_in_any_order() {
    for (case, why) in MERGE_CASES {
        let d = case_dir(case);
        // The first copy alone is fine: only the second one changes the verdict.
        let c1 = d.join("copy1.gpg");
        ok(
            case,
            &["--keyring", c1.to_str().unwrap()],
            &["good signature"],
        );
        let mut messages = Vec::new();
        for k in [
            "keyring.gpg",
            "keyring-reversed.gpg",
            "keyring-armored.asc",
            "keyring-armored-reversed.asc",
            "copy2.gpg",
        ] {
            let k = d.join(k);
            let e = fails(case, &["--keyring", k.to_str().unwrap()], &[why]);
            // The same verdict and reason whatever the order (the message
            // names the keyring file, so compare after it).
            messages.push(
                e.split(" is cryptographically valid")
                    .nth(1)
                    .unwrap()
                    .to_string(),
            );
        }
        messages.dedup();
        assert_eq!(messages.len(), 1, "{case}: {messages:#?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any sequence of copies (binary concatenation, with an unrelated key
    /// mixed in): refused exactly when a copy carrying the change is there.
    #[test]
    fn any_mix_of_copies_gives_the_union_verdict(
        case in 0usize..3,
        pieces in proptest::collection::vec(0usize..3, 1..6),
    ) {
        let (name, why) = MERGE_CASES[case];
        let d = case_dir(name);
        let other = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/keys/test-key-b.public.gpg");
        let files = [d.join("copy1.gpg"), d.join("copy2.gpg"), other];
        let mut kr = Vec::new();
        for &p in &pieces {
            kr.extend(std::fs::read(&files[p]).unwrap());
        }
        let t = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(t.path(), &kr).unwrap();
        let sums = std::fs::read(d.join("sha256sums.txt")).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let r = venvdeb::verify::signature::verify_detached_policy(
            &sums,
            "sha256sums.txt",
            &d.join("sha256sums.txt.asc"),
            t.path(),
            1,
            now,
            &Default::default(),
        );
        let has_change = pieces.contains(&1);
        let has_key = pieces.contains(&0) || has_change;
        match r {
            Ok(_) => prop_assert!(has_key && !has_change, "{pieces:?} verified"),
            Err(e) => {
                let e = format!("{e:#}");
                if has_change {
                    prop_assert!(e.contains(why), "{pieces:?}: {e}");
                } else {
                    prop_assert!(!has_key, "{pieces:?}: {e}");
                    prop_assert!(e.contains("not in the keyring"), "{pieces:?}: {e}");
                }
            }
        }
    }
}

#[test]
fn unknown_critical_subpackets_invalidate_signatures() {
    fails(
        "crit-data-signature",
        &[],
        &[
            "unknown critical notation \"critical@example.invalid\"",
            "RFC 9580",
        ],
    );
    fails(
        "crit-self-signature",
        &[],
        &[
            "no usable self-signature",
            "has an unknown critical notation",
        ],
    );
    fails(
        "crit-subkey-binding",
        &[],
        &[
            "no usable binding signature",
            "has an unknown critical notation",
        ],
    );
}

#[test]
fn lfs_pointers_are_named_as_such() {
    let e = fails(
        "lfs-pointers",
        &[],
        &[
            "2 problems",
            "foo-1.0-py3-none-any.whl: sha256 expected one of",
            "This file is a Git LFS pointer (oid sha256:",
            "whose oid is the pinned sha256",
            "git lfs pull",
        ],
    );
    // Hash first: no zip-level complaint.
    assert!(!e.contains("central directory"), "{e}");
}

#[test]
fn keys_extended_after_signing_still_verify() {
    // gpg keeps only the newest self-signature (or binding) after an expiry
    // change: the one in the keyring postdates the signature.
    ok(
        "time-expiry-extended-after-signing",
        &[],
        &["made 2024-06-01 00:00:00 UTC"],
    );
    ok("time-subkey-extended-after-signing", &[], &["(subkey "]);
}

/// venvdeb's verdict beside gpgv's (GnuPG 2.2) and sqv's (Sequoia), both
/// measured here on every run: the table of docs/verify.md. gpgv's exit
/// status is 0 for signatures by expired and revoked keys (only its status
/// lines say so), and with several copies of a certificate the first one
/// decides. sqv judges at the signature's time like venvdeb, except for keys
/// whose only self-signature postdates the signature.
#[test]
fn side_by_side_with_gpgv_and_sqv() {
    // (case, keyring, venvdeb, gpgv exit, gpgv status, sqv exit)
    let table: &[(&str, &str, i32, i32, &str, i32)] = &[
        (
            "time-expired-after-signing",
            "keyring.gpg",
            0,
            0,
            "EXPKEYSIG",
            0,
        ),
        (
            "time-signed-after-expiry",
            "keyring.gpg",
            3,
            0,
            "EXPKEYSIG",
            1,
        ),
        (
            "time-expiry-extended-after-signing",
            "keyring.gpg",
            0,
            0,
            "GOODSIG",
            1,
        ),
        (
            "time-subkey-extended-after-signing",
            "keyring.gpg",
            0,
            0,
            "GOODSIG",
            1,
        ),
        ("time-hard-revoked", "keyring.gpg", 3, 0, "REVKEYSIG", 1),
        (
            "time-soft-revoked-after-signing",
            "keyring.gpg",
            0,
            0,
            "REVKEYSIG",
            0,
        ),
        (
            "time-soft-revoked-before-signing",
            "keyring.gpg",
            3,
            0,
            "REVKEYSIG",
            1,
        ),
        ("time-sha1-revocation", "keyring.gpg", 3, 0, "REVKEYSIG", 1),
        ("time-future", "keyring.gpg", 3, 0, "GOODSIG", 1),
        ("time-signature-expires", "keyring.gpg", 3, 1, "EXPSIG", 1),
        (
            "merge-revocation-in-second-copy",
            "keyring.gpg",
            3,
            0,
            "GOODSIG",
            1,
        ),
        (
            "merge-revocation-in-second-copy",
            "keyring-reversed.gpg",
            3,
            0,
            "REVKEYSIG",
            1,
        ),
        (
            "merge-expiry-in-second-copy",
            "keyring.gpg",
            3,
            0,
            "GOODSIG",
            1,
        ),
        (
            "merge-expiry-in-second-copy",
            "keyring-reversed.gpg",
            3,
            0,
            "EXPKEYSIG",
            1,
        ),
        (
            "merge-subkey-revoked-in-second-copy",
            "keyring.gpg",
            3,
            0,
            "GOODSIG",
            1,
        ),
        (
            "merge-subkey-revoked-in-second-copy",
            "keyring-reversed.gpg",
            3,
            0,
            "REVKEYSIG",
            1,
        ),
        ("crit-data-signature", "keyring.gpg", 3, 1, "BADSIG", 1),
        ("crit-self-signature", "keyring.gpg", 3, 2, "ERRSIG", 1),
        ("crit-subkey-binding", "keyring.gpg", 3, 2, "ERRSIG", 1),
    ];
    for &(case, keyring, ours, gpgv_code, status, sqv_code) in table {
        let d = case_dir(case);
        let k = d.join(keyring);
        let out = run_case(BIN, case, &["--keyring", k.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(ours),
            "{case} {keyring}: venvdeb\n{}",
            stderr(&out)
        );
        let g = std::process::Command::new("gpgv")
            .arg("--status-fd")
            .arg("1")
            .arg("--homedir")
            .arg(d.join("no-such-gnupg-home"))
            .arg("--keyring")
            .arg(&k)
            .arg(d.join("sha256sums.txt.asc"))
            .arg(d.join("sha256sums.txt"))
            .output()
            .unwrap();
        let st = String::from_utf8_lossy(&g.stdout);
        assert_eq!(
            g.status.code(),
            Some(gpgv_code),
            "{case} {keyring}: gpgv\n{st}"
        );
        assert!(
            st.contains(&format!("[GNUPG:] {status} ")),
            "{case} {keyring}: gpgv status lacks {status}:\n{st}"
        );
        let q = std::process::Command::new("sqv")
            .arg("--keyring")
            .arg(&k)
            .arg(d.join("sha256sums.txt.asc"))
            .arg(d.join("sha256sums.txt"))
            .output()
            .expect("sqv (scripts/deps.sh test installs it)");
        assert_eq!(
            q.status.code(),
            Some(sqv_code),
            "{case} {keyring}: sqv\n{}",
            String::from_utf8_lossy(&q.stderr)
        );
    }
}
