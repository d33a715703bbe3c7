//! Every attack `venvdeb verify` must stop: one hostile fixture each (made
//! by fixtures/make-verify-fixtures.py), exit code 3, a message naming the
//! file, what was expected and what was found, nothing on stdout, nothing
//! written.
mod verify_support;

use verify_support::run_case;

fn fails(case: &str, must_contain: &[&str]) {
    let out = run_case("attacks", case, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{case}: expected exit 3, got {:?}\nstderr: {stderr}",
        out.status
    );
    assert!(
        out.stdout.is_empty(),
        "{case}: printed on stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    for s in must_contain {
        assert!(stderr.contains(s), "{case}: stderr lacks {s:?}:\n{stderr}");
    }
}

macro_rules! attack {
    ($name:ident, $case:literal, [$($s:literal),* $(,)?]) => {
        #[test]
        fn $name() {
            fails($case, &[$($s),*]);
        }
    };
}

// Signature
attack!(
    sig_tampered_list,
    "sig-tampered-list",
    [
        "sha256sums.txt.asc",
        "BAD signature",
        "595A009BA81A0416E41F381346BEDEF97A3ECF34",
        "does not verify"
    ]
);
attack!(
    sig_unknown_key,
    "sig-unknown-key",
    [
        "at least 1 distinct keys",
        "found 0",
        "not in the keyring (not counted)"
    ]
);
attack!(
    sig_below_threshold,
    "sig-below-threshold",
    [
        "at least 2 distinct keys",
        "found 1 (595A009BA81A0416E41F381346BEDEF97A3ECF34)"
    ]
);
attack!(
    sig_same_key_twice,
    "sig-same-key-twice",
    ["at least 2 distinct keys", "found 1"]
);
attack!(
    sig_sha1_digest,
    "sig-sha1",
    [
        "D270D49ADA0BAF36F2B8251780722284157A9211",
        "SHA1 refused",
        "expected SHA-256 or stronger"
    ]
);
// Expired keys that signed before they expired: tests/verify_keys.rs.
attack!(sig_revoked_key, "sig-revoked-key", ["is revoked"]);
attack!(
    sig_revoked_subkey,
    "sig-revoked-subkey",
    ["subkey", "is revoked"]
);
attack!(
    sig_one_bad_of_two,
    "sig-one-bad-of-two",
    ["BAD signature by key D270D49ADA0BAF36F2B8251780722284157A9211"]
);
attack!(
    sig_garbage,
    "sig-garbage",
    ["sha256sums.txt.asc", "cannot read"]
);

// Signed list
attack!(
    sums_malformed,
    "sums-malformed",
    [
        "sha256sums.txt line 2",
        "expected `<64 hex digits>  <file name>`"
    ]
);
attack!(
    sums_path,
    "sums-path",
    [
        "sha256sums.txt line 1",
        "../foo-1.0-py3-none-any.whl",
        "expected a plain file name"
    ]
);
attack!(
    sums_duplicate,
    "sums-duplicate",
    ["sha256sums.txt line 3", "listed again (first on line 1)"]
);
attack!(
    sums_missing_wheel,
    "sums-missing-wheel",
    [
        "foo-1.0-py3-none-any.whl",
        "expected in the signed list",
        "found no line"
    ]
);
attack!(sums_hash_mismatch, "sums-hash-mismatch", ["foo-1.0-py3-none-any.whl: sha256 expected 4444444444444444444444444444444444444444444444444444444444444444", "sha256sums.txt line 1), found"]);

// Lock
attack!(
    lock_unpinned,
    "lock-unpinned",
    ["requirements.txt line 1", "foo>=1.0", "not pinned"]
);
attack!(
    lock_no_hash,
    "lock-no-hash",
    ["requirements.txt line 2", "bar==2.0 has no --hash"]
);
attack!(
    lock_md5,
    "lock-md5",
    ["requirements.txt line 1", "md5 is too weak"]
);
attack!(
    lock_sha1,
    "lock-sha1",
    ["requirements.txt line 1", "sha1 is too weak"]
);
attack!(
    lock_url,
    "lock-url",
    ["requirements.txt line 1", "URL or VCS requirement"]
);
attack!(
    lock_editable,
    "lock-editable",
    ["requirements.txt line 1", "editable requirement"]
);
attack!(
    lock_missing_wheel,
    "lock-missing-wheel",
    [
        "baz==1.0",
        "requirements.txt line 2",
        "expected a wheel in",
        "found no wheel of that name and version"
    ]
);
attack!(
    pylock_sdist_only,
    "pylock-sdist-only",
    ["pylock.toml packages[0] (foo)", "only an sdist"]
);
attack!(
    swapped_wheel,
    "swapped-wheel",
    [
        "wheelhouse/foo-1.0-py3-none-any.whl: sha256 expected one of [sha256:",
        "found sha256:",
        "sha256sums.txt line 2 says"
    ]
);

// Inside the wheel
attack!(
    record_mismatch,
    "record-mismatch",
    [
        "foo-1.0-py3-none-any.whl: foo/__init__.py: RECORD expected sha256:",
        "(16 bytes), found sha256:"
    ]
);
attack!(
    record_unlisted_entry,
    "record-unlisted-entry",
    ["foo/evil.py: expected a line in foo-1.0.dist-info/RECORD, found none"]
);
attack!(
    record_extra_line,
    "record-extra-line",
    ["RECORD lists \"foo/ghost.py\": expected an entry of that name, found none"]
);
attack!(
    record_weak_hash,
    "record-weak-hash",
    ["RECORD line 2", "foo/cli.py", "md5 is too weak"]
);
attack!(
    zip_traversal,
    "zip-traversal",
    [
        "foo-1.0-py3-none-any.whl",
        "\"foo/../../evil.py\" contains a \"..\" component"
    ]
);
attack!(
    zip_absolute,
    "zip-absolute",
    ["\"/etc/evil.py\" is an absolute path"]
);
attack!(zip_backslash, "zip-backslash", ["contains a backslash"]);
attack!(
    zip_drive_letter,
    "zip-drive-letter",
    ["\"C:/evil.py\" starts with a drive letter"]
);
attack!(zip_nul, "zip-nul", ["contains NUL"]);
attack!(zip_bad_utf8, "zip-bad-utf8", ["is not valid UTF-8"]);
attack!(
    zip_duplicate,
    "zip-duplicate",
    ["duplicate entry \"foo/__init__.py\""]
);
attack!(
    zip_case_duplicate,
    "zip-case-duplicate",
    ["\"foo/__init__.py\" and \"foo/__INIT__.py\" collide"]
);
attack!(
    zip_nfc_duplicate,
    "zip-nfc-duplicate",
    ["collide after case folding and Unicode normalization"]
);
attack!(
    zip_symlink,
    "zip-symlink",
    ["foo/link: symbolic link entry"]
);
attack!(
    zip_encrypted,
    "zip-encrypted",
    ["foo/cli.py: encrypted entry"]
);
attack!(
    zip_method_bzip2,
    "zip-method-bzip2",
    ["foo/cli.py: compression method 12: expected 0 (stored) or 8 (deflate)"]
);
attack!(
    zip_local_header_mismatch,
    "zip-local-name-mismatch",
    ["foo/cli.py: local header names \"foo/clj.py\", central directory \"foo/cli.py\""]
);
attack!(
    zip_trailing_data,
    "zip-trailing-data",
    ["expected the end-of-central-directory record in the last 22 bytes"]
);
attack!(zip_comment, "zip-comment", ["end-of-central-directory"]);
attack!(
    zip_prepended_data,
    "zip-prepended-data",
    ["at offset 17: expected 0 (data before the first entry)"]
);
attack!(
    zip_hidden_gap,
    "zip-hidden-gap",
    ["foo/cli.py: 30 bytes between the entry's data and the next entry: expected none"]
);
attack!(
    zip_size_lie,
    "zip-size-lie",
    ["foo/cli.py: more than the declared 5 bytes"]
);
attack!(
    zip_crc_mismatch,
    "zip-crc-mismatch",
    ["foo/cli.py: CRC-32 expected 12345678, found"]
);
attack!(
    zip_over_cap,
    "zip-over-cap",
    ["more than the limit of 1048576"]
);
attack!(
    wheel_two_dist_info,
    "wheel-two-dist-info",
    ["expected exactly one .dist-info directory, found 2"]
);
attack!(
    wheel_dist_info_mismatch,
    "wheel-dist-info-mismatch",
    ["file name says foo 1.0, .dist-info directory says foo 1.1"]
);
attack!(
    wheel_metadata_mismatch,
    "wheel-metadata-mismatch",
    ["file name says foo 1.0, METADATA says foo 6.6.6"]
);
attack!(
    wheel_version_2,
    "wheel-version-2",
    ["Wheel-Version expected 1.x, found 2.0"]
);

attack!(
    zip_utf8_without_flag,
    "zip-utf8-without-flag",
    ["non-ASCII name without the UTF-8 flag"]
);
attack!(
    zip_unicode_path_extra,
    "zip-unicode-path-extra",
    ["foo/cli.py: extra field 0x7075"]
);
attack!(
    zip_symlink_dos_host,
    "zip-symlink-dos-host",
    ["foo/link2: symbolic link entry"]
);

attack!(
    record_metadata_tampered,
    "record-metadata-tampered",
    [
        "foo-1.0.dist-info/METADATA: RECORD expected sha256:",
        "found sha256:"
    ]
);

/// A good case is refused when the threshold asks for more keys than signed.
#[test]
fn good_case_fails_with_higher_threshold() {
    let out = run_case("attacks", "good-subkey-armored", &["--threshold", "2"]);
    assert_eq!(out.status.code(), Some(3));
}

/// A good case whose keyring holds only B (A signed): not counted, exit 3.
#[test]
fn keyring_without_the_signer() {
    let root = verify_support::fixtures("attacks");
    let b = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/keys/test-key-b.public.asc");
    let out = run_case(
        "attacks",
        "good-binary",
        &["--keyring", b.to_str().unwrap()],
    );
    assert!(root.exists());
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not in the keyring"));
}
