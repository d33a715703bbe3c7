//! The command line: the top-level clap definition and dispatch. Each
//! subcommand's own arguments live beside its code in `commands/`; nothing
//! there imports this module back (the man pages get the clap tree as an
//! argument, the exit-status table lives in `exit`).
use clap::{CommandFactory, Parser, Subcommand};

use crate::commands;
use crate::exit::EXIT_CODES;

#[derive(Debug, Parser)]
#[command(
    name = "venvdeb",
    version,
    about = "Bit-identical Debian packages of Python virtualenvs from verified wheels",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: variant size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build a .deb from a package tree, byte for byte as dpkg-deb does
    #[command(after_help = EXIT_CODES)]
    Deb(commands::deb::DebArgs),
    /// Verify the signed wheel list, the lock and every wheel (fail closed)
    #[command(after_help = EXIT_CODES)]
    Verify(commands::verify::VerifyArgs),
    /// Verify, install the venv natively and write the .deb
    #[command(after_help = EXIT_CODES)]
    Build(commands::build::BuildArgs),
    /// Verify and install the venv into a package staging directory (dh_venvdeb)
    #[command(after_help = EXIT_CODES)]
    Stage(commands::stage::StageArgs),
    /// Write a debian/ directory that builds with `dh $@ --with venvdeb`
    #[command(after_help = EXIT_CODES)]
    Init(commands::init::InitArgs),
    /// The release signer's tools: build, normalize, sum, lock and index wheels
    #[command(subcommand, after_help = EXIT_CODES)]
    Wheels(commands::wheels::WheelsCommand),
    /// Compare two .deb files and name every difference
    #[command(after_help = EXIT_CODES)]
    Diff(commands::diff::DiffArgs),
    /// Check an installed venv against its build manifest
    #[command(after_help = EXIT_CODES)]
    Audit(commands::audit::AuditArgs),
    /// Rebuild a package from its inputs and compare with the original
    #[command(after_help = EXIT_CODES)]
    Rebuild(commands::rebuild::RebuildArgs),
    /// Write the in-toto provenance statement of a built .deb beside it
    #[command(after_help = EXIT_CODES)]
    Provenance(commands::provenance::ProvenanceArgs),
    /// Write the man pages (venvdeb.1 and one per subcommand) into a directory
    #[command(hide = true)]
    Manpages(commands::manpages::ManpagesArgs),
    /// What dh_venvdeb and the sequence addon ask venvdeb (prefixes, staged configuration)
    #[command(subcommand, hide = true)]
    Debhelper(commands::debhelper::DebhelperCommand),
}

/// Run one parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Deb(a) => commands::deb::run(&a),
        Command::Verify(a) => commands::verify::run(&a),
        Command::Build(a) => commands::build::run(&a),
        Command::Stage(a) => commands::stage::run(&a),
        Command::Init(a) => commands::init::run(&a),
        Command::Wheels(c) => commands::wheels::run(&c),
        Command::Diff(a) => commands::diff::run(&a),
        Command::Audit(a) => commands::audit::run(&a),
        Command::Rebuild(a) => commands::rebuild::run(&a),
        Command::Provenance(a) => commands::provenance::run(&a),
        Command::Manpages(a) => commands::manpages::run(&a, &Cli::command()),
        Command::Debhelper(c) => commands::debhelper::run(&c),
    }
}
