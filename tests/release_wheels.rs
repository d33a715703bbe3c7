//! End-to-end tests of `venvdeb wheels …` with the real fixture sdists, the
//! real flit_core and setuptools wheels, /usr/bin/python3, faketime,
//! sha256sum and pip. Offline: every input is in fixtures/release/.
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::{ok, repo, run, scratch, venvdeb};

const SDE: &str = "1700000000";

fn fixtures() -> PathBuf {
    repo().join("fixtures/release")
}

/// Copy the fixture inputs into `dir` (sdists/, backends/).
fn copy_inputs(dir: &Path) {
    for sub in ["sdists", "backends"] {
        let to = dir.join(sub);
        fs::create_dir_all(&to).unwrap();
        for e in fs::read_dir(fixtures().join(sub)).unwrap() {
            let e = e.unwrap();
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn build_cmd(inputs: &Path, out: &Path) -> Command {
    let mut c = venvdeb();
    c.args(["wheels", "build", "--requirements"])
        .arg(inputs.join("sdists/requirements.txt"))
        .arg("--sdists")
        .arg(inputs.join("sdists"))
        .arg("--backends")
        .arg(inputs.join("backends"))
        .arg("--backend-requirements")
        .arg(inputs.join("backends/requirements.txt"))
        .arg("--output")
        .arg(out)
        .env("SOURCE_DATE_EPOCH", SDE);
    c
}

/// File name → bytes of every file in a directory.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// One build of the fixtures, shared by the tests that only read it.
fn built() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // Under cargo's per-target scratch space, replaced on every run.
        // `wheels build` creates --output (and its parent), as `pip wheel -w`.
        let top = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("release-wheels-built");
        let _ = fs::remove_dir_all(&top);
        let out = top.join("wheels");
        ok(&mut build_cmd(&fixtures(), &out));
        out
    })
}

#[test]
fn build_gives_identical_wheels_in_another_dir_time_umask_tz_and_cpu() {
    let first = files(built());
    let names: Vec<&str> = first.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "fixext-0.1-cp311-cp311-linux_x86_64.whl",
            "fixflit-1.0-py3-none-any.whl",
            "fixlegacy-0.3-py3-none-any.whl",
            "fixsetup-2.0-py3-none-any.whl"
        ]
    );
    // Second build: other directory (a copy of the inputs at another depth),
    // umask 077, another TZ, faked wall clock, one CPU.
    let d = scratch();
    let inputs = d.path().join("x/y/inputs");
    copy_inputs(&inputs);
    let out = d.path().join("out dir");
    fs::create_dir(&out).unwrap();
    let cmd = build_cmd(&inputs, &out);
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg("umask 077; exec faketime '2031-02-03 04:05:06' taskset -c 0 \"$@\"")
        .arg("sh")
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .env("SOURCE_DATE_EPOCH", SDE)
        .env("TZ", "Asia/Tokyo")
        .env("LC_ALL", "C");
    ok(&mut sh);
    let second = files(&out);
    assert_eq!(first.len(), second.len());
    for ((n1, b1), (n2, b2)) in first.iter().zip(&second) {
        assert_eq!(n1, n2);
        assert!(b1 == b2, "{n1} differs between the two builds");
    }
}

#[test]
fn wheels_are_canonical_zips() {
    // Read back with Python's zipfile: RECORD last, dist-info after code,
    // one timestamp, fixed modes, deflate, RECORD matching every entry.
    let script = r#"
import base64, csv, hashlib, io, sys, zipfile
for path in sys.argv[1:]:
    z = zipfile.ZipFile(path)
    infos = z.infolist()
    names = [i.filename for i in infos]
    di = [n for n in names if n.split('/')[0].endswith('.dist-info')]
    assert names[-1].endswith('.dist-info/RECORD'), names
    assert names == sorted(n for n in names if n not in di) + sorted(di[:-1]) + [di[-1]], names
    for i in infos:
        assert i.date_time == (2023, 11, 14, 22, 13, 20), (path, i.filename, i.date_time)
        assert i.external_attr >> 16 in (0o100644, 0o100755), oct(i.external_attr >> 16)
        assert i.compress_type == zipfile.ZIP_DEFLATED
        assert i.create_system == 3 and i.extra == b'' and i.comment == b''
    rows = list(csv.reader(io.StringIO(z.read(names[-1]).decode())))
    assert [r[0] for r in rows] == names, (rows, names)
    for n, h, s in rows[:-1]:
        data = z.read(n)
        d = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
        assert h == 'sha256=' + d and int(s) == len(data), n
    assert rows[-1][1:] == ['', '']
print('canonical')
"#;
    let mut c = Command::new("/usr/bin/python3");
    c.arg("-c").arg(script);
    for (n, _) in files(built()) {
        c.arg(built().join(n));
    }
    assert_eq!(ok(&mut c).trim(), "canonical");
}

fn expect_refusal(cmd: &mut Command, out: &Path, needles: &[&str]) {
    let o = run(cmd);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(3),
        "expected exit 3, got {:?}: {err}",
        o.status
    );
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}: {err}");
    }
    assert_eq!(
        fs::read_dir(out).unwrap().count(),
        0,
        "something was written to {}",
        out.display()
    );
}

#[test]
fn tampered_sdist_is_refused_and_nothing_is_built() {
    let d = scratch();
    copy_inputs(d.path());
    let victim = d.path().join("sdists/fixsetup-2.0.tar.gz");
    let mut bytes = fs::read(&victim).unwrap();
    let last = bytes.len() - 20;
    bytes[last] ^= 1;
    fs::write(&victim, bytes).unwrap();
    let out = d.path().join("out");
    fs::create_dir(&out).unwrap();
    expect_refusal(
        &mut build_cmd(d.path(), &out),
        &out,
        &[
            "fixsetup-2.0.tar.gz",
            "sha256 expected 7df22bd48ae41ad08d0201abdce9a706bf197dd67aac877786d6003d1461435e",
            "found ",
        ],
    );
}

#[test]
fn unlisted_sdist_is_refused() {
    let d = scratch();
    copy_inputs(d.path());
    fs::copy(
        d.path().join("sdists/fixflit-1.0.tar.gz"),
        d.path().join("sdists/intruder-9.9.tar.gz"),
    )
    .unwrap();
    let out = d.path().join("out");
    fs::create_dir(&out).unwrap();
    expect_refusal(
        &mut build_cmd(d.path(), &out),
        &out,
        &["intruder-9.9.tar.gz", "not pinned"],
    );
}

#[test]
fn backend_that_is_not_pinned_is_refused() {
    let d = scratch();
    copy_inputs(d.path());
    // flit_core's wheel is present but its pin is gone: fixflit cannot build.
    let reqs = d.path().join("backends/requirements.txt");
    let text: String = fs::read_to_string(&reqs)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("flit"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&reqs, text).unwrap();
    let out = d.path().join("out");
    fs::create_dir(&out).unwrap();
    expect_refusal(
        &mut build_cmd(d.path(), &out),
        &out,
        &["fixflit-1.0.tar.gz", "flit_core", "not pinned"],
    );
}

#[test]
fn backend_wheel_with_another_hash_is_refused() {
    let d = scratch();
    copy_inputs(d.path());
    let reqs = d.path().join("backends/requirements.txt");
    let text = fs::read_to_string(&reqs)
        .unwrap()
        .replace("ca140b45", "ca140b46");
    fs::write(&reqs, text).unwrap();
    let out = d.path().join("out");
    fs::create_dir(&out).unwrap();
    expect_refusal(
        &mut build_cmd(d.path(), &out),
        &out,
        &[
            "setuptools",
            "sha256 expected ca140b46",
            "ca140b45d5325a9478f880e351484f62fef15f336462e449ca0c03c873d589c2",
        ],
    );
}

#[test]
fn normalize_is_idempotent_and_refuses_a_wheel_that_disagrees_with_its_record() {
    let d = scratch();
    // Created by normalize, parents too.
    let out = d.path().join("n/wheels");
    let w = built().join("fixflit-1.0-py3-none-any.whl");
    ok(venvdeb()
        .args(["wheels", "normalize", "--output"])
        .arg(&out)
        .arg(&w)
        .env("SOURCE_DATE_EPOCH", SDE));
    assert_eq!(
        fs::read(&w).unwrap(),
        fs::read(out.join("fixflit-1.0-py3-none-any.whl")).unwrap()
    );

    // A wheel as another tool writes it (directory entries, other times,
    // RECORD first), then one whose module no longer matches RECORD.
    let make = r#"
import sys, zipfile
src, dst, tamper = sys.argv[1], sys.argv[2], sys.argv[3] == '1'
zin = zipfile.ZipFile(src)
with zipfile.ZipFile(dst, 'w', zipfile.ZIP_STORED) as z:
    z.writestr(zipfile.ZipInfo('fixflit/', (2001, 1, 1, 0, 0, 0)), b'')
    for i in reversed(zin.infolist()):
        data = zin.read(i.filename)
        if tamper and i.filename == 'fixflit/__init__.py':
            data += b'# evil\n'
        z.writestr(zipfile.ZipInfo(i.filename, (2010, 5, 5, 5, 5, 4)), data)
"#;
    let other = d.path().join("other");
    fs::create_dir(&other).unwrap();
    let foreign = other.join("fixflit-1.0-py3-none-any.whl");
    ok(Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(make)
        .arg(&w)
        .arg(&foreign)
        .arg("0"));
    assert_ne!(fs::read(&foreign).unwrap(), fs::read(&w).unwrap());
    let out2 = d.path().join("n2");
    fs::create_dir(&out2).unwrap();
    ok(venvdeb()
        .args([
            "wheels",
            "normalize",
            "--source-date-epoch",
            SDE,
            "--output",
        ])
        .arg(&out2)
        .arg(&foreign));
    assert_eq!(
        fs::read(&w).unwrap(),
        fs::read(out2.join("fixflit-1.0-py3-none-any.whl")).unwrap()
    );

    ok(Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(make)
        .arg(&w)
        .arg(&foreign)
        .arg("1"));
    let out3 = d.path().join("n3");
    fs::create_dir(&out3).unwrap();
    expect_refusal(
        venvdeb()
            .args([
                "wheels",
                "normalize",
                "--source-date-epoch",
                SDE,
                "--output",
            ])
            .arg(&out3)
            .arg(&foreign),
        &out3,
        &[
            "fixflit/__init__.py",
            "RECORD expected sha256:",
            "found sha256:",
        ],
    );
}

#[test]
fn sums_pass_sha256sum_check() {
    let d = scratch();
    let wh = d.path().join("wh");
    fs::create_dir(&wh).unwrap();
    for (n, b) in files(built()) {
        fs::write(wh.join(n), b).unwrap();
    }
    ok(venvdeb()
        .args(["wheels", "sums"])
        .arg(&wh)
        .arg("--output")
        .arg(wh.join("sha256sums.txt")));
    let text = fs::read_to_string(wh.join("sha256sums.txt")).unwrap();
    assert_eq!(text.lines().count(), 4);
    let out = ok(Command::new("sha256sum")
        .args(["-c", "--strict", "sha256sums.txt"])
        .current_dir(&wh));
    assert_eq!(out.matches(": OK").count(), 4, "{out}");
    // And it catches a changed wheel.
    fs::write(wh.join("fixflit-1.0-py3-none-any.whl"), b"changed").unwrap();
    let o = run(Command::new("sha256sum")
        .args(["-c", "sha256sums.txt"])
        .current_dir(&wh));
    assert!(!o.status.success());
}

#[test]
fn index_is_stable_and_pip_installs_from_it_with_require_hashes() {
    let d = scratch();
    let wh = built();
    let lock = d.path().join("requirements.txt");
    ok(venvdeb()
        .args(["wheels", "lock"])
        .arg(wh)
        .arg("--output")
        .arg(&lock));
    let text = fs::read_to_string(&lock).unwrap();
    assert!(text.contains("\nfixflit==1.0 --hash=sha256:"), "{text}");
    let pylock = d.path().join("pylock.toml");
    ok(venvdeb()
        .args(["wheels", "lock", "--format", "pylock"])
        .arg(wh)
        .arg("--output")
        .arg(&pylock));
    let py = fs::read_to_string(&pylock).unwrap();
    assert!(py.starts_with("lock-version = \"1.0\"\n"), "{py}");

    let idx = d.path().join("idx");
    ok(venvdeb()
        .args(["wheels", "index"])
        .arg(wh)
        .arg("--output")
        .arg(&idx));
    let page = fs::read_to_string(idx.join("simple/fixflit/index.html")).unwrap();
    let sha = common::sha256_file(&wh.join("fixflit-1.0-py3-none-any.whl"));
    assert!(
        page.contains(&format!(
            "href=\"fixflit-1.0-py3-none-any.whl#sha256={sha}\" data-requires-python=\"&gt;=3.8\""
        )),
        "{page}"
    );
    let md = idx.join("simple/fixflit/fixflit-1.0-py3-none-any.whl.metadata");
    assert!(page.contains(&format!(
        "data-core-metadata=\"sha256={}\"",
        common::sha256_file(&md)
    )));
    // Same wheels, another run into another directory: the same tree.
    let idx2 = d.path().join("idx2");
    ok(venvdeb()
        .args(["wheels", "index"])
        .arg(wh)
        .arg("--output")
        .arg(&idx2));
    let tree = |root: &Path| {
        let mut v = Vec::new();
        for p in ["index.html", "fixext", "fixflit", "fixlegacy", "fixsetup"] {
            let p = root.join("simple").join(p);
            if p.is_dir() {
                v.extend(files(&p));
            } else {
                v.push((
                    p.display().to_string().replace(root.to_str().unwrap(), ""),
                    fs::read(&p).unwrap(),
                ));
            }
        }
        v
    };
    assert!(tree(&idx) == tree(&idx2));

    // A fresh venv of the target interpreter; pip may use only the file index.
    let venv = d.path().join("venv");
    ok(Command::new("/usr/bin/python3")
        .args(["-m", "venv"])
        .arg(&venv));
    let url = format!("file://{}/simple", idx.display());
    ok(Command::new(venv.join("bin/pip"))
        .args([
            "install",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--require-hashes",
            "--no-deps",
            "--index-url",
            &url,
            "-r",
        ])
        .arg(&lock)
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env_remove("PIP_INDEX_URL")
        .env_remove("PIP_FIND_LINKS"));
    assert_eq!(
        ok(&mut Command::new(venv.join("bin/fixflit"))).trim(),
        "fixflit says hello"
    );
    let v = ok(Command::new(venv.join("bin/python")).args(["-c", "import fixext, fixext._speed as s, fixsetup, fixlegacy, importlib.resources as r; print(fixsetup.VALUE, fixlegacy.X, r.files('fixsetup').joinpath('data/hello.txt').read_text().strip(), fixext.add(40, 2)); print(s.add.__doc__)"]));
    // The C extension's __FILE__ had the build directory; -ffile-prefix-map
    // replaced it.
    assert_eq!(
        v,
        "42 3 hello from fixsetup 42\nAdd two integers (built at /usr/src/fixext-0.1/src/speed.c).\n"
    );

    // A lock with a hash that is not the index's: pip refuses.
    let bad = d.path().join("bad.txt");
    fs::write(&bad, text.replace(&sha, &"0".repeat(64))).unwrap();
    let o = run(Command::new(venv.join("bin/pip"))
        .args([
            "install",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--require-hashes",
            "--no-deps",
            "--force-reinstall",
            "--index-url",
            &url,
            "-r",
        ])
        .arg(&bad)
        .env("PIP_CONFIG_FILE", "/dev/null"));
    assert!(!o.status.success(), "pip accepted a wrong hash");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("HASHES"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn failing_backend_is_reported_with_its_output_and_nothing_is_written() {
    let d = scratch();
    let inputs = d.path().join("in");
    copy_inputs(&inputs);
    let sdists = inputs.join("sdists");
    let make = r#"
import io, sys, tarfile
with tarfile.open(sys.argv[1], 'w:gz') as t:
    data = b"raise SystemExit('boom: this setup.py refuses to build')\n"
    i = tarfile.TarInfo('zbroken-1.0/setup.py'); i.size = len(data)
    t.addfile(i, io.BytesIO(data))
"#;
    let archive = sdists.join("zbroken-1.0.tar.gz");
    ok(Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(make)
        .arg(&archive));
    // fixflit builds first and fine, zbroken does not: neither may reach --output.
    fs::remove_file(sdists.join("fixsetup-2.0.tar.gz")).unwrap();
    fs::remove_file(sdists.join("fixext-0.1.tar.gz")).unwrap();
    fs::remove_file(sdists.join("fixlegacy-0.3.zip")).unwrap();
    let fixflit = fs::read_to_string(sdists.join("requirements.txt")).unwrap();
    let fixflit = fixflit
        .lines()
        .find(|l| l.starts_with("fixflit=="))
        .unwrap();
    fs::write(
        sdists.join("requirements.txt"),
        format!(
            "{fixflit}\nzbroken==1.0 --hash=sha256:{}\n",
            common::sha256_file(&archive)
        ),
    )
    .unwrap();
    let out = d.path().join("out");
    fs::create_dir(&out).unwrap();
    let o = run(&mut build_cmd(&inputs, &out));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("zbroken-1.0.tar.gz") && err.contains("boom: this setup.py refuses to build"),
        "{err}"
    );
    assert_eq!(fs::read_dir(&out).unwrap().count(), 0);
}

#[test]
fn index_publishes_the_signed_list_only_when_it_names_the_indexed_wheels() {
    let d = scratch();
    let sums = d.path().join("sha256sums.txt");
    let sig = d.path().join("sha256sums.txt.asc");
    ok(venvdeb()
        .args(["wheels", "sums"])
        .arg(built())
        .arg("--output")
        .arg(&sums));
    // index does not check the signature (sync and build do): any bytes.
    fs::write(&sig, "-----BEGIN PGP SIGNATURE-----\n").unwrap();
    let index = |out: &Path| {
        run(venvdeb()
            .args(["wheels", "index"])
            .arg(built())
            .arg("--output")
            .arg(out)
            .arg("--sums")
            .arg(&sums)
            .arg("--signature")
            .arg(&sig))
    };
    let good = d.path().join("pub");
    let o = index(&good);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        fs::read(good.join("simple/sha256sums.txt")).unwrap(),
        fs::read(&sums).unwrap()
    );
    assert_eq!(
        fs::read(good.join("simple/sha256sums.txt.asc")).unwrap(),
        fs::read(&sig).unwrap()
    );

    // A list whose first hash is not the wheel's: refused, nothing written.
    let text = fs::read_to_string(&sums).unwrap();
    let flipped = if text.starts_with('0') { "1" } else { "0" };
    fs::write(&sums, format!("{flipped}{}", &text[1..])).unwrap();
    let bad = d.path().join("bad");
    let o = index(&bad);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains("expected sha256") && err.contains("line 1"),
        "{err}"
    );
    assert!(!bad.join("simple").exists());

    // A list missing a wheel: refused.
    fs::write(
        &sums,
        text.lines()
            .skip(1)
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    )
    .unwrap();
    let o = index(&bad);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not list"));

    // --sums without --signature is a usage error.
    let o = run(venvdeb()
        .args(["wheels", "index"])
        .arg(built())
        .arg("--output")
        .arg(&bad)
        .arg("--sums")
        .arg(&sums));
    assert_eq!(o.status.code(), Some(2));
}
