//! The Debian side of a staged venv: the control file (fields in
//! dpkg-gencontrol's order, Installed-Size as dpkg-gencontrol computes it,
//! Architecture from the wheels' platform tags, Depends pinning the
//! interpreter's minor version and glibc from the highest manylinux tag),
//! `md5sums` as dh_md5sums writes it, the maintainer scripts (bytecode
//! compiled in postinst, every `__pycache__` removed in prerm, so that purge
//! leaves nothing under the prefix) and the `/usr/bin` links for `expose`.
//! It does not write the .deb (`deb::build_deb` does).
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::config::Config;
use crate::normalize::sorted_entries;
pub(crate) use crate::venv::bytecode::{postinst_snippet, prerm_snippet};
use crate::venv::interpreter::Interpreter;

/// A glibc version, `(major, minor)`.
pub(crate) type Glibc = (u32, u32);

/// What a platform tag asks of the system: the glibc (`None` for
/// `linux_<arch>`, which promises nothing) and the architecture.
type PlatformNeed = (Option<Glibc>, String);

/// The glibc a platform tag requires, and its architecture (packaging's
/// spelling), or `None` for `any`.
pub(crate) fn platform_requirement(tag: &str) -> Result<Option<PlatformNeed>> {
    if tag == "any" {
        return Ok(None);
    }
    for (legacy, glibc) in [
        ("manylinux2014_", (2, 17)),
        ("manylinux2010_", (2, 12)),
        ("manylinux1_", (2, 5)),
    ] {
        if let Some(arch) = tag.strip_prefix(legacy) {
            return Ok(Some((Some(glibc), arch.to_string())));
        }
    }
    if let Some(rest) = tag.strip_prefix("manylinux_") {
        let mut it = rest.splitn(3, '_');
        if let (Some(ma), Some(mi), Some(arch)) = (it.next(), it.next(), it.next()) {
            if let (Ok(ma), Ok(mi)) = (ma.parse(), mi.parse()) {
                return Ok(Some((Some((ma, mi)), arch.to_string())));
            }
        }
        bail!("platform tag {tag:?} is malformed");
    }
    if let Some(arch) = tag.strip_prefix("linux_") {
        return Ok(Some((None, arch.to_string())));
    }
    bail!("platform tag {tag:?} is not for glibc Linux")
}

/// The Debian architecture of a packaging arch name.
pub(crate) fn debian_arch(arch: &str) -> Result<&'static str> {
    Ok(match arch {
        "x86_64" => "amd64",
        "i686" | "i386" => "i386",
        "aarch64" => "arm64",
        "armv7l" => "armhf",
        "ppc64le" => "ppc64el",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        "mips64" => "mips64el",
        "loongarch64" => "loong64",
        other => bail!("no Debian architecture known for {other:?}"),
    })
}

/// Architecture and glibc needs of the selected wheels, from the platform
/// tags each matched with (its compatible platform tags).
#[derive(Debug, Clone, Default)]
pub(crate) struct BinaryNeeds {
    /// `None`: every wheel is pure (`any`).
    pub arch: Option<String>,
    /// The highest glibc any binary wheel needs.
    pub glibc: Option<(u32, u32)>,
}

impl BinaryNeeds {
    /// Add one wheel: its file name (for messages) and the platform tags of
    /// its compressed tag set that the interpreter supports.
    pub(crate) fn add_wheel(
        &mut self,
        wheel: &str,
        platforms: &[&str],
        it: &Interpreter,
    ) -> Result<()> {
        let mut need: Option<(u32, u32)> = None;
        let mut binary = false;
        for p in platforms {
            let Some((glibc, arch)) =
                platform_requirement(p).with_context(|| format!("wheel {wheel}"))?
            else {
                continue;
            };
            binary = true;
            if arch != it.arch() {
                bail!(
                    "wheel {wheel} is for {arch}, but the target interpreter {} is {}",
                    it.path.display(),
                    it.arch()
                );
            }
            // The wheel runs where any one of its tags does: the lowest glibc.
            let g = glibc.unwrap_or_else(|| it.glibc.unwrap_or((2, 0)));
            need = Some(need.map_or(g, |n| n.min(g)));
        }
        if binary {
            let deb = debian_arch(&it.arch()).with_context(|| format!("wheel {wheel}"))?;
            self.arch = Some(deb.to_string());
            if let Some(n) = need {
                self.glibc = Some(self.glibc.map_or(n, |g| g.max(n)));
            }
        }
        Ok(())
    }

    /// The package's Architecture field.
    pub(crate) fn architecture(&self) -> &str {
        self.arch.as_deref().unwrap_or("all")
    }

    /// Our Depends: the interpreter's minor version, and libc6 for binaries.
    pub(crate) fn depends(&self, it: &Interpreter) -> Vec<String> {
        let (ma, mi) = (it.version.0, it.version.1);
        let mut d = vec![
            format!("python3 (>= {ma}.{mi}~)"),
            format!("python3 (<< {ma}.{})", mi + 1),
        ];
        if let Some((gma, gmi)) = self.glibc {
            d.push(format!("libc6 (>= {gma}.{gmi})"));
        }
        d
    }
}

/// The values of the control file.
#[derive(Debug, Clone)]
pub(crate) struct Control {
    pub package: String,
    pub version: String,
    pub architecture: String,
    pub maintainer: String,
    pub installed_size: u64,
    /// Depends, ours first, then the user's.
    pub depends: Vec<String>,
    /// Other fields from the configuration (Section, Recommends, …).
    pub fields: BTreeMap<String, String>,
    pub synopsis: String,
    pub long_description: Vec<String>,
}

/// dpkg-gencontrol's field order for binary packages (after Installed-Size).
const FIELD_ORDER: &[&str] = &[
    "Pre-Depends",
    "Depends",
    "Recommends",
    "Suggests",
    "Enhances",
    "Conflicts",
    "Breaks",
    "Replaces",
    "Provides",
    "Section",
    "Priority",
    "Homepage",
];

impl Control {
    /// The control file's text.
    pub(crate) fn render(&self) -> String {
        let mut out = format!(
            "Package: {}\nVersion: {}\nArchitecture: {}\nMaintainer: {}\nInstalled-Size: {}\n",
            self.package, self.version, self.architecture, self.maintainer, self.installed_size
        );
        for f in FIELD_ORDER {
            let v = if *f == "Depends" {
                let mut all = self.depends.clone();
                if let Some(user) = self.fields.get("Depends") {
                    all.push(user.clone());
                }
                if all.is_empty() {
                    None
                } else {
                    Some(all.join(", "))
                }
            } else {
                self.fields.get(*f).cloned()
            };
            if let Some(v) = v {
                out.push_str(&format!("{f}: {v}\n"));
            }
        }
        out.push_str(&format!("Description: {}\n", self.synopsis));
        for l in &self.long_description {
            if l.trim().is_empty() {
                out.push_str(" .\n");
            } else {
                out.push_str(&format!(" {l}\n"));
            }
        }
        out
    }
}

/// Installed-Size as dpkg-gencontrol computes it: for each regular file and
/// symlink `ceil(size / 1024)` (hard links once), for every other object
/// (directories, including the root) 1; in KiB.
pub(crate) fn installed_size(root: &Path) -> Result<u64> {
    use std::os::unix::fs::MetadataExt;
    fn walk(p: &Path, seen: &mut std::collections::BTreeSet<(u64, u64)>) -> Result<u64> {
        let md =
            std::fs::symlink_metadata(p).with_context(|| format!("reading {}", p.display()))?;
        let ft = md.file_type();
        if ft.is_file() || ft.is_symlink() {
            let key = (md.dev(), md.ino());
            if seen.contains(&key) {
                return Ok(0);
            }
            if md.nlink() > 1 {
                seen.insert(key);
            }
            return Ok(md.len().div_ceil(1024));
        }
        let mut n = 1;
        if ft.is_dir() {
            for c in sorted_entries(p)? {
                n += walk(&c, seen)?;
            }
        }
        Ok(n)
    }
    walk(root, &mut Default::default())
}

/// `DEBIAN/md5sums` as dh_md5sums writes it: every regular file outside
/// `DEBIAN/`, sorted bytewise by path, `<md5>  <path>`.
#[cfg(test)]
pub(crate) fn md5sums(root: &Path) -> Result<String> {
    md5sums_scanning(root, None)
}

/// `md5sums`, and in the same read of every file (and every symlink's
/// target) outside `DEBIAN/`, fail if `leak` occurs in it: one pass over
/// the data instead of two.
#[cfg(test)]
pub(crate) fn md5sums_scanning(root: &Path, leak: Option<&[u8]>) -> Result<String> {
    use md5::{Digest, Md5};
    use std::io::Read;
    let mut files = Vec::new();
    let mut links = Vec::new();
    type Found = Vec<(Vec<u8>, std::path::PathBuf)>;
    fn collect(root: &Path, p: &Path, out: &mut Found, links: &mut Found) -> Result<()> {
        for c in sorted_entries(p)? {
            let md = std::fs::symlink_metadata(&c)
                .with_context(|| format!("reading {}", c.display()))?;
            let rel = c.strip_prefix(root).expect("below root");
            if md.file_type().is_symlink() {
                links.push((rel.as_os_str().as_encoded_bytes().to_vec(), c));
            } else if md.is_dir() {
                if rel != Path::new("DEBIAN") {
                    collect(root, &c, out, links)?;
                }
            } else if md.is_file() {
                out.push((rel.as_os_str().as_encoded_bytes().to_vec(), c));
            }
        }
        Ok(())
    }
    collect(root, root, &mut files, &mut links)?;
    let needle = leak.filter(|n| !n.is_empty());
    if let Some(n) = needle {
        for (_, l) in &links {
            let t = std::fs::read_link(l).with_context(|| format!("reading {}", l.display()))?;
            if crate::normalize::contains(t.as_os_str().as_encoded_bytes(), n) {
                bail!(
                    "{} points into the build directory ({})",
                    l.display(),
                    t.display()
                );
            }
        }
    }
    files.sort();
    let keep = needle.map_or(0, |n| n.len() - 1);
    let mut out = String::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut window: Vec<u8> = Vec::with_capacity((1 << 16) + keep);
    for (rel, path) in files {
        let mut h = Md5::new();
        let mut f =
            std::fs::File::open(&path).with_context(|| format!("reading {}", path.display()))?;
        window.clear();
        loop {
            let n = f
                .read(&mut buf)
                .with_context(|| format!("reading {}", path.display()))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            if let Some(needle) = needle {
                window.extend_from_slice(&buf[..n]);
                if crate::normalize::contains(&window, needle) {
                    bail!(
                        "{} contains the build directory {:?}: refusing to package a build path",
                        path.display(),
                        String::from_utf8_lossy(needle)
                    );
                }
                let drop = window.len().saturating_sub(keep);
                window.drain(..drop);
            }
        }
        let name = String::from_utf8(rel)
            .map_err(|_| anyhow::anyhow!("{}: file name is not valid UTF-8", path.display()))?;
        if name.contains('\n') {
            bail!("{}: file name contains a newline", path.display());
        }
        out.push_str(&format!(
            "{}  {name}\n",
            crate::encoding::hex(&h.finalize())
        ));
    }
    Ok(out)
}

/// `gzip -9n` of `input` as Debian's gzip writes it (no name, mtime 0,
/// XFL 2, OS 3), with the system zlib: what dh_installchangelogs installs.
pub(crate) fn gzip9n(input: &[u8]) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3];
    let mut enc = flate2::write::DeflateEncoder::new(&mut out, flate2::Compression::new(9));
    enc.write_all(input).context("compressing")?;
    enc.finish().context("compressing")?;
    let mut crc = flate2::Crc::new();
    crc.update(input);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(input.len() as u32).to_le_bytes());
    Ok(out)
}

/// For `venvdeb build` (no debhelper): `/usr/share/doc/<name>/copyright`
/// from `package.copyright`, and `changelog.Debian.gz` from the
/// `debian/changelog` beside the configuration, when they exist.
pub(crate) fn install_docs(root: &Path, cfg: &Config, sde: u64) -> Result<()> {
    let changelog = cfg.dir.join("debian/changelog");
    let has_changelog = changelog.is_file();
    if cfg.package.copyright.is_none() && !has_changelog {
        return Ok(());
    }
    let rel = format!("usr/share/doc/{}", cfg.package.name);
    let doc = root.join(&rel);
    std::fs::create_dir_all(&doc).with_context(|| format!("creating {}", doc.display()))?;
    if let Some(c) = &cfg.package.copyright {
        let bytes = std::fs::read(c)
            .with_context(|| format!("reading package.copyright {}", c.display()))?;
        crate::venv::layout::write_file(&doc.join("copyright"), &bytes, 0o644)?;
    }
    if has_changelog {
        let bytes = std::fs::read(&changelog)
            .with_context(|| format!("reading {}", changelog.display()))?;
        crate::venv::layout::write_file(&doc.join("changelog.Debian.gz"), &gzip9n(&bytes)?, 0o644)?;
    }
    crate::normalize::normalize(&doc, sde)?;
    crate::normalize::ancestors(root, &rel, sde)
}

/// A whole maintainer script from snippets.
pub(crate) fn maintainer_script(snippet: &str) -> String {
    format!("#!/bin/sh\nset -e\n{snippet}")
}

/// `/usr/bin/<name>` → `<prefix>/bin/<name>` for each exposed launcher,
/// which must exist in the staged venv.
pub(crate) fn expose_links(
    root: &Path,
    cfg: &Config,
    scripts_rel: &str,
    absent: &crate::tree::Absent,
) -> Result<()> {
    if cfg.venv.expose.is_empty() {
        return Ok(());
    }
    let venv_bin = root
        .join(cfg.venv.prefix.trim_start_matches('/'))
        .join(scripts_rel);
    let usr_bin = root.join("usr/bin");
    std::fs::create_dir_all(&usr_bin).with_context(|| format!("creating {}", usr_bin.display()))?;
    for name in &cfg.venv.expose {
        let target = venv_bin.join(name);
        // A script whose bytes are still in its wheel is a regular file.
        let absent_file = matches!(
            absent.get(&target)?,
            Some(crate::tree::AbsentKind::File { .. })
        );
        if !absent_file {
            let md = std::fs::symlink_metadata(&target).with_context(|| {
                format!(
                    "venv.expose: {name} is not a launcher of the venv (no {}/{scripts_rel}/{name})",
                    cfg.venv.prefix
                )
            })?;
            if !md.is_file() {
                bail!(
                    "venv.expose: {}/{scripts_rel}/{name} is not a regular file",
                    cfg.venv.prefix
                );
            }
        }
        let link = usr_bin.join(name);
        std::os::unix::fs::symlink(format!("{}/{scripts_rel}/{name}", cfg.venv.prefix), &link)
            .with_context(|| format!("creating {}", link.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `venv.expose` links a launcher written to disk, and one whose bytes
    /// are still in its wheel (the build's absent tree); a name that is
    /// neither is refused.
    #[test]
    fn expose_links_launchers_on_disk_and_absent() {
        let toml =
            "[package]\nname = \"tt\"\nversion = \"1\"\nmaintainer = \"M <m@example.org>\"\n\
                    description = \"d\"\n[inputs]\nwheelhouse = \"w\"\nlock = \"r.txt\"\n\
                    sums = \"s.txt\"\nsignature = \"s.txt.asc\"\nkeyring = \"/k.gpg\"\n\
                    [venv]\nexpose = [\"ondisk\", \"inwheel\"]\n";
        let cfg = Config::parse(toml, Path::new("/a/venvdeb.toml"), Path::new("/a")).unwrap();
        let d = tempfile::tempdir().unwrap();
        let bin = d.path().join("opt/venvs/tt/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("ondisk"), b"#!/bin/sh\n").unwrap();
        let none = crate::tree::Absent::default();
        let e = expose_links(d.path(), &cfg, "bin", &none).unwrap_err();
        assert!(e.to_string().contains("inwheel is not a launcher"), "{e}");
        std::fs::remove_dir_all(d.path().join("usr")).unwrap();
        let absent = crate::tree::Absent::new(
            &d.path().join("opt/venvs/tt"),
            [(bin.join("inwheel"), 3, true)],
        )
        .unwrap();
        expose_links(d.path(), &cfg, "bin", &absent).unwrap();
        for name in ["ondisk", "inwheel"] {
            assert_eq!(
                std::fs::read_link(d.path().join("usr/bin").join(name)).unwrap(),
                Path::new("/opt/venvs/tt/bin").join(name)
            );
        }
    }

    fn it() -> Interpreter {
        Interpreter::query(Path::new("/usr/bin/python3"), "/opt/venvs/t").unwrap()
    }

    #[test]
    fn arch_and_depends() {
        let it = it();
        let mut n = BinaryNeeds::default();
        n.add_wheel("a.whl", &["any"], &it).unwrap();
        assert_eq!(n.architecture(), "all");
        assert_eq!(n.depends(&it).len(), 2);
        n.add_wheel(
            "m.whl",
            &["manylinux_2_17_x86_64", "manylinux2014_x86_64"],
            &it,
        )
        .unwrap();
        n.add_wheel(
            "o.whl",
            &["manylinux1_x86_64", "manylinux_2_28_x86_64"],
            &it,
        )
        .unwrap();
        assert_eq!(n.architecture(), "amd64");
        let d = n.depends(&it);
        assert_eq!(d[0], format!("python3 (>= 3.{}~)", it.version.1));
        assert_eq!(d[1], format!("python3 (<< 3.{})", it.version.1 + 1));
        assert_eq!(d[2], "libc6 (>= 2.17)");
        let e = n
            .add_wheel("arm.whl", &["manylinux2014_aarch64"], &it)
            .unwrap_err();
        assert!(e.to_string().contains("arm.whl is for aarch64"), "{e}");
        assert!(platform_requirement("musllinux_1_1_x86_64").is_err());
        assert!(platform_requirement("manylinux_x_86_64").is_err());
    }

    #[test]
    fn control_text() {
        let c = Control {
            package: "demoapp".into(),
            version: "1.0-1".into(),
            architecture: "amd64".into(),
            maintainer: "A <a@b.c>".into(),
            installed_size: 42,
            depends: vec!["python3 (>= 3.11~)".into()],
            fields: [
                ("Depends".to_string(), "curl".to_string()),
                ("Section".to_string(), "python".to_string()),
                ("Recommends".to_string(), "x".to_string()),
            ]
            .into_iter()
            .collect(),
            synopsis: "demo".into(),
            long_description: vec!["Long.".into(), "".into(), "More.".into()],
        };
        assert_eq!(
            c.render(),
            "Package: demoapp\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: A <a@b.c>\n\
             Installed-Size: 42\nDepends: python3 (>= 3.11~), curl\nRecommends: x\n\
             Section: python\nDescription: demo\n Long.\n .\n More.\n"
        );
    }

    #[test]
    fn gzip_like_debian() {
        let data = b"demoapp (1.0) unstable; urgency=low\n\n  * x\n".repeat(20);
        let ours = gzip9n(&data).unwrap();
        let mut child = std::process::Command::new("gzip")
            .args(["-9n", "-c"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&data).unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(ours, out.stdout, "differs from gzip -9n");
    }

    #[test]
    fn sizes_and_sums() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("a-b")).unwrap();
        std::fs::create_dir_all(r.join("a/b")).unwrap();
        std::fs::create_dir_all(r.join("DEBIAN")).unwrap();
        std::fs::write(r.join("a/b/x"), vec![0u8; 1025]).unwrap();
        std::fs::write(r.join("a-b/y"), b"").unwrap();
        std::fs::write(r.join("DEBIAN/postinst"), b"#!/bin/sh\n").unwrap();
        std::os::unix::fs::symlink("b/x", r.join("a/l")).unwrap();
        // dirs: root, a-b, a, a/b, DEBIAN = 5; x = 2; y = 0; postinst = 1; l = 1
        assert_eq!(installed_size(r).unwrap(), 9);
        // The scanning variant: same sums; finds a leak in a file or a link,
        // also across read blocks; DEBIAN/ is not its business.
        assert_eq!(
            md5sums_scanning(r, Some(b"/nowhere")).unwrap(),
            md5sums(r).unwrap()
        );
        std::fs::write(r.join("DEBIAN/postinst"), b"/build/dir").unwrap();
        md5sums_scanning(r, Some(b"/build/dir")).unwrap();
        let mut big = vec![b'x'; (1 << 16) - 4];
        big.extend_from_slice(b"/build/dir");
        std::fs::write(r.join("a-b/y"), &big).unwrap();
        let e = md5sums_scanning(r, Some(b"/build/dir")).unwrap_err();
        assert!(e.to_string().contains("a-b/y"), "{e}");
        std::fs::write(r.join("a-b/y"), b"").unwrap();
        std::os::unix::fs::symlink("/build/dir/z", r.join("a/m")).unwrap();
        assert!(md5sums_scanning(r, Some(b"/build/dir")).is_err());
        assert_eq!(
            md5sums(r).unwrap(),
            "d41d8cd98f00b204e9800998ecf8427e  a-b/y\n\
             0ad4cf7b35f62b8ff9c73f481594fbdd  a/b/x\n"
        );
    }
}
