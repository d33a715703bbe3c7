//! `venvdeb diff` against packages made by the real dpkg-deb (and by `ar`
//! and a header-rewriting /usr/bin/python3 script for encoding differences).
mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{ok, run, scratch, venvdeb};

const SDE: &str = "1700000000";

/// A small package tree: control, a postinst, text and binary files, a
/// symlink and a path over 100 bytes (GNU long name).
fn make_tree(root: &Path) {
    let deb = root.join("DEBIAN");
    fs::create_dir_all(&deb).unwrap();
    fs::write(
        deb.join("control"),
        "Package: difftest\nVersion: 1.0\nArchitecture: all\nMaintainer: T <t@example.org>\nDescription: diff test\n long text\n",
    )
    .unwrap();
    fs::write(deb.join("postinst"), "#!/bin/sh\nset -e\necho configured\n").unwrap();
    fs::set_permissions(deb.join("postinst"), fs::Permissions::from_mode(0o755)).unwrap();
    let share = root.join("usr/share/difftest");
    fs::create_dir_all(&share).unwrap();
    fs::write(share.join("a.txt"), "alpha\nbeta\ngamma\n").unwrap();
    fs::write(share.join("b.bin"), [0u8, 1, 2, 3, 255, 0]).unwrap();
    std::os::unix::fs::symlink("a.txt", share.join("link")).unwrap();
    let deep = share.join("d".repeat(60)).join("e".repeat(60));
    fs::create_dir_all(&deep).unwrap();
    fs::write(deep.join("long-name.txt"), "deep\n").unwrap();
    for d in [root.join("usr"), root.join("usr/share"), share.clone()] {
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
    }
    for f in [
        share.join("a.txt"),
        share.join("b.bin"),
        deep.join("long-name.txt"),
    ] {
        fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).unwrap();
    }
}

fn dpkg_deb(root: &Path, out: &Path, z: &str) {
    ok(Command::new("dpkg-deb")
        .env("SOURCE_DATE_EPOCH", SDE)
        .args(["--root-owner-group", &format!("-Z{z}"), "--build"])
        .arg(root)
        .arg(out));
}

/// A scratch dir with tree `t` and its package `a.deb` (xz).
fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = scratch();
    let tree = dir.path().join("t");
    make_tree(&tree);
    let a = dir.path().join("a.deb");
    dpkg_deb(&tree, &a, "xz");
    (dir, tree, a)
}

/// Run `venvdeb diff`, return (exit code, stdout, stderr).
fn diff(a: &Path, b: &Path, extra: &[&str]) -> (i32, String, String) {
    let out = run(venvdeb().arg("diff").arg(a).arg(b).args(extra));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_line(out: &str, line: &str) {
    assert!(
        out.lines().any(|l| l == line),
        "no line {line:?} in report:\n{out}"
    );
}

#[test]
fn identical_packages_exit_0_in_every_compression() {
    let (dir, tree, _) = setup();
    for z in ["xz", "zstd", "gzip", "none"] {
        let p = dir.path().join(format!("p-{z}.deb"));
        let q = dir.path().join(format!("q-{z}.deb"));
        dpkg_deb(&tree, &p, z);
        dpkg_deb(&tree, &q, z);
        let (code, out, err) = diff(&p, &p, &[]);
        assert_eq!(code, 0, "{z} against itself: {out}{err}");
        assert!(out.starts_with("identical: "), "{out}");
        let (code, out, err) = diff(&p, &q, &[]);
        assert_eq!(code, 0, "{z}: two builds of one tree: {out}{err}");
    }
}

#[test]
fn compression_difference_with_identical_tars() {
    let (dir, tree, a) = setup();
    for z in ["zstd", "gzip", "none"] {
        let b = dir.path().join(format!("b-{z}.deb"));
        dpkg_deb(&tree, &b, z);
        let (code, out, err) = diff(&a, &b, &[]);
        assert_eq!(code, 1, "{out}{err}");
        let name = match z {
            "zstd" => "zst",
            "gzip" => "gz",
            _ => "",
        };
        let member = if name.is_empty() {
            "data.tar".to_string()
        } else {
            format!("data.tar.{name}")
        };
        assert_line(
            &out,
            &format!("ar data.tar.xz: name: data.tar.xz -> {member}"),
        );
        assert_line(&out, &format!("data.tar: compression: xz -> {z}"));
        assert!(
            !out.contains("data.tar ./"),
            "entries reported although tars are identical:\n{out}"
        );
        assert!(err.contains("differ"), "{err}");
    }
}

#[test]
fn one_file_changed_is_named() {
    let (dir, tree, a) = setup();
    fs::write(
        tree.join("usr/share/difftest/a.txt"),
        "alpha\nBETA\ngamma\n",
    )
    .unwrap();
    let b = dir.path().join("b.deb");
    dpkg_deb(&tree, &b, "xz");
    let (code, out, _) = diff(&a, &b, &[]);
    assert_eq!(code, 1, "{out}");
    let file_lines: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("data.tar ./"))
        .collect();
    assert_eq!(
        file_lines.len(),
        1,
        "exactly the changed file: {file_lines:?}"
    );
    assert!(
        file_lines[0].starts_with("data.tar ./usr/share/difftest/a.txt: sha256: "),
        "{out}"
    );
    // dpkg-deb writes no md5sums: control.tar is unchanged
    assert!(!out.contains("control.tar"), "{out}");
    // --content: a unified diff of the text file
    let (code, out, _) = diff(&a, &b, &["--content"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("--- a/./usr/share/difftest/a.txt\n+++ b/./usr/share/difftest/a.txt\n"),
        "{out}"
    );
    assert!(out.contains("\n-beta\n+BETA\n"), "{out}");
}

#[test]
fn binary_and_size_change_content_is_not_shown_as_text() {
    let (dir, tree, a) = setup();
    fs::write(
        tree.join("usr/share/difftest/b.bin"),
        [0u8, 1, 2, 3, 254, 0, 7],
    )
    .unwrap();
    let b = dir.path().join("b.deb");
    dpkg_deb(&tree, &b, "xz");
    let (code, out, _) = diff(&a, &b, &["--content"]);
    assert_eq!(code, 1);
    assert_line(&out, "data.tar ./usr/share/difftest/b.bin: size: 6 -> 7");
    assert!(
        out.contains("./usr/share/difftest/b.bin: content not shown: binary"),
        "{out}"
    );
}

#[test]
fn one_mode_changed_is_named() {
    let (dir, tree, a) = setup();
    fs::set_permissions(
        tree.join("usr/share/difftest/a.txt"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let b = dir.path().join("b.deb");
    dpkg_deb(&tree, &b, "xz");
    let (code, out, _) = diff(&a, &b, &[]);
    assert_eq!(code, 1, "{out}");
    assert_line(
        &out,
        "data.tar ./usr/share/difftest/a.txt: mode: 0644 -> 0755",
    );
    let entry_lines: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("data.tar ./"))
        .collect();
    assert_eq!(entry_lines.len(), 1, "{entry_lines:?}");
}

#[test]
fn one_mtime_changed_is_named() {
    let (dir, tree, a) = setup();
    // Older than SOURCE_DATE_EPOCH: dpkg-deb keeps it (newer ones are clamped).
    let p = tree.join("usr/share/difftest/a.txt");
    filetime::set_file_mtime(&p, filetime::FileTime::from_unix_time(1_600_000_000, 0)).unwrap();
    let b = dir.path().join("b.deb");
    dpkg_deb(&tree, &b, "xz");
    let (code, out, _) = diff(&a, &b, &[]);
    assert_eq!(code, 1, "{out}");
    let entry_lines: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("data.tar ./"))
        .collect();
    assert_eq!(
        entry_lines,
        vec!["data.tar ./usr/share/difftest/a.txt: mtime: 1700000000 -> 1600000000"]
    );
}

#[test]
fn control_field_and_maintainer_script_changes_are_named() {
    let (dir, tree, a) = setup();
    let control = fs::read_to_string(tree.join("DEBIAN/control")).unwrap();
    fs::write(
        tree.join("DEBIAN/control"),
        control.replace("Version: 1.0", "Version: 1.0-2"),
    )
    .unwrap();
    fs::write(
        tree.join("DEBIAN/postinst"),
        "#!/bin/sh\nset -e\necho configured again\n",
    )
    .unwrap();
    let b = dir.path().join("b.deb");
    dpkg_deb(&tree, &b, "xz");
    let (code, out, _) = diff(&a, &b, &["--content"]);
    assert_eq!(code, 1, "{out}");
    assert_line(&out, "control Version: field value: 1.0 -> 1.0-2");
    assert!(
        out.lines()
            .any(|l| l.starts_with("control.tar ./postinst (maintainer script): sha256: ")),
        "{out}"
    );
    assert!(
        out.contains("-echo configured\n+echo configured again\n"),
        "{out}"
    );
    assert!(!out.contains("data.tar ./"), "data unchanged:\n{out}");
}

#[test]
fn added_removed_and_link_target() {
    let (dir, tree, a) = setup();
    let share = tree.join("usr/share/difftest");
    fs::remove_file(share.join("b.bin")).unwrap();
    fs::write(share.join("new.txt"), "new\n").unwrap();
    fs::set_permissions(share.join("new.txt"), fs::Permissions::from_mode(0o644)).unwrap();
    fs::remove_file(share.join("link")).unwrap();
    std::os::unix::fs::symlink("new.txt", share.join("link")).unwrap();
    let b = dir.path().join("b.deb");
    dpkg_deb(&tree, &b, "xz");
    let (code, out, _) = diff(&a, &b, &[]);
    assert_eq!(code, 1, "{out}");
    assert_line(
        &out,
        "data.tar ./usr/share/difftest/b.bin: only in A: file, 6 bytes, mode 0644 -> -",
    );
    assert_line(
        &out,
        "data.tar ./usr/share/difftest/new.txt: only in B: - -> file, 4 bytes, mode 0644",
    );
    assert_line(
        &out,
        "data.tar ./usr/share/difftest/link: link target: a.txt -> new.txt",
    );
}

#[test]
fn json_report_lists_differences() {
    let (dir, tree, a) = setup();
    fs::set_permissions(
        tree.join("usr/share/difftest/a.txt"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let b = dir.path().join("b.deb");
    dpkg_deb(&tree, &b, "xz");
    let (code, out, _) = diff(&a, &b, &["--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(v["identical"], false);
    let diffs = v["differences"].as_array().unwrap();
    assert!(diffs.iter().any(|d| d["area"] == "data.tar"
        && d["path"] == "./usr/share/difftest/a.txt"
        && d["what"] == "mode"
        && d["a"] == "0644"
        && d["b"] == "0600"));
    let (code, out, _) = diff(&a, &a, &["--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["identical"], true);
}

/// Rewrite every tar header of an uncompressed tar with a Python script.
fn rewrite_headers(tar: &Path, out: &Path, script: &str) {
    let prog = format!(
        r#"
import sys
data = bytearray(open(sys.argv[1], 'rb').read())
off = 0
while off + 512 <= len(data):
    h = data[off:off+512]
    if h == bytes(512):
        break
    size = int(h[124:136].strip(b'\0 ') or b'0', 8)
    flag = h[156:157]
{script}
    h[148:156] = b'        '
    h[148:156] = b'%06o\0 ' % sum(h)
    data[off:off+512] = h
    off += 512
    if flag in (b'0', b'\0', b'L', b'K', b'x', b'g'):
        off += (size + 511) // 512 * 512
open(sys.argv[2], 'wb').write(data)
"#
    );
    ok(Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(prog)
        .arg(tar)
        .arg(out));
}

/// Build a .deb with binutils `ar` from members in `dir`.
fn ar_deb(dir: &Path, out: &Path, members: &[&str]) {
    ok(Command::new("ar")
        .arg("qcD")
        .arg(out)
        .args(members)
        .current_dir(dir));
}

#[test]
fn tar_header_and_ar_header_encoding_differences() {
    let (dir, _tree, a) = setup();
    let m = dir.path().join("m");
    fs::create_dir(&m).unwrap();
    ok(Command::new("ar").arg("x").arg(&a).current_dir(&m));
    // data.tar uncompressed, from dpkg-deb itself
    let tar = ok(Command::new("sh").arg("-c").arg(format!(
        "dpkg-deb --fsys-tarfile {} > {}/data.tar && echo ok",
        a.display(),
        m.display()
    )));
    assert_eq!(tar.trim(), "ok");
    // B1: ustar magic instead of GNU; B2: mode written with a space terminator.
    let ustar = dir.path().join("ustar");
    fs::create_dir(&ustar).unwrap();
    fs::copy(m.join("debian-binary"), ustar.join("debian-binary")).unwrap();
    fs::copy(m.join("control.tar.xz"), ustar.join("control.tar.xz")).unwrap();
    rewrite_headers(
        &m.join("data.tar"),
        &ustar.join("data.tar"),
        "    if flag not in (b'L', b'K'):\n        h[257:265] = b'ustar\\x0000'",
    );
    let modes = dir.path().join("modes");
    fs::create_dir(&modes).unwrap();
    fs::copy(m.join("debian-binary"), modes.join("debian-binary")).unwrap();
    fs::copy(m.join("control.tar.xz"), modes.join("control.tar.xz")).unwrap();
    rewrite_headers(
        &m.join("data.tar"),
        &modes.join("data.tar"),
        "    h[100:108] = b'%06o \\0' % int(h[100:108].strip(b'\\0 '), 8)",
    );
    let base = dir.path().join("base.deb");
    let b1 = dir.path().join("b1.deb");
    let b2 = dir.path().join("b2.deb");
    ar_deb(&m, &base, &["debian-binary", "control.tar.xz", "data.tar"]);
    ar_deb(
        &ustar,
        &b1,
        &["debian-binary", "control.tar.xz", "data.tar"],
    );
    ar_deb(
        &modes,
        &b2,
        &["debian-binary", "control.tar.xz", "data.tar"],
    );

    // ar headers: binutils writes "name/", mtime 0, mode 644.
    let (code, out, _) = diff(&a, &base, &[]);
    assert_eq!(code, 1, "{out}");
    assert_line(
        &out,
        "ar debian-binary: header encoding: name: \"debian-binary   \" -> \"debian-binary/  \"",
    );
    assert_line(&out, "ar debian-binary: header mtime: 1700000000 -> 0");
    assert_line(&out, "data.tar: compression: xz -> none");
    assert!(!out.contains("data.tar ./"), "{out}");

    let (code, out, _) = diff(&base, &b1, &[]);
    assert_eq!(code, 1, "{out}");
    assert_line(
        &out,
        "data.tar ./usr/share/difftest/a.txt: tar format: gnu -> ustar",
    );
    assert!(
        !out.contains("a.txt: header encoding: chksum"),
        "checksum follows from the magic:\n{out}"
    );

    let (code, out, _) = diff(&base, &b2, &[]);
    assert_eq!(code, 1, "{out}");
    assert_line(&out, "data.tar ./usr/share/difftest/a.txt: header encoding: mode: \"0000644\\0\" -> \"000644 \\0\"");
    assert!(
        !out.contains("a.txt: mode:"),
        "the mode value is the same:\n{out}"
    );
}

#[test]
fn corrupt_and_non_packages_exit_2_with_a_clear_message() {
    let (dir, _tree, a) = setup();
    let bytes = fs::read(&a).unwrap();
    // A byte flipped in the middle of data.tar.xz: xz's integrity check fails.
    let mut flipped = bytes.clone();
    let at = bytes.len() - 100;
    flipped[at] ^= 0xff;
    let c1 = dir.path().join("flipped.deb");
    fs::write(&c1, &flipped).unwrap();
    let (code, out, err) = diff(&a, &c1, &[]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("flipped.deb") && err.contains("data.tar.xz"),
        "{err}"
    );
    // Truncated.
    let c2 = dir.path().join("truncated.deb");
    fs::write(&c2, &bytes[..bytes.len() / 2]).unwrap();
    let (code, _, err) = diff(&c2, &a, &[]);
    assert_eq!(code, 2);
    assert!(err.contains("truncated.deb"), "{err}");
    // Not a package at all.
    let c3 = dir.path().join("text.deb");
    fs::write(&c3, "just text\n").unwrap();
    let (code, _, err) = diff(&a, &c3, &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("text.deb") && err.contains("not a Debian package"),
        "{err}"
    );
    // Missing file.
    let (code, _, err) = diff(&a, &dir.path().join("missing.deb"), &[]);
    assert_eq!(code, 2);
    assert!(err.contains("missing.deb"), "{err}");
    // Identical garbage is still an error, not "identical".
    let (code, _, err) = diff(&c3, &c3, &[]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn report_is_the_same_under_a_varied_environment() {
    let (dir, tree, a) = setup();
    fs::write(tree.join("usr/share/difftest/a.txt"), "changed\n").unwrap();
    fs::set_permissions(
        tree.join("usr/share/difftest/b.bin"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let b = dir.path().join("b.deb");
    dpkg_deb(&tree, &b, "zstd");
    let (_, first, _) = diff(&a, &b, &["--json", "--content"]);
    let other = scratch();
    let out = run(Command::new("taskset")
        .args(["-c", "0", "faketime", "2001-02-03 04:05:06", "sh", "-c"])
        .arg("umask 077; exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_venvdeb"))
        .args(["diff", "--json", "--content"])
        .arg(&a)
        .arg(&b)
        .current_dir(other.path())
        .env("TZ", "Pacific/Kiritimati")
        .env("LC_ALL", "C.UTF-8")
        .env("TMPDIR", other.path()));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), first);
}
