//! Helpers shared by the end-to-end tests: the built binary, scratch
//! directories, running commands with a controlled environment.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

/// Tests that install packages take this lock: dpkg allows one at a time.
/// (cargo runs test binaries one after another, so a process-wide lock is
/// enough.)
pub static DPKG_LOCK: Mutex<()> = Mutex::new(());

/// The venvdeb binary under test.
pub fn venvdeb() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_venvdeb"));
    c.env_remove("SOURCE_DATE_EPOCH");
    c
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh scratch directory, removed when dropped.
pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("venvdeb-test-")
        .tempdir()
        .expect("tempdir")
}

/// Run a command, panic with its output if it could not be started.
pub fn run(cmd: &mut Command) -> Output {
    // dpkg refuses at once while another dpkg or apt holds its lock (a
    // second test run or apt on the same machine): wait for it, up to two
    // minutes, instead of failing a test over someone else's lock.
    let is_dpkg = cmd.get_program() == "dpkg";
    for _ in 0..120 {
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
        let locked = is_dpkg
            && out.status.code() == Some(2)
            && String::from_utf8_lossy(&out.stderr).contains("lock was locked by another process");
        if !locked {
            return out;
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    panic!("{cmd:?}: the dpkg lock stayed held for two minutes")
}

/// Run a command and require exit 0, returning stdout.
pub fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Write the wheel `out`: `files` (archive name, bytes, mode) and then
/// `<dist_info>/RECORD` listing them, by /usr/bin/python3's zipfile (a
/// writer independent of venvdeb's reader), deflated, every entry dated
/// 2024-01-01.
pub fn write_wheel(out: &Path, dist_info: &str, files: &[(&str, &[u8], u32)]) {
    let spec: Vec<serde_json::Value> = files
        .iter()
        .map(|(name, data, mode)| {
            let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
            serde_json::json!([name, hex, mode])
        })
        .collect();
    let spec_file = out.with_extension("spec.json");
    std::fs::write(&spec_file, serde_json::to_vec(&spec).unwrap()).unwrap();
    ok(Command::new("/usr/bin/python3")
        .args(["-c", WRITE_WHEEL])
        .arg(out)
        .arg(dist_info)
        .arg(&spec_file));
    std::fs::remove_file(&spec_file).unwrap();
}

/// argv: the wheel, its .dist-info directory, a JSON list of [name, hex
/// bytes, mode].
const WRITE_WHEEL: &str = r#"
import base64, hashlib, json, sys, zipfile
out, dist_info, spec = sys.argv[1:4]
with open(spec) as f:
    files = [(n, bytes.fromhex(h), m) for n, h, m in json.load(f)]
record = []
def add(z, name, data, mode):
    info = zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0))
    info.external_attr = mode << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, data)
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for name, data, mode in files:
        add(z, name, data, mode)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (name, digest, len(data)))
    record.append(dist_info + "/RECORD,,")
    add(z, dist_info + "/RECORD", ("\n".join(record) + "\n").encode(), 0o644)
"#;

/// The sha256 of a file, as lowercase hex.
pub fn sha256_file(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let d = Sha256::digest(&bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Copy a directory tree (files by content; a symlink is copied as the file
/// it points to).
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap_or_else(|e| panic!("mkdir {}: {e}", dst.display()));
    for e in std::fs::read_dir(src).unwrap_or_else(|e| panic!("read {}: {e}", src.display())) {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to)
                .unwrap_or_else(|err| panic!("copy {}: {err}", e.path().display()));
        }
    }
}

/// A copy of the bundled example (config, wheels, signed list, changelog)
/// at `dir/example`; returns that directory.
pub fn copy_example(dir: &Path) -> PathBuf {
    let ex = dir.join("example");
    copy_dir(&repo().join("example"), &ex);
    ex
}

/// This machine's Debian architecture (`dpkg --print-architecture`), which
/// names the .deb files; never hard-coded.
pub fn deb_arch() -> String {
    static ARCH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ARCH.get_or_init(|| {
        ok(Command::new("dpkg").arg("--print-architecture"))
            .trim()
            .to_string()
    })
    .clone()
}

/// `(X, Y)` of the target interpreter /usr/bin/python3 (the release's), as it
/// reports itself; never hard-coded.
pub fn py_version() -> (u32, u32) {
    static V: std::sync::OnceLock<(u32, u32)> = std::sync::OnceLock::new();
    *V.get_or_init(|| {
        let v = ok(Command::new("/usr/bin/python3")
            .args(["-I", "-c", "import sys; print(*sys.version_info[:2])"])
            .env_clear());
        let mut it = v.split_whitespace().map(|n| n.parse::<u32>().unwrap());
        (it.next().unwrap(), it.next().unwrap())
    })
}

/// `X.Y` of the target interpreter, e.g. `3.11` on bookworm.
pub fn py_short() -> String {
    let (x, y) = py_version();
    format!("{x}.{y}")
}

/// The next minor version after the target interpreter's, e.g. `3.12`.
pub fn py_next() -> String {
    let (x, y) = py_version();
    format!("{x}.{}", y + 1)
}

/// The bundled example's .deb name on this machine.
pub fn example_deb() -> String {
    format!("demoapp_1.0.0-1_{}.deb", deb_arch())
}

/// Build a copy of the bundled example at `dir/example` with `venvdeb
/// build` into `dir/out`; returns `(example dir, output dir)`.
pub fn build_example_copy(dir: &Path) -> (PathBuf, PathBuf) {
    let ex = copy_example(dir);
    let out = dir.join("out");
    ok(venvdeb()
        .arg("build")
        .arg("--config")
        .arg(ex.join("venvdeb.toml"))
        .arg("--output-dir")
        .arg(&out));
    (ex, out)
}

/// Rewrite sha256sums.txt from the wheelhouse and sign it with test key a.
pub fn resign(ex: &Path) {
    let sums = ok(Command::new("sh")
        .arg("-c")
        .arg("LC_ALL=C sha256sum -- *.whl")
        .current_dir(ex.join("wheelhouse")));
    std::fs::write(ex.join("sha256sums.txt"), sums).unwrap();
    let home = scratch();
    ok(Command::new("gpg")
        .args(["--batch", "--quiet", "--import"])
        .arg(repo().join("fixtures/keys/test-key-a.secret.asc"))
        .env("GNUPGHOME", home.path()));
    ok(Command::new("gpg")
        .args(["--batch", "--yes", "--armor", "--detach-sign", "-o"])
        .arg(ex.join("sha256sums.txt.asc"))
        .arg(ex.join("sha256sums.txt"))
        .env("GNUPGHOME", home.path()));
}

/// Remove what `cargo test` sets for this process (CARGO_PKG_*,
/// CARGO_BIN_EXE_*, …): a cargo build run by the command (make-deb.sh) would
/// otherwise see another environment than a plain run and rebuild instead
/// of reusing target/make-deb.
pub fn without_cargo_test_env(c: &mut Command) {
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if (k.starts_with("CARGO") && k != "CARGO_HOME" && k != "CARGO_TARGET_DIR")
            || k == "OUT_DIR"
        {
            c.env_remove(&*k);
        }
    }
}

/// The cached chroot tarball of `release` with `extra` packages, made now by
/// scripts/chroot.sh if missing (the one way every chroot test gets one).
pub fn chroot_tarball(release: &str, extra: &[&str]) -> String {
    let out = Command::new("sh")
        .arg(repo().join("scripts/chroot.sh"))
        .args(["tarball", release])
        .args(extra)
        .output()
        .expect("run scripts/chroot.sh");
    assert!(
        out.status.success(),
        "scripts/chroot.sh tarball {release} {extra:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Validate an in-toto statement against the in-toto Statement v1 and SLSA
/// Provenance v1 schemas (fixtures/intoto/) with Debian's
/// python3-jsonschema; Err(message) when one refuses it.
pub fn validate_intoto(doc: &Path) -> Result<(), String> {
    let script = r#"
import json, sys
import jsonschema
doc = json.load(open(sys.argv[1]))
for path in sys.argv[2:]:
    schema = json.load(open(path))
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft7Validator(schema).validate(doc)
print("valid")
"#;
    let o = run(Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .arg(doc)
        .arg(repo().join("fixtures/intoto/statement-v1.schema.json"))
        .arg(repo().join("fixtures/intoto/provenance-v1.schema.json")));
    if o.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&o.stderr).into_owned())
    }
}

/// The example's wheels and signed list as `wheels index --sums
/// --signature` publishes them: `dir/pub` (its `simple/` and the list at
/// its root).
pub fn publish_example(dir: &Path) -> PathBuf {
    let ex = repo().join("example");
    ok(venvdeb()
        .args(["wheels", "index"])
        .arg(ex.join("wheelhouse"))
        .arg("--output")
        .arg(dir.join("pub"))
        .arg("--sums")
        .arg(ex.join("sha256sums.txt"))
        .arg("--signature")
        .arg(ex.join("sha256sums.txt.asc")));
    dir.join("pub")
}
