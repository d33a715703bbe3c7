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
use std::io::{Read, Write};

use super::layout::Layout;
use super::scripts::{copy_installed, EntryPoint};
use crate::encoding::{b64url_encode as b64url, hex, hex_decode, Hashing};
use crate::normalize::ScanningWriter;
use crate::verify::VerifiedWheel;
use crate::wheel::metadata::parse_entry_points;
use crate::wheel::record::csv_quote;

/// What was installed for one distribution.
#[derive(Debug, Clone)]
pub(crate) struct InstalledDist {
    pub name: String,
    pub version: String,
    pub wheel: String,
    /// Every file written, sorted by path.
    pub files: Vec<InstalledFile>,
    /// The files not written, their bytes still in the wheel
    /// (`Installer::defer_wheel_bytes`).
    pub deferred: Vec<super::deferred::Deferred>,
}

/// One file written into the venv.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct InstalledFile {
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
pub(crate) struct Installer<'a> {
    layout: &'a Layout,
    /// Relative path (to the prefix) → who wrote it.
    owners: BTreeMap<String, String>,
    /// Symlinks of the layout: nothing may be written through them.
    symlinks: Vec<String>,
    /// Leave each wheel entry's bytes in its wheel: write nothing for it
    /// (`InstalledDist::deferred` lists it, with its final name and mode,
    /// for `crate::tree::Absent`) and plan the bytes (size and
    /// sha256 from the verified RECORD, or computed by reading the entry
    /// for `#!python` scripts and non-sha256 RECORDs) for the .deb writer
    /// to stream from the wheel (`venvdeb build`).
    pub defer_wheel_bytes: bool,
    /// Fail when a written file contains these bytes (the staging
    /// directory's path), scanning them on their way to disk.
    pub scan_for: Option<Vec<u8>>,
}

/// One distribution being installed.
pub(crate) struct DistInstall {
    pub name: String,
    pub version: String,
    pub wheel: String,
    /// `<name>-<version>.dist-info` and `.data` as found in the wheel.
    pub dist_info: String,
    pub data_dir: String,
    files: Vec<InstalledFile>,
    deferred: Vec<super::deferred::Deferred>,
}

impl DistInstall {
    pub(crate) fn new(
        name: &str,
        version: &str,
        wheel: &str,
        dist_info: &str,
    ) -> Result<DistInstall> {
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
            deferred: Vec::new(),
        })
    }
}

impl<'a> Installer<'a> {
    pub(crate) fn new(layout: &'a Layout, short_version: &str) -> Installer<'a> {
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
            defer_wheel_bytes: false,
            scan_for: None,
        }
    }

    /// Where a wheel entry goes, relative to the prefix; `None` for the
    /// wheel's own RECORD (and its signatures), which are replaced.
    pub(crate) fn destination(
        &self,
        dist: &DistInstall,
        entry: &str,
    ) -> Result<Option<(String, bool)>> {
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

    /// Install one wheel entry from `reader`, claiming its path first.
    /// `executable`: the zip entry's mode has an execute bit.
    #[cfg(test)]
    pub(crate) fn entry(
        &mut self,
        dist: &mut DistInstall,
        entry: &str,
        executable: bool,
        reader: &mut dyn Read,
    ) -> Result<()> {
        if let Some((rel, _)) = self.destination(dist, entry)? {
            self.claim(&rel, format!("{} (entry {entry})", dist.wheel))?;
        }
        self.write_entry(dist, entry, executable, reader)
    }

    /// Install one wheel entry whose path was claimed by this wheel in
    /// `plan` (no shared state is changed: wheels can be written in
    /// parallel).
    fn write_entry(
        &self,
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
        self.check_claimed(&rel, dist)?;
        let file = self.create(&rel, executable || is_script)?;
        let needle = self.scan_for.as_deref().unwrap_or_default();
        let mut w = ScanningWriter::new(
            Hashing::new(std::io::BufWriter::with_capacity(1 << 16, file)),
            needle,
        );
        let ctx = || format!("{}: installing {entry} as {rel}", dist.wheel);
        let copied =
            copy_installed(reader, &mut w, is_script, &self.layout.python).and_then(|()| w.flush());
        if w.found {
            self.leak(&rel)?;
        }
        copied.with_context(ctx)?;
        let (digest, size) = w.inner.finish_hex();
        dist.files.push(InstalledFile {
            rel,
            sha256: digest,
            size,
            from_wheel: true,
        });
        Ok(())
    }

    /// With `scan_for`: fail if `bytes`, to be written at `rel`, contain it.
    fn scan(&self, rel: &str, bytes: &[u8]) -> Result<()> {
        match self.scan_for.as_deref() {
            Some(n) if !n.is_empty() && crate::normalize::contains(bytes, n) => self.leak(rel),
            _ => Ok(()),
        }
    }

    /// The error for a file that would carry the build directory.
    fn leak(&self, rel: &str) -> Result<()> {
        bail!(
            "{} contains the build directory {:?}: refusing to package a build path",
            self.layout.on_disk(rel).display(),
            String::from_utf8_lossy(self.scan_for.as_deref().unwrap_or_default())
        )
    }

    /// `rel` must have been claimed by `dist`'s wheel.
    fn check_claimed(&self, rel: &str, dist: &DistInstall) -> Result<()> {
        match self.owners.get(rel) {
            Some(who) if who.starts_with(&format!("{} (", dist.wheel)) => Ok(()),
            Some(who) => bail!("{}: {rel} belongs to {who}", dist.wheel),
            None => bail!(
                "{}: {rel} was not planned (an entry RECORD does not list?)",
                dist.wheel
            ),
        }
    }

    /// The generated files of a dist (launchers for `console_scripts` then
    /// `gui_scripts`, then INSTALLER): path, who, bytes, executable.
    fn generated_files(
        &self,
        dist: &DistInstall,
        console: &[EntryPoint],
        gui: &[EntryPoint],
    ) -> Result<Vec<Generated>> {
        let mut out = Vec::new();
        // pip's own versioned launchers (pip, pipX, pipX.Y) as pip makes them.
        let console = self.layout.launchers.console_scripts(console);
        for (group, list) in [("console_scripts", &console[..]), ("gui_scripts", gui)] {
            for ep in list {
                let rel = if self.layout.scripts.is_empty() {
                    ep.name.clone()
                } else {
                    format!("{}/{}", self.layout.scripts, ep.name)
                };
                let who = format!("{} ([{group}] {})", dist.wheel, ep.name);
                let bytes = self
                    .layout
                    .launchers
                    .launcher(ep, &self.layout.python)
                    .with_context(|| format!("{}: entry_points.txt [{group}]", dist.wheel))?;
                out.push((rel, who, bytes, true));
            }
        }
        let di = format!("{}/{}", self.layout.purelib, dist.dist_info);
        out.push((
            format!("{di}/INSTALLER"),
            format!("{} (INSTALLER)", dist.wheel),
            b"venvdeb\n".to_vec(),
            false,
        ));
        Ok(out)
    }

    fn record_rel(&self, dist: &DistInstall) -> String {
        format!("{}/{}/RECORD", self.layout.purelib, dist.dist_info)
    }

    /// After all entries: launchers, INSTALLER and the new RECORD, claiming
    /// their paths first.
    #[cfg(test)]
    pub(crate) fn finish(
        &mut self,
        dist: DistInstall,
        console: &[(String, String)],
        gui: &[(String, String)],
    ) -> Result<InstalledDist> {
        let parse = |group: &str, list: &[(String, String)]| -> Result<Vec<EntryPoint>> {
            let text: String = list.iter().map(|(n, v)| format!("{n} = {v}\n")).collect();
            let mut g = parse_entry_points(format!("[{group}]\n{text}").as_bytes())?;
            Ok(g.remove(group).unwrap_or_default())
        };
        let (console, gui) = (
            &parse("console_scripts", console)?,
            &parse("gui_scripts", gui)?,
        );
        for (rel, who, _, _) in self.generated_files(&dist, console, gui)? {
            self.claim(&rel, who)?;
        }
        let record_rel = self.record_rel(&dist);
        self.claim(&record_rel, format!("{} (RECORD)", dist.wheel))?;
        self.write_generated(dist, console, gui)
    }

    /// Write the generated files of a dist whose paths are claimed.
    fn write_generated(
        &self,
        mut dist: DistInstall,
        console: &[EntryPoint],
        gui: &[EntryPoint],
    ) -> Result<InstalledDist> {
        for (rel, _, bytes, executable) in self.generated_files(&dist, console, gui)? {
            self.check_claimed(&rel, &dist)?;
            self.scan(&rel, &bytes)?;
            let mut f = self.create(&rel, executable)?;
            f.write_all(&bytes)
                .with_context(|| format!("writing {}", self.layout.on_disk(&rel).display()))?;
            dist.files.push(InstalledFile {
                rel,
                sha256: hex(&Sha256::digest(&bytes)),
                size: bytes.len() as u64,
                from_wheel: false,
            });
        }
        let record_rel = self.record_rel(&dist);
        self.check_claimed(&record_rel, &dist)?;
        let record = render_record(&self.layout.purelib, &dist.files, &record_rel)?;
        self.scan(&record_rel, record.as_bytes())?;
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
            deferred: dist.deferred,
        })
    }

    /// Claim every path a verified wheel will write — its RECORD's entries
    /// (and RECORD.jws/.p7s, which RECORD need not list), its launchers,
    /// INSTALLER and RECORD — before any byte is written, in a fixed order,
    /// so that conflicts are found and reported the same way every time.
    pub(crate) fn plan(&mut self, wheel: &VerifiedWheel) -> Result<Planned> {
        let file_name = wheel.file_name().to_string();
        let dist_info = wheel.dist_info();
        let dist = DistInstall::new(wheel.dist_name(), wheel.version(), &file_name, dist_info)?;
        let record = wheel.record();
        let mut names: Vec<&str> = record.entries.keys().map(String::as_str).collect();
        names.extend(record.unhashed.iter().map(String::as_str));
        let jws = format!("{dist_info}/RECORD.jws");
        let p7s = format!("{dist_info}/RECORD.p7s");
        names.push(&jws);
        names.push(&p7s);
        names.sort();
        names.dedup();
        for name in names {
            if let Some((rel, _)) = self.destination(&dist, name)? {
                self.claim(&rel, format!("{file_name} (entry {name})"))?;
            }
        }
        let (console, gui) = entry_points(wheel)?;
        for (rel, who, _, _) in self.generated_files(&dist, &console, &gui)? {
            self.claim(&rel, who)?;
        }
        let record_rel = self.record_rel(&dist);
        self.claim(&record_rel, format!("{file_name} (RECORD)"))?;
        Ok(Planned { dist, console, gui })
    }

    /// Write a planned wheel (read-only on the installer: call it from
    /// several threads for several wheels).
    pub(crate) fn write(&self, planned: Planned, wheel: &VerifiedWheel) -> Result<InstalledDist> {
        let Planned {
            mut dist,
            console,
            gui,
        } = planned;
        if dist.wheel != wheel.file_name() {
            bail!("{} was planned, not {}", dist.wheel, wheel.file_name());
        }
        if self.defer_wheel_bytes {
            self.write_deferred(&mut dist, wheel)?;
        } else {
            wheel.stream(|entry, reader| {
                if entry.at.is_dir {
                    return Ok(());
                }
                self.write_entry(&mut dist, &entry.name, entry.is_executable(), reader)
            })?;
        }
        self.write_generated(dist, &console, &gui)
    }

    /// The deferred files of a planned wheel and the plan of their bytes
    /// (`defer_wheel_bytes`). The wheel is opened again (its central
    /// directory checked): every entry must be one the verified RECORD
    /// lists (or RECORD.jws/.p7s), every RECORD line an entry, and RECORD
    /// itself the verified bytes; each installed entry's bytes are checked
    /// against RECORD when the .deb writer streams them.
    fn write_deferred(&self, dist: &mut DistInstall, wheel: &VerifiedWheel) -> Result<()> {
        use crate::exit::verification;
        use crate::wheel::archive::{Expected, WheelArchive};
        use crate::wheel::record::{HashAlgorithm, HashValue};
        let p = wheel.path().display().to_string();
        let mut ar = WheelArchive::open(wheel.path(), wheel.max_uncompressed())?;
        let record = wheel.record();
        let di = wheel.dist_info();
        let record_name = format!("{di}/RECORD");
        let exempt = [format!("{di}/RECORD.jws"), format!("{di}/RECORD.p7s")];
        let entries = ar.entries().to_vec();
        let wheel_path: std::sync::Arc<std::path::Path> = wheel.path().into();
        let mut listed = 0usize;
        let mut record_seen = false;
        for (index, entry) in entries.iter().enumerate() {
            let rec = record.entries.get(&entry.name);
            listed += usize::from(rec.is_some());
            if entry.name == record_name {
                // Still the verified RECORD, byte for byte.
                let want = Expected {
                    hash: HashValue {
                        algorithm: HashAlgorithm::Sha256,
                        digest: wheel.record_sha256().to_vec(),
                    },
                    size: entry.at.uncompressed_size,
                };
                ar.with_entry(index, Some(want), |_, r| {
                    std::io::copy(r, &mut std::io::sink())?;
                    Ok(())
                })?;
                record_seen = true;
                continue;
            }
            if entry.at.is_dir {
                continue;
            }
            if rec.is_none() && !exempt.contains(&entry.name) {
                return Err(verification(format!(
                    "{p}: {}: expected a line in {record_name}, found none (file changed after verification)",
                    entry.name
                )));
            }
            let Some((rel, is_script)) = self.destination(dist, &entry.name)? else {
                continue;
            };
            self.check_claimed(&rel, dist)?;
            let executable = entry.is_executable() || is_script;
            let expected = rec.map(|r| Expected {
                hash: r.hash.clone(),
                size: r.size,
            });
            let declared = rec.filter(|r| !is_script && r.hash.algorithm == HashAlgorithm::Sha256);
            let (sha256, size, check_sha256) = match declared {
                Some(r) => (
                    <[u8; 32]>::try_from(r.hash.digest.as_slice())
                        .context("internal: a sha256 digest of another length")?,
                    r.size,
                    false,
                ),
                None => {
                    let python = &self.layout.python;
                    let (h, n) = ar.with_entry(index, expected.clone(), |_, r| {
                        let mut w = Hashing::new(std::io::sink());
                        copy_installed(r, &mut w, is_script, python)?;
                        let (h, n, _) = w.finish();
                        Ok((h, n))
                    })?;
                    (h, n, true)
                }
            };
            dist.files.push(InstalledFile {
                rel: rel.clone(),
                sha256: hex(&sha256),
                size,
                from_wheel: true,
            });
            let path = self.layout.on_disk(&rel);
            dist.deferred.push(super::deferred::Deferred {
                name_at_end: super::deferred::name_at_end(&path, &entry.name),
                path,
                executable,
                wheel: wheel_path.clone(),
                entry: entry.clone(),
                script: is_script,
                size,
                sha256,
                expected,
                check_sha256,
            });
        }
        if !record_seen || listed != record.entries.len() {
            return Err(verification(format!(
                "{p}: expected the {} entries {record_name} lists and RECORD itself, found {listed}{} (file changed after verification)",
                record.entries.len(),
                if record_seen { "" } else { " and no RECORD" }
            )));
        }
        Ok(())
    }
}

/// A generated file: path (relative to the prefix), who writes it, bytes,
/// executable.
type Generated = (String, String, Vec<u8>, bool);

/// A wheel whose paths are claimed, ready to be written.
pub(crate) struct Planned {
    dist: DistInstall,
    console: Vec<EntryPoint>,
    gui: Vec<EntryPoint>,
}

/// The `console_scripts` and `gui_scripts` of a wheel, parsed once.
fn entry_points(wheel: &VerifiedWheel) -> Result<(Vec<EntryPoint>, Vec<EntryPoint>)> {
    let Some(ep) = wheel.entry_points() else {
        return Ok((Vec::new(), Vec::new()));
    };
    let mut groups = parse_entry_points(ep).with_context(|| {
        format!(
            "{}: {}/entry_points.txt",
            wheel.file_name(),
            wheel.dist_info()
        )
    })?;
    let mut take = |g: &str| groups.remove(g).unwrap_or_default();
    Ok((take("console_scripts"), take("gui_scripts")))
}

/// Install verified wheels: every path claimed first (in the given order),
/// then the wheels streamed and written by up to `threads` threads, the
/// biggest first. The result is in the given order whatever the timing; on
/// failures, the error of the first failing wheel in that order.
pub(crate) fn install_all(
    ins: &mut Installer,
    wheels: &[&VerifiedWheel],
    threads: usize,
) -> Result<Vec<InstalledDist>> {
    let mut planned = Vec::new();
    for w in wheels {
        planned.push(std::sync::Mutex::new(Some(ins.plan(w)?)));
    }
    let mut order: Vec<usize> = (0..wheels.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(wheels[i].uncompressed_size()), i));
    let ins: &Installer = ins;
    let results = crate::workqueue::run(wheels.len(), &order, threads, true, |i| {
        match planned[i].lock().unwrap_or_else(|e| e.into_inner()).take() {
            Some(p) => ins.write(p, wheels[i]),
            None => Err(anyhow::anyhow!("internal: wheel planned twice")),
        }
    });
    let mut out = Vec::new();
    let mut first_err = None;
    for r in results {
        match r {
            Some(Ok(d)) => out.push(d),
            Some(Err(e)) => {
                first_err.get_or_insert(e);
            }
            None => {} // not started after a failure
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    if out.len() != wheels.len() {
        bail!(
            "internal: {} of {} wheels installed",
            out.len(),
            wheels.len()
        );
    }
    Ok(out)
}

/// Install one verified wheel: its paths claimed (`Installer::plan`), then
/// its entries streamed through `VerifiedWheel::stream`, which refuses a
/// RECORD other than the verified one before any byte is written, fails an
/// entry whose bytes differ from RECORD, and checks the whole file's sha256
/// at the end. The only ways in take a `VerifiedWheel`: an unverified wheel
/// cannot reach the venv.
#[cfg(test)]
pub(crate) fn install_verified(
    ins: &mut Installer,
    wheel: &VerifiedWheel,
) -> Result<InstalledDist> {
    let planned = ins.plan(wheel)?;
    ins.write(planned, wheel)
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

/// RECORD for the installed files: paths relative to site-packages, sha256 in
/// urlsafe base64 without padding, sizes; RECORD itself listed without hash.
/// Rows sorted as pip sorts them (`_normalized_outrows`: by the tuple of
/// the three fields as strings, so by path first), not by the whole CSV
/// line, which differs when a path is a prefix of another followed by a
/// character below `,` or when a field is quoted.
fn render_record(purelib: &str, files: &[InstalledFile], record_rel: &str) -> Result<String> {
    let mut rows: Vec<[String; 3]> = files
        .iter()
        .map(|f| {
            let (rel, hexd, size) = (&f.rel, &f.sha256, f.size);
            let raw =
                hex_decode(hexd).with_context(|| format!("{rel}: sha256 {hexd:?} is not hex"))?;
            Ok([
                relpath(rel, purelib),
                format!("sha256={}", b64url(&raw)),
                size.to_string(),
            ])
        })
        .collect::<Result<_>>()?;
    rows.push([relpath(record_rel, purelib), String::new(), String::new()]);
    rows.sort();
    Ok(rows
        .iter()
        .map(|[path, hash, size]| format!("{},{hash},{size}\n", csv_quote(path)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::venv::interpreter::Interpreter;
    use std::path::Path;

    /// Verify a copy of the bundled example for real (signed list, lock,
    /// RECORDs) in `dir`.
    /// One wheel per distribution (the example has some for two CPythons).
    fn one_per_dist(wh: &crate::verify::VerifiedWheelhouse) -> Vec<&VerifiedWheel> {
        let mut seen = std::collections::BTreeSet::new();
        wh.wheels()
            .filter(|w| seen.insert(w.dist_name().to_string()))
            .collect()
    }

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
            signature_policy: Default::default(),
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

    /// Every file under `root`: path → bytes (symlinks as their target).
    fn snapshot(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
        let mut out = std::collections::BTreeMap::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                let rel = p.strip_prefix(root).unwrap().to_str().unwrap().to_string();
                let md = std::fs::symlink_metadata(&p).unwrap();
                if md.file_type().is_symlink() {
                    let t = std::fs::read_link(&p).unwrap();
                    out.insert(rel, t.as_os_str().as_encoded_bytes().to_vec());
                } else if md.is_dir() {
                    out.insert(rel, b"<dir>".to_vec());
                    stack.push(p);
                } else {
                    out.insert(rel, std::fs::read(&p).unwrap());
                }
            }
        }
        out
    }

    #[test]
    fn parallel_install_is_deterministic() {
        let s = tempfile::tempdir().unwrap();
        let wh = verified_example(s.path());
        let wheels = one_per_dist(&wh);
        let mut trees = Vec::new();
        for threads in [1, 2, 4] {
            let (tmp, l, it) = setup();
            let mut ins = Installer::new(&l, &it.short_version());
            let done = install_all(&mut ins, &wheels, threads).unwrap();
            let names: Vec<&str> = done.iter().map(|d| d.wheel.as_str()).collect();
            let given: Vec<&str> = wheels.iter().map(|w| w.file_name()).collect();
            assert_eq!(names, given, "results in the given order");
            trees.push(snapshot(tmp.path()));
        }
        assert!(trees[0].len() > 50);
        assert!(trees[0] == trees[1] && trees[1] == trees[2]);
    }

    #[test]
    fn conflicts_are_found_before_anything_is_written() {
        let s = tempfile::tempdir().unwrap();
        let wh = verified_example(s.path());
        let demo = wheel(&wh, "demoapp-");
        let tab = wheel(&wh, "tabulate-");
        let (_tmp, l, it) = setup();
        let mut ins = Installer::new(&l, &it.short_version());
        let e = install_all(&mut ins, &[tab, demo, demo], 2).unwrap_err();
        assert!(format!("{e:#}").contains("both write"), "{e:#}");
        let sp = l.venv_dir().join(&l.purelib);
        assert!(
            !sp.join("tabulate.py").exists(),
            "written before the conflict was known"
        );
        assert!(!sp.join("demoapp").exists());
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

    /// `defer_wheel_bytes`: the same paths, modes and RECORDs as a written
    /// install, with any thread count; the bytes streamed from the wheels
    /// are the written files' bytes; a wheel whose entry bytes change
    /// after verification fails the .deb with nothing written (exit 3).
    #[test]
    fn deferred_install_matches_written_install_and_fails_closed() {
        use crate::deb::DataSource;
        let s = tempfile::tempdir().unwrap();
        let wh = verified_example(s.path());
        let wheels = one_per_dist(&wh);
        let (written_tmp, l, it) = setup();
        let mut ins = Installer::new(&l, &it.short_version());
        let written = install_all(&mut ins, &wheels, 1).unwrap();
        let written_tree = snapshot(written_tmp.path());
        let mode = |p: &Path| {
            use std::os::unix::fs::MetadataExt;
            std::fs::symlink_metadata(p).unwrap().mode()
        };
        for threads in [1, 2] {
            let (tmp, l2, _) = setup();
            let mut ins = Installer::new(&l2, &it.short_version());
            ins.defer_wheel_bytes = true;
            let mut done = install_all(&mut ins, &wheels, threads).unwrap();
            for (a, b) in written.iter().zip(&done) {
                assert_eq!(a.files, b.files, "{threads} threads: {}", a.wheel);
            }
            let deferred: Vec<_> = done
                .iter_mut()
                .flat_map(|d| std::mem::take(&mut d.deferred))
                .collect();
            assert!(deferred.len() > 50);
            // On disk: every file but the deferred ones, which the
            // absent tree lists.
            let tree = snapshot(tmp.path());
            let mut all: std::collections::BTreeSet<String> = tree.keys().cloned().collect();
            for d in &deferred {
                let rel = d.path.strip_prefix(tmp.path()).unwrap();
                // With its directories.
                for up in rel.ancestors().filter(|a| !a.as_os_str().is_empty()) {
                    all.insert(up.to_str().unwrap().to_string());
                }
            }
            assert_eq!(
                all.into_iter().collect::<Vec<_>>(),
                written_tree.keys().cloned().collect::<Vec<_>>()
            );
            let absent = super::super::deferred::absent(&l2.venv_dir(), &deferred).unwrap();
            let src = super::super::deferred::WheelBytes::new(
                deferred.clone(),
                absent.clone(),
                &l2.python,
                s.path(),
            )
            .unwrap();
            let mut reader = src.reader();
            for (i, d) in deferred.iter().enumerate() {
                let rel = d.path.strip_prefix(tmp.path()).unwrap();
                assert!(!d.path.exists(), "{}", d.path.display());
                let kind = absent.get(&d.path).unwrap().unwrap();
                assert_eq!(
                    kind,
                    crate::tree::AbsentKind::File {
                        size: d.size,
                        executable: d.executable,
                        source: i as u32
                    }
                );
                assert_eq!(
                    crate::tree::mode(kind),
                    crate::normalize::canonical_mode(false, mode(&written_tmp.path().join(rel)))
                );
                let mut bytes = Vec::new();
                reader.write(i as u32, &d.path, &mut bytes).unwrap();
                assert!(
                    bytes == written_tree[rel.to_str().unwrap()],
                    "{}",
                    rel.display()
                );
            }
            // Every other file is the same as written.
            for (rel, bytes) in &tree {
                if !deferred.iter().any(|d| d.path == tmp.path().join(rel)) {
                    assert_eq!(bytes, &written_tree[rel], "{rel}");
                }
            }
            if threads == 1 {
                // The .deb of the tree on disk and the absent files with
                // their bytes from the wheels, normalized as read, is the
                // .deb of the written tree normalized on disk.
                let control =
                    "Package: t\nVersion: 1\nArchitecture: all\nMaintainer: m\nDescription: d\n";
                let opts = crate::deb::DebOptions {
                    compression: crate::deb::Compression::Zstd,
                    source_date_epoch: 1,
                    normalize: true,
                    ..Default::default()
                };
                let one = s.path().join("one.deb");
                let (one_file, one_sha256) = crate::deb::write_deb_data_first(
                    tmp.path(),
                    &one,
                    &opts,
                    s.path(),
                    None,
                    &src,
                    3,
                    |sum| {
                        std::fs::create_dir(tmp.path().join("DEBIAN"))?;
                        std::fs::write(tmp.path().join("DEBIAN/control"), control)?;
                        std::fs::write(tmp.path().join("DEBIAN/md5sums"), &sum.md5sums)?;
                        Ok(())
                    },
                )
                .unwrap();
                one_file.commit().unwrap();
                // The sha256 returned is the written file's.
                assert_eq!(one_sha256, crate::encoding::sha256_file(&one).unwrap().0);
                let w = written_tmp.path();
                crate::normalize::normalize(w, 1).unwrap();
                std::fs::create_dir(w.join("DEBIAN")).unwrap();
                std::fs::write(w.join("DEBIAN/control"), control).unwrap();
                std::fs::copy(tmp.path().join("DEBIAN/md5sums"), w.join("DEBIAN/md5sums")).unwrap();
                let two = s.path().join("two.deb");
                let plain = crate::deb::DebOptions {
                    normalize: false,
                    ..opts.clone()
                };
                crate::deb::build_deb(w, &two, &plain).unwrap();
                assert!(std::fs::read(&one).unwrap() == std::fs::read(&two).unwrap());
                std::fs::remove_dir_all(w.join("DEBIAN")).unwrap();
            }
            if threads == 2 {
                // Alter a byte of tabulate's entries after verification:
                // the .deb fails, nothing is written.
                let w = wheel(&wh, "tabulate-");
                let mut raw = std::fs::read(w.path()).unwrap();
                let n = raw.len();
                raw[n / 3] ^= 0x40;
                std::fs::write(w.path(), raw).unwrap();
                drop(reader);
                let src =
                    super::super::deferred::WheelBytes::new(deferred, absent, &l2.python, s.path())
                        .unwrap();
                let out = s.path().join("out");
                std::fs::create_dir(&out).unwrap();
                let opts = crate::deb::DebOptions {
                    compression: crate::deb::Compression::Zstd,
                    source_date_epoch: 1,
                    ..Default::default()
                };
                let mut called = false;
                let e = crate::deb::write_deb_data_first(
                    tmp.path(),
                    &out.join("p.deb"),
                    &opts,
                    s.path(),
                    None,
                    &src,
                    threads,
                    |_| {
                        called = true;
                        Ok(())
                    },
                )
                .map(|_| ())
                .unwrap_err();
                assert_eq!(
                    crate::exit::code_for(&e),
                    crate::exit::VERIFICATION,
                    "{e:#}"
                );
                assert!(format!("{e:#}").contains("tabulate-0.9.0"), "{e:#}");
                assert!(!called);
                assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
            }
        }
    }

    /// `scan_for`: a needle in a wheel's file is found as it is written
    /// (also across the copy's buffers), naming the file; absent, nothing
    /// is refused.
    #[test]
    fn leak_scanned_on_the_way_to_disk() {
        let s = tempfile::tempdir().unwrap();
        let wh = verified_example(s.path());
        let tab = wheel(&wh, "tabulate-");
        let (_tmp, l, it) = setup();
        let mut ins = Installer::new(&l, &it.short_version());
        ins.scan_for = Some(b"/nonexistent/build/dir".to_vec());
        install_verified(&mut ins, tab).unwrap();
        let (_tmp, l, it) = setup();
        let mut ins = Installer::new(&l, &it.short_version());
        ins.scan_for = Some(b"def tabulate(".to_vec());
        let e = format!("{:#}", install_verified(&mut ins, tab).unwrap_err());
        assert!(
            e.contains("tabulate/__init__.py contains the build directory"),
            "{e}"
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
    fn record_rows_sorted_by_path_as_pip() {
        let f = |rel: &str| InstalledFile {
            rel: format!("lib/site-packages/{rel}"),
            sha256: "00".repeat(32),
            size: 1,
            from_wheel: true,
        };
        let files = [f("foo+bar"), f("foo"), f("a,b"), f("a")];
        let record =
            render_record("lib/site-packages", &files, "lib/site-packages/x/RECORD").unwrap();
        let paths: Vec<&str> = record
            .lines()
            .map(|l| l.rsplitn(3, ',').last().unwrap())
            .collect();
        // Whole-line sorting would put `"a,b"` (quoted) first and `foo+bar`
        // before `foo`.
        assert_eq!(paths, ["a", "\"a,b\"", "foo", "foo+bar", "x/RECORD"]);
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
        assert_eq!(csv_quote("a,b"), "\"a,b\"");
    }
}
