//! `venvdeb deb` against the real dpkg-deb: the same bytes for a tree with
//! every case (hard links, empty dirs, non-ASCII and >100-byte names,
//! relative/absolute/dangling symlinks, files newer and older than S,
//! setuid/setgid/sticky modes, a file larger than one 24 MiB xz block), for
//! every compressor, and the same bytes again under a changed environment.
mod common;
mod deb_support;

use std::path::Path;
use std::process::Command;

use common::{ok, scratch, venvdeb};
use deb_support::*;

fn venvdeb_deb(root: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut c = venvdeb();
    c.arg("deb")
        .arg("--root")
        .arg(root)
        .arg("--output")
        .arg(out)
        .args(extra);
    c
}

fn build(root: &Path, out: &Path, compressor: &str) {
    ok(venvdeb_deb(
        root,
        out,
        &["-Z", compressor, "--source-date-epoch", &SDE.to_string()],
    )
    .env("LC_ALL", "C"));
}

/// The standard tree, every compressor, equal to dpkg-deb.
#[test]
fn every_case_matches_dpkg_deb_for_every_compressor() {
    let d = scratch();
    let root = d.path().join("tree");
    make_tree(&root, false);
    for c in ["xz", "zstd", "gzip", "none"] {
        let theirs = d.path().join(format!("dpkg-{c}.deb"));
        let ours = d.path().join(format!("venvdeb-{c}.deb"));
        dpkg_deb(&root, &theirs, c);
        build(&root, &ours, c);
        assert_same_bytes(&theirs, &ours);
    }
}

/// A data tar larger than one xz block (and than zstd's job size), and a
/// control tar larger than one 128 KiB zstd input chunk.
#[test]
fn big_file_and_big_control_match_dpkg_deb() {
    let d = scratch();
    let root = d.path().join("tree");
    make_tree(&root, false);
    add_big_file(&root, "usr/share/big/blob.txt", 26 * 1024 * 1024 + 123);
    // A long md5sums: control.tar over 128 KiB.
    let mut sums = String::new();
    for i in 0..3000 {
        sums.push_str(&format!(
            "{:032x}  usr/share/doc/venvdeb-test/file-{i:05}.txt\n",
            i * 7919
        ));
    }
    std::fs::write(root.join("DEBIAN/md5sums"), sums).unwrap();
    for c in ["xz", "zstd", "gzip"] {
        let theirs = d.path().join(format!("dpkg-{c}.deb"));
        let ours = d.path().join(format!("venvdeb-{c}.deb"));
        dpkg_deb(&root, &theirs, c);
        build(&root, &ours, c);
        assert_same_bytes(&theirs, &ours);
        // A single CPU must not change the multithreaded encoders' bytes.
        let one_cpu = d.path().join(format!("venvdeb-{c}-cpu0.deb"));
        let mut cmd = Command::new("taskset");
        cmd.args(["-c", "0"])
            .arg(env!("CARGO_BIN_EXE_venvdeb"))
            .arg("deb");
        cmd.arg("--root").arg(&root).arg("--output").arg(&one_cpu);
        cmd.args(["-Z", c, "--source-date-epoch", &SDE.to_string()]);
        ok(&mut cmd);
        assert_same_bytes(&theirs, &one_cpu);
        std::fs::remove_file(&one_cpu).unwrap();
        std::fs::remove_file(&ours).unwrap();
    }
    // The big tree's xz member has more than one block.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ar p {} data.tar.xz | xz --robot --list - 2>/dev/null || (ar p {0} data.tar.xz > {1}/d.xz && xz --robot --list {1}/d.xz)",
            d.path().join("dpkg-xz.deb").display(),
            d.path().display()
        ))
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    let blocks: u64 = list
        .lines()
        .find(|l| l.starts_with("file\t"))
        .and_then(|l| l.split('\t').nth(2))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("xz --list said: {list}"));
    assert!(blocks >= 2, "expected several xz blocks, got {blocks}");
}

/// Small trees: every zstd frame header variant and levels through -z.
#[test]
fn levels_match_dpkg_deb() {
    let d = scratch();
    let root = d.path().join("tree");
    make_tree(&root, false);
    for (c, z) in [
        ("xz", "0"),
        ("xz", "9"),
        ("zstd", "1"),
        ("zstd", "19"),
        ("gzip", "1"),
        ("gzip", "0"),
    ] {
        let theirs = d.path().join(format!("dpkg-{c}-{z}.deb"));
        let ours = d.path().join(format!("venvdeb-{c}-{z}.deb"));
        let o = Command::new("dpkg-deb")
            .env("SOURCE_DATE_EPOCH", SDE.to_string())
            .args([
                "--root-owner-group",
                &format!("-Z{c}"),
                &format!("-z{z}"),
                "--build",
            ])
            .arg(&root)
            .arg(&theirs)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        ok(&mut venvdeb_deb(
            &root,
            &ours,
            &["-Z", c, "-z", z, "--source-date-epoch", &SDE.to_string()],
        ));
        assert_same_bytes(&theirs, &ours);
    }
}

/// A changed environment: name, wrapper command, extra variables.
type Variant = (&'static str, Vec<String>, Vec<(&'static str, &'static str)>);

/// Rebuilt at another path (the tree created in the opposite order), under
/// another umask, time zone, locale, a single CPU and a faked clock, with
/// SOURCE_DATE_EPOCH from the environment: the same bytes.
#[test]
fn same_bytes_under_a_changed_environment() {
    let d = scratch();
    let root = d.path().join("tree");
    make_tree(&root, false);
    let reference = d.path().join("reference.deb");
    dpkg_deb(&root, &reference, "xz");

    let other = scratch();
    let root2 = other.path().join("some/other/place/pkg");
    make_tree(&root2, true);
    let sde = SDE.to_string();
    let bin = env!("CARGO_BIN_EXE_venvdeb");
    let variants: Vec<Variant> = vec![
        ("another path, reversed creation", vec![], vec![]),
        (
            "umask 077",
            vec![
                "sh".into(),
                "-c".into(),
                "umask 077; exec \"$0\" \"$@\"".into(),
            ],
            vec![],
        ),
        (
            "TZ and locale",
            vec![],
            vec![
                ("TZ", "Pacific/Kiritimati"),
                ("LC_ALL", "tr_TR.UTF-8"),
                ("LANG", "de_DE.UTF-8"),
            ],
        ),
        (
            "taskset -c 0",
            vec!["taskset".into(), "-c".into(), "0".into()],
            vec![],
        ),
        (
            "faketime",
            vec!["faketime".into(), "2031-07-04 12:00:00".into()],
            vec![],
        ),
    ];
    for (what, wrapper, env) in variants {
        let out = other.path().join("out.deb");
        let mut cmd = match wrapper.split_first() {
            Some((prog, args)) => {
                let mut c = Command::new(prog);
                c.args(args);
                c.arg(bin);
                c
            }
            None => Command::new(bin),
        };
        cmd.env_remove("SOURCE_DATE_EPOCH")
            .env("SOURCE_DATE_EPOCH", &sde);
        cmd.current_dir(other.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.arg("deb")
            .arg("--root")
            .arg(&root2)
            .arg("--output")
            .arg("out.deb");
        let o = cmd.output().unwrap();
        assert!(
            o.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_same_bytes(&reference, &out);
        std::fs::remove_file(&out).unwrap();
    }
}

/// What dpkg itself reads back from our non-default members.
#[test]
fn dpkg_deb_reads_every_compressor() {
    let d = scratch();
    let root = d.path().join("tree");
    make_tree(&root, false);
    for c in ["zstd", "gzip", "none"] {
        let ours = d.path().join(format!("{c}.deb"));
        build(&root, &ours, c);
        let listing = ok(Command::new("dpkg-deb").arg("-c").arg(&ours));
        assert!(listing.contains("./usr/bin/tool"), "{listing}");
        let x = d.path().join(format!("x-{c}"));
        ok(Command::new("dpkg-deb").arg("-x").arg(&ours).arg(&x));
        assert_eq!(std::fs::read(x.join("z/orig")).unwrap(), b"shared bytes\n");
        let field = ok(Command::new("dpkg-deb")
            .args(["-f"])
            .arg(&ours)
            .arg("Version"));
        assert_eq!(field.trim(), "1:2.0~rc1-3");
    }
}

/// The control member: GNU tar's own recursion (symlinks in place, not
/// deferred) and dpkg-deb's mode normalization of DEBIAN/ entries.
#[test]
fn control_area_with_odd_modes_subdirs_and_symlinks_matches_dpkg_deb() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let d = scratch();
    let root = d.path().join("tree");
    make_tree(&root, false);
    let deb = root.join("DEBIAN");
    for (name, mode) in [
        ("f0000", 0o000),
        ("f0600", 0o600),
        ("f1755", 0o1755),
        ("f2755", 0o2755),
        ("f6755", 0o6755),
    ] {
        std::fs::write(deb.join(name), name).unwrap();
        std::fs::set_permissions(deb.join(name), std::fs::Permissions::from_mode(mode)).unwrap();
    }
    for (name, mode) in [
        ("d0700", 0o700),
        ("d1777", 0o1777),
        ("d2775", 0o2775),
        ("sub", 0o755),
    ] {
        std::fs::create_dir(deb.join(name)).unwrap();
        std::fs::set_permissions(deb.join(name), std::fs::Permissions::from_mode(mode)).unwrap();
    }
    std::fs::write(deb.join("sub/f"), "f").unwrap();
    std::fs::write(deb.join("sub-a"), "a").unwrap();
    symlink("sub-a", deb.join("sub.c")).unwrap();
    std::fs::remove_file(deb.join("postinst")).unwrap();
    symlink("/bin/true", deb.join("postinst")).unwrap();
    std::fs::set_permissions(&deb, std::fs::Permissions::from_mode(0o775)).unwrap();
    // Accepted with warnings by both: a duplicate, a directory, a
    // remove-on-upgrade entry that is not shipped.
    std::fs::write(
        deb.join("conffiles"),
        "/etc/venvdeb-test.conf\n/etc/venvdeb-test.conf\n/x/a\nremove-on-upgrade /etc/old.conf\n",
    )
    .unwrap();
    for c in ["xz", "none"] {
        let theirs = d.path().join(format!("dpkg-{c}.deb"));
        let ours = d.path().join(format!("venvdeb-{c}.deb"));
        dpkg_deb(&root, &theirs, c);
        build(&root, &ours, c);
        assert_same_bytes(&theirs, &ours);
    }
}
