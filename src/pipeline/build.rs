//! Building a package: [`stage`] into a private staging directory, then the
//! DEBIAN/ control area (maintainer scripts, control with Installed-Size,
//! md5sums), the build-path scan of the whole tree, normalization, and
//! `<name>_<version>_<arch>.deb` with the manifest, SBOM and in-toto
//! provenance statement beside it in the output directory. All outputs are one `atomic::OutputSet`: written to
//! temporary files, then renamed together or not at all. Staging happens in
//! a private directory under the temporary directory (`TMPDIR`), never in the
//! output directory, and is removed afterwards, pass or fail: after a failed
//! build the output directory holds exactly what it held before.
//! `venvdeb build` and `venvdeb rebuild` call [`build`].
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::stage::{stage, StageOptions, StageReport};
use crate::atomic::OutputSet;
use crate::config::Config;
use crate::deb::{write_deb_data_first, Compression, DataSummary, DebOptions};
use crate::package::{self, Control};

/// What a build wrote.
#[derive(Debug, Clone)]
pub(crate) struct BuildResult {
    pub deb: PathBuf,
    /// The manifest (and SBOM) and the provenance statement written beside
    /// the .deb.
    pub beside: Vec<PathBuf>,
    pub report: StageReport,
}

/// The output directory when the build created it: removed again (when
/// still empty) unless the outputs were committed, so that a failed build
/// leaves the output directory as it was — absent.
struct CreatedDir(Option<PathBuf>);

impl Drop for CreatedDir {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = std::fs::remove_dir(p);
        }
    }
}

/// The .deb's file name: `<name>_<version without epoch>_<arch>.deb`.
pub(crate) fn deb_file_name(cfg: &Config, arch: &str) -> String {
    format!(
        "{}_{}_{arch}.deb",
        cfg.package.name,
        cfg.version_in_filename()
    )
}

/// Build the package of `cfg` into `output_dir`.
pub(crate) fn build(
    cfg: &Config,
    output_dir: &Path,
    compression: Compression,
    level: Option<u32>,
    sde: u64,
) -> Result<BuildResult> {
    // A fixed mmap threshold for the whole build: blocks of 256 KiB and
    // more (read buffers, the compressor's) are mapped and unmapped on
    // their own. By default glibc raises the threshold as such blocks are
    // freed, and later ones then stay in the arenas when freed: a few MB
    // more at the data pass's peak on a large package.
    // SAFETY: mallopt only tunes the allocator.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 10);
    }
    let output_dir = std::path::absolute(output_dir)
        .with_context(|| format!("resolving {}", output_dir.display()))?;
    // `$TMPDIR/.venvdeb-build-<name>-<pid>-<n>`, mode 0700, removed when dropped.
    let staging = crate::atomic::TempDir::new(&format!(".venvdeb-build-{}", cfg.package.name))?;
    let root = staging.path().join("root");
    let opts = StageOptions {
        caller_scans_for_leaks: true,
        install_docs: true,
        defer_wheel_bytes: true,
        ..StageOptions::default()
    };
    let mut report = stage(cfg, &root, &opts, sde)?;
    // The manifest's bytes (tens of MB for a large venv) wait in the
    // staging tree during the data pass, not in memory.
    let mut manifest = report.manifest.take();
    // Each wheel entry's bytes go from its wheel straight into data.tar.
    let wheel_bytes = crate::venv::deferred::WheelBytes::new(
        std::mem::take(&mut report.deferred),
        std::mem::take(&mut report.absent),
        &report.venv_python,
        staging.path(),
    )?;
    // Staging's transient memory (the manifest's listing, the claims) is
    // free now: hand it back before the data pass, whose threads allocate
    // from their own malloc arenas, so that the peak is not their sum.
    // Two malloc arenas at most for the data pass's threads (glibc makes
    // one per thread otherwise, each keeping its own freed memory).
    // SAFETY: malloc_trim only releases free memory of glibc's heap;
    // mallopt only tunes the allocator.
    unsafe {
        libc::malloc_trim(0);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
    let mut t = super::Timings::new();
    t.done("release staging's memory");

    // Maintainer scripts first: Installed-Size counts them, as
    // dpkg-gencontrol does after dh_installdeb; control and md5sums after.
    let debian = root.join("DEBIAN");
    std::fs::create_dir_all(&debian).with_context(|| format!("creating {}", debian.display()))?;
    if let Some(p) = &report.postinst {
        crate::venv::layout::write_file(
            &debian.join("postinst"),
            package::maintainer_script(p).as_bytes(),
            0o755,
        )?;
    }
    crate::venv::layout::write_file(
        &debian.join("prerm"),
        package::maintainer_script(&report.prerm).as_bytes(),
        0o755,
    )?;
    // The rest of the tree is normalized as it is read (`DebOptions::normalize`).
    crate::normalize::normalize(&debian, sde)?;
    t.done("maintainer scripts");

    // One read of every data file, on its way into data.tar: md5sums,
    // Installed-Size and no build path anywhere; then the control area from
    // what that read computed, and the .deb.
    let mut created = CreatedDir((!output_dir.exists()).then(|| output_dir.clone()));
    std::fs::create_dir_all(&output_dir)
        .with_context(|| format!("creating output directory {}", output_dir.display()))?;
    let mut outputs = OutputSet::new();
    let deb = output_dir.join(deb_file_name(cfg, &report.architecture));
    let needle = staging.path().as_os_str().as_encoded_bytes();
    let write_control = |data: &DataSummary| -> Result<()> {
        let control = Control {
            package: report.package.clone(),
            version: report.version.clone(),
            architecture: report.architecture.clone(),
            maintainer: cfg.package.maintainer.clone(),
            // DEBIAN/ with the maintainer scripts counts too.
            installed_size: data.installed_kib + package::installed_size(&debian)?,
            depends: report
                .depends
                .iter()
                .chain(&report.system_depends)
                .cloned()
                .collect(),
            fields: cfg.package.fields.clone(),
            synopsis: cfg.package.synopsis.clone(),
            long_description: cfg.package.long_description.clone(),
        }
        .render();
        crate::venv::layout::write_file(&debian.join("control"), control.as_bytes(), 0o644)?;
        crate::venv::layout::write_file(&debian.join("md5sums"), data.md5sums.as_bytes(), 0o644)?;
        crate::normalize::scan_for_leaks(&debian, needle)?;
        crate::normalize::normalize(&debian, sde)?;
        Ok(())
    };
    // The provenance statement names the .deb by its sha256, taken as it
    // was written.
    let (deb_file, deb_sha256) = write_deb_data_first(
        &root,
        &deb,
        &DebOptions {
            compression,
            level,
            source_date_epoch: sde,
            normalize: true,
        },
        staging.path(),
        Some(needle),
        &wheel_bytes,
        std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
        write_control,
    )?;
    // The per-file plan of the data pass is not needed any more.
    drop(wheel_bytes);
    outputs.push(deb_file);
    t.done("deb");
    if let Some(w) = &mut manifest {
        w.manifest_json = std::fs::read(&w.manifest_path)
            .with_context(|| format!("reading {}", w.manifest_path.display()))?;
        crate::inspect::manifest::add_beside(w, &deb, sde, &mut outputs)?;
        let statement = crate::inspect::provenance::statement_for_build(
            &deb,
            &deb_sha256,
            &w.manifest_json,
            &cfg.inputs.sums,
            compression,
        )?;
        outputs.bytes(
            &crate::inspect::provenance::path_beside(&deb)?,
            &statement,
            Some(sde),
        )?;
    }
    report.manifest = manifest;
    let mut written = outputs.commit()?;
    created.0 = None;
    let beside = written.split_off(1);
    drop(staging);
    t.done("commit outputs + remove staging");
    Ok(BuildResult {
        beside,
        deb,
        report,
    })
}
