//! `venvdeb wheels …`: the release signer's side — build reproducible
//! wheels from pinned sdists, normalize wheels built elsewhere, and write
//! the sums list, the lock and a static index. The work is in
//! `crate::release`; this file holds the arguments and prints summaries.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::release::{build, index, lock, normalize, sums, sync};

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
    /// Fetch a signed index's wheels into a directory, verified (resumable)
    #[command(after_help = crate::exit::EXIT_CODES)]
    Sync(SyncArgs),
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
    /// Where the normalized wheels go (created if missing)
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
    /// Directory for the normalized wheels (not the wheels' own directory;
    /// created if missing)
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
    /// Directory that receives `simple/` (created if missing)
    #[arg(long, value_name = "DIR")]
    pub output: PathBuf,
    /// The signed wheel list to publish at the index root as sha256sums.txt
    #[arg(long, value_name = "FILE", requires = "signature")]
    pub sums: Option<PathBuf>,
    /// Its detached signature, published as sha256sums.txt.asc
    #[arg(long, value_name = "FILE", requires = "sums")]
    pub signature: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// The index root that `wheels index --sums --signature` published
    /// (http://, https:// or file://; the URL pip takes as --index-url)
    #[arg(long, value_name = "URL")]
    pub index: String,
    /// The keyring the list's signature must verify against (binary or armored)
    #[arg(long, value_name = "FILE")]
    pub keyring: PathBuf,
    /// The wheelhouse to fill (created if missing)
    #[arg(long, value_name = "DIR")]
    pub output: PathBuf,
    /// Distinct keyring keys that must have signed the list
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub threshold: usize,
    /// More attempts per file after a network error or timeout
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,
    /// Seconds to wait for a connection or for any data
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub timeout: u64,
    /// Largest wheel accepted, in bytes
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 30)]
    pub max_size: u64,
}

/// Create an output directory (and its parents) when it does not exist
/// yet, as `pip wheel -w` and `uv build -o` do; an existing non-directory
/// is an error.
fn create_output_dir(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        bail!("--output {}: exists and is not a directory", dir.display());
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the output directory {}", dir.display()))
}

pub(crate) fn run(cmd: &WheelsCommand) -> Result<()> {
    match cmd {
        WheelsCommand::Build(a) => {
            let sde = crate::sde::resolve(a.source_date_epoch.as_deref())?;
            create_output_dir(&a.output)?;
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
                let (sha, _) = crate::encoding::sha256_file(&w)?;
                println!("{sha}  {}", w.display());
            }
        }
        WheelsCommand::Normalize(a) => {
            let sde = crate::sde::resolve(a.source_date_epoch.as_deref())?;
            create_output_dir(&a.output)?;
            for w in &a.wheels {
                normalize::check_not_in_place(w, &a.output)?;
            }
            // All or nothing: normalize into scratch space, then move each
            // into place only when every wheel has passed.
            let scratch = crate::atomic::TempDir::new("venvdeb-normalize")?;
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
                let (sha, _) = crate::encoding::sha256_file(&dest)?;
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
            let signed = match (&a.sums, &a.signature) {
                (Some(sums), Some(signature)) => Some(index::SignedList { sums, signature }),
                _ => None,
            };
            let n = index::write(&a.dir, &a.output, signed)?;
            if a.sums.is_some() {
                eprintln!(
                    "venvdeb: published the signed list as {} and {}",
                    a.output.join("simple").join(index::SUMS_NAME).display(),
                    a.output
                        .join("simple")
                        .join(index::SIGNATURE_NAME)
                        .display()
                );
            }
            eprintln!(
                "venvdeb: indexed {n} projects in {}",
                a.output.join("simple").display()
            );
        }
        WheelsCommand::Sync(a) => {
            if a.threshold == 0 {
                bail!("--threshold must be at least 1");
            }
            let r = sync::sync(&sync::SyncOptions {
                index: a.index.clone(),
                keyring: a.keyring.clone(),
                output: a.output.clone(),
                threshold: a.threshold,
                retries: a.retries,
                timeout: std::time::Duration::from_secs(a.timeout.max(1)),
                max_size: a.max_size,
                only: None,
                progress: true,
            })?;
            eprintln!(
                "venvdeb: {} wheels listed (signed by {}), {} fetched ({} resumed, {} bytes), {} already present in {}",
                r.wanted.len(),
                r.signers.join(", "),
                r.fetched.len(),
                r.resumed.len(),
                r.bytes,
                r.wanted.len() - r.fetched.len(),
                a.output.display()
            );
        }
    }
    Ok(())
}
