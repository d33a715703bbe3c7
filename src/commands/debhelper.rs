//! `venvdeb debhelper` (hidden): what the debhelper integration asks
//! venvdeb instead of reading TOML itself.
//!
//! - `prefixes FILE…`: the venv prefixes the sequence addon keeps dh_strip,
//!   dh_dwz, dh_strip_nondeterminism, dh_makeshlibs and dh_fixperms off, one
//!   per line (`/opt/venvs/` and every `venv.prefix` the files set);
//! - `library-dirs PACKAGE=FILE…`: the directories where the manylinux
//!   wheels bundle their libraries, for dh_shlibdeps' `-l`, one per line;
//! - `config FILE --output OUT --package … --version … --maintainer …
//!   --description …`: the dh configuration file as a `venvdeb.toml` for
//!   `venvdeb stage`, written atomically to OUT (dh_venvdeb puts it under
//!   debian/.debhelper/).
//!
//! Relative paths in the files are relative to the current directory, the
//! source root where dh runs. The work is `crate::debhelper`'s.
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::debhelper::{exclude_prefixes, library_dirs, read_dh_config, staged_config, DhPackage};

#[derive(Debug, clap::Subcommand)]
pub enum DebhelperCommand {
    /// Print the venv prefixes dh_strip & co. must leave alone, one per line
    Prefixes {
        /// dh configuration files (debian/venvdeb.toml, debian/*.venvdeb.toml)
        files: Vec<PathBuf>,
    },
    /// Print where the wheels bundle their libraries (dh_shlibdeps -l), one per line
    LibraryDirs {
        /// Binary package and its dh configuration file, as PACKAGE=FILE
        #[arg(value_name = "PACKAGE=FILE")]
        packages: Vec<String>,
    },
    /// Write a dh configuration file as a venvdeb.toml for `venvdeb stage`
    Config(ConfigArgs),
}

#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    /// The dh configuration file (paths relative to the source root)
    pub file: PathBuf,
    /// Where to write the configuration for `venvdeb stage`
    #[arg(long, value_name = "FILE")]
    pub output: PathBuf,
    /// Binary package name (debian/control)
    #[arg(long, value_name = "NAME")]
    pub package: String,
    /// Package version (debian/changelog)
    #[arg(long, value_name = "V")]
    pub version: String,
    /// Maintainer (debian/control)
    #[arg(long, value_name = "M")]
    pub maintainer: String,
    /// Synopsis (debian/control)
    #[arg(long, value_name = "TEXT")]
    pub description: String,
}

pub(crate) fn run(cmd: &DebhelperCommand) -> Result<()> {
    let root = std::env::current_dir().context("reading the current directory")?;
    match cmd {
        DebhelperCommand::Prefixes { files } => {
            for p in exclude_prefixes(files, &root)? {
                println!("{p}");
            }
        }
        DebhelperCommand::LibraryDirs { packages } => {
            let pairs = packages
                .iter()
                .map(|p| match p.split_once('=') {
                    Some((name, file)) if !name.is_empty() && !file.is_empty() => {
                        Ok((name.to_string(), PathBuf::from(file)))
                    }
                    _ => anyhow::bail!("{p:?}: expected PACKAGE=FILE"),
                })
                .collect::<Result<Vec<_>>>()?;
            for d in library_dirs(&pairs, &root)? {
                println!("{d}");
            }
        }
        DebhelperCommand::Config(a) => {
            let text = read_dh_config(&a.file)?;
            let pkg = DhPackage {
                name: a.package.clone(),
                version: a.version.clone(),
                maintainer: a.maintainer.clone(),
                description: a.description.clone(),
            };
            let (out, _) = staged_config(&text, &a.file, &root, &pkg)?;
            if let Some(dir) = a.output.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            crate::atomic::write(&a.output, out.as_bytes())?;
        }
    }
    Ok(())
}
