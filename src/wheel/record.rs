//! A wheel's `.dist-info/RECORD` (PEP 376 / PEP 427): CSV lines
//! `path,algorithm=urlsafe-b64-digest,size`. Parsing and the hash values it
//! carries; the check of the bytes against it happens while the archive
//! streams (`wheel::archive`).
use std::collections::BTreeMap;

pub(crate) use crate::encoding::{b64url_decode, hex, hex_decode};

use anyhow::{bail, Result};
use sha2::{Digest as _, Sha256, Sha384, Sha512};

/// The hash algorithms accepted in RECORD and locks: sha256 or stronger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HashAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlgorithm {
    /// Parse an algorithm name; weak or unknown ones are an error.
    pub fn parse(name: &str) -> Result<HashAlgorithm> {
        Ok(match name {
            "sha256" => HashAlgorithm::Sha256,
            "sha384" => HashAlgorithm::Sha384,
            "sha512" => HashAlgorithm::Sha512,
            "md5" | "sha1" | "sha224" => {
                bail!("hash algorithm {name} is too weak (sha256 or stronger required)")
            }
            _ => bail!("unknown hash algorithm {name:?} (sha256, sha384 or sha512 expected)"),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Sha384 => "sha384",
            HashAlgorithm::Sha512 => "sha512",
        }
    }

    pub fn output_len(self) -> usize {
        match self {
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha384 => 48,
            HashAlgorithm::Sha512 => 64,
        }
    }

    pub fn hasher(self) -> Hasher {
        match self {
            HashAlgorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            HashAlgorithm::Sha384 => Hasher::Sha384(Sha384::new()),
            HashAlgorithm::Sha512 => Hasher::Sha512(Sha512::new()),
        }
    }
}

/// A running hash of one of the accepted algorithms.
#[derive(Clone)]
pub enum Hasher {
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
}

impl Hasher {
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha384(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }
    pub fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha384(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
        }
    }
}

/// An algorithm and digest bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HashValue {
    pub algorithm: HashAlgorithm,
    pub digest: Vec<u8>,
}

impl HashValue {
    /// `sha256=<urlsafe base64, no padding>` as RECORD writes it.
    pub fn parse_record(s: &str) -> Result<HashValue> {
        let Some((alg, b64)) = s.split_once('=') else {
            bail!("hash {s:?} is not algorithm=digest");
        };
        let algorithm = HashAlgorithm::parse(alg)?;
        let digest = b64url_decode(b64)
            .ok_or_else(|| anyhow::anyhow!("hash {s:?}: digest is not urlsafe base64"))?;
        if digest.len() != algorithm.output_len() {
            bail!(
                "hash {s:?}: {} digest must be {} bytes, found {}",
                algorithm.name(),
                algorithm.output_len(),
                digest.len()
            );
        }
        Ok(HashValue { algorithm, digest })
    }

    /// `sha256:<hex>` as pip's `--hash` and pylock.toml write it (the
    /// separator is given by the caller's syntax).
    pub fn from_hex(alg: &str, hex: &str) -> Result<HashValue> {
        let algorithm = HashAlgorithm::parse(alg)?;
        let digest = hex_decode(hex)
            .ok_or_else(|| anyhow::anyhow!("{alg} digest {hex:?} is not hexadecimal"))?;
        if digest.len() != algorithm.output_len() {
            bail!(
                "{alg} digest {hex:?} must be {} hex digits, found {}",
                algorithm.output_len() * 2,
                hex.len()
            );
        }
        Ok(HashValue { algorithm, digest })
    }
}

/// `sha256:<hex>`.
impl std::fmt::Display for HashValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), hex(&self.digest))
    }
}

/// One RECORD line with a hash (lines without are only allowed for RECORD
/// itself and its signatures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordEntry {
    pub hash: HashValue,
    pub size: u64,
}

/// A parsed RECORD: path → hash and size, plus the paths listed without a
/// hash (RECORD, RECORD.jws, RECORD.p7s).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub entries: BTreeMap<String, RecordEntry>,
    pub unhashed: Vec<String>,
}

impl Record {
    /// Parse RECORD bytes. `dist_info` is the `.dist-info` directory name (so
    /// that only its own RECORD and signatures may go unhashed).
    pub fn parse(bytes: &[u8], dist_info: &str) -> Result<Record> {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| anyhow::anyhow!("RECORD is not valid UTF-8: {e}"))?;
        let mut rec = Record::default();
        for (i, fields) in csv_lines(text)?.into_iter().enumerate() {
            let lineno = i + 1;
            if fields.len() == 1 && fields[0].is_empty() {
                continue;
            }
            if fields.len() != 3 {
                bail!(
                    "RECORD line {lineno}: expected 3 fields (path,hash,size), found {}",
                    fields.len()
                );
            }
            let path = fields[0].clone();
            if path.is_empty() {
                bail!("RECORD line {lineno}: empty path");
            }
            if rec.entries.contains_key(&path) || rec.unhashed.contains(&path) {
                bail!("RECORD line {lineno}: {path:?} listed twice");
            }
            if fields[1].is_empty() {
                let own = [
                    format!("{dist_info}/RECORD"),
                    format!("{dist_info}/RECORD.jws"),
                    format!("{dist_info}/RECORD.p7s"),
                ];
                if !own.contains(&path) {
                    bail!("RECORD line {lineno}: {path:?} has no hash");
                }
                rec.unhashed.push(path);
                continue;
            }
            let hash = HashValue::parse_record(&fields[1])
                .map_err(|e| anyhow::anyhow!("RECORD line {lineno}: {path:?}: {e}"))?;
            let size_s = fields[2].as_str();
            if size_s.is_empty() || size_s.len() > 19 || !size_s.bytes().all(|b| b.is_ascii_digit())
            {
                bail!("RECORD line {lineno}: {path:?}: size {size_s:?} is not a number");
            }
            let size: u64 = size_s
                .parse()
                .map_err(|_| anyhow::anyhow!("RECORD line {lineno}: bad size {size_s:?}"))?;
            rec.entries.insert(path, RecordEntry { hash, size });
        }
        Ok(rec)
    }
}

/// One CSV field as RECORD writers quote it (Python's csv module, minimal
/// quoting).
pub(crate) fn csv_quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// Split CSV text (Python's csv module dialect: `,` separated, `"` quoting
/// with `""` for a quote) into lines of fields. Lines end in `\n` or `\r\n`.
pub(crate) fn csv_lines(text: &str) -> Result<Vec<Vec<String>>> {
    let mut lines = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut at_field_start = true;
    let mut any = false;
    let mut line = 1;
    while let Some(c) = chars.next() {
        any = true;
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                    match chars.peek() {
                        None | Some(',') | Some('\n') | Some('\r') => {}
                        Some(_) => bail!("RECORD line {line}: text after a closing quote"),
                    }
                }
            } else {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
            }
            '"' => bail!("RECORD line {line}: quote inside an unquoted field"),
            ',' => {
                fields.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' => bail!("RECORD line {line}: bare carriage return"),
            '\n' => {
                fields.push(std::mem::take(&mut field));
                lines.push(std::mem::take(&mut fields));
                at_field_start = true;
                any = false;
                line += 1;
            }
            _ => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if quoted {
        bail!("RECORD line {line}: unterminated quote");
    }
    if any {
        fields.push(field);
        lines.push(fields);
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::b64url_encode;
    use proptest::prelude::*;

    #[test]
    fn parses_record() {
        let h = b64url_encode(&Sha256::digest(b"x"));
        let text = format!(
            "foo/__init__.py,sha256={h},1\n\"foo/a,b.py\",sha256={h},1\r\nfoo-1.0.dist-info/RECORD,,\n"
        );
        let r = Record::parse(text.as_bytes(), "foo-1.0.dist-info").unwrap();
        assert_eq!(r.entries.len(), 2);
        assert!(r.entries.contains_key("foo/a,b.py"));
        assert_eq!(r.unhashed, vec!["foo-1.0.dist-info/RECORD".to_string()]);
        let bad = format!("foo/x.py,md5={h},1\n");
        assert!(Record::parse(bad.as_bytes(), "foo-1.0.dist-info").is_err());
        let nohash = "foo/x.py,,1\n";
        assert!(Record::parse(nohash.as_bytes(), "foo-1.0.dist-info").is_err());
        let dup = format!("a,sha256={h},1\na,sha256={h},1\n");
        assert!(Record::parse(dup.as_bytes(), "foo-1.0.dist-info").is_err());
    }

    proptest! {
        #[test]
        fn record_parser_never_panics(s in "\\PC*") {
            let _ = Record::parse(s.as_bytes(), "a-1.dist-info");
        }

        #[test]
        fn record_parser_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Record::parse(&b, "a-1.dist-info");
        }

        #[test]
        fn record_mutations_never_panic(
            pos in 0usize..200, byte in any::<u8>(),
        ) {
            let h = b64url_encode(&Sha256::digest(b"x"));
            let mut text = format!("a/b.py,sha256={h},1\n\"q,\"\"x\",sha256={h},22\na-1.dist-info/RECORD,,\n").into_bytes();
            let p = pos % text.len();
            text[p] = byte;
            let _ = Record::parse(&text, "a-1.dist-info");
        }
    }
}
