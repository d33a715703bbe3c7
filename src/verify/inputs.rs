//! The `[inputs]` table of `venvdeb.toml`: where the wheelhouse, lock, signed
//! list, signature and keyring are, the signature threshold and the
//! uncompressed-size cap; plus the target interpreter from `[venv] python`
//! (the same keys `crate::config` accepts). `RawInputs` is the one reader of
//! `[inputs]`, used by `crate::config` too (the rest of the file is
//! `crate::config`'s); relative paths are resolved against the directory
//! holding the file.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

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

/// `[inputs]` as written: the one reader of that table, for `crate::config`
/// (which then requires the five paths) and `venvdeb verify` (where flags
/// may supply them).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawInputs {
    wheelhouse: Option<PathBuf>,
    lock: Option<PathBuf>,
    sums: Option<PathBuf>,
    signature: Option<PathBuf>,
    keyring: Option<PathBuf>,
    threshold: Option<usize>,
    max_uncompressed: Option<u64>,
    at: Option<String>,
    max_signature_age: Option<String>,
}

impl RawInputs {
    /// Relative paths joined to `base`, times and ages parsed (errors name
    /// the key as `inputs.<key>`).
    pub(crate) fn resolve(self, base: &Path) -> Result<InputsTable> {
        let path = |k: &str, p: Option<PathBuf>| match p {
            Some(p) if p.as_os_str().is_empty() => bail!("inputs.{k} must not be empty"),
            p => Ok(p.map(|p| base.join(p))),
        };
        Ok(InputsTable {
            wheelhouse: path("wheelhouse", self.wheelhouse)?,
            lock: path("lock", self.lock)?,
            sums: path("sums", self.sums)?,
            signature: path("signature", self.signature)?,
            keyring: path("keyring", self.keyring)?,
            threshold: self.threshold,
            python: None,
            max_uncompressed: self.max_uncompressed,
            at: (self.at.as_deref())
                .map(crate::verify::signature::parse_time)
                .transpose()
                .context("inputs.at")?,
            max_signature_age: (self.max_signature_age.as_deref())
                .map(crate::verify::signature::parse_duration)
                .transpose()
                .context("inputs.max-signature-age")?,
        })
    }
}

/// What `venvdeb verify` reads of a configuration file (other tables and
/// keys are `crate::config`'s).
#[derive(Deserialize)]
struct VerifyView {
    #[serde(default)]
    inputs: RawInputs,
    #[serde(default)]
    venv: VenvPython,
}

#[derive(Default, Deserialize)]
struct VenvPython {
    python: Option<PathBuf>,
}

impl InputsTable {
    /// Read `[inputs]` from a TOML file (an absent table gives all `None`).
    pub(crate) fn from_file(path: &Path) -> Result<InputsTable> {
        let text = crate::input::read_regular_text(path, "configuration", crate::input::MAX_TEXT)?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base).with_context(|| format!("{}: [inputs]", path.display()))
    }

    /// Parse TOML text; relative paths are joined to `base`.
    pub(crate) fn parse(text: &str, base: &Path) -> Result<InputsTable> {
        let view: VerifyView =
            toml::from_str(text).map_err(|e| anyhow::anyhow!("not valid TOML: {}", e.message()))?;
        if let Some(p) = view.venv.python.as_ref().filter(|p| !p.is_absolute()) {
            bail!(
                "venv.python {:?} must be an absolute path",
                p.display().to_string()
            );
        }
        Ok(InputsTable {
            python: view.venv.python,
            ..view.inputs.resolve(base)?
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
