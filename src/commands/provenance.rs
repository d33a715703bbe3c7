//! `venvdeb provenance DEB (--sums FILE | --config FILE)`: write the in-toto
//! provenance statement of a package already built — by `venvdeb build`
//! (which writes it itself; this gives the same bytes) or by dh_builddeb
//! after dh_venvdeb, where dh_venvdeb_provenance runs it — beside the .deb
//! as `<name>_<version>_<arch>.intoto.json`, or to `--output`. The work is
//! `inspect::provenance::statement_for_deb`'s.
use std::path::PathBuf;

use anyhow::Result;

#[derive(Debug, clap::Args)]
pub struct ProvenanceArgs {
    /// The .deb (built by venvdeb build or by a dh sequence with dh_venvdeb)
    pub deb: PathBuf,
    /// The signed wheel list (sha256sums.txt) the package was built from
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "config",
        conflicts_with = "config"
    )]
    pub sums: Option<PathBuf>,
    /// Take the signed wheel list from this venvdeb.toml's [inputs] sums
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where to write the statement (default: beside the .deb, `.deb`
    /// replaced by `.intoto.json`); written atomically
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub(crate) fn run(args: &ProvenanceArgs) -> Result<()> {
    let sums = match (&args.sums, &args.config) {
        (Some(s), _) => s.clone(),
        (None, Some(c)) => crate::config::Config::load(c)?.inputs.sums,
        (None, None) => anyhow::bail!("give --sums FILE or --config FILE"),
    };
    let statement = crate::inspect::provenance::statement_for_deb(&args.deb, &sums)?;
    let out = match &args.output {
        Some(o) => o.clone(),
        None => crate::inspect::provenance::path_beside(&args.deb)?,
    };
    crate::atomic::write(&out, &statement)?;
    println!("{}", out.display());
    Ok(())
}
