//! The library side of verification, as the installer uses it: `verify()`
//! returns a `VerifiedWheelhouse`; `VerifiedWheel::stream` re-reads a wheel
//! and catches a file swapped after verification (RECORD changed: refused
//! before any byte streams; an entry changed: its reader fails at its end).
mod verify_support;

use std::path::Path;

use venvdeb::verify::{verify, VerifyInputs, DEFAULT_MAX_UNCOMPRESSED};
use venvdeb::wheel::markers::MarkerEnv;
use verify_support::fixtures;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn inputs(case: &Path) -> VerifyInputs {
    VerifyInputs {
        wheelhouse: case.join("wheelhouse"),
        lock: case.join("requirements.txt"),
        sums: case.join("sha256sums.txt"),
        signature: case.join("sha256sums.txt.asc"),
        keyring: case.join("keyring.gpg"),
        threshold: 1,
        marker_env: MarkerEnv::query(Path::new("/usr/bin/python3")).unwrap(),
        max_uncompressed: DEFAULT_MAX_UNCOMPRESSED,
        signature_policy: Default::default(),
    }
}

#[test]
fn verified_wheelhouse_accessors_and_stream() {
    let case = fixtures("api").join("cases/good-binary");
    let v = verify(&inputs(&case)).unwrap();
    assert_eq!(v.signers(), ["595A009BA81A0416E41F381346BEDEF97A3ECF34"]);
    let names: Vec<&str> = v.requirements().iter().map(|r| r.name()).collect();
    assert_eq!(names, ["bar", "foo"]);
    let foo = &v.requirements()[1].wheels()[0];
    assert_eq!(foo.file_name(), "foo-1.0-py3-none-any.whl");
    assert_eq!(foo.dist_name(), "foo");
    assert_eq!(foo.version(), "1.0");
    assert_eq!(foo.tags()[0].to_string(), "py3-none-any");
    assert_eq!(foo.dist_info(), "foo-1.0.dist-info");
    assert!(foo.entry_points().is_some());
    assert!(foo.record().entries.contains_key("foo/__init__.py"));
    // Streaming gives exactly the RECORD's files.
    let mut seen = Vec::new();
    foo.stream(|entry, r| {
        let mut b = Vec::new();
        r.read_to_end(&mut b)?;
        seen.push((entry.name.clone(), b.len() as u64));
        Ok(())
    })
    .unwrap();
    for (name, size) in &seen {
        if let Some(rec) = foo.record().entries.get(name) {
            assert_eq!(rec.size, *size, "{name}");
        }
    }
    assert_eq!(seen.len(), foo.record().entries.len() + 1); // + RECORD itself
}

#[test]
fn swapped_after_verification_is_caught_while_streaming() {
    let root = fixtures("api");
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("case");
    copy_dir(&root.join("cases/good-binary"), &case);
    let v = verify(&inputs(&case)).unwrap();
    let foo = v.wheels().find(|w| w.dist_name() == "foo").unwrap().clone();
    let target = case.join("wheelhouse/foo-1.0-py3-none-any.whl");

    // Same RECORD, one file's bytes changed: the entry's reader fails.
    std::fs::copy(
        root.join("cases/record-mismatch/wheelhouse/foo-1.0-py3-none-any.whl"),
        &target,
    )
    .unwrap();
    let mut written = Vec::new();
    let err = foo
        .stream(|entry, r| {
            let mut b = Vec::new();
            r.read_to_end(&mut b)?;
            written.push(entry.name.clone());
            Ok(())
        })
        .unwrap_err();
    assert_eq!(venvdeb::exit::code_for(&err), 3);
    let msg = format!("{err:#}");
    assert!(
        msg.contains("foo/__init__.py: RECORD expected sha256:"),
        "{msg}"
    );
    assert!(
        !written.contains(&"foo/__init__.py".to_string()),
        "the bad entry was accepted"
    );

    // Another RECORD: refused before any entry streams.
    std::fs::copy(
        root.join("cases/swapped-wheel/wheelhouse/foo-1.0-py3-none-any.whl"),
        &target,
    )
    .unwrap();
    let mut calls = 0;
    let err = foo.stream(|_, _| {
        calls += 1;
        Ok(())
    });
    let msg = format!("{:#}", err.unwrap_err());
    assert!(msg.contains("RECORD: expected sha256"), "{msg}");
    assert_eq!(calls, 0);
}

mod signature_fuzz {
    use super::fixtures;
    use proptest::prelude::*;
    use std::time::SystemTime;
    use venvdeb::verify::signature::verify_detached;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Mutated signatures and keyrings: an error or (for harmless
        /// mutations) success, never a panic; a mutated keyring or signature
        /// never yields a good signature over altered data.
        #[test]
        fn mutated_signature_and_keyring_never_panic(
            which in 0u8..2, pos in 0usize..100_000, byte in any::<u8>(),
        ) {
            let case = fixtures("api").join("cases/good-binary");
            let sums = std::fs::read(case.join("sha256sums.txt")).unwrap();
            let dir = tempfile::tempdir().unwrap();
            let mut sig = std::fs::read(case.join("sha256sums.txt.asc")).unwrap();
            let mut kr = std::fs::read(case.join("keyring.gpg")).unwrap();
            let target = if which == 0 { &mut sig } else { &mut kr };
            let p = pos % target.len();
            target[p] ^= byte | 1;
            std::fs::write(dir.path().join("s.sig"), &sig).unwrap();
            std::fs::write(dir.path().join("k.gpg"), &kr).unwrap();
            let _ = verify_detached(&sums, "sums", &dir.path().join("s.sig"), &dir.path().join("k.gpg"), 1, SystemTime::now());
            let mut altered = sums.clone();
            altered[0] ^= 1;
            let r = verify_detached(&altered, "sums", &dir.path().join("s.sig"), &dir.path().join("k.gpg"), 1, SystemTime::now());
            prop_assert!(r.is_err());
        }
    }
}
