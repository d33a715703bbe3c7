//! venvdeb: from a Python application and a directory of verified wheels to a
//! bit-identical Debian package.
//!
//! The modules follow the pipeline, one stage each:
//! `verify` → `plan` → `venv` → `normalize` → `deb`.
//! Around it: `wheel` (reading wheels safely), `config` (venvdeb.toml),
//! `release` (the signer's side: wheels, sums, lock, index), `inspect`
//! (diff, manifest, SBOM, audit for reproducibility checkers), `debhelper`
//! (dh_venvdeb's behaviour) and `commands` (one file per subcommand).

pub mod atomic;
pub mod cli;
pub mod commands;
pub mod config;
pub mod deb;
pub mod debhelper;
pub mod encoding;
pub mod exit;
pub mod input;
pub mod inspect;
pub mod normalize;
pub mod package;
pub mod pep440;
pub mod pep508;
#[cfg(test)]
mod pep508_differential;
pub mod pipeline;
pub mod plan;
pub mod release;
pub mod sde;
pub mod system_site;
pub mod venv;
pub mod verify;
pub mod wheel;
