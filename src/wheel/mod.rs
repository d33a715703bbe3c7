//! Reading wheels (PEP 427) safely: the zip container (`archive`), the file
//! name and its compatibility tags (`name`), the `.dist-info` files (`record`
//! for RECORD, `metadata` for METADATA, WHEEL and entry_points.txt) and PEP 508
//! environment markers (`markers`).
//!
//! This module parses and checks; it never writes files. Deciding which wheels
//! to trust is `crate::verify`'s job, installing them is `crate::venv`'s.
pub(crate) mod archive;
pub(crate) mod contents;
mod inflate;
pub mod markers;
pub(crate) mod metadata;
pub(crate) mod name;
pub(crate) mod record;
