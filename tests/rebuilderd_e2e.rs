//! venvdeb's rebuilderd backend end to end, with Debian's own rebuilderd,
//! rebuilderd-worker and rebuildctl (trixie, 0.24 / 0.23.1) in a clean trixie
//! chroot made by `scripts/chroot.sh` (cached under /var/cache/venvdeb-chroots)
//! and run without network (loopback only).
//!
//! `scripts/rebuilderd-e2e.sh` builds three venvdeb packages with the
//! binary under test (two honest, one altered after the build), publishes
//! the example's wheels as a signed index, serves both on 127.0.0.1, and in
//! two rounds (two workers, then one) starts a fresh daemon, imports the
//! repository with `scripts/rebuilderd-import.sh | rebuildctl pkgs
//! sync-stdin venvdeb main`, starts the workers (backend "venvdeb" =
//! `scripts/rebuilderd-backend.sh`) and waits for the verdicts, which must be
//! GOOD, GOOD, BAD as `rebuildctl pkgs ls` shows them. Everything it starts
//! is stopped by the script's trap, and the chroot is removed by chroot.sh.
//! The rounds' times are printed (packages per minute), not asserted.
//!
//! Needs root and, the first time, Debian's archive. It fails — never skips —
//! when a chroot cannot be made.
mod common;

use std::process::Command;

use common::{repo, scratch};

#[test]
fn rebuilderd_reports_good_good_bad_with_two_workers_and_one() {
    let tar = common::chroot_tarball("trixie", &["rebuilderd", "rebuilderd-worker", "rebuildctl"]);

    let s = scratch();
    let bin = s.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_venvdeb"), bin.join("venvdeb")).unwrap();
    let report = s.path().join("report");
    std::fs::create_dir_all(&report).unwrap();
    let out = Command::new("sh")
        .arg(repo().join("scripts/chroot.sh"))
        .args(["run", &tar, "--no-net"])
        .arg("--ro-bind")
        .arg(format!("{}:/src", repo().display()))
        .arg("--ro-bind")
        .arg(format!("{}:/venvdeb", bin.display()))
        .arg("--bind")
        .arg(format!("{}:/out", report.display()))
        .args([
            "--",
            "env",
            "VENVDEB=/venvdeb/venvdeb",
            "sh",
            "/src/scripts/rebuilderd-e2e.sh",
            "/src",
            "/out",
            "2",
            "1",
        ])
        .output()
        .expect("run scripts/chroot.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "rebuilderd end to end failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    let rounds: Vec<&str> = stdout.lines().filter(|l| l.starts_with("round ")).collect();
    assert_eq!(rounds.len(), 2, "{stdout}");
    for (r, workers) in rounds.iter().zip(["2", "1"]) {
        assert!(
            r.starts_with(&format!("round workers={workers} packages=3 ")),
            "{r}"
        );
        assert!(
            r.ends_with("verdicts=vd-altered:BAD,vd-pygments:GOOD,vd-tabulate:GOOD"),
            "{r}\n{stdout}\nworker and daemon logs:\n{}",
            logs(&report)
        );
        let ms: f64 = r
            .split(' ')
            .find_map(|f| f.strip_prefix("ms="))
            .and_then(|v| v.parse().ok())
            .expect("ms=");
        eprintln!(
            "rebuilderd, {workers} worker(s): 3 packages in {:.1} s = {:.1} packages/minute",
            ms / 1000.0,
            3.0 * 60_000.0 / ms.max(1.0)
        );
    }
    // rebuildctl's own listing shows the verdicts.
    assert!(stdout.contains("[BAD  ] vd-altered 1.0-1"), "{stdout}");
    assert!(stdout.contains("[GOOD ] vd-tabulate 1.0-1"), "{stdout}");
    assert!(stdout.contains("[GOOD ] vd-pygments 1.0-1"), "{stdout}");
    eprintln!("{stdout}");
}

/// The worker and daemon logs the e2e script copied out, for a failure
/// message (an unexpected verdict says why only there).
fn logs(dir: &std::path::Path) -> String {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    names.sort();
    names
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .map(|p| {
            format!(
                "== {}\n{}",
                p.display(),
                String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default())
            )
        })
        .collect()
}
