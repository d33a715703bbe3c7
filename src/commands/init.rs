//! `venvdeb init`. (Skeleton: to be written.)

#[derive(Debug, clap::Args)]
pub struct InitArgs {}

pub fn run(_args: &InitArgs) -> anyhow::Result<()> {
    anyhow::bail!("venvdeb init: not implemented yet")
}
