//! Installing wheels natively: each verified wheel's entries are streamed
//! (through `wheel::archive`, which re-checks every entry against RECORD as
//! it streams) into the venv — purelib/platlib into site-packages, `.data/`
//! keys mapped as pip maps them (purelib, platlib → site-packages, scripts →
//! `bin` with `#!python` rewritten, headers → `include/site/pythonX.Y/<dist>`,
//! data → the venv root; any other key is an error) — then the
//! `console_scripts`/`gui_scripts` launchers, a new RECORD and
//! `INSTALLER = venvdeb`. No `direct_url.json`, no `REQUESTED`. Two sources
//! writing the same path, or a path through one of the layout's symlinks, is
//! an error naming both. Files are the wheels' bytes, unaltered (except the
//! `#!python` line of `.data/scripts`, as pip does).
//!
//! The public entry point takes only `VerifiedWheel`s; the entry-level work
//! is in `Installer`, which the unit tests drive directly.
use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};

use super::layout::Layout;
use super::scripts::{rewrite_first_line, EntryPoint};
use crate::verify::VerifiedWheel;
use crate::wheel::metadata::parse_entry_points;

/// What was installed for one distribution.
#[derive(Debug, Clone)]
pub struct InstalledDist {
    pub name: String,
    pub version: String,
    pub wheel: String,
    /// Every file written, sorted by path.
    pub files: Vec<InstalledFile>,
}

/// One file written into the venv.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct InstalledFile {
    /// Relative to the prefix.
    pub rel: String,
    /// sha256 hex (empty for RECORD itself).
    pub sha256: String,
    pub size: u64,
    /// Unpacked from the wheel (else generated: launcher, RECORD, INSTALLER).
    pub from_wheel: bool,
}

/// Paths the layout owns; a wheel may not write through or over them.
fn layout_owned(layout: &Layout, short_version: &str) -> Vec<String> {
    let bin = &layout.scripts;
    let j = |a: &str, b: &str| {
        if a.is_empty() {
            b.to_string()
        } else {
            format!("{a}/{b}")
        }
    };
    let mut v = vec![
        "pyvenv.cfg".to_string(),
        "lib64".to_string(),
        j(bin, "python"),
        j(bin, "python3"),
        j(bin, &format!("python{short_version}")),
        j(bin, "activate"),
        j(bin, "activate.csh"),
        j(bin, "activate.fish"),
    ];
    v.sort();
    v
}

/// The per-venv installer state: who owns which path.
pub struct Installer<'a> {
    layout: &'a Layout,
    /// Relative path (to the prefix) → who wrote it.
    owners: BTreeMap<String, String>,
    /// Symlinks of the layout: nothing may be written through them.
    symlinks: Vec<String>,
}

/// One distribution being installed.
pub struct DistInstall {
    pub name: String,
    pub version: String,
    pub wheel: String,
    /// `<name>-<version>.dist-info` and `.data` as found in the wheel.
    pub dist_info: String,
    pub data_dir: String,
    files: Vec<InstalledFile>,
}

impl DistInstall {
    pub fn new(name: &str, version: &str, wheel: &str, dist_info: &str) -> Result<DistInstall> {
        let stem = dist_info
            .strip_suffix(".dist-info")
            .with_context(|| format!("{wheel}: {dist_info:?} is not a .dist-info directory"))?;
        Ok(DistInstall {
            name: name.to_string(),
            version: version.to_string(),
            wheel: wheel.to_string(),
            dist_info: dist_info.to_string(),
            data_dir: format!("{stem}.data"),
            files: Vec::new(),
        })
    }
}

/// A writer that hashes and counts what goes through it.
struct HashingWriter<W: Write> {
    inner: W,
    hash: Sha256,
    size: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

impl<'a> Installer<'a> {
    pub fn new(layout: &'a Layout, short_version: &str) -> Installer<'a> {
        let mut owners = BTreeMap::new();
        for p in layout_owned(layout, short_version) {
            owners.insert(p, "the venv layout".to_string());
        }
        let j = |b: &str| {
            if layout.scripts.is_empty() {
                b.to_string()
            } else {
                format!("{}/{b}", layout.scripts)
            }
        };
        let symlinks = vec![
            "lib64".to_string(),
            j("python"),
            j("python3"),
            j(&format!("python{short_version}")),
        ];
        Installer {
            layout,
            owners,
            symlinks,
        }
    }

    /// Where a wheel entry goes, relative to the prefix; `None` for the
    /// wheel's own RECORD (and its signatures), which are replaced.
    pub fn destination(&self, dist: &DistInstall, entry: &str) -> Result<Option<(String, bool)>> {
        let l = self.layout;
        let join = |a: &str, b: &str| {
            if a.is_empty() {
                b.to_string()
            } else {
                format!("{a}/{b}")
            }
        };
        if entry == format!("{}/RECORD", dist.dist_info) {
            return Ok(None);
        }
        if let Some(rest) = entry
            .strip_prefix(&dist.data_dir)
            .and_then(|r| r.strip_prefix('/'))
        {
            let Some((key, path)) = rest.split_once('/') else {
                bail!("{}: {entry:?} is directly in {}", dist.wheel, dist.data_dir);
            };
            if path.is_empty() {
                bail!("{}: {entry:?} has an empty path", dist.wheel);
            }
            return Ok(Some(match key {
                "purelib" => (join(&l.purelib, path), false),
                "platlib" => (join(&l.platlib, path), false),
                "scripts" => (join(&l.scripts, path), true),
                "headers" => (join(&join(&l.headers, &dist.name), path), false),
                "data" => (join(&l.data, path), false),
                other => bail!(
                    "{}: {entry:?} uses the .data key {other:?}: only purelib, platlib, \
                     scripts, headers and data are allowed",
                    dist.wheel
                ),
            }));
        }
        // Root-Is-Purelib true or false: the venv scheme has one site-packages.
        Ok(Some((join(&l.purelib, entry), false)))
    }

    /// Claim `rel` for `who`, refusing a second writer and writes through
    /// the layout's symlinks.
    fn claim(&mut self, rel: &str, who: String) -> Result<()> {
        for s in &self.symlinks {
            if rel.starts_with(&format!("{s}/")) {
                bail!("{who} would write {rel} through the venv's symlink {s}");
            }
        }
        if rel
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
        {
            bail!("{who}: {rel:?} is not a normalized relative path");
        }
        if let Some(prev) = self.owners.get(rel) {
            bail!("{who} and {prev} both write {}/{rel}", self.layout.prefix);
        }
        // A file where a directory must go (or the reverse) is a conflict too.
        let mut parent = rel;
        while let Some((p, _)) = parent.rsplit_once('/') {
            if let Some(prev) = self.owners.get(p) {
                bail!("{who} needs {p} to be a directory, but {prev} writes a file there");
            }
            parent = p;
        }
        if let Some((other, prev)) = self
            .owners
            .range(format!("{rel}/")..)
            .next()
            .filter(|(k, _)| k.starts_with(&format!("{rel}/")))
        {
            bail!("{who} writes a file at {rel}, but {prev} writes {other} below it");
        }
        self.owners.insert(rel.to_string(), who);
        Ok(())
    }

    fn create(&self, rel: &str, executable: bool) -> Result<std::fs::File> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.layout.on_disk(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating directory {}", parent.display()))?;
        }
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(if executable { 0o755 } else { 0o644 })
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))
    }

    /// Install one wheel entry from `reader`. `executable`: the zip entry's
    /// mode has an execute bit.
    pub fn entry(
        &mut self,
        dist: &mut DistInstall,
        entry: &str,
        executable: bool,
        reader: &mut dyn Read,
    ) -> Result<()> {
        let Some((rel, is_script)) = self.destination(dist, entry)? else {
            // Drain so that the archive can check the bytes against RECORD.
            std::io::copy(reader, &mut std::io::sink())
                .with_context(|| format!("{}: reading {entry}", dist.wheel))?;
            return Ok(());
        };
        self.claim(&rel, format!("{} (entry {entry})", dist.wheel))?;
        let file = self.create(&rel, executable || is_script)?;
        let mut w = HashingWriter {
            inner: std::io::BufWriter::with_capacity(1 << 16, file),
            hash: Sha256::new(),
            size: 0,
        };
        let ctx = || format!("{}: installing {entry} as {rel}", dist.wheel);
        if is_script {
            let mut br = BufReader::with_capacity(1 << 16, reader);
            let mut first = Vec::new();
            br.read_until(b'\n', &mut first).with_context(ctx)?;
            match rewrite_first_line(&first, &self.layout.python) {
                Some(line) => w.write_all(&line).with_context(ctx)?,
                None => w.write_all(&first).with_context(ctx)?,
            }
            std::io::copy(&mut br, &mut w).with_context(ctx)?;
        } else {
            std::io::copy(reader, &mut w).with_context(ctx)?;
        }
        w.flush().with_context(ctx)?;
        let digest = hex(&w.hash.finalize());
        dist.files.push(InstalledFile {
            rel,
            sha256: digest,
            size: w.size,
            from_wheel: true,
        });
        Ok(())
    }

    /// Write a generated file (launcher, RECORD, INSTALLER).
    fn generated(
        &mut self,
        dist: &mut DistInstall,
        rel: String,
        who: String,
        bytes: &[u8],
        executable: bool,
    ) -> Result<()> {
        self.claim(&rel, who)?;
        let mut f = self.create(&rel, executable)?;
        f.write_all(bytes)
            .with_context(|| format!("writing {}", self.layout.on_disk(&rel).display()))?;
        dist.files.push(InstalledFile {
            rel,
            sha256: hex(&Sha256::digest(bytes)),
            size: bytes.len() as u64,
            from_wheel: false,
        });
        Ok(())
    }

    /// After all entries: launchers for `console_scripts` then `gui_scripts`
    /// (each `(name, value)`), INSTALLER and the new RECORD.
    pub fn finish(
        &mut self,
        mut dist: DistInstall,
        console: &[(String, String)],
        gui: &[(String, String)],
    ) -> Result<InstalledDist> {
        for (group, list) in [("console_scripts", console), ("gui_scripts", gui)] {
            for (name, value) in list {
                let ep = EntryPoint::parse(name, value)
                    .with_context(|| format!("{}: entry_points.txt [{group}]", dist.wheel))?;
                let rel = if self.layout.scripts.is_empty() {
                    ep.name.clone()
                } else {
                    format!("{}/{}", self.layout.scripts, ep.name)
                };
                let who = format!("{} ([{group}] {})", dist.wheel, ep.name);
                let text = ep.launcher(&self.layout.python);
                self.generated(&mut dist, rel, who, &text, true)?;
            }
        }
        let di = format!("{}/{}", self.layout.purelib, dist.dist_info);
        let who = format!("{} (INSTALLER)", dist.wheel);
        self.generated(
            &mut dist,
            format!("{di}/INSTALLER"),
            who,
            b"venvdeb\n",
            false,
        )?;
        let record_rel = format!("{di}/RECORD");
        let record = render_record(&self.layout.purelib, &dist.files, &record_rel);
        let who = format!("{} (RECORD)", dist.wheel);
        self.claim(&record_rel, who)?;
        let mut f = self.create(&record_rel, false)?;
        f.write_all(record.as_bytes())
            .with_context(|| format!("writing {record_rel}"))?;
        dist.files.push(InstalledFile {
            rel: record_rel,
            sha256: String::new(),
            size: record.len() as u64,
            from_wheel: false,
        });
        dist.files.sort();
        Ok(InstalledDist {
            name: dist.name,
            version: dist.version,
            wheel: dist.wheel,
            files: dist.files,
        })
    }
}

/// Install one verified wheel: its entries stream through
/// `VerifiedWheel::stream`, which refuses a RECORD other than the verified
/// one before any byte is written, fails an entry whose bytes differ from
/// RECORD, and checks the whole file's sha256 at the end. The only way in:
/// an unverified wheel cannot reach the venv.
pub fn install_verified(ins: &mut Installer, wheel: &VerifiedWheel) -> Result<InstalledDist> {
    let file_name = wheel.file_name().to_string();
    let dist_info = wheel.dist_info();
    let mut dist = DistInstall::new(wheel.dist_name(), wheel.version(), &file_name, dist_info)?;
    wheel.stream(|entry, reader| {
        if entry.is_dir {
            return Ok(());
        }
        ins.entry(&mut dist, &entry.name, entry.is_executable(), reader)
    })?;
    let mut console = Vec::new();
    let mut gui = Vec::new();
    if let Some(ep) = wheel.entry_points() {
        let groups = parse_entry_points(ep)
            .with_context(|| format!("{file_name}: {dist_info}/entry_points.txt"))?;
        for (group, out) in [("console_scripts", &mut console), ("gui_scripts", &mut gui)] {
            for e in groups.get(group).map(Vec::as_slice).unwrap_or_default() {
                let value = match &e.attr {
                    Some(a) => format!("{}:{a}", e.module),
                    None => e.module.clone(),
                };
                out.push((e.name.clone(), value));
            }
        }
    }
    ins.finish(dist, &console, &gui)
}

/// A path relative to `base` (both relative to the prefix), `/`-separated,
/// as `os.path.relpath` gives it.
fn relpath(path: &str, base: &str) -> String {
    let p: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let b: Vec<&str> = base.split('/').filter(|s| !s.is_empty()).collect();
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out: Vec<&str> = vec![".."; b.len() - common];
    out.extend(&p[common..]);
    out.join("/")
}

/// CSV quoting as Python's csv module does by default.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// RECORD for the installed files: paths relative to site-packages, sha256 in
/// urlsafe base64 without padding, sizes, sorted; RECORD itself last-listed
/// without hash.
fn render_record(purelib: &str, files: &[InstalledFile], record_rel: &str) -> String {
    let mut rows: Vec<String> = files
        .iter()
        .map(|f| {
            let (rel, hexd, size) = (&f.rel, &f.sha256, f.size);
            let raw: Vec<u8> = (0..hexd.len() / 2)
                .map(|i| u8::from_str_radix(&hexd[2 * i..2 * i + 2], 16).unwrap_or(0))
                .collect();
            format!(
                "{},sha256={},{size}\n",
                csv_field(&relpath(rel, purelib)),
                b64url(&raw)
            )
        })
        .collect();
    rows.push(format!("{},,\n", csv_field(&relpath(record_rel, purelib))));
    rows.sort();
    rows.concat()
}

fn b64url(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::venv::interpreter::Interpreter;
    use std::path::Path;

    /// Verify a copy of the bundled example for real (signed list, lock,
    /// RECORDs) in `dir`.
    fn verified_example(dir: &Path) -> crate::verify::VerifiedWheelhouse {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("example");
        let ex = dir.join("ex");
        std::fs::create_dir_all(ex.join("wheelhouse")).unwrap();
        for f in [
            "requirements.txt",
            "sha256sums.txt",
            "sha256sums.txt.asc",
            "keyring.gpg",
        ] {
            std::fs::copy(src.join(f), ex.join(f)).unwrap();
        }
        for e in std::fs::read_dir(src.join("wheelhouse")).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), ex.join("wheelhouse").join(e.file_name())).unwrap();
        }
        crate::verify::verify(&crate::verify::VerifyInputs {
            wheelhouse: ex.join("wheelhouse"),
            lock: ex.join("requirements.txt"),
            sums: ex.join("sha256sums.txt"),
            signature: ex.join("sha256sums.txt.asc"),
            keyring: ex.join("keyring.gpg"),
            threshold: 1,
            marker_env: crate::wheel::markers::MarkerEnv::query(Path::new("/usr/bin/python3"))
                .unwrap(),
            max_uncompressed: 1 << 30,
        })
        .unwrap()
    }

    fn wheel<'a>(wh: &'a crate::verify::VerifiedWheelhouse, prefix: &str) -> &'a VerifiedWheel {
        wh.wheels()
            .find(|w| w.file_name().starts_with(prefix))
            .unwrap()
    }

    #[test]
    fn installs_real_wheels() {
        let s = tempfile::tempdir().unwrap();
        let wh = verified_example(s.path());
        let (_tmp, l, it) = setup();
        let sv = it.short_version();
        let mut ins = Installer::new(&l, &sv);
        for w in ["demoapp-", "charset_normalizer-"] {
            install_verified(&mut ins, wheel(&wh, w)).unwrap();
        }
        let v = l.venv_dir();
        assert!(v.join("bin/demoapp").is_file());
        assert!(v.join("bin/demoapp-gui").is_file());
        assert!(v.join("bin/normalizer").is_file());
        assert!(v.join("share/demoapp/greeting.txt").is_file());
        let hello = std::fs::read_to_string(v.join("bin/demoapp-hello")).unwrap();
        assert!(hello.starts_with("#!/opt/venvs/t/bin/python\n"), "{hello}");
        // The same wheel twice: every path conflicts.
        let e = install_verified(&mut ins, wheel(&wh, "demoapp-")).unwrap_err();
        assert!(format!("{e:#}").contains("both write"), "{e:#}");
    }

    #[test]
    fn wheel_swapped_after_verification_is_refused() {
        let s = tempfile::tempdir().unwrap();
        let wh = verified_example(s.path());
        let w = wheel(&wh, "tabulate-");
        let mut bytes = std::fs::read(w.path()).unwrap();
        let n = bytes.len();
        bytes[n / 3] ^= 0x40;
        std::fs::write(w.path(), bytes).unwrap();
        let (_tmp, l, it) = setup();
        let mut ins = Installer::new(&l, &it.short_version());
        let e = install_verified(&mut ins, w).unwrap_err();
        assert_eq!(
            crate::exit::code_for(&e),
            crate::exit::VERIFICATION,
            "{e:#}"
        );
        assert!(
            format!("{e:#}").contains("tabulate-0.9.0-py3-none-any.whl"),
            "{e:#}"
        );
    }

    fn setup() -> (tempfile::TempDir, Layout, Interpreter) {
        let it = Interpreter::query(Path::new("/usr/bin/python3"), "/opt/venvs/t").unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let l = Layout::new(tmp.path(), "/opt/venvs/t", &it).unwrap();
        l.create(&it).unwrap();
        (tmp, l, it)
    }

    #[test]
    fn data_mapping_scripts_and_record() {
        let (_tmp, l, it) = setup();
        let sv = it.short_version();
        let mut ins = Installer::new(&l, &sv);
        let mut d = DistInstall::new(
            "demo",
            "1.0",
            "demo-1.0-py3-none-any.whl",
            "demo-1.0.dist-info",
        )
        .unwrap();
        let put = |ins: &mut Installer, d: &mut DistInstall, p: &str, b: &[u8], x: bool| {
            ins.entry(d, p, x, &mut &b[..])
        };
        put(&mut ins, &mut d, "demo/__init__.py", b"x = 1\n", false).unwrap();
        put(
            &mut ins,
            &mut d,
            "demo-1.0.data/scripts/hello",
            b"#!python\nprint(1)\n",
            false,
        )
        .unwrap();
        put(
            &mut ins,
            &mut d,
            "demo-1.0.data/data/share/demo/g.txt",
            b"hi\n",
            false,
        )
        .unwrap();
        put(
            &mut ins,
            &mut d,
            "demo-1.0.data/headers/demo.h",
            b"/* */\n",
            false,
        )
        .unwrap();
        put(
            &mut ins,
            &mut d,
            "demo-1.0.data/platlib/_c.so",
            b"ELF",
            true,
        )
        .unwrap();
        put(
            &mut ins,
            &mut d,
            "demo-1.0.dist-info/METADATA",
            b"Name: demo\n",
            false,
        )
        .unwrap();
        put(
            &mut ins,
            &mut d,
            "demo-1.0.dist-info/RECORD",
            b"old\n",
            false,
        )
        .unwrap();
        let e = put(&mut ins, &mut d, "demo-1.0.data/weird/x", b"", false).unwrap_err();
        assert!(e.to_string().contains("\"weird\""), "{e}");
        let e = put(&mut ins, &mut d, "demo/__init__.py", b"", false).unwrap_err();
        assert!(e.to_string().contains("both write"), "{e}");
        let done = ins
            .finish(d, &[("demo".into(), "demo.cli:main".into())], &[])
            .unwrap();
        let v = l.venv_dir();
        let sp = format!("lib/python{sv}/site-packages");
        assert_eq!(
            std::fs::read(v.join("bin/hello")).unwrap(),
            b"#!/opt/venvs/t/bin/python\nprint(1)\n"
        );
        assert_eq!(std::fs::read(v.join("share/demo/g.txt")).unwrap(), b"hi\n");
        assert!(v
            .join(format!("include/site/python{sv}/demo/demo.h"))
            .is_file());
        assert!(v.join(format!("{sp}/_c.so")).is_file());
        let launcher = std::fs::read_to_string(v.join("bin/demo")).unwrap();
        assert!(launcher.starts_with("#!/opt/venvs/t/bin/python\n"));
        assert_eq!(
            std::fs::read(v.join(format!("{sp}/demo-1.0.dist-info/INSTALLER"))).unwrap(),
            b"venvdeb\n"
        );
        let record =
            std::fs::read_to_string(v.join(format!("{sp}/demo-1.0.dist-info/RECORD"))).unwrap();
        assert!(record.contains("../../../bin/hello,sha256="), "{record}");
        assert!(
            record.contains(
                "demo/__init__.py,sha256=nia_NpkRxFwkPGhBR7I_yeHc_PJX0pmhxjIBam_NM_Q,6\n"
            ),
            "{record}"
        );
        assert!(record.contains("demo-1.0.dist-info/RECORD,,\n"));
        assert!(!record.contains("old"));
        assert!(!v
            .join(format!("{sp}/demo-1.0.dist-info/direct_url.json"))
            .exists());
        assert_eq!(done.files.len(), 9);
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &str| std::fs::metadata(v.join(p)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode("bin/hello"), 0o755);
        assert_eq!(mode("bin/demo"), 0o755);
        assert_eq!(mode(&format!("{sp}/_c.so")), 0o755);
        assert_eq!(mode(&format!("{sp}/demo/__init__.py")), 0o644);
    }

    #[test]
    fn conflicts_name_both_sources() {
        let (_tmp, l, it) = setup();
        let mut ins = Installer::new(&l, &it.short_version());
        let mut a = DistInstall::new("a", "1", "a-1-py3-none-any.whl", "a-1.dist-info").unwrap();
        let mut b = DistInstall::new("b", "1", "b-1-py3-none-any.whl", "b-1.dist-info").unwrap();
        ins.entry(&mut a, "shared/x.py", false, &mut &b""[..])
            .unwrap();
        let e = ins
            .entry(&mut b, "shared/x.py", false, &mut &b""[..])
            .unwrap_err();
        let e = e.to_string();
        assert!(
            e.contains("a-1-py3-none-any.whl") && e.contains("b-1-py3-none-any.whl"),
            "{e}"
        );
        let e = ins
            .entry(&mut b, "b-1.data/data/bin/python", false, &mut &b""[..])
            .unwrap_err();
        assert!(e.to_string().contains("the venv layout"), "{e}");
        let e = ins
            .entry(&mut b, "b-1.data/data/lib64/x", false, &mut &b""[..])
            .unwrap_err();
        assert!(e.to_string().contains("symlink"), "{e}");
        let e = ins
            .entry(&mut b, "shared/x.py/y", false, &mut &b""[..])
            .unwrap_err();
        assert!(e.to_string().contains("directory"), "{e}");
        let e = ins
            .entry(&mut b, "shared", false, &mut &b""[..])
            .unwrap_err();
        assert!(e.to_string().contains("below it"), "{e}");
        // A launcher over a wheel's script, or shadowing python.
        ins.entry(
            &mut a,
            "a-1.data/scripts/tool",
            false,
            &mut &b"#!/bin/sh\n"[..],
        )
        .unwrap();
        let e = ins
            .finish(b, &[("tool".into(), "b:main".into())], &[])
            .unwrap_err();
        assert!(format!("{e:#}").contains("a-1-py3-none-any.whl"), "{e:#}");
        let c = DistInstall::new("c", "1", "c-1-py3-none-any.whl", "c-1.dist-info").unwrap();
        let e = ins
            .finish(c, &[("python3".into(), "c:main".into())], &[])
            .unwrap_err();
        assert!(format!("{e:#}").contains("shadow"), "{e:#}");
    }

    #[test]
    fn helpers() {
        assert_eq!(
            relpath("bin/x", "lib/python3.11/site-packages"),
            "../../../bin/x"
        );
        assert_eq!(
            relpath(
                "lib/python3.11/site-packages/a/b",
                "lib/python3.11/site-packages"
            ),
            "a/b"
        );
        assert_eq!(b64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
    }
}
