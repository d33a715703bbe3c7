//! `venvdeb rebuild`. (Skeleton: to be written.)

#[derive(Debug, clap::Args)]
pub struct RebuildArgs {}

pub fn run(_args: &RebuildArgs) -> anyhow::Result<()> {
    anyhow::bail!("venvdeb rebuild: not implemented yet")
}
