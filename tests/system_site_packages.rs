//! `[venv] system-site-packages = true` end to end: an app (a wheel made
//! here) that imports `yaml` from Debian's python3-yaml, built from a signed
//! wheel list, installed with the real `dpkg -i`, run, and purged again
//! (pass or fail); the same bytes from a copy built under another path,
//! umask, TZ, locale, CPU set and clock; and the build failing clearly
//! (exit 2, nothing written) when a system module is missing or its Debian
//! package is not in Depends.
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{copy_dir, ok, repo, run, scratch, venvdeb, write_wheel, DPKG_LOCK};

const PKG: &str = "venvdeb-system-site-test";

/// Purges the test package when dropped.
struct Purge;

impl Drop for Purge {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").args(["--purge", PKG]).output();
    }
}

/// The app's files (its wheel is written by `common::write_wheel`).
const APP_FILES: [(&str, &str); 4] = [
    (
        "yamlapp.py",
        "import sys\nimport yaml\n\n\
         def main():\n    \
         print(yaml.safe_dump({'loaded-from': yaml.__file__, 'prefix': sys.prefix}), end='')\n",
    ),
    (
        "yamlapp-1.0.dist-info/METADATA",
        "Metadata-Version: 2.1\nName: yamlapp\nVersion: 1.0\n",
    ),
    (
        "yamlapp-1.0.dist-info/WHEEL",
        "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    ),
    (
        "yamlapp-1.0.dist-info/entry_points.txt",
        "[console_scripts]\nyamlapp = yamlapp:main\n",
    ),
];

/// A project directory: wheelhouse, lock, signed list, keyring, config
/// with `venv` lines added to `[venv]` and `depends` as given.
fn project(dir: &Path, venv: &str, depends: &str) -> PathBuf {
    let p = dir.join("project");
    let wh = p.join("wheelhouse");
    fs::create_dir_all(&wh).unwrap();
    let files: Vec<(&str, &[u8], u32)> = APP_FILES
        .iter()
        .map(|(n, t)| (*n, t.as_bytes(), 0o644))
        .collect();
    write_wheel(
        &wh.join("yamlapp-1.0-py3-none-any.whl"),
        "yamlapp-1.0.dist-info",
        &files,
    );
    ok(venvdeb()
        .args(["wheels", "sums", "--output"])
        .arg(p.join("sha256sums.txt"))
        .arg(&wh));
    ok(venvdeb()
        .args(["wheels", "lock", "--output"])
        .arg(p.join("requirements.txt"))
        .arg(&wh));
    let home = dir.join("gnupg");
    fs::create_dir_all(&home).unwrap();
    fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let keys = repo().join("fixtures/keys");
    ok(Command::new("gpg")
        .arg("--homedir")
        .arg(&home)
        .args(["--batch", "--quiet", "--import"])
        .arg(keys.join("test-key-a.secret.asc")));
    ok(Command::new("gpg")
        .arg("--homedir")
        .arg(&home)
        .args([
            "--batch",
            "--quiet",
            "--yes",
            "--armor",
            "--detach-sign",
            "--output",
        ])
        .arg(p.join("sha256sums.txt.asc"))
        .arg(p.join("sha256sums.txt")));
    fs::copy(keys.join("test-key-a.public.gpg"), p.join("keyring.gpg")).unwrap();
    fs::write(
        p.join("venvdeb.toml"),
        format!(
            "[package]\nname = \"{PKG}\"\nversion = \"1.0-1\"\n\
             maintainer = \"Test <test@example.org>\"\n\
             description = \"system site packages test\"\n{depends}\n\
             [inputs]\nwheelhouse = \"wheelhouse\"\nlock = \"requirements.txt\"\n\
             sums = \"sha256sums.txt\"\nsignature = \"sha256sums.txt.asc\"\nkeyring = \"keyring.gpg\"\n\
             [venv]\nexpose = [\"yamlapp\"]\n{venv}\n"
        ),
    )
    .unwrap();
    p
}

fn build(project: &Path, out: &Path) -> std::process::Output {
    fs::create_dir_all(out).unwrap();
    run(venvdeb()
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .arg("build")
        .arg("--config")
        .arg(project.join("venvdeb.toml"))
        .arg("--output-dir")
        .arg(out))
}

/// Build, require success, return the one .deb.
fn build_ok(project: &Path, out: &Path) -> PathBuf {
    let o = build(project, out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let debs: Vec<String> = listing(out)
        .into_iter()
        .filter(|n| n.ends_with(".deb"))
        .collect();
    assert_eq!(debs.len(), 1, "{debs:?}");
    out.join(&debs[0])
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

const SYSTEM: &str = "system-site-packages = true\nsystem-modules = [\"yaml\"]";

#[test]
fn app_imports_yaml_from_debian() {
    let s = scratch();
    let p = project(s.path(), SYSTEM, "depends = [\"python3-yaml\"]");
    let out = s.path().join("out");
    let o = build(&p, &out);
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let debs: Vec<String> = listing(&out)
        .into_iter()
        .filter(|n| n.ends_with(".deb"))
        .collect();
    assert_eq!(debs.len(), 1, "{debs:?}");
    let deb = out.join(&debs[0]);

    // Depends names python3-yaml; pyvenv.cfg says so.
    let depends = ok(Command::new("dpkg-deb").arg("-f").arg(&deb).arg("Depends"));
    assert!(
        depends.contains("python3 (>= 3.") && depends.contains("python3-yaml"),
        "{depends}"
    );
    let x = s.path().join("x");
    ok(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&x));
    let venv = x.join(format!("opt/venvs/{PKG}"));
    let cfg = fs::read_to_string(venv.join("pyvenv.cfg")).unwrap();
    assert!(
        cfg.contains("include-system-site-packages = true\n"),
        "{cfg}"
    );
    // The manifest and the SBOM name yaml as a system component.
    let doc = x.join(format!("usr/share/doc/{PKG}"));
    let m: serde_json::Value =
        serde_json::from_slice(&fs::read(doc.join("venvdeb-manifest.json")).unwrap()).unwrap();
    assert_eq!(m["system_modules"][0]["module"], "yaml", "{m}");
    assert_eq!(
        m["system_modules"][0]["debian_package"], "python3-yaml",
        "{m}"
    );
    let sbom = fs::read_to_string(doc.join("venvdeb-sbom.cdx.json")).unwrap();
    assert!(
        sbom.contains("\"system:yaml\"") && sbom.contains("python3-yaml"),
        "{sbom}"
    );

    // Same bytes from a copy elsewhere under another umask, TZ, locale,
    // CPU set and clock.
    let b = s.path().join("second/elsewhere");
    copy_dir(&p, &b.join("project"));
    let out2 = b.join("out");
    fs::create_dir_all(&out2).unwrap();
    ok(Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 077; exec taskset -c 0 faketime '2031-06-15 12:34:56' {} build --config {} --output-dir {}",
            env!("CARGO_BIN_EXE_venvdeb"),
            b.join("project/venvdeb.toml").display(),
            out2.display()
        ))
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("TZ", "Pacific/Kiritimati")
        .env("LC_ALL", "POSIX")
        .env("LANG", "POSIX"));
    assert!(
        fs::read(&deb).unwrap() == fs::read(out2.join(&debs[0])).unwrap(),
        "rebuild under another path/umask/TZ/locale/CPU set/clock differs"
    );

    // `rebuild --check` with the configuration: the same bytes.
    ok(venvdeb()
        .args(["rebuild", "--check"])
        .arg(&deb)
        .arg("--config")
        .arg(p.join("venvdeb.toml")));

    // … and from the signed index alone (the configuration reconstructed
    // from the package, system modules included).
    let index = s.path().join("index");
    ok(venvdeb()
        .args(["wheels", "index", "--output"])
        .arg(&index)
        .arg("--sums")
        .arg(p.join("sha256sums.txt"))
        .arg("--signature")
        .arg(p.join("sha256sums.txt.asc"))
        .arg(p.join("wheelhouse")));
    ok(venvdeb()
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args(["rebuild", "--check"])
        .arg(&deb)
        .arg("--index")
        .arg(format!("file://{}", index.join("simple").display()))
        .arg("--keyring")
        .arg(p.join("keyring.gpg")));

    // Install, run, audit, purge.
    let _lock = DPKG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let _purge = Purge;
    ok(Command::new("dpkg").arg("-i").arg(&deb));
    let said = ok(Command::new("/usr/bin/yamlapp").env_clear());
    assert!(
        said.contains("loaded-from: /usr/lib/python3/dist-packages/yaml/__init__.py")
            && said.contains(&format!("prefix: /opt/venvs/{PKG}")),
        "{said}"
    );
    ok(venvdeb().args(["audit", PKG]));
    ok(Command::new("dpkg").args(["--purge", PKG]));
    assert!(!Path::new(&format!("/opt/venvs/{PKG}")).exists());
}

#[test]
fn missing_system_module_fails_the_build() {
    let s = scratch();
    let p = project(
        s.path(),
        "system-site-packages = true\nsystem-modules = [\"venvdeb_no_such_module\"]",
        "depends = [\"python3-yaml\"]",
    );
    let out = s.path().join("out");
    let o = build(&p, &out);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("system module \"venvdeb_no_such_module\" cannot be imported by the target interpreter /usr/bin/python3")
            && err.contains("ModuleNotFoundError"),
        "{err}"
    );
    assert!(listing(&out).is_empty(), "{:?}", listing(&out));
}

/// The Debian package a system module comes from is added to Depends when
/// the configuration does not name it — and, under debhelper, where the
/// configuration has no [package] table, to ${venvdeb:Depends}.
#[test]
fn system_module_package_is_added_to_depends() {
    let s = scratch();
    let p = project(s.path(), SYSTEM, "depends = [\"curl\"]");
    let deb = build_ok(&p, &s.path().join("out"));
    let depends = ok(Command::new("dpkg-deb").arg("-f").arg(&deb).arg("Depends"));
    assert!(depends.contains(", python3-yaml, curl"), "{depends}");
    let x = s.path().join("x");
    ok(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&x));
    let cfg = fs::read_to_string(x.join(format!("opt/venvs/{PKG}/pyvenv.cfg"))).unwrap();

    // Under debhelper: `venvdeb stage` puts the Debian packages into
    // ${venvdeb:Depends}, and pyvenv.cfg is the same.
    let destdir = s.path().join("stage/debian/pkg");
    let substvars = s.path().join("stage/pkg.substvars");
    fs::create_dir_all(s.path().join("stage")).unwrap();
    fs::write(&substvars, "misc:Depends=\n").unwrap();
    ok(venvdeb()
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .arg("stage")
        .arg("--config")
        .arg(p.join("venvdeb.toml"))
        .arg("--destdir")
        .arg(&destdir)
        .arg("--substvars")
        .arg(&substvars));
    let vars = fs::read_to_string(&substvars).unwrap();
    let line = vars
        .lines()
        .find(|l| l.starts_with("venvdeb:Depends="))
        .unwrap_or_else(|| panic!("{vars}"));
    assert!(
        line.contains("python3 (>= 3.") && line.ends_with(", python3-yaml"),
        "{vars}"
    );
    assert!(vars.contains("misc:Depends=\n"), "{vars}");
    assert_eq!(
        fs::read_to_string(destdir.join(format!("opt/venvs/{PKG}/pyvenv.cfg"))).unwrap(),
        cfg
    );
}

#[test]
fn without_system_site_packages_yaml_is_not_importable() {
    // The default: an isolated venv; the same app cannot import yaml.
    let s = scratch();
    let p = project(s.path(), "", "depends = [\"python3-yaml\"]");
    let deb = build_ok(&p, &s.path().join("out"));
    let x = s.path().join("x");
    ok(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&x));
    let venv = x.join(format!("opt/venvs/{PKG}"));
    let cfg = fs::read_to_string(venv.join("pyvenv.cfg")).unwrap();
    assert!(
        cfg.contains("include-system-site-packages = false\n"),
        "{cfg}"
    );
    let m =
        fs::read_to_string(x.join(format!("usr/share/doc/{PKG}/venvdeb-manifest.json"))).unwrap();
    assert!(!m.contains("system_modules"), "{m}");
}
