//! venvdeb: from a Python application and a directory of verified wheels to a
//! bit-identical Debian package.
//!
//! The modules follow the pipeline, one stage each:
//! `verify` → `plan` → `venv` → `normalize` → `deb`.
//! Around it: `wheel` (reading wheels safely), `config` (venvdeb.toml),
//! `release` (the signer's side: wheels, sums, lock, index), `inspect`
//! (diff, manifest, SBOM, audit for reproducibility checkers), `debhelper`
//! (dh_venvdeb's behaviour) and `commands` (one file per subcommand).

#![warn(unreachable_pub, unused_crate_dependencies)]
pub(crate) mod arena;
pub(crate) mod atomic;
pub mod cli;
pub(crate) mod commands;
pub mod config;
pub(crate) mod deb;
pub(crate) mod debhelper;
pub(crate) mod encoding;
pub mod exit;
pub(crate) mod input;
pub mod inspect;
pub(crate) mod normalize;
pub(crate) mod package;
pub mod pep440;
pub mod pep508;
pub(crate) mod pipeline;
pub(crate) mod plan;
pub(crate) mod release;
pub(crate) mod sde;
pub(crate) mod spill;
pub(crate) mod system_site;
pub(crate) mod tree;
pub(crate) mod venv;
pub mod verify;
pub mod wheel;
pub(crate) mod workqueue;
