//! Debian's reprotest on the example packaged with `venvdeb init` and
//! `dh $@ --with venvdeb` (scripts/reprotest.sh): every variation but
//! user_group — build path, environment, file ordering (disorderfs), host
//! and domain name, kernel, locales, exec path, home, CPU count, time, time
//! zone, umask — must give identical .deb files.
mod common;

use std::process::Command;

use common::*;

#[test]
fn reprotest_reports_reproducible() {
    let out = run(Command::new("sh")
        .arg(repo().join("scripts/reprotest.sh"))
        .arg("--venvdeb")
        .arg(env!("CARGO_BIN_EXE_venvdeb"))
        .env_remove("SOURCE_DATE_EPOCH"));
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "reprotest failed:\n{log}");
    assert!(log.contains("Reproduction successful"), "{log}");
    assert!(log.contains("No differences in ./../*.*deb"), "{log}");
    assert!(log.contains(&example_deb()), "no .deb compared:\n{log}");
}
