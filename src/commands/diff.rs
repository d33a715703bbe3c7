//! `venvdeb diff`. (Skeleton: to be written.)

#[derive(Debug, clap::Args)]
pub struct DiffArgs {}

pub fn run(_args: &DiffArgs) -> anyhow::Result<()> {
    anyhow::bail!("venvdeb diff: not implemented yet")
}
