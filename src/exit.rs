//! Exit codes, and the typed errors a caller branches on.
//!
//! Every subcommand exits with:
//! - 0: success (for comparisons: identical),
//! - 1: "differs" (comparisons: `diff`, `audit`, `rebuild --check`),
//! - 2: usage or input error (the default for any error),
//! - 3: verification failure (a signature, hash, lock or RECORD check failed).
//!
//! Code that detects a verification failure returns `VerificationError`
//! (through anyhow, with context added freely on the way up); code that finds
//! a difference returns `Differs`. `report` finds them anywhere in the chain.
use std::fmt;

pub const SUCCESS: i32 = 0;
pub const DIFFERS: i32 = 1;
pub const USAGE: i32 = 2;
pub const VERIFICATION: i32 = 3;

/// The exit-status table every subcommand's `--help` ends with.
pub const EXIT_CODES: &str = "\
Exit status:
  0  success (comparisons: identical)
  1  differs (diff, audit, rebuild --check)
  2  usage or input error
  3  verification failure (signature, hash, lock, RECORD)";

/// A verification check failed: exit code 3. The message names the file,
/// what was expected and what was found.
#[derive(Debug)]
pub struct VerificationError(pub String);

impl fmt::Display for VerificationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "verification failed: {}", self.0)
    }
}
impl std::error::Error for VerificationError {}

/// A comparison found differences (already printed): exit code 1.
#[derive(Debug)]
pub struct Differs(pub String);

impl fmt::Display for Differs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Differs {}

/// Shorthand: an `anyhow::Error` carrying `Differs`.
pub fn differs(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Differs(msg.into()))
}

/// `1 finding`, `2 findings`: a count and its noun, for the messages.
pub fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// Shorthand: an `anyhow::Error` carrying a `VerificationError`.
pub fn verification(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(VerificationError(msg.into()))
}

/// The exit code an error maps to.
pub fn code_for(err: &anyhow::Error) -> i32 {
    for cause in err.chain() {
        if cause.downcast_ref::<VerificationError>().is_some() {
            return VERIFICATION;
        }
        if cause.downcast_ref::<Differs>().is_some() {
            return DIFFERS;
        }
    }
    USAGE
}

/// Print the error chain on stderr (`venvdeb: error: outer: inner: ...`) and
/// return its exit code.
pub fn report(err: &anyhow::Error) -> i32 {
    let code = code_for(err);
    if code == DIFFERS {
        eprintln!("venvdeb: {err}");
    } else {
        eprintln!("venvdeb: error: {err:#}");
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn verification_survives_context() {
        let e: anyhow::Result<()> = Err(verification("x.whl: sha256 expected a, found b"));
        let e = e.context("verifying wheelhouse").unwrap_err();
        assert_eq!(code_for(&e), VERIFICATION);
        assert!(format!("{e:#}").contains("x.whl: sha256 expected a, found b"));
    }

    #[test]
    fn plain_error_is_usage() {
        assert_eq!(code_for(&anyhow::anyhow!("bad flag")), USAGE);
        assert_eq!(code_for(&differs("d").context("comparing")), DIFFERS);
        assert_eq!(
            (count(1, "finding"), count(0, "wheel")),
            ("1 finding".into(), "0 wheels".into())
        );
    }
}
