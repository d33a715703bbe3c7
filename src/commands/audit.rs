//! `venvdeb audit PACKAGE|PREFIX`: check an installed venv against the build
//! manifest its package installed (`/usr/share/doc/<package>/`). Exit 0 when
//! everything matches, 1 with the list of files modified, missing, added or
//! with another mode (bytecode caches aside), 2 on error.
use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;

use crate::inspect::audit::{audit, check_manifest_md5, locate_manifest, Finding};
use crate::inspect::manifest::Manifest;

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// The installed package's name, or its venv prefix (an absolute path)
    pub target: String,
    /// The filesystem root the package is installed under (default /)
    #[arg(long, default_value = "/")]
    pub root: PathBuf,
    /// Use this manifest instead of the installed one
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Print the findings as JSON
    #[arg(long)]
    pub json: bool,
}

pub(crate) fn run(args: &AuditArgs) -> Result<()> {
    let (file, manifest) = match &args.manifest {
        Some(p) => (p.clone(), Manifest::read(p)?),
        None => locate_manifest(&args.root, &args.target)?,
    };
    let mut findings: Vec<Finding> = Vec::new();
    if args.manifest.is_none() {
        findings.extend(check_manifest_md5(&args.root, &file, &manifest)?);
    }
    findings.extend(audit(&args.root, &manifest)?);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let checked = manifest.files.len();
    if args.json {
        let v = serde_json::json!({
            "package": manifest.package,
            "prefix": manifest.prefix,
            "manifest": file.display().to_string(),
            "checked": checked,
            "findings": findings,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        for f in &findings {
            writeln!(out, "{}", f.line())?;
        }
        if findings.is_empty() {
            writeln!(
                out,
                "{} {}: {checked} paths match {}",
                manifest.package.name,
                manifest.package.version,
                file.display()
            )?;
        }
    }
    out.flush()?;
    if findings.is_empty() {
        Ok(())
    } else {
        Err(crate::exit::differs(format!(
            "{}: {} against {}",
            manifest.package.name,
            crate::exit::count(findings.len(), "finding"),
            file.display()
        )))
    }
}
