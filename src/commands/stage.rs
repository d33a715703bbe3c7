//! `venvdeb stage`. (Skeleton: to be written.)

#[derive(Debug, clap::Args)]
pub struct StageArgs {}

pub fn run(_args: &StageArgs) -> anyhow::Result<()> {
    anyhow::bail!("venvdeb stage: not implemented yet")
}
