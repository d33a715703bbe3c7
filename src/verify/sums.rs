//! The signed wheel list: `sha256sum` format, one `<64 hex>  <name>` or
//! `<64 hex> *<name>` per line. Names are plain file names, each once.
use std::collections::BTreeMap;

use anyhow::Result;

use crate::exit::verification;
use crate::wheel::record::hex_decode;

/// One listed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SumEntry {
    pub sha256: [u8; 32],
    pub line: usize,
}

/// The parsed list: file name → sha256.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Sums {
    pub entries: BTreeMap<String, SumEntry>,
}

/// Whether `name` is a plain file name: non-empty, no `/`, `\`, NUL or
/// control characters, not `.` or `..`.
pub(crate) fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && !name.chars().any(|c| c.is_control())
}

impl Sums {
    /// Parse the list; `what` names the file in messages. Every error is a
    /// `VerificationError` naming the line.
    pub(crate) fn parse(bytes: &[u8], what: &str) -> Result<Sums> {
        let bad = |line: usize, msg: String| verification(format!("{what} line {line}: {msg}"));
        let text = std::str::from_utf8(bytes)
            .map_err(|e| verification(format!("{what}: not valid UTF-8 ({e})")))?;
        let mut sums = Sums::default();
        for (i, line) in text.split('\n').enumerate() {
            let n = i + 1;
            if line.is_empty() {
                continue;
            }
            if line.contains('\r') {
                return Err(bad(n, "carriage return: expected Unix line ends".into()));
            }
            let b = line.as_bytes();
            if b.len() < 67 || !b[..64].iter().all(u8::is_ascii_hexdigit) || b[64] != b' ' {
                return Err(bad(
                    n,
                    format!("expected `<64 hex digits>  <file name>`, found {line:?}"),
                ));
            }
            if b[65] != b' ' && b[65] != b'*' {
                return Err(bad(
                    n,
                    format!("expected two spaces or ` *` after the hash, found {line:?}"),
                ));
            }
            let name = &line[66..];
            if !is_plain_file_name(name) {
                return Err(bad(
                    n,
                    format!("{name:?}: expected a plain file name (no /, \\, .., NUL or control characters)"),
                ));
            }
            let digest = hex_decode(&line[..64]).expect("64 hex digits");
            let mut sha256 = [0u8; 32];
            sha256.copy_from_slice(&digest);
            if let Some(prev) = sums.entries.get(name) {
                return Err(bad(
                    n,
                    format!("{name:?} listed again (first on line {})", prev.line),
                ));
            }
            sums.entries
                .insert(name.to_string(), SumEntry { sha256, line: n });
        }
        if sums.entries.is_empty() {
            return Err(verification(format!(
                "{what}: expected at least one line, found none"
            )));
        }
        Ok(sums)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const H: &str = "ab7ae7122974553370f0bdb919e1a960b2cd1bc1ef0276416d896db81c14582c";

    #[test]
    fn parses() {
        let s = Sums::parse(
            format!("{H}  a-1-py3-none-any.whl\n{H} *b.whl\n").as_bytes(),
            "s",
        )
        .unwrap();
        assert_eq!(s.entries.len(), 2);
        assert_eq!(s.entries["b.whl"].line, 2);
        for bad in [
            format!("{H}  ../a.whl\n"),
            format!("{H}  d/a.whl\n"),
            format!("{H} a.whl\n"),
            format!("{H}  a.whl\n{H}  a.whl\n"),
            format!("{}  a.whl\n", &H[..63]),
            format!("{H}  a.whl\r\n"),
            "# comment\n".to_string(),
            String::new(),
        ] {
            let e = Sums::parse(bad.as_bytes(), "s").unwrap_err();
            assert_eq!(crate::exit::code_for(&e), 3, "{bad:?}");
        }
        let e = Sums::parse(format!("{H}  a.whl\nxx\n").as_bytes(), "sums.txt").unwrap_err();
        assert!(format!("{e:#}").contains("sums.txt line 2"));
    }

    proptest! {
        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Sums::parse(&b, "s");
        }

        #[test]
        fn mutations_never_panic(pos in 0usize..200, byte in any::<u8>()) {
            let mut t = format!("{H}  a-1-py3-none-any.whl\n{H} *b.whl\n").into_bytes();
            let p = pos % t.len();
            t[p] = byte;
            let _ = Sums::parse(&t, "s");
        }
    }
}
