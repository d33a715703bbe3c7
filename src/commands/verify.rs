//! `venvdeb verify`. (Skeleton: to be written.)

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {}

pub fn run(_args: &VerifyArgs) -> anyhow::Result<()> {
    anyhow::bail!("venvdeb verify: not implemented yet")
}
