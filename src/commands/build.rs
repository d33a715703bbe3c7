//! `venvdeb build`. (Skeleton: to be written.)

#[derive(Debug, clap::Args)]
pub struct BuildArgs {}

pub fn run(_args: &BuildArgs) -> anyhow::Result<()> {
    anyhow::bail!("venvdeb build: not implemented yet")
}
