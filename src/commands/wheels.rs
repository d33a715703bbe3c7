//! `venvdeb wheels …`: the release signer's side. (Skeleton: to be written.)

#[derive(Debug, clap::Subcommand)]
pub enum WheelsCommand {
    /// Build wheels reproducibly from sha256-pinned sdists
    Build {},
}

pub fn run(_cmd: &WheelsCommand) -> anyhow::Result<()> {
    anyhow::bail!("venvdeb wheels: not implemented yet")
}
