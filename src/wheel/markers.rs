//! PEP 508 environment markers for wheels' `Requires-Dist`: the one
//! implementation lives in [`crate::pep508`]; this path names it for the
//! wheel-reading code and its callers.
pub use crate::pep508::{Marker, MarkerEnv};

#[cfg(test)]
pub(crate) use crate::pep508::test_env;
