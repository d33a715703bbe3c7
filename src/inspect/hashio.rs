//! The streaming sha256 helpers of the inspect modules (and the build's
//! manifest), as `crate::encoding` defines them once.
pub(crate) use crate::encoding::{hex, sha256_file, sha256_reader};
