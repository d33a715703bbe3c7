//! The application's lock: pip's hash-pinned `requirements.txt`
//! (`--require-hashes` style) or PEP 751 `pylock.toml`. Both become a list of
//! [`LockedRequirement`]s: an exact name and version, its marker, and the
//! hashes (sha256 or stronger) of the wheels it accepts.
use anyhow::Result;

use crate::exit::verification;
use crate::pep440::Op;
use crate::pep508::{is_valid_name, normalize_name, shown, Marker, MarkerEnv, Requirement};
use crate::wheel::record::HashValue;

/// One accepted hash, with the wheel file name and size when the lock
/// gives them (pylock.toml does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LockedHash {
    pub hash: HashValue,
    pub file_name: Option<String>,
    pub size: Option<u64>,
}

/// One pinned requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LockedRequirement {
    /// The name as written.
    pub name: String,
    /// PEP 503 normalized.
    pub normalized: String,
    pub version: String,
    pub extras: Vec<String>,
    pub marker: Option<String>,
    pub hashes: Vec<LockedHash>,
    /// Where it came from (`requirements.txt line 4`, `pylock.toml packages[2]`).
    pub origin: String,
}

impl LockedRequirement {
    /// Whether the marker (if any) holds in `env`.
    pub(crate) fn applies(&self, env: &MarkerEnv) -> Result<bool> {
        match &self.marker {
            None => Ok(true),
            Some(m) => Marker::parse(m)
                .and_then(|mk| mk.evaluate(env, &[]))
                .map_err(|e| verification(format!("{}: marker {}: {e}", self.origin, shown(m)))),
        }
    }
}

/// Parse a lock file, choosing the format by content: TOML with
/// `lock-version` is pylock.toml, anything else requirements.txt.
pub(crate) fn parse_lock(bytes: &[u8], what: &str) -> Result<Vec<LockedRequirement>> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| verification(format!("{what}: not valid UTF-8 ({e})")))?;
    let is_pylock = what.ends_with(".toml")
        || text
            .lines()
            .any(|l| l.trim_start().starts_with("lock-version"));
    if is_pylock {
        parse_pylock(text, what)
    } else {
        parse_requirements(text, what)
    }
}

/// Global options that may appear in a hash-pinned requirements file and
/// do not change which bytes are accepted (venvdeb never downloads).
const HARMLESS_OPTIONS: &[&str] = &[
    "--index-url",
    "-i",
    "--extra-index-url",
    "--find-links",
    "-f",
    "--trusted-host",
    "--no-index",
    "--require-hashes",
    "--prefer-binary",
    "--only-binary",
    "--pre",
];

/// The logical lines of a requirements file, as pip joins them: comments
/// (`#` at the start or after whitespace) dropped, `\` continuations joined;
/// each with the number of the line it starts on, and whether the file ends
/// inside a continuation. (The release side's pin lists read the same way.)
pub(crate) fn logical_lines(text: &str) -> (Vec<(usize, String)>, bool) {
    let mut logical: Vec<(usize, String)> = Vec::new();
    let mut cur: Option<(usize, String)> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let (start, mut acc) = cur.take().unwrap_or((i + 1, String::new()));
        let line = strip_comment(raw);
        if let Some(body) = line.strip_suffix('\\') {
            acc.push_str(body);
            acc.push(' ');
            cur = Some((start, acc));
        } else {
            acc.push_str(line);
            logical.push((start, acc));
        }
    }
    let unfinished = cur.is_some();
    logical.extend(cur);
    (logical, unfinished)
}

/// Parse pip's requirements format with every requirement pinned and hashed.
pub(crate) fn parse_requirements(text: &str, what: &str) -> Result<Vec<LockedRequirement>> {
    let (logical, _) = logical_lines(text);
    let mut reqs = Vec::new();
    for (line, text) in logical {
        let origin = format!("{what} line {line}");
        let bad = |msg: String| verification(format!("{origin}: {msg}"));
        let tokens: Vec<&str> = text.split_whitespace().collect();
        if tokens.is_empty() {
            continue;
        }
        let opt_start = tokens
            .iter()
            .position(|t| t.starts_with('-'))
            .unwrap_or(tokens.len());
        if opt_start == 0 {
            let opt = tokens[0].split('=').next().unwrap_or("");
            if HARMLESS_OPTIONS.contains(&opt) {
                continue;
            }
            return Err(bad(match opt {
                "-e" | "--editable" => {
                    "editable requirement (-e): expected name==version with --hash".into()
                }
                "-r" | "--requirement" | "-c" | "--constraint" => {
                    format!("{opt}: included files are not supported: expected every requirement in this file")
                }
                _ => format!("option {opt:?}: expected name==version with --hash"),
            }));
        }
        let spec = tokens[..opt_start].join(" ");
        let mut hashes = Vec::new();
        let mut i = opt_start;
        while i < tokens.len() {
            let t = tokens[i];
            let value = if let Some(v) = t.strip_prefix("--hash=") {
                v
            } else if t == "--hash" {
                i += 1;
                tokens
                    .get(i)
                    .copied()
                    .ok_or_else(|| bad("--hash without a value".into()))?
            } else {
                return Err(bad(format!(
                    "option {t:?} on a requirement: expected only --hash"
                )));
            };
            let (alg, hex) = value
                .split_once(':')
                .ok_or_else(|| bad(format!("--hash={value}: expected algorithm:hexdigest")))?;
            let hash = HashValue::from_hex(alg, hex).map_err(|e| bad(format!("--hash: {e}")))?;
            hashes.push(LockedHash {
                hash,
                file_name: None,
                size: None,
            });
            i += 1;
        }
        let (name, extras, version, marker) = parse_pinned(&spec).map_err(bad)?;
        if hashes.is_empty() {
            return Err(bad(format!(
                "{name}=={version} has no --hash: expected every requirement hashed (sha256 or stronger)"
            )));
        }
        reqs.push(LockedRequirement {
            normalized: normalize_name(&name),
            name,
            version,
            extras,
            marker,
            hashes,
            origin,
        });
    }
    if reqs.is_empty() {
        return Err(verification(format!(
            "{what}: expected at least one requirement, found none"
        )));
    }
    Ok(reqs)
}

fn strip_comment(line: &str) -> &str {
    if line.trim_start().starts_with('#') {
        return "";
    }
    let b = line.as_bytes();
    for i in 1..b.len() {
        if b[i] == b'#' && b[i - 1].is_ascii_whitespace() {
            return &line[..i];
        }
    }
    line
}

type Pinned = (String, Vec<String>, String, Option<String>);

/// `name[extras]==version ; marker` → parts; anything not pinned with `==`
/// is an error.
fn parse_pinned(spec: &str) -> std::result::Result<Pinned, String> {
    let req = spec.split(';').next().unwrap_or("").trim();
    if req.contains("://") || req.contains(" @ ") || req.contains('@') {
        return Err(format!(
            "{req:?}: URL or VCS requirement: expected name==version with --hash"
        ));
    }
    let r = Requirement::parse(spec).map_err(|e| format!("{e:#}"))?;
    let pin = match r.specifiers.as_slice() {
        [s] if s.op == Op::Equal && !s.version.ends_with(".*") => s,
        _ => {
            return Err(format!(
                "{req:?}: not pinned: expected name==version (ranges and unpinned requirements are refused)"
            ))
        }
    };
    Ok((
        r.written_name,
        r.written_extras,
        pin.version.clone(),
        r.marker,
    ))
}

/// Parse a PEP 751 `pylock.toml`.
pub(crate) fn parse_pylock(text: &str, what: &str) -> Result<Vec<LockedRequirement>> {
    let bad = |msg: String| verification(format!("{what}: {msg}"));
    let doc: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| bad(format!("not valid TOML: {}", e.message())))?;
    match doc.get("lock-version").and_then(|v| v.as_str()) {
        Some(v) if v == "1.0" || v.starts_with("1.") => {}
        Some(v) => return Err(bad(format!("lock-version expected 1.x, found {v:?}"))),
        None => return Err(bad("lock-version expected \"1.0\", found none".into())),
    }
    let packages = doc
        .get("packages")
        .and_then(|p| p.as_array())
        .ok_or_else(|| bad("expected a [[packages]] array, found none".into()))?;
    let mut reqs = Vec::new();
    for (i, pkg) in packages.iter().enumerate() {
        let origin = format!("{what} packages[{i}]");
        let pbad = |msg: String| verification(format!("{origin}: {msg}"));
        let pkg = pkg
            .as_table()
            .ok_or_else(|| pbad("expected a table".into()))?;
        let name = pkg
            .get("name")
            .and_then(|v| v.as_str())
            .ok_or_else(|| pbad("expected a name, found none".into()))?;
        if !is_valid_name(name) {
            return Err(pbad(format!("invalid name {name:?}")));
        }
        let origin = format!("{origin} ({name})");
        let pbad = |msg: String| verification(format!("{origin}: {msg}"));
        let version = pkg.get("version").and_then(|v| v.as_str()).ok_or_else(|| {
            pbad("expected a version, found none (only pinned wheels are installed)".into())
        })?;
        for src in ["vcs", "directory", "archive"] {
            if pkg.contains_key(src) {
                return Err(pbad(format!(
                    "{src} source: expected wheels (venvdeb installs wheels only)"
                )));
            }
        }
        let marker = match pkg.get("marker") {
            None => None,
            Some(v) => {
                let m = v
                    .as_str()
                    .ok_or_else(|| pbad("marker must be a string".into()))?;
                Marker::parse(m).map_err(|e| pbad(e.to_string()))?;
                Some(m.to_string())
            }
        };
        let wheels = match pkg.get("wheels").and_then(|w| w.as_array()) {
            Some(w) if !w.is_empty() => w,
            _ if pkg.contains_key("sdist") => {
                return Err(pbad(
                    "only an sdist: expected wheels (venvdeb installs wheels only)".into(),
                ))
            }
            _ => return Err(pbad("expected wheels, found none".into())),
        };
        let mut hashes = Vec::new();
        for (j, w) in wheels.iter().enumerate() {
            let wbad = |msg: String| verification(format!("{origin} wheels[{j}]: {msg}"));
            let w = w
                .as_table()
                .ok_or_else(|| wbad("expected a table".into()))?;
            let file_name = match w.get("name") {
                Some(n) => Some(
                    n.as_str()
                        .ok_or_else(|| wbad("name must be a string".into()))?
                        .to_string(),
                ),
                None => w
                    .get("url")
                    .or_else(|| w.get("path"))
                    .and_then(|u| u.as_str())
                    .and_then(|u| u.rsplit('/').next())
                    .map(str::to_string),
            };
            let size = match w.get("size") {
                None => None,
                Some(s) => Some(
                    s.as_integer()
                        .and_then(|n| u64::try_from(n).ok())
                        .ok_or_else(|| wbad("size must be a non-negative integer".into()))?,
                ),
            };
            let h = w
                .get("hashes")
                .and_then(|h| h.as_table())
                .ok_or_else(|| wbad("expected hashes, found none".into()))?;
            let mut any = false;
            for (alg, hex) in h {
                let hex = hex
                    .as_str()
                    .ok_or_else(|| wbad(format!("hash {alg} must be a string")))?;
                let hash = HashValue::from_hex(alg, hex).map_err(|e| wbad(e.to_string()))?;
                hashes.push(LockedHash {
                    hash,
                    file_name: file_name.clone(),
                    size,
                });
                any = true;
            }
            if !any {
                return Err(wbad("expected at least one hash, found none".into()));
            }
        }
        reqs.push(LockedRequirement {
            name: name.to_string(),
            normalized: normalize_name(name),
            version: version.to_string(),
            extras: Vec::new(),
            marker,
            hashes,
            origin,
        });
    }
    if reqs.is_empty() {
        return Err(bad("expected at least one package, found none".into()));
    }
    Ok(reqs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const H: &str = "ab7ae7122974553370f0bdb919e1a960b2cd1bc1ef0276416d896db81c14582c";

    fn err(text: &str) -> String {
        let e = parse_requirements(text, "req.txt").unwrap_err();
        assert_eq!(crate::exit::code_for(&e), 3);
        format!("{e:#}")
    }

    #[test]
    fn requirements() {
        let text = format!(
            "# top\n--index-url https://example.invalid/simple\nFoo.Bar[x,y]==1.0 ; python_version >= \"3.8\" \\\n    --hash=sha256:{H} \\\n    --hash sha512:{}  # trailing\n\nidna==3.20 --hash=sha256:{H}\n",
            "00".repeat(64)
        );
        let r = parse_requirements(&text, "req.txt").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].normalized, "foo-bar");
        assert_eq!(r[0].extras, vec!["x", "y"]);
        assert_eq!(r[0].hashes.len(), 2);
        assert_eq!(r[0].origin, "req.txt line 3");
        assert_eq!(r[1].origin, "req.txt line 7");
        assert!(err(&format!("foo>=1.0 --hash=sha256:{H}\n")).contains("not pinned"));
        assert!(err("foo==1.0\n").contains("no --hash"));
        assert!(err(&format!("foo==1.0 --hash=md5:{}\n", &H[..32])).contains("too weak"));
        assert!(err(&format!("foo==1.0 --hash=sha1:{}\n", &H[..40])).contains("too weak"));
        assert!(
            err(&format!("-e git+https://x/y#egg=foo --hash=sha256:{H}\n")).contains("editable")
        );
        assert!(err(&format!("foo @ https://x/foo.whl --hash=sha256:{H}\n")).contains("URL"));
        assert!(err(&format!("foo==1.* --hash=sha256:{H}\n")).contains("not pinned"));
        assert!(err(&format!("foo==1.0,<2 --hash=sha256:{H}\n")).contains("not pinned"));
        assert!(err(&format!("-r other.txt\nfoo==1 --hash=sha256:{H}\n")).contains("line 1"));
        assert!(
            err(&format!("foo==1 --install-option=x --hash=sha256:{H}\n")).contains("only --hash")
        );
    }

    #[test]
    fn pylock() {
        let text = format!(
            r#"lock-version = "1.0"
created-by = "test"
[[packages]]
name = "Idna"
version = "3.20"
marker = "python_version >= '3.8'"
wheels = [{{ name = "idna-3.20-py3-none-any.whl", url = "https://x/idna-3.20-py3-none-any.whl", size = 10, hashes = {{ sha256 = "{H}" }} }}]
"#
        );
        let r = parse_pylock(&text, "pylock.toml").unwrap();
        assert_eq!(r[0].normalized, "idna");
        assert_eq!(
            r[0].hashes[0].file_name.as_deref(),
            Some("idna-3.20-py3-none-any.whl")
        );
        assert_eq!(r[0].hashes[0].size, Some(10));
        let sdist = format!(
            "lock-version = \"1.0\"\n[[packages]]\nname = \"a\"\nversion = \"1\"\nsdist = {{ name = \"a-1.tar.gz\", hashes = {{ sha256 = \"{H}\" }} }}\n"
        );
        let e = parse_pylock(&sdist, "pylock.toml").unwrap_err();
        assert!(format!("{e:#}").contains("only an sdist"));
        assert!(parse_pylock("lock-version = \"2.0\"\n", "p").is_err());
        assert!(parse_pylock("x = ", "p").is_err());
    }

    proptest! {
        #[test]
        fn requirements_never_panic(s in "\\PC{0,200}") {
            let _ = parse_requirements(&s, "r");
        }

        #[test]
        fn requirements_mutations_never_panic(pos in 0usize..300, byte in 0x20u8..0x7f) {
            let mut t = format!("foo[a]==1.0 ; python_version >= '3' \\\n  --hash=sha256:{H}\n").into_bytes();
            let p = pos % t.len();
            t[p] = byte;
            let _ = parse_lock(&t, "r");
        }

        #[test]
        fn pylock_never_panics(s in "\\PC{0,200}") {
            let _ = parse_pylock(&s, "p.toml");
        }

        #[test]
        fn pylock_mutations_never_panic(pos in 0usize..400, byte in 0x20u8..0x7f) {
            let mut t = format!("lock-version = \"1.0\"\n[[packages]]\nname = \"a\"\nversion = \"1\"\nwheels = [{{ name = \"a-1-py3-none-any.whl\", size = 3, hashes = {{ sha256 = \"{H}\" }} }}]\n").into_bytes();
            let p = pos % t.len();
            t[p] = byte;
            let _ = parse_lock(&t, "p.toml");
        }
    }
}
