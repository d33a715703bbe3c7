//! `venvdeb stage`: the arguments and the printing around
//! [`crate::pipeline::stage`] — verify, plan, build the venv for its final
//! prefix under a package staging directory (`--destdir debian/<pkg>`),
//! normalize it — and report what the package needs: `venvdeb:Depends`
//! (written to `--substvars`), the Architecture, and the postinst/prerm
//! snippets. `dh_venvdeb` calls it.
use std::path::PathBuf;

use anyhow::Result;

use crate::config::Config;
use crate::pipeline::{stage, write_substvars, StageOptions};

#[derive(Debug, clap::Args)]
pub struct StageArgs {
    /// The configuration file
    #[arg(long, value_name = "FILE", default_value = crate::config::DEFAULT_FILE)]
    pub config: PathBuf,
    /// The package staging directory (the future `/`), e.g. debian/<pkg>
    #[arg(long, value_name = "DIR")]
    pub destdir: PathBuf,
    /// Binary package name (default: package.name of the configuration)
    #[arg(long, value_name = "NAME")]
    pub package: Option<String>,
    /// Package version (default: package.version of the configuration)
    #[arg(long, value_name = "V")]
    pub version: Option<String>,
    /// Debian architecture the package is built for; must agree with the wheels
    #[arg(long, value_name = "A")]
    pub arch: Option<String>,
    /// Set `venvdeb:Depends=…` and `venvdeb:Architecture=…` in this substvars file (other lines kept)
    #[arg(long, value_name = "FILE")]
    pub substvars: Option<PathBuf>,
    /// Print the report (including maintainer-script snippets) as JSON
    #[arg(long)]
    pub json: bool,
}

pub(crate) fn run(args: &StageArgs) -> Result<()> {
    let cfg = Config::load(&args.config)?;
    let sde = crate::sde::resolve_with_changelog(&cfg.dir.join("debian/changelog"))?;
    let opts = StageOptions {
        package: args.package.clone(),
        version: args.version.clone(),
        arch: args.arch.clone(),
        caller_scans_for_leaks: false,
        install_docs: false,
        defer_wheel_bytes: false,
    };
    let report = stage(&cfg, &args.destdir, &opts, sde)?;
    if let Some(sv) = &args.substvars {
        write_substvars(sv, &report)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "staged {} {} ({}) at {}{}: {} wheels, {} files, {} bytes",
            report.package,
            report.version,
            report.architecture,
            args.destdir.display(),
            report.prefix,
            report.wheels.len(),
            report.files,
            report.bytes
        );
        println!("venvdeb:Depends={}", report.substvar_depends());
    }
    Ok(())
}
