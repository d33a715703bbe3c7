//! `venvdeb build`: the arguments and the printing around
//! [`crate::pipeline::build`] — verified wheels → a virtualenv for its final
//! prefix, installed natively → normalized → `<name>_<version>_<arch>.deb`,
//! written atomically into the output directory.
use std::path::PathBuf;

use anyhow::Result;

use crate::config::Config;
use crate::pipeline::build;

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The configuration file
    #[arg(long, value_name = "FILE", default_value = crate::config::DEFAULT_FILE)]
    pub config: PathBuf,
    /// Where to write the .deb
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub output_dir: PathBuf,
    #[command(flatten)]
    pub compression: super::deb::CompressionArgs,
}

pub(crate) fn run(args: &BuildArgs) -> Result<()> {
    let cfg = Config::load(&args.config)?;
    let sde = crate::sde::resolve_with_changelog(&cfg.dir.join("debian/changelog"))?;
    let r = build(
        &cfg,
        &args.output_dir,
        args.compression.compression,
        args.compression.level,
        sde,
    )?;
    println!("{}", r.deb.display());
    println!(
        "{} {} ({}): {} wheels, {} files, {} bytes under {}; signed by {}",
        r.report.package,
        r.report.version,
        r.report.architecture,
        r.report.wheels.len(),
        r.report.files,
        r.report.bytes,
        r.report.prefix,
        r.report.signers.join(", ")
    );
    for w in &r.report.wheels {
        println!("  {} {}  {}", w.name, w.version, w.wheel);
    }
    for p in &r.beside {
        println!("  beside it: {}", p.display());
    }
    Ok(())
}
