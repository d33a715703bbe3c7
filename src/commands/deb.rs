//! `venvdeb deb`. (Skeleton: to be written.)

#[derive(Debug, clap::Args)]
pub struct DebArgs {}

pub fn run(_args: &DebArgs) -> anyhow::Result<()> {
    anyhow::bail!("venvdeb deb: not implemented yet")
}
