//! `venvdeb rebuild --check DEB [--config FILE]`: rebuild a venvdeb package
//! from the inputs the configuration names, with the package's own
//! SOURCE_DATE_EPOCH (from its manifest) and the compression of its
//! data.tar, checking that the inputs are the ones its manifest lists, and
//! compare the two .debs with `venvdeb diff`. Exit 0 when bit-identical with
//! the same inputs, 1 with the input findings and the diff report otherwise,
//! 2 on error (3 when the inputs fail verification and match the manifest).
//!
//! `venvdeb rebuild --check DEB --index URL --keyring FILE` needs neither a
//! configuration nor an input directory: DEB may be a URL; the wheels its
//! manifest names are synced from the signed index (`release::sync`, the
//! list's signature checked first, each wheel's sha256 equal to both the
//! manifest's and the signed list's), the configuration is reconstructed
//! from the package (`inspect::rebuild::reconstruct_config`), and the rest is
//! the same. A provenance statement beside DEB (or `--statement`) is
//! compared with the rebuild's; `--result FILE` writes the JSON result.
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::atomic::TempDir;
use crate::config::Config;
use crate::inspect::diff::{compare_files, files_identical, Difference};
use crate::inspect::rebuild::{check_inputs_after, check_inputs_before, read_facts, InputFinding};
use crate::pipeline::build;

#[derive(Debug, clap::Args)]
pub struct RebuildArgs {
    /// Rebuild and compare (the only mode)
    #[arg(long)]
    pub check: bool,
    /// The package to check (a path, or an http(s):// or file:// URL with --index)
    pub deb: PathBuf,
    /// The configuration naming the inputs (not with --index)
    #[arg(long, value_name = "FILE", default_value = crate::config::DEFAULT_FILE)]
    pub config: PathBuf,
    /// Sync the inputs from this signed index instead (what `wheels index
    /// --sums --signature` published); no configuration needed
    #[arg(
        long,
        value_name = "URL",
        requires = "keyring",
        conflicts_with = "config"
    )]
    pub index: Option<String>,
    /// The keyring the index's signed list must verify against
    #[arg(long, value_name = "FILE", requires = "index")]
    pub keyring: Option<PathBuf>,
    /// Distinct keyring keys that must have signed the index's list
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub threshold: usize,
    /// The provenance statement to check (default: <DEB stem>.intoto.json beside a local DEB, if present)
    #[arg(long, value_name = "FILE")]
    pub statement: Option<PathBuf>,
    /// Also write the result as JSON to this file
    #[arg(long, value_name = "FILE")]
    pub result: Option<PathBuf>,
    /// Keep the rebuilt .deb in this directory (default: a temporary one, removed)
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

pub(crate) fn run(args: &RebuildArgs) -> Result<()> {
    if !args.check {
        bail!("venvdeb rebuild needs --check: venvdeb rebuild --check DEB [--config FILE]");
    }
    if args.threshold == 0 {
        bail!("--threshold must be at least 1");
    }
    let work = TempDir::new("venvdeb-rebuild")?;
    let deb_arg = args.deb.to_str().unwrap_or_default();
    let fetched = args.index.is_some() && crate::release::sync::is_url(deb_arg);
    let deb: PathBuf = if fetched {
        let d = work.path().join("package");
        std::fs::create_dir(&d).with_context(|| format!("creating {}", d.display()))?;
        crate::release::sync::fetch_file(deb_arg, &d, std::time::Duration::from_secs(60), 3)?
    } else {
        args.deb.clone()
    };
    let facts = read_facts(&deb)?;
    let m = &facts.manifest;
    let cfg = match (&args.index, &args.keyring) {
        (Some(index), Some(keyring)) => {
            let wheelhouse = work.path().join("wheelhouse");
            let only = m
                .wheels
                .iter()
                .map(|w| (w.filename.clone(), w.sha256.clone()))
                .collect();
            let r = crate::release::sync::sync(&crate::release::sync::SyncOptions {
                index: index.clone(),
                keyring: keyring.clone(),
                output: wheelhouse.clone(),
                threshold: args.threshold,
                retries: 3,
                timeout: std::time::Duration::from_secs(60),
                max_size: 4 << 30,
                only: Some(only),
                progress: true,
            })
            .with_context(|| {
                format!("syncing the inputs of {} from {index}", args.deb.display())
            })?;
            eprintln!(
                "venvdeb: {} wheels from {index} (signed by {}), {} fetched",
                r.wanted.len(),
                r.signers.join(", "),
                r.fetched.len()
            );
            let cfgdir = work.path().join("config");
            std::fs::create_dir(&cfgdir)
                .with_context(|| format!("creating {}", cfgdir.display()))?;
            let path = crate::inspect::rebuild::reconstruct_config(
                &facts,
                &crate::inspect::rebuild::ReconstructInputs {
                    wheelhouse: &wheelhouse,
                    sums: &wheelhouse.join(crate::release::index::SUMS_NAME),
                    signature: &wheelhouse.join(crate::release::index::SIGNATURE_NAME),
                    keyring,
                    threshold: args.threshold,
                },
                &cfgdir,
            )?;
            Config::load(&path).context("the configuration reconstructed from the package")?
        }
        _ => Config::load(&args.config)?,
    };
    let mut inputs: Vec<InputFinding> =
        check_inputs_before(m, &cfg.inputs.wheelhouse, &cfg.venv.python)?;
    if m.tool.version != env!("CARGO_PKG_VERSION") {
        eprintln!(
            "venvdeb: note: {} was built by venvdeb {}, this is {}",
            args.deb.display(),
            m.tool.version,
            env!("CARGO_PKG_VERSION")
        );
    }
    let temp;
    let out_dir = match &args.output_dir {
        Some(d) => d.clone(),
        None => {
            temp = TempDir::new("venvdeb-rebuild")?;
            temp.path().to_path_buf()
        }
    };
    let rebuilt = match build(&cfg, &out_dir, facts.data_codec, None, m.source_date_epoch) {
        Ok(r) => r,
        Err(e) if !inputs.is_empty() => {
            // The inputs are not the package's, and do not even build.
            let mut msg = String::new();
            for f in &inputs {
                msg.push_str(&f.line());
                msg.push('\n');
            }
            print!("{msg}");
            println!("rebuild failed: {e:#}");
            return Err(crate::exit::differs(format!(
                "{}: the inputs differ from the manifest's ({}) and the rebuild failed",
                args.deb.display(),
                crate::exit::count(inputs.len(), "finding")
            )));
        }
        Err(e) => return Err(e).context("rebuilding"),
    };
    if same_file(&rebuilt.deb, &deb) {
        bail!(
            "the rebuild was written over the package under test ({}): use another --output-dir",
            args.deb.display()
        );
    }
    let after = read_facts(&rebuilt.deb).context("reading the rebuilt package")?;
    for f in check_inputs_after(m, &after.manifest) {
        if !inputs.contains(&f) {
            inputs.push(f);
        }
    }
    let identical = files_identical(&deb, &rebuilt.deb)?;
    let differences: Vec<Difference> = if identical {
        Vec::new()
    } else {
        compare_files(&deb, &rebuilt.deb)?.differences
    };
    // The provenance statement, when there is one, against the rebuild's.
    let statement = match &args.statement {
        Some(p) => Some(p.clone()),
        None if !fetched => crate::inspect::provenance::path_beside(&deb)
            .ok()
            .filter(|p| p.is_file()),
        None => None,
    };
    let mut statement_checked = None;
    if let Some(st) = &statement {
        let ours = crate::input::read_regular(st, "provenance statement", 64 << 20)?;
        let rebuilt_st = crate::inspect::provenance::path_beside(&rebuilt.deb)?;
        let theirs = std::fs::read(&rebuilt_st)
            .with_context(|| format!("reading the rebuilt statement {}", rebuilt_st.display()))?;
        for d in crate::inspect::provenance::check(&ours, &theirs)? {
            let f = InputFinding {
                what: format!("statement {}", d.what),
                expected: d.expected,
                actual: d.actual,
            };
            if !inputs.contains(&f) {
                inputs.push(f);
            }
        }
        statement_checked = Some(st.display().to_string());
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let v = serde_json::json!({
        "identical": identical && inputs.is_empty(),
        "package": args.deb.display().to_string(),
        "package_sha256": crate::inspect::hashio::sha256_file(&deb)?.0,
        "rebuilt": args.output_dir.as_ref().map(|_| rebuilt.deb.display().to_string()),
        "rebuilt_sha256": crate::inspect::hashio::sha256_file(&rebuilt.deb)?.0,
        "source_date_epoch": m.source_date_epoch,
        "index": args.index,
        "statement": statement_checked,
        "inputs": inputs,
        "differences": differences,
    });
    if let Some(p) = &args.result {
        let mut bytes = serde_json::to_vec_pretty(&v)?;
        bytes.push(b'\n');
        crate::atomic::write(p, &bytes)
            .with_context(|| format!("writing the rebuild result {}", p.display()))?;
    }
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        for f in &inputs {
            writeln!(out, "{}", f.line())?;
        }
        if identical {
            writeln!(
                out,
                "identical: {} rebuilt with SOURCE_DATE_EPOCH={} ({} bytes)",
                args.deb.display(),
                m.source_date_epoch,
                std::fs::metadata(&deb).map(|x| x.len()).unwrap_or(0)
            )?;
        } else {
            writeln!(
                out,
                "--- A {} (package)\n+++ B {} (rebuilt)",
                args.deb.display(),
                rebuilt.deb.display()
            )?;
            for d in &differences {
                writeln!(out, "{}", d.line())?;
            }
        }
    }
    out.flush()?;
    if identical && inputs.is_empty() {
        return Ok(());
    }
    Err(crate::exit::differs(format!(
        "{}: the rebuild {}{}",
        args.deb.display(),
        if identical { "is identical" } else { "differs" },
        if inputs.is_empty() {
            String::new()
        } else {
            format!(
                ", and {}",
                crate::exit::count(inputs.len(), "input finding")
            )
        }
    )))
}
