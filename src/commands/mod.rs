//! One file per subcommand: argument struct (clap) and `run`. Commands only
//! parse arguments, call the library (`pipeline` for stage/build/rebuild)
//! and print; the work lives in the stage modules.
pub(crate) mod audit;
pub(crate) mod build;
pub(crate) mod deb;
pub(crate) mod debhelper;
pub(crate) mod diff;
pub(crate) mod init;
pub(crate) mod manpages;
pub(crate) mod provenance;
pub(crate) mod rebuild;
pub(crate) mod stage;
pub(crate) mod verify;
pub(crate) mod wheels;
