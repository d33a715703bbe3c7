//! The hash-pinned lists that name a release's inputs: which sdists to
//! build (`--requirements`) and which backend wheels may build them
//! (`--backend-requirements`). The format is the strict subset of pip's
//! `--require-hashes` requirements file these inputs need: `name==version`
//! followed by one or more `--hash=sha256:<64 hex>`, `\` continuations and
//! `#` comments. Markers, extras, ranges, URLs and options are refused: an
//! input to a release build is one exact file.
//!
//! (The reader of the *wheel* lock, with markers, is `crate::verify`; both
//! join lines and drop comments with `crate::verify::lock::logical_lines`.)
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{bail, Context, Result};

/// One pinned input: its version and the sha256 values (lowercase hex) any
/// one of which its file must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pin {
    pub name: String,
    pub version: String,
    pub hashes: BTreeSet<String>,
}

pub(crate) use crate::wheel::name::normalize_name;

fn valid_version(v: &str) -> bool {
    !v.is_empty()
        && v.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'+' | b'!' | b'_'))
}

/// Read a pin list from a file; keys are normalized names.
pub(crate) fn read(path: &Path) -> Result<BTreeMap<String, Pin>> {
    let text = crate::input::read_regular_text(path, "pinned requirements", 64 << 20)?;
    let text = text.as_str();
    parse(text).with_context(|| format!("reading pinned requirements {}", path.display()))
}

/// Parse a pin list.
pub(crate) fn parse(text: &str) -> Result<BTreeMap<String, Pin>> {
    let mut pins = BTreeMap::new();
    let (logical, unfinished) = crate::verify::lock::logical_lines(text);
    for (i, (start, l)) in logical.iter().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        if unfinished && i + 1 == logical.len() {
            bail!("line {start}: file ends inside a `\\` continuation");
        }
        let pin = parse_line(l).with_context(|| format!("line {start}"))?;
        let key = normalize_name(&pin.name);
        if pins.contains_key(&key) {
            bail!("line {start}: {key} is pinned twice");
        }
        pins.insert(key, pin);
    }
    Ok(pins)
}

fn parse_line(line: &str) -> Result<Pin> {
    let mut words = line.split_whitespace();
    let req = words.next().context("empty requirement")?;
    let Some((name, version)) = req.split_once("==") else {
        bail!("{req:?} is not pinned as name==version");
    };
    if !crate::wheel::name::is_valid_name(name) {
        bail!(
            "{name:?} is not a valid project name (extras, markers and URLs are not accepted here)"
        );
    }
    if version.starts_with('=') || !valid_version(version) || version.contains('*') {
        bail!("{req:?}: {version:?} is not an exact version");
    }
    let mut hashes = BTreeSet::new();
    for w in words {
        let Some(h) = w.strip_prefix("--hash=") else {
            bail!("{req}: unexpected {w:?} (only --hash=sha256:… may follow the pin)");
        };
        let Some(hex) = h.strip_prefix("sha256:") else {
            bail!("{req}: {h:?} is not a sha256 hash (only sha256 is accepted)");
        };
        if hex.len() != 64 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
            bail!("{req}: {hex:?} is not 64 hex digits");
        }
        hashes.insert(hex.to_ascii_lowercase());
    }
    if hashes.is_empty() {
        bail!("{req} has no --hash=sha256:…: every input must be pinned by hash");
    }
    Ok(Pin {
        name: name.to_string(),
        version: version.to_string(),
        hashes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const H1: &str = "08738e9eb18161e8fbf333c26500c6ca27a79d60c5b751298c8789d3bc13dc03";

    #[test]
    fn reads_pins_with_continuations_and_comments() {
        let t = format!("# c\nFoo_Bar.baz==1.0 \\\n    --hash=sha256:{H1} # x\n\nsix==1.17.0 --hash=sha256:{}\n", H1.to_uppercase());
        let p = parse(&t).unwrap();
        assert_eq!(p.keys().collect::<Vec<_>>(), ["foo-bar-baz", "six"]);
        assert_eq!(p["six"].hashes.iter().next().unwrap(), H1);
        assert_eq!(p["foo-bar-baz"].version, "1.0");
    }

    #[test]
    fn refuses_what_is_not_an_exact_hashed_pin() {
        for bad in [
            "six>=1.0 --hash=sha256:".to_string() + H1,
            "six==1.0".to_string(),
            "six==1.* --hash=sha256:".to_string() + H1,
            "six===1.0 --hash=sha256:".to_string() + H1,
            "six==1.0 --hash=md5:0123456789abcdef0123456789abcdef".to_string(),
            "six==1.0 --hash=sha256:abc".to_string(),
            "six[x]==1.0 --hash=sha256:".to_string() + H1,
            "six==1.0 ; python_version<'3' --hash=sha256:".to_string() + H1,
            "-e .".to_string(),
            format!("six==1.0 --hash=sha256:{H1}\nSix==1.0 --hash=sha256:{H1}"),
            "six==1.0 \\".to_string(),
        ] {
            assert!(parse(&bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn normalizes_names() {
        assert_eq!(normalize_name("Flit_Core"), "flit-core");
        assert_eq!(normalize_name("a.-_b"), "a-b");
        assert_eq!(normalize_name("zope.interface"), "zope-interface");
    }

    proptest::proptest! {
        #[test]
        fn random_text_never_panics(s in "\\PC{0,200}") {
            let _ = parse(&s);
        }

        #[test]
        fn mutated_pins_never_panic(pos in 0usize..120, byte in 0u8..0x80) {
            let mut b = format!("six==1.0 \\\n  --hash=sha256:{H1} # c\n").into_bytes();
            let p = pos % b.len();
            b[p] = byte;
            if let Ok(t) = std::str::from_utf8(&b) {
                let _ = parse(t);
            }
        }
    }
}
