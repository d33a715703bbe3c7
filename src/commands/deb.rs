//! `venvdeb deb`: build a .deb from a package tree, byte for byte as
//! `SOURCE_DATE_EPOCH=S dpkg-deb --root-owner-group -Z<c> --build` does.
use std::path::PathBuf;

use crate::deb::{build_deb, Compression, DebOptions};

/// `-Z`/`-z` as dpkg-deb takes them; shared by `deb` and `build`.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct CompressionArgs {
    /// Member compressor: xz (default, dpkg-deb's), zstd, gzip or none
    #[arg(
        short = 'Z',
        long = "compression",
        value_name = "xz|zstd|gzip|none",
        default_value = "xz"
    )]
    pub compression: Compression,
    /// Compression level (xz and gzip 0-9, zstd 0-22; gzip 0 = none); default as
    /// dpkg-deb (xz 6, zstd 3, gzip 9)
    #[arg(short = 'z', long = "level", value_name = "LEVEL")]
    pub level: Option<u32>,
}

#[derive(Debug, clap::Args)]
pub struct DebArgs {
    /// The package tree: DEBIAN/control (and maintainer scripts, conffiles,
    /// md5sums …) plus the files to install, as `dpkg-deb --build` takes it
    #[arg(long, value_name = "DIR")]
    pub root: PathBuf,
    /// The .deb to write (atomically: nothing appears unless complete)
    #[arg(long, value_name = "FILE")]
    pub output: PathBuf,
    #[command(flatten)]
    pub compression: CompressionArgs,
    /// SOURCE_DATE_EPOCH (ASCII decimal seconds); default: the environment
    /// variable. One of the two is required.
    #[arg(long, value_name = "S")]
    pub source_date_epoch: Option<String>,
}

pub(crate) fn run(args: &DebArgs) -> anyhow::Result<()> {
    let source_date_epoch = crate::sde::resolve(args.source_date_epoch.as_deref())?;
    let opts = DebOptions {
        compression: args.compression.compression,
        level: args.compression.level,
        source_date_epoch,
        normalize: false,
    };
    build_deb(&args.root, &args.output, &opts)
}
