//! SOURCE_DATE_EPOCH: where the one timestamp every output carries comes
//! from. Spec 1.1: an ASCII decimal integer; anything else is an error, and
//! there is never a silent fallback to the current time.
use anyhow::{bail, Result};

/// Parse a SOURCE_DATE_EPOCH value: ASCII decimal digits only.
pub fn parse(value: &str) -> Result<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        bail!("SOURCE_DATE_EPOCH {value:?} is malformed: it must be an ASCII decimal integer (seconds since 1970-01-01 UTC)");
    }
    value
        .parse::<u64>()
        .map_err(|_| anyhow::anyhow!("SOURCE_DATE_EPOCH {value:?} is out of range"))
}

/// The value from the command line if given, else from the environment.
/// Neither: an error saying how to set it.
pub fn resolve(cli: Option<&str>) -> Result<u64> {
    if let Some(v) = cli {
        return parse(v);
    }
    match std::env::var_os("SOURCE_DATE_EPOCH") {
        Some(v) => match v.to_str() {
            Some(s) => parse(s),
            None => bail!("SOURCE_DATE_EPOCH is not valid UTF-8"),
        },
        None => bail!(
            "SOURCE_DATE_EPOCH is not set: set it in the environment \
             (e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct), or as dpkg-buildpackage \
             does from debian/changelog) or pass --source-date-epoch"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_digits_only() {
        assert_eq!(parse("1700000000").unwrap(), 1_700_000_000);
        assert_eq!(parse("0").unwrap(), 0);
        for bad in [
            "",
            " 1",
            "1 ",
            "-1",
            "+1",
            "1.5",
            "0x10",
            "１",
            "99999999999999999999999",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
