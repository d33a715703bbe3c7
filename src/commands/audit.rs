//! `venvdeb audit`. (Skeleton: to be written.)

#[derive(Debug, clap::Args)]
pub struct AuditArgs {}

pub fn run(_args: &AuditArgs) -> anyhow::Result<()> {
    anyhow::bail!("venvdeb audit: not implemented yet")
}
