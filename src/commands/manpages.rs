//! `venvdeb manpages`. (Skeleton: to be written.)

#[derive(Debug, clap::Args)]
pub struct ManpagesArgs {}

pub fn run(_args: &ManpagesArgs) -> anyhow::Result<()> {
    anyhow::bail!("venvdeb manpages: not implemented yet")
}
