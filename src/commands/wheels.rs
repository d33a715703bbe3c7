//! `venvdeb wheels …`: the release signer's side — build reproducible
//! wheels from pinned sdists, normalize wheels built elsewhere, and write
//! the sums list, the lock and a static index. The work is in
//! `crate::release`; this file holds the arguments and prints summaries.
use std::path::PathBuf;

use anyhow::{bail, Result};

use crate::release::{build, digest, index, lock, normalize, sums};

#[derive(Debug, clap::Subcommand)]
pub enum WheelsCommand {
    /// Build wheels reproducibly from sha256-pinned sdists (PEP 517, offline)
    #[command(after_help = crate::exit::EXIT_CODES)]
    Build(BuildArgs),
    /// Rewrite wheels as canonical zips (fixed order, times, modes, RECORD)
    #[command(after_help = crate::exit::EXIT_CODES)]
    Normalize(NormalizeArgs),
    /// Write the sha256sum-format list of a wheel directory (the file to sign)
    #[command(after_help = crate::exit::EXIT_CODES)]
    Sums(SumsArgs),
    /// Write a hashed requirements.txt or a PEP 751 pylock.toml for a wheel directory
    #[command(after_help = crate::exit::EXIT_CODES)]
    Lock(LockArgs),
    /// Write a static PEP 503 index (with PEP 658 metadata) of a wheel directory
    #[command(after_help = crate::exit::EXIT_CODES)]
    Index(IndexArgs),
}

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Pins of the sdists to build: `name==version --hash=sha256:…` per line
    #[arg(long, value_name = "REQ")]
    pub requirements: PathBuf,
    /// Directory holding the sdists (.tar.gz or .zip)
    #[arg(long, value_name = "DIR")]
    pub sdists: PathBuf,
    /// Directory holding the build-backend wheels
    #[arg(long, value_name = "DIR")]
    pub backends: PathBuf,
    /// Pins of the backend wheels: `name==version --hash=sha256:…` per line
    #[arg(long, value_name = "REQ")]
    pub backend_requirements: PathBuf,
    /// Where the normalized wheels go
    #[arg(long, value_name = "DIR")]
    pub output: PathBuf,
    /// The interpreter that runs the build backends
    #[arg(long, value_name = "PATH", default_value = "/usr/bin/python3")]
    pub python: PathBuf,
    /// Timestamp for the build and the wheels (default: $SOURCE_DATE_EPOCH)
    #[arg(long, value_name = "SECONDS")]
    pub source_date_epoch: Option<String>,
    /// Most bytes one sdist may unpack to
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 30)]
    pub max_unpacked: u64,
}

#[derive(Debug, clap::Args)]
pub struct NormalizeArgs {
    /// Wheels to normalize
    #[arg(required = true, value_name = "WHEEL")]
    pub wheels: Vec<PathBuf>,
    /// Directory for the normalized wheels (not the wheels' own directory)
    #[arg(long, value_name = "DIR")]
    pub output: PathBuf,
    /// Timestamp of every entry (default: $SOURCE_DATE_EPOCH)
    #[arg(long, value_name = "SECONDS")]
    pub source_date_epoch: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct SumsArgs {
    /// Directory of wheels
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The list to write (e.g. sha256sums.txt)
    #[arg(long, value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct LockArgs {
    /// Directory of wheels
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The lock file to write
    #[arg(long, value_name = "FILE")]
    pub output: PathBuf,
    /// requirements (hashed requirements.txt) or pylock (PEP 751 pylock.toml)
    #[arg(long, value_enum, default_value = "requirements")]
    pub format: lock::Format,
}

#[derive(Debug, clap::Args)]
pub struct IndexArgs {
    /// Directory of wheels
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Directory that receives `simple/`
    #[arg(long, value_name = "DIR")]
    pub output: PathBuf,
}

pub fn run(cmd: &WheelsCommand) -> Result<()> {
    match cmd {
        WheelsCommand::Build(a) => {
            let sde = crate::sde::resolve(a.source_date_epoch.as_deref())?;
            let out = build::build(&build::BuildOptions {
                requirements: a.requirements.clone(),
                sdists: a.sdists.clone(),
                backends: a.backends.clone(),
                backend_requirements: a.backend_requirements.clone(),
                output: a.output.clone(),
                python: a.python.clone(),
                sde,
                max_unpacked: a.max_unpacked,
            })?;
            for w in out {
                let (sha, _) = digest::sha256_file(&w)?;
                println!("{sha}  {}", w.display());
            }
        }
        WheelsCommand::Normalize(a) => {
            let sde = crate::sde::resolve(a.source_date_epoch.as_deref())?;
            if !a.output.is_dir() {
                bail!("--output {}: not a directory", a.output.display());
            }
            for w in &a.wheels {
                normalize::check_not_in_place(w, &a.output)?;
            }
            // All or nothing: normalize into scratch space, then move each
            // into place only when every wheel has passed.
            let scratch = build::Scratch::new("venvdeb-normalize")?;
            let mut staged = Vec::new();
            for w in &a.wheels {
                let out = normalize::normalize_wheel(w, scratch.path(), sde)?;
                if staged
                    .iter()
                    .any(|p: &PathBuf| p.file_name() == out.file_name())
                {
                    bail!("{}: two wheels of this name given", w.display());
                }
                staged.push(out);
            }
            for out in staged {
                let dest = a.output.join(out.file_name().unwrap_or_default());
                let mut f = crate::atomic::AtomicFile::create(&dest)?;
                std::io::copy(&mut std::fs::File::open(&out)?, f.file())?;
                f.commit()?;
                let (sha, _) = digest::sha256_file(&dest)?;
                println!("{sha}  {}", dest.display());
            }
        }
        WheelsCommand::Sums(a) => {
            let n = sums::write(&a.dir, &a.output)?;
            eprintln!("venvdeb: listed {n} wheels in {}", a.output.display());
        }
        WheelsCommand::Lock(a) => {
            let n = lock::write(&a.dir, &a.output, a.format)?;
            eprintln!("venvdeb: locked {n} projects in {}", a.output.display());
        }
        WheelsCommand::Index(a) => {
            let n = index::write(&a.dir, &a.output)?;
            eprintln!(
                "venvdeb: indexed {n} projects in {}",
                a.output.join("simple").display()
            );
        }
    }
    Ok(())
}
