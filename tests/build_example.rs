//! End to end: `venvdeb build` on the bundled example. Builds it, checks the
//! package (control, no build path, no .pyc), installs it with the real
//! `dpkg -i`, runs the launcher from another directory, purges it (nothing
//! left under the prefix), compares the files with what pip installs from the
//! same wheels into a plain `/usr/bin/python3 -m venv`, and rebuilds from a
//! copy elsewhere under another umask, TZ, locale, CPU set and clock to get
//! the same bytes.
mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{
    copy_example, deb_arch, example_deb, ok, py_next, py_short, run, scratch, venvdeb, DPKG_LOCK,
};

const PKG: &str = "demoapp";
const PREFIX: &str = "/opt/venvs/demoapp";

/// Copy the example (config, wheels, signed list, changelog) to `dir`.
fn example_copy(dir: &Path) -> PathBuf {
    copy_example(dir)
}

/// Purges the package and removes the prefix, pass or fail.
struct Cleanup;
impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").args(["--purge", PKG]).output();
        let _ = std::fs::remove_dir_all(PREFIX);
        let _ = std::fs::remove_dir("/opt/venvs");
    }
}

/// Every path under `root` (relative), with what it is: file bytes + exec
/// bit, symlink target, or directory.
#[derive(Debug, PartialEq)]
enum Node {
    Dir,
    File(Vec<u8>, bool),
    Link(PathBuf),
}

fn tree(root: &Path) -> BTreeMap<String, Node> {
    fn walk(root: &Path, p: &Path, out: &mut BTreeMap<String, Node>) {
        for e in std::fs::read_dir(p).unwrap() {
            let e = e.unwrap();
            let path = e.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            let md = std::fs::symlink_metadata(&path).unwrap();
            if md.file_type().is_symlink() {
                out.insert(rel, Node::Link(std::fs::read_link(&path).unwrap()));
            } else if md.is_dir() {
                out.insert(rel, Node::Dir);
                walk(root, &path, out);
            } else {
                let x = md.permissions().mode() & 0o111 != 0;
                out.insert(rel, Node::File(std::fs::read(&path).unwrap(), x));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn build(example: &Path, out: &Path) -> PathBuf {
    let stdout = ok(venvdeb()
        .arg("build")
        .arg("--config")
        .arg(example.join("venvdeb.toml"))
        .arg("--output-dir")
        .arg(out));
    let deb = out.join(example_deb());
    assert_eq!(
        stdout.lines().next(),
        Some(deb.to_str().unwrap()),
        "{stdout}"
    );
    assert!(deb.is_file());
    deb
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn build_install_run_purge_compare_rebuild() {
    let s = scratch();
    let a = s.path().join("first");
    let example = example_copy(&a);
    let out = a.join("out");
    let deb = build(&example, &out);
    // Nothing else left in the output directory (staging removed): the
    // .deb, and its build manifest, SBOM and provenance statement beside it.
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let deb_name = example_deb();
    let stem = deb_name.trim_end_matches(".deb");
    assert_eq!(
        names,
        vec![
            format!("{stem}.cdx.json"),
            deb_name.clone(),
            format!("{stem}.intoto.json"),
            format!("{stem}.venvdeb-manifest.json"),
        ]
    );

    // The package: control fields, contents, no build path, no bytecode.
    let x = a.join("x");
    ok(Command::new("dpkg-deb").arg("-R").arg(&deb).arg(&x));
    let control = std::fs::read_to_string(x.join("DEBIAN/control")).unwrap();
    assert!(
        control.starts_with(&format!(
            "Package: demoapp\nVersion: 1.0.0-1\nArchitecture: {}\n",
            deb_arch()
        )),
        "{control}"
    );
    assert!(
        control.contains(&format!(
            "\nDepends: python3 (>= {}~), python3 (<< {}), libc6 (>= 2.17)\n",
            py_short(),
            py_next()
        )),
        "{control}"
    );
    let gencontrol_size = installed_size_by_dpkg_gencontrol(&x);
    assert!(
        control.contains(&format!("\nInstalled-Size: {gencontrol_size}\n")),
        "dpkg-gencontrol says {gencontrol_size}:\n{control}"
    );
    let files = tree(&x);
    for (p, n) in &files {
        assert!(!p.ends_with(".pyc") && !p.contains("__pycache__"), "{p}");
        assert!(
            !p.ends_with("direct_url.json") && !p.ends_with("Activate.ps1"),
            "{p}"
        );
        if let Node::File(b, _) = n {
            for needle in [s.path().to_str().unwrap(), "venvdeb-build"] {
                assert!(!contains(b, needle.as_bytes()), "{p} contains {needle}");
            }
        }
    }
    let cfg = String::from_utf8(match &files["opt/venvs/demoapp/pyvenv.cfg"] {
        Node::File(b, _) => b.clone(),
        n => panic!("{n:?}"),
    })
    .unwrap();
    assert!(!cfg.contains("command"), "{cfg}");
    assert_eq!(
        files["usr/bin/demoapp"],
        Node::Link(PathBuf::from("/opt/venvs/demoapp/bin/demoapp"))
    );
    assert!(files.contains_key("usr/share/doc/demoapp/copyright"));
    assert!(files.contains_key("usr/share/doc/demoapp/changelog.Debian.gz"));
    assert!(files.contains_key("usr/share/doc/demoapp/venvdeb-manifest.json"));
    // lintian: the only errors are the ones inherent to a venv in /opt with
    // the wheels' own (unstripped) binaries, which are shipped unaltered.
    let lint = run(Command::new("lintian").arg("--allow-root").arg(&deb));
    let lint = String::from_utf8_lossy(&lint.stdout).into_owned();
    for l in lint.lines().filter(|l| l.starts_with("E: ")) {
        assert!(
            l.contains(" dir-or-file-in-opt ") || l.contains(" unstripped-binary-or-object "),
            "unexpected lintian error: {l}\n{lint}"
        );
    }
    // md5sums verify with the real md5sum.
    ok(Command::new("md5sum")
        .args(["--check", "--quiet", "DEBIAN/md5sums"])
        .current_dir(&x));

    // Rebuild from a copy elsewhere, in a changed environment: same bytes.
    let b = s.path().join("second/elsewhere/deeper");
    let example2 = example_copy(&b);
    let out2 = b.join("out");
    std::fs::create_dir_all(&out2).unwrap();
    let script = format!(
        "umask 077; exec taskset -c 0 faketime '2031-06-15 12:34:56' {} build --config {} --output-dir {}",
        env!("CARGO_BIN_EXE_venvdeb"),
        example2.join("venvdeb.toml").display(),
        out2.display()
    );
    ok(Command::new("sh")
        .arg("-c")
        .arg(&script)
        .env_remove("SOURCE_DATE_EPOCH")
        .env("TZ", "Pacific/Kiritimati")
        .env("LC_ALL", "POSIX")
        .env("LANG", "POSIX"));
    let same = std::fs::read(&deb).unwrap() == std::fs::read(out2.join(example_deb())).unwrap();
    if !same {
        let d = run(venvdeb()
            .arg("diff")
            .arg(&deb)
            .arg(out2.join(example_deb())));
        panic!(
            "rebuild under another path/umask/TZ/locale/CPU set/clock differs:\n{}{}",
            String::from_utf8_lossy(&d.stdout),
            String::from_utf8_lossy(&d.stderr)
        );
    }
    for n in &names {
        assert!(
            std::fs::read(out.join(n)).unwrap() == std::fs::read(out2.join(n)).unwrap(),
            "{n} differs after the rebuild"
        );
    }

    // Install, run, purge.
    let _lock = DPKG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    assert!(
        unsafe_is_root(),
        "this test installs a package with dpkg -i: run it as root (CI does)"
    );
    let _cleanup = Cleanup;
    assert!(
        !Path::new(PREFIX).exists(),
        "{PREFIX} exists before the test"
    );
    ok(Command::new("dpkg").arg("-i").arg(&deb));
    let elsewhere = s.path().join("cwd");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let outp = ok(Command::new("/usr/bin/demoapp")
        .arg("hi")
        .current_dir(&elsewhere));
    assert!(
        outp.contains("Hello from demoapp, packaged by venvdeb."),
        "{outp}"
    );
    let row = |key: &str| -> String {
        outp.lines()
            .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| panic!("no {key} row in:\n{outp}"))
    };
    assert_eq!(row("prefix "), PREFIX);
    assert_eq!(
        row("markupsafe speedups "),
        "markupsafe._speedups",
        "binary wheel not used"
    );
    assert_eq!(row("markupsafe "), "&lt;ok &amp; safe&gt;");
    assert_eq!(row("labextension data "), "True");
    assert!(outp.contains("args: hi"), "{outp}");
    let hello = ok(Command::new(format!("{PREFIX}/bin/demoapp-hello")).current_dir(&elsewhere));
    assert_eq!(hello.trim(), format!("hello from {PREFIX}"));
    let norm = ok(Command::new(format!("{PREFIX}/bin/normalizer"))
        .arg("--version")
        .current_dir(&elsewhere));
    assert!(norm.contains("3.3.2"), "{norm}");
    // postinst compiled the bytecode.
    assert!(
        Path::new(&format!(
            "{PREFIX}/lib/python{}/site-packages/demoapp/__pycache__",
            py_short()
        ))
        .is_dir(),
        "postinst did not compile bytecode"
    );
    ok(Command::new("dpkg").args(["--purge", PKG]));
    assert!(!Path::new(PREFIX).exists(), "purge left {PREFIX} behind");
    assert!(!Path::new("/usr/bin/demoapp").exists());

    // pip, from the same wheels, into a plain venv at the same prefix.
    ok(Command::new("/usr/bin/python3").args(["-m", "venv", "--without-pip", PREFIX]));
    ok(Command::new("/usr/bin/python3")
        .args([
            "-m",
            "pip",
            "--python",
            &format!("{PREFIX}/bin/python"),
            "install",
            "--quiet",
        ])
        .args([
            "--no-index",
            "--no-deps",
            "--no-compile",
            "--require-hashes",
            "--find-links",
        ])
        .arg(example.join("wheelhouse"))
        .arg("-r")
        .arg(example.join("requirements.txt"))
        .env("PIP_FIND_LINKS", "")
        .env("PIP_NO_CACHE_DIR", "1"));
    let pip = tree(Path::new(PREFIX));
    let ours: BTreeMap<String, Node> = tree(&x.join("opt/venvs/demoapp"));
    compare_with_pip(ours, pip);
}

/// The comparison the issue asks for: every file the same (RECORD,
/// INSTALLER, REQUESTED, direct_url.json and __pycache__ aside), with the
/// venv-layout differences venvdeb makes on purpose spelled out: no
/// Activate.ps1, no `command =` line, python links resolving to the same
/// versioned interpreter.
fn compare_with_pip(mut ours: BTreeMap<String, Node>, mut pip: BTreeMap<String, Node>) {
    let skip = |p: &str| {
        let base = p.rsplit('/').next().unwrap();
        ["RECORD", "INSTALLER", "REQUESTED", "direct_url.json"].contains(&base)
            || p.split('/').any(|c| c == "__pycache__")
    };
    ours.retain(|p, _| !skip(p));
    pip.retain(|p, _| !skip(p));
    // On purpose: no PowerShell activation script.
    assert!(pip.remove("bin/Activate.ps1").is_some());
    // On purpose: pyvenv.cfg without the `command =` line (the build path).
    if let Some(Node::File(b, x)) = pip.get_mut("pyvenv.cfg") {
        let text = String::from_utf8(b.clone()).unwrap();
        let kept: String = text
            .lines()
            .filter(|l| !l.starts_with("command = "))
            .map(|l| format!("{l}\n"))
            .collect();
        *b = kept.into_bytes();
        assert!(!*x);
    }
    // The python links: Debian's venv chains python → python3 →
    // /usr/bin/python3; venvdeb links the versioned interpreter. Same target.
    let versioned = format!("bin/python{}", py_short());
    for l in ["bin/python", "bin/python3", versioned.as_str()] {
        let resolve = |tree: &BTreeMap<String, Node>| {
            let mut cur = l.to_string();
            for _ in 0..8 {
                match &tree[&cur] {
                    Node::Link(t) if t.is_absolute() => {
                        return std::fs::canonicalize(t).unwrap();
                    }
                    Node::Link(t) => cur = format!("bin/{}", t.display()),
                    n => panic!("{l}: {n:?}"),
                }
            }
            panic!("{l}: link loop");
        };
        assert_eq!(resolve(&ours), resolve(&pip), "{l}");
        assert_eq!(
            resolve(&ours),
            PathBuf::from(format!("/usr/bin/python{}", py_short()))
        );
    }
    for l in ["bin/python", "bin/python3", versioned.as_str()] {
        ours.remove(l);
        pip.remove(l);
    }
    let ours_keys: Vec<&String> = ours.keys().collect();
    let pip_keys: Vec<&String> = pip.keys().collect();
    assert_eq!(ours_keys, pip_keys, "file lists differ");
    for (p, n) in &ours {
        assert!(&pip[p] == n, "{p} differs from what pip installed");
    }
}

fn unsafe_is_root() -> bool {
    let out = run(Command::new("id").arg("-u"));
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// Installed-Size as the real dpkg-gencontrol computes it for the unpacked
/// tree (with DEBIAN/ holding only the maintainer scripts, as after
/// dh_installdeb).
fn installed_size_by_dpkg_gencontrol(unpacked: &Path) -> String {
    let s = scratch();
    let pkg = s.path().join("debian/demoapp");
    std::fs::create_dir_all(s.path().join("debian")).unwrap();
    copy_tree_preserving(unpacked, &pkg);
    std::fs::remove_file(pkg.join("DEBIAN/control")).unwrap();
    std::fs::remove_file(pkg.join("DEBIAN/md5sums")).unwrap();
    std::fs::write(
        s.path().join("debian/control"),
        "Source: demoapp\nMaintainer: A <a@b.c>\n\nPackage: demoapp\nArchitecture: any\nDescription: d\n",
    )
    .unwrap();
    std::fs::write(
        s.path().join("debian/changelog"),
        "demoapp (1.0.0-1) unstable; urgency=medium\n\n  * x\n\n -- A <a@b.c>  Mon, 01 Jan 2024 00:00:00 +0000\n",
    )
    .unwrap();
    ok(Command::new("dpkg-gencontrol")
        .args(["-pdemoapp", "-Pdebian/demoapp", "-Tdebian/substvars", "-O"])
        .current_dir(s.path()))
    .lines()
    .find_map(|l| l.strip_prefix("Installed-Size: ").map(String::from))
    .expect("Installed-Size")
}

fn copy_tree_preserving(src: &Path, dst: &Path) {
    ok(Command::new("cp").arg("-a").arg(src).arg(dst));
}
