//! The `[inputs]` table of `venvdeb.toml`: where the wheelhouse, lock, signed
//! list, signature and keyring are, the signature threshold and the
//! uncompressed-size cap; plus the target interpreter from `[venv] python`
//! (the same keys `crate::config` accepts). A minimal reader of just that
//! (the rest of the file is `crate::config`'s); relative paths are resolved
//! against the directory holding the file.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The `[inputs]` values, each optional (flags may supply or override them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct InputsTable {
    pub wheelhouse: Option<PathBuf>,
    pub lock: Option<PathBuf>,
    pub sums: Option<PathBuf>,
    pub signature: Option<PathBuf>,
    pub keyring: Option<PathBuf>,
    pub threshold: Option<usize>,
    pub python: Option<PathBuf>,
    pub max_uncompressed: Option<u64>,
    /// `at`: the reference time for signatures (Unix seconds).
    pub at: Option<u64>,
    /// `max-signature-age`, in seconds.
    pub max_signature_age: Option<u64>,
}

const KEYS: &[&str] = &[
    "wheelhouse",
    "lock",
    "sums",
    "signature",
    "keyring",
    "threshold",
    "max-uncompressed",
    "at",
    "max-signature-age",
];

impl InputsTable {
    /// Read `[inputs]` from a TOML file (an absent table gives all `None`).
    pub(crate) fn from_file(path: &Path) -> Result<InputsTable> {
        let text = crate::input::read_regular_text(path, "configuration", crate::input::MAX_TEXT)?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base).with_context(|| format!("{}: [inputs]", path.display()))
    }

    /// Parse TOML text; relative paths are joined to `base`.
    pub(crate) fn parse(text: &str, base: &Path) -> Result<InputsTable> {
        let doc: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| anyhow::anyhow!("not valid TOML: {}", e.message()))?;
        let python = match doc.get("venv").and_then(|v| v.get("python")) {
            None => None,
            Some(v) => {
                let p = PathBuf::from(v.as_str().context("venv.python must be a string")?);
                if !p.is_absolute() {
                    bail!(
                        "venv.python {:?} must be an absolute path",
                        p.display().to_string()
                    );
                }
                Some(p)
            }
        };
        let Some(t) = doc.get("inputs") else {
            return Ok(InputsTable {
                python,
                ..InputsTable::default()
            });
        };
        let t = t.as_table().context("`inputs` must be a table")?;
        for k in t.keys() {
            if !KEYS.contains(&k.as_str()) {
                bail!("unknown key {k:?} (known: {})", KEYS.join(", "));
            }
        }
        let path = |k: &str| -> Result<Option<PathBuf>> {
            match t.get(k) {
                None => Ok(None),
                Some(v) => {
                    let s = v
                        .as_str()
                        .with_context(|| format!("{k} must be a string"))?;
                    if s.is_empty() {
                        bail!("{k} must not be empty");
                    }
                    Ok(Some(base.join(s)))
                }
            }
        };
        let int = |k: &str| -> Result<Option<u64>> {
            match t.get(k) {
                None => Ok(None),
                Some(v) => {
                    let n = v
                        .as_integer()
                        .with_context(|| format!("{k} must be an integer"))?;
                    Ok(Some(
                        u64::try_from(n).with_context(|| format!("{k} must not be negative"))?,
                    ))
                }
            }
        };
        let text = |k: &str| -> Result<Option<&str>> {
            match t.get(k) {
                None => Ok(None),
                Some(v) => Ok(Some(
                    v.as_str()
                        .with_context(|| format!("{k} must be a string"))?,
                )),
            }
        };
        Ok(InputsTable {
            wheelhouse: path("wheelhouse")?,
            lock: path("lock")?,
            sums: path("sums")?,
            signature: path("signature")?,
            keyring: path("keyring")?,
            threshold: int("threshold")?.map(|n| n as usize),
            python,
            max_uncompressed: int("max-uncompressed")?,
            at: text("at")?
                .map(crate::verify::signature::parse_time)
                .transpose()
                .context("at")?,
            max_signature_age: text("max-signature-age")?
                .map(crate::verify::signature::parse_duration)
                .transpose()
                .context("max-signature-age")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_inputs() {
        let t = InputsTable::parse(
            "[package]\nname = \"x\"\n[inputs]\nwheelhouse = \"wh\"\nkeyring = \"/k.gpg\"\nthreshold = 2\n[venv]\npython = \"/usr/bin/python3.11\"\n",
            Path::new("/proj"),
        )
        .unwrap();
        assert_eq!(t.wheelhouse, Some(PathBuf::from("/proj/wh")));
        assert_eq!(t.keyring, Some(PathBuf::from("/k.gpg")));
        assert_eq!(t.threshold, Some(2));
        assert_eq!(t.python, Some(PathBuf::from("/usr/bin/python3.11")));
        let t = InputsTable::parse(
            "[inputs]\nat = \"2025-01-01\"\nmax-signature-age = \"30d\"\n",
            Path::new("/"),
        )
        .unwrap();
        assert_eq!(t.at, Some(1_735_689_600));
        assert_eq!(t.max_signature_age, Some(30 * 86400));
        assert!(InputsTable::parse("[inputs]\nat = \"yesterday\"\n", Path::new("/")).is_err());
        assert!(InputsTable::parse("[inputs]\npython = \"/x\"\n", Path::new("/")).is_err());
        assert!(InputsTable::parse("[venv]\npython = \"python3\"\n", Path::new("/")).is_err());
        assert!(InputsTable::parse("[inputs]\nwheelhose = \"x\"\n", Path::new("/")).is_err());
        assert!(InputsTable::parse("[inputs]\nthreshold = -1\n", Path::new("/")).is_err());
        assert_eq!(
            InputsTable::parse("", Path::new("/")).unwrap(),
            InputsTable::default()
        );
    }
}
