//! What a build leaves behind, pass or fail (issue 15): all outputs (.deb,
//! manifest, SBOM) appear together or not at all, a file they would replace
//! survives a failed build, a killed build leaves nothing in the output
//! directory, and `stage` refuses to write through a symlink out of DESTDIR.
mod common;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{copy_example, resign, run, scratch, venvdeb};

/// `demoapp_1.0.0-1_<arch>`: the example's output names without extension.
fn stem() -> String {
    format!("demoapp_1.0.0-1_{}", common::deb_arch())
}

fn build_cmd(ex: &Path, out: &Path, tmp: &Path) -> Command {
    std::fs::create_dir_all(tmp).unwrap();
    let mut c = venvdeb();
    c.env("TMPDIR", tmp)
        .arg("build")
        .arg("--config")
        .arg(ex.join("venvdeb.toml"))
        .arg("--output-dir")
        .arg(out)
        .args(["-Z", "gzip", "-z", "1"]);
    c
}

/// Every entry under `dir` (recursively), sorted, with file contents.
fn listing(dir: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p.clone());
                out.push((p, None));
            } else {
                let bytes = std::fs::read(&p).ok();
                out.push((p, bytes));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn outputs_appear_together_or_not_at_all() {
    let s = scratch();
    let ex = copy_example(s.path());
    let tmp = s.path().join("tmp");
    for blocked in [
        format!("{}.venvdeb-manifest.json", stem()),
        format!("{}.cdx.json", stem()),
        format!("{}.intoto.json", stem()),
    ] {
        let out = s.path().join(format!("out-{blocked}"));
        std::fs::create_dir_all(out.join(&blocked)).unwrap();
        // An older .deb of the same name must survive the failed build.
        std::fs::write(out.join(format!("{}.deb", stem())), b"the previous package").unwrap();
        let before = listing(&out);
        let r = run(&mut build_cmd(&ex, &out, &tmp));
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{err}");
        assert!(err.contains(&blocked) && err.contains("directory"), "{err}");
        assert_eq!(listing(&out), before, "{err}");
        assert_eq!(listing(&tmp), vec![], "staging left in TMPDIR");
    }
    // Unblocked, all four appear, nothing else.
    let out = s.path().join("out-ok");
    let r = run(&mut build_cmd(&ex, &out, &tmp));
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let names: Vec<String> = listing(&out)
        .into_iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec![
            format!("{}.cdx.json", stem()),
            format!("{}.deb", stem()),
            format!("{}.intoto.json", stem()),
            format!("{}.venvdeb-manifest.json", stem()),
        ]
    );
}

#[test]
fn killed_build_leaves_nothing_in_the_output_dir() {
    let s = scratch();
    let ex = copy_example(s.path());
    let out = s.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let tmp = s.path().join("tmp");
    let mut child = build_cmd(&ex, &out, &tmp)
        .env("VENVDEB_TIMINGS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Killed in the middle of staging (after verification).
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    for l in lines.by_ref() {
        let l = l.unwrap();
        seen.push_str(&l);
        seen.push('\n');
        if l.contains("timing: verify") {
            break;
        }
    }
    assert!(seen.contains("timing: verify"), "{seen}");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(listing(&out), vec![], "after SIGKILL");
}

#[test]
fn stage_refuses_symlinks_out_of_destdir() {
    for link in ["opt", "usr/bin"] {
        let s = scratch();
        let ex = copy_example(s.path());
        let dest = s.path().join("debian/demoapp");
        let outside = s.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        let l = dest.join(link);
        std::fs::create_dir_all(l.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&outside, &l).unwrap();
        let r = run(venvdeb()
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .arg("stage")
            .arg("--config")
            .arg(ex.join("venvdeb.toml"))
            .arg("--destdir")
            .arg(&dest));
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{link}: {err}");
        assert!(err.contains("is a symlink"), "{link}: {err}");
        assert_eq!(listing(&outside), vec![], "{link}: written outside DESTDIR");
    }
}

/// A wheel whose `.data/scripts/big` is one `#!python` line of `size` bytes
/// without a newline, streamed into the zip by Debian's python3; returns its
/// sha256.
fn make_big_script_wheel(wheelhouse: &Path, size: u64) -> String {
    let script = r##"
import base64, hashlib, sys, zipfile
path, size = sys.argv[1], int(sys.argv[2])
def b64(d): return base64.urlsafe_b64encode(d).rstrip(b"=").decode()
records = []
with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
    def add(name, data):
        z.writestr(name, data)
        records.append(f"{name},sha256={b64(hashlib.sha256(data).digest())},{len(data)}")
    add("bigscript/__init__.py", b"")
    h = hashlib.sha256()
    with z.open("bigscript-1.0.data/scripts/big", "w", force_zip64=True) as f:
        head = b"#!python"
        f.write(head); h.update(head)
        chunk = b"x" * (1 << 20)
        left = size - len(head)
        while left > 0:
            c = chunk[: min(left, len(chunk))]
            f.write(c); h.update(c); left -= len(c)
    records.append(f"bigscript-1.0.data/scripts/big,sha256={b64(h.digest())},{size}")
    add("bigscript-1.0.dist-info/METADATA", b"Metadata-Version: 2.1\nName: bigscript\nVersion: 1.0\n")
    add("bigscript-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    records.append("bigscript-1.0.dist-info/RECORD,,")
    z.writestr("bigscript-1.0.dist-info/RECORD", "\n".join(records) + "\n")
print(hashlib.sha256(open(path, "rb").read()).hexdigest())
"##;
    let whl = wheelhouse.join("bigscript-1.0-py3-none-any.whl");
    common::ok(
        Command::new("/usr/bin/python3")
            .arg("-c")
            .arg(script)
            .arg(&whl)
            .arg(size.to_string()),
    )
    .trim()
    .to_string()
}

/// A `.data/scripts` file whose `#!python` first line is 640 MiB long is
/// rewritten under a 256 MiB data limit: the line is never held whole (it
/// was read whole before, and the build aborted).
#[test]
fn long_first_line_of_a_script_streams() {
    let s = scratch();
    let ex = copy_example(s.path());
    let sha = make_big_script_wheel(&ex.join("wheelhouse"), 640 << 20);
    let mut lock = std::fs::read_to_string(ex.join("requirements.txt")).unwrap();
    lock.push_str(&format!("bigscript==1.0 --hash=sha256:{sha}\n"));
    std::fs::write(ex.join("requirements.txt"), lock).unwrap();
    resign(&ex);
    let out = s.path().join("out");
    let tmp = s.path().join("tmp");
    let mut cmd = Command::new("prlimit");
    cmd.arg(format!("--data={}", 256 << 20))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_venvdeb"))
        .args(build_cmd(&ex, &out, &tmp).get_args())
        .env("TMPDIR", &tmp)
        .env_remove("SOURCE_DATE_EPOCH");
    let r = run(&mut cmd);
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(r.status.success(), "{:?}: {err}", r.status);
    let deb = out.join(format!("{}.deb", stem()));
    let x = s.path().join("x");
    common::ok(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&x));
    assert_eq!(
        std::fs::read(x.join("opt/venvs/demoapp/bin/big")).unwrap(),
        b"#!/opt/venvs/demoapp/bin/python\n"
    );
    assert_eq!(listing(&tmp), vec![], "staging left in TMPDIR");
}
