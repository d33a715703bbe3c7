//! `venvdeb rebuild --check DEB [--config FILE]`: rebuild a venvdeb package
//! from the inputs the configuration names, with the package's own
//! SOURCE_DATE_EPOCH (from its manifest) and the compression of its
//! data.tar, checking that the inputs are the ones its manifest lists, and
//! compare the two .debs with `venvdeb diff`. Exit 0 when bit-identical with
//! the same inputs, 1 with the input findings and the diff report otherwise,
//! 2 on error (3 when the inputs fail verification and match the manifest).
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::config::Config;
use crate::deb::Compression;
use crate::inspect::debreader::Codec;
use crate::inspect::diff::{compare_files, files_identical, Difference};
use crate::inspect::rebuild::{check_inputs_after, check_inputs_before, read_facts, InputFinding};
use crate::pipeline::build;

#[derive(Debug, clap::Args)]
pub struct RebuildArgs {
    /// Rebuild and compare (the only mode)
    #[arg(long)]
    pub check: bool,
    /// The package to check
    pub deb: PathBuf,
    /// The configuration naming the inputs
    #[arg(long, value_name = "FILE", default_value = crate::config::DEFAULT_FILE)]
    pub config: PathBuf,
    /// Keep the rebuilt .deb in this directory (default: a temporary one, removed)
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir> {
        let base = std::env::temp_dir();
        for n in 0..1000u32 {
            let p = base.join(format!("venvdeb-rebuild-{}-{n}", std::process::id()));
            match std::fs::create_dir(&p) {
                Ok(()) => return Ok(TempDir(p)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e).with_context(|| format!("creating {}", p.display())),
            }
        }
        bail!("cannot create a temporary directory in {}", base.display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn compression(codec: Codec) -> Compression {
    match codec {
        Codec::Xz => Compression::Xz,
        Codec::Zstd => Compression::Zstd,
        Codec::Gzip => Compression::Gzip,
        Codec::None => Compression::None,
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

pub fn run(args: &RebuildArgs) -> Result<()> {
    if !args.check {
        bail!("venvdeb rebuild needs --check: venvdeb rebuild --check DEB [--config FILE]");
    }
    let facts = read_facts(&args.deb)?;
    let m = &facts.manifest;
    let cfg = Config::load(&args.config)?;
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
            temp = TempDir::new()?;
            temp.0.clone()
        }
    };
    let rebuilt = match build(
        &cfg,
        &out_dir,
        compression(facts.data_codec),
        None,
        m.source_date_epoch,
    ) {
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
            return Err(anyhow::Error::new(crate::exit::Differs(format!(
                "{}: the inputs differ from the manifest's ({} finding{}) and the rebuild failed",
                args.deb.display(),
                inputs.len(),
                if inputs.len() == 1 { "" } else { "s" }
            ))));
        }
        Err(e) => return Err(e).context("rebuilding"),
    };
    if same_file(&rebuilt.deb, &args.deb) {
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
    let identical = files_identical(&args.deb, &rebuilt.deb)?;
    let differences: Vec<Difference> = if identical {
        Vec::new()
    } else {
        compare_files(&args.deb, &rebuilt.deb)?.differences
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        let v = serde_json::json!({
            "identical": identical && inputs.is_empty(),
            "package": args.deb.display().to_string(),
            "rebuilt": args.output_dir.as_ref().map(|_| rebuilt.deb.display().to_string()),
            "source_date_epoch": m.source_date_epoch,
            "inputs": inputs,
            "differences": differences,
        });
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
                std::fs::metadata(&args.deb).map(|x| x.len()).unwrap_or(0)
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
    Err(anyhow::Error::new(crate::exit::Differs(format!(
        "{}: the rebuild {}{}",
        args.deb.display(),
        if identical { "is identical" } else { "differs" },
        if inputs.is_empty() {
            String::new()
        } else {
            format!(
                ", and {} input finding{}",
                inputs.len(),
                if inputs.len() == 1 { "" } else { "s" }
            )
        }
    ))))
}
