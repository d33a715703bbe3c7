//! One file per subcommand: argument struct (clap) and `run`. Commands only
//! parse arguments, call the library (`pipeline` for stage/build/rebuild)
//! and print; the work lives in the stage modules.
pub mod audit;
pub mod build;
pub mod deb;
pub mod debhelper;
pub mod diff;
pub mod init;
pub mod manpages;
pub mod rebuild;
pub mod stage;
pub mod verify;
pub mod wheels;
