//! `venvdeb manpages DIR` (hidden): write venvdeb.1 and one page per
//! subcommand (`venvdeb-build.1`, `venvdeb-wheels-sum.1`, …) from the clap
//! definitions, with clap_mangen. scripts/install.sh calls it; dh_venvdeb's
//! page comes from its POD (pod2man), not from here.
//!
//! The pages carry no date and nothing from the environment, so that they
//! are the same bytes on every build.
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

#[derive(Debug, clap::Args)]
pub struct ManpagesArgs {
    /// Directory to write the pages into (created if missing)
    pub dir: PathBuf,
}

/// Write the pages of `cmd` (the top-level clap definition, passed in by
/// `cli` so that this module does not import it back).
pub(crate) fn run(args: &ManpagesArgs, cmd: &clap::Command) -> Result<()> {
    fs::create_dir_all(&args.dir).with_context(|| format!("creating {}", args.dir.display()))?;
    for path in write_all(cmd, &args.dir)? {
        println!("{}", path.display());
    }
    Ok(())
}

/// Write the page of `cmd` and, recursively, of its visible subcommands.
/// Returns the paths written, in order.
pub(crate) fn write_all(cmd: &clap::Command, dir: &Path) -> Result<Vec<PathBuf>> {
    let mut cmd = cmd.clone();
    cmd.build();
    let mut written = Vec::new();
    write_one(&cmd, cmd.get_name(), dir, &mut written)?;
    Ok(written)
}

fn write_one(
    cmd: &clap::Command,
    name: &str,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<()> {
    // clap takes `&'static str` names without its "string" feature: leak the
    // few short names of this one-shot command rather than add a feature.
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    let bin: &'static str = Box::leak(name.replace('-', " ").into_boxed_str());
    let page_cmd = cmd.clone().name(leaked).bin_name(bin);
    let mut bytes = Vec::new();
    clap_mangen::Man::new(page_cmd)
        .section("1")
        .source(format!("venvdeb {}", env!("CARGO_PKG_VERSION")))
        .manual("venvdeb manual")
        .render(&mut bytes)
        .with_context(|| format!("rendering the man page of {name}"))?;
    let path = dir.join(format!("{name}.1"));
    crate::atomic::write(&path, &bytes)?;
    written.push(path);
    let mut subs: Vec<&clap::Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .collect();
    subs.sort_by_key(|s| s.get_name().to_string());
    for sub in subs {
        write_one(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn one_page_per_visible_command_and_no_hidden_one() {
        let dir = tempfile::tempdir().unwrap();
        let paths = write_all(&crate::cli::Cli::command(), dir.path()).unwrap();
        let names: Vec<String> = paths
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names[0], "venvdeb.1");
        for want in [
            "venvdeb-init.1",
            "venvdeb-stage.1",
            "venvdeb-build.1",
            "venvdeb-verify.1",
        ] {
            assert!(
                names.iter().any(|n| n == want),
                "{want} missing from {names:?}"
            );
        }
        assert!(
            !names.iter().any(|n| n.contains("manpages")),
            "hidden command documented"
        );
        let init = fs::read_to_string(dir.path().join("venvdeb-init.1")).unwrap();
        assert!(
            init.starts_with(".ie") || init.contains(".TH venvdeb-init 1"),
            "{init}"
        );
        assert!(init.contains("\\-\\-force"));
    }
}
