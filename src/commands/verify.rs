//! `venvdeb verify`: check the signed wheel list, the lock and every selected
//! wheel; print a summary (or `--json`). Values come from flags, else from
//! `[inputs]` of `./venvdeb.toml` (or `--config`); flags win. Writes nothing.
use std::path::PathBuf;

use anyhow::Result;

use crate::config::{InputsConfig, DEFAULT_PYTHON};
use crate::verify::inputs::InputsTable;
use crate::verify::report::Report;
use crate::verify::{verify, VerifyInputs};
use crate::wheel::markers::MarkerEnv;

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Directory of wheels
    #[arg(long, value_name = "DIR")]
    pub wheelhouse: Option<PathBuf>,
    /// Hash-pinned requirements.txt or PEP 751 pylock.toml
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// The signed wheel list (sha256sum format)
    #[arg(long, value_name = "FILE")]
    pub sums: Option<PathBuf>,
    /// Detached OpenPGP signature over the list (armored or binary)
    #[arg(long, value_name = "FILE")]
    pub signature: Option<PathBuf>,
    /// The only keys trusted: `gpg --export` keyring or armored key file
    #[arg(long, value_name = "FILE")]
    pub keyring: Option<PathBuf>,
    /// Good signatures needed from distinct keyring keys [default: 1]
    #[arg(long, value_name = "K")]
    pub threshold: Option<usize>,
    /// Target interpreter whose markers decide which requirements apply
    /// [default: /usr/bin/python3]
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Cap on each wheel's total uncompressed size, in bytes [default: 4 GiB]
    #[arg(long, value_name = "BYTES")]
    pub max_uncompressed: Option<u64>,
    /// Judge signatures as of this time instead of now: YYYY-MM-DD,
    /// YYYY-MM-DDTHH:MM:SSZ (UTC) or @SECONDS
    #[arg(long, value_name = "TIME", value_parser = crate::verify::signature::parse_time)]
    pub at: Option<u64>,
    /// Refuse signatures older than this at the reference time (e.g. 90d;
    /// units s, m, h, d, w, y)
    #[arg(long, value_name = "AGE", value_parser = crate::verify::signature::parse_duration)]
    pub max_signature_age: Option<u64>,
    /// Read [inputs] from this file instead of ./venvdeb.toml
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Print a machine-readable report on stdout
    #[arg(long)]
    pub json: bool,
    /// Also list every verified wheel and what was left alone
    #[arg(long, short)]
    pub verbose: bool,
}

/// Merge flags over the config file into `VerifyInputs` (queries the
/// interpreter once).
pub(crate) fn inputs_from(args: &VerifyArgs) -> Result<VerifyInputs> {
    let table = match &args.config {
        Some(p) => InputsTable::from_file(p)?,
        None => {
            let p = PathBuf::from("venvdeb.toml");
            if p.symlink_metadata().is_ok() {
                InputsTable::from_file(&p)?
            } else {
                InputsTable::default()
            }
        }
    };
    let t = InputsTable {
        wheelhouse: args.wheelhouse.clone().or(table.wheelhouse),
        lock: args.lock.clone().or(table.lock),
        sums: args.sums.clone().or(table.sums),
        signature: args.signature.clone().or(table.signature),
        keyring: args.keyring.clone().or(table.keyring),
        threshold: args.threshold.or(table.threshold),
        python: args.python.clone().or(table.python),
        max_uncompressed: args.max_uncompressed.or(table.max_uncompressed),
        at: args.at.or(table.at),
        max_signature_age: args.max_signature_age.or(table.max_signature_age),
    };
    let python = (t.python.clone()).unwrap_or_else(|| PathBuf::from(DEFAULT_PYTHON));
    let inputs = InputsConfig::from_table(t, |k| {
        format!("missing --{k} (or `{k}` in [inputs] of venvdeb.toml)")
    })?;
    Ok(inputs.verify_inputs(MarkerEnv::query(&python)?))
}

pub(crate) fn run(args: &VerifyArgs) -> Result<()> {
    let inputs = inputs_from(args)?;
    let verified = verify(&inputs)?;
    let report = Report::new(&verified);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.text(args.verbose));
    }
    Ok(())
}
