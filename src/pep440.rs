//! PEP 440, the one implementation every part of venvdeb uses (plan,
//! markers, wheel names, release backends, lock): versions (parse with the
//! spec's spelling normalizations, order, print in normal form) and version
//! specifiers (`==`, `!=`, `<`, `<=`, `>`, `>=`, `~=`, `===`, `.*`).
//!
//! It follows `packaging.version` / `packaging.specifiers` (checked by the
//! differential test in `tests/pep_differential.rs` against Debian's
//! python3-packaging), with two deliberate choices:
//! - a number that does not fit 64 bits is an error, never 0 or dropped;
//! - `contains` accepts pre-releases (packaging's `prereleases=True`): a
//!   pinned pre-release was chosen explicitly, as pip allows, and markers
//!   evaluate that way in packaging too.
use std::cmp::Ordering;
use std::fmt;

use anyhow::{anyhow, Result};

/// A parsed version.
#[derive(Debug, Clone)]
pub struct Version {
    pub epoch: u64,
    pub release: Vec<u64>,
    /// (0 = a, 1 = b, 2 = rc, number)
    pub pre: Option<(u8, u64)>,
    pub post: Option<u64>,
    pub dev: Option<u64>,
    pub local: Vec<LocalPart>,
}

/// A segment of a local version label: numbers sort after strings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum LocalPart {
    Str(String),
    Num(u64),
}

/// Python's `\s` (what packaging's regexes trim).
pub fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// A cursor over the lowercased version text.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self, k: usize) -> Option<u8> {
        self.b.get(self.i + k).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        let ok = self.peek(0) == Some(c);
        self.i += ok as usize;
        ok
    }
    fn eat_sep(&mut self) {
        if matches!(self.peek(0), Some(b'.' | b'-' | b'_')) {
            self.i += 1;
        }
    }
    /// Digits, if any, as a number; too large is an error.
    fn num(&mut self) -> Result<Option<u64>> {
        let start = self.i;
        while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        if start == self.i {
            return Ok(None);
        }
        let digits = std::str::from_utf8(&self.b[start..self.i]).unwrap_or("");
        digits
            .parse()
            .map(Some)
            .map_err(|_| anyhow!("version number {digits} does not fit 64 bits"))
    }
    /// `[-_.]? word [-_.]? digits?` for the first word that matches.
    fn segment(&mut self, words: &[(&str, u8)]) -> Result<Option<(u8, u64)>> {
        let start = self.i;
        self.eat_sep();
        for (w, kind) in words {
            if self.b[self.i..].starts_with(w.as_bytes()) {
                self.i += w.len();
                self.eat_sep();
                return Ok(Some((*kind, self.num()?.unwrap_or(0))));
            }
        }
        self.i = start;
        Ok(None)
    }
}

impl Version {
    /// Parse a version as `packaging.version.Version` does.
    pub fn parse(input: &str) -> Result<Version> {
        let bad = || anyhow!("{input:?} is not a PEP 440 version");
        let text = input.trim_matches(is_py_space);
        if !text.is_ascii() {
            return Err(bad());
        }
        let lower = text.to_ascii_lowercase();
        let mut c = Cursor {
            b: lower.as_bytes(),
            i: 0,
        };
        c.eat(b'v');
        let first = c.num()?.ok_or_else(bad)?;
        let (epoch, mut release) = if c.eat(b'!') {
            (first, vec![c.num()?.ok_or_else(bad)?])
        } else {
            (0, vec![first])
        };
        while c.peek(0) == Some(b'.') && c.peek(1).is_some_and(|d| d.is_ascii_digit()) {
            c.i += 1;
            release.push(c.num()?.ok_or_else(bad)?);
        }
        let pre = c.segment(&[
            ("alpha", 0),
            ("a", 0),
            ("beta", 1),
            ("b", 1),
            ("preview", 2),
            ("pre", 2),
            ("rc", 2),
            ("c", 2),
        ])?;
        let post = if c.peek(0) == Some(b'-') && c.peek(1).is_some_and(|d| d.is_ascii_digit()) {
            c.i += 1;
            c.num()?
        } else {
            c.segment(&[("post", 0), ("rev", 0), ("r", 0)])?
                .map(|p| p.1)
        };
        let dev = c.segment(&[("dev", 0)])?.map(|d| d.1);
        let mut local = Vec::new();
        if c.eat(b'+') {
            for part in lower[c.i..].split(['.', '-', '_']) {
                if part.is_empty() || !part.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(bad());
                }
                local.push(if part.bytes().all(|b| b.is_ascii_digit()) {
                    let mut d = Cursor {
                        b: part.as_bytes(),
                        i: 0,
                    };
                    LocalPart::Num(d.num()?.unwrap_or(0))
                } else {
                    LocalPart::Str(part.to_string())
                });
            }
            c.i = c.b.len();
        }
        if c.i != c.b.len() {
            return Err(bad());
        }
        Ok(Version {
            epoch,
            release,
            pre,
            post,
            dev,
            local,
        })
    }

    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }

    /// The version without its local label.
    pub fn public(&self) -> Version {
        Version {
            local: Vec::new(),
            ..self.clone()
        }
    }

    /// Epoch and release only.
    pub fn base(&self) -> Version {
        Version {
            epoch: self.epoch,
            release: self.release.clone(),
            pre: None,
            post: None,
            dev: None,
            local: Vec::new(),
        }
    }

    /// packaging's `canonicalize_version`: the normal form with trailing
    /// `.0` release segments dropped (`1.0.0` and `1` are the same version).
    pub fn canonical(&self) -> String {
        let mut v = self.clone();
        while v.release.len() > 1 && v.release.last() == Some(&0) {
            v.release.pop();
        }
        v.to_string()
    }

    fn key(&self) -> impl Ord + '_ {
        let mut rel: &[u64] = &self.release;
        while rel.last() == Some(&0) {
            rel = &rel[..rel.len() - 1];
        }
        // pre: dev-only releases sort before any pre-release; none after.
        let pre: (i8, u64) = match (self.pre, self.post, self.dev) {
            (None, None, Some(_)) => (-1, 0),
            (Some((k, n)), _, _) => (k as i8, n),
            _ => (3, 0),
        };
        let post: (i8, u64) = self.post.map_or((-1, 0), |p| (0, p));
        let dev: (i8, u64) = self.dev.map_or((1, 0), |d| (0, d));
        let local: (bool, &[LocalPart]) = (!self.local.is_empty(), &self.local);
        (self.epoch, rel, pre, post, dev, local)
    }

    /// Whether the release starts with `prefix` (zero-padded) in the same
    /// epoch: the `==X.*` rule.
    fn has_prefix(&self, epoch: u64, prefix: &[u64]) -> bool {
        self.epoch == epoch
            && prefix
                .iter()
                .enumerate()
                .all(|(i, p)| self.release.get(i).copied().unwrap_or(0) == *p)
    }
}

/// The normal form (`str(Version)` in packaging).
impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.epoch != 0 {
            write!(f, "{}!", self.epoch)?;
        }
        let rel: Vec<String> = self.release.iter().map(u64::to_string).collect();
        f.write_str(&rel.join("."))?;
        if let Some((k, n)) = self.pre {
            write!(f, "{}{n}", ["a", "b", "rc"][k as usize])?;
        }
        if let Some(n) = self.post {
            write!(f, ".post{n}")?;
        }
        if let Some(n) = self.dev {
            write!(f, ".dev{n}")?;
        }
        for (i, part) in self.local.iter().enumerate() {
            f.write_str(if i == 0 { "+" } else { "." })?;
            match part {
                LocalPart::Str(s) => f.write_str(s)?,
                LocalPart::Num(n) => write!(f, "{n}")?,
            }
        }
        Ok(())
    }
}

impl PartialEq for Version {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Version {}
impl PartialOrd for Version {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Version {
    fn cmp(&self, o: &Self) -> Ordering {
        self.key().cmp(&o.key())
    }
}

/// A canonical form for equality of versions as written in file names and
/// METADATA ([`Version::canonical`]); text that is not a PEP 440 version
/// comes back trimmed and lowercased (it then only equals itself).
pub fn canonical_version(v: &str) -> String {
    match Version::parse(v) {
        Ok(p) => p.canonical(),
        Err(_) => v.trim().to_ascii_lowercase(),
    }
}

/// A specifier's comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Compatible,
    Equal,
    NotEqual,
    LessEqual,
    GreaterEqual,
    Less,
    Greater,
    Arbitrary,
}

/// Longest first, as the operator is read.
pub const OPS: [(&str, Op); 8] = [
    ("===", Op::Arbitrary),
    ("~=", Op::Compatible),
    ("==", Op::Equal),
    ("!=", Op::NotEqual),
    ("<=", Op::LessEqual),
    (">=", Op::GreaterEqual),
    ("<", Op::Less),
    (">", Op::Greater),
];

/// One clause of a specifier set.
#[derive(Debug, Clone)]
pub struct Specifier {
    pub op: Op,
    /// The version as written (trimmed), `.*` included.
    pub version: String,
    /// Parsed (without `.*`); `None` for `===`.
    parsed: Option<Version>,
    wildcard: bool,
}

impl Specifier {
    /// Parse one clause (`>=1.0`, `== 1.4.*`) with packaging's grammar: `.*`
    /// and local labels only after `==`/`!=`, two release numbers for `~=`.
    pub fn parse(clause: &str) -> Result<Specifier> {
        let bad = |why: &str| anyhow!("invalid version specifier {clause:?}: {why}");
        let c = clause.trim_matches(is_py_space);
        let (sym, op) = OPS
            .iter()
            .find(|(s, _)| c.starts_with(s))
            .ok_or_else(|| bad("no comparison operator"))?;
        let version = c[sym.len()..].trim_start_matches(is_py_space);
        if *op == Op::Arbitrary {
            if version.contains(|ch: char| is_py_space(ch) || ch == ';' || ch == ')') {
                return Err(bad("=== takes one word"));
            }
            return Ok(Specifier {
                op: *op,
                version: version.to_string(),
                parsed: None,
                wildcard: false,
            });
        }
        let prefix = version.strip_suffix(".*");
        let wildcard = prefix.is_some();
        let parsed = Version::parse(prefix.unwrap_or(version)).map_err(|e| bad(&e.to_string()))?;
        let eq = matches!(op, Op::Equal | Op::NotEqual);
        if wildcard {
            let plain = parsed.pre.is_none() && parsed.post.is_none() && parsed.dev.is_none();
            if !eq
                || !plain
                || !parsed.local.is_empty()
                || !prefix.unwrap().ends_with(|ch: char| ch.is_ascii_digit())
            {
                return Err(bad("'.*' follows a release number, after == or != only"));
            }
        }
        if !eq && !parsed.local.is_empty() {
            return Err(bad("a local version label only after == or !="));
        }
        if *op == Op::Compatible && parsed.release.len() < 2 {
            return Err(bad("~= needs at least two release numbers"));
        }
        Ok(Specifier {
            op: *op,
            version: version.to_string(),
            parsed: Some(parsed),
            wildcard,
        })
    }

    /// Whether `v` satisfies this clause (pre-releases accepted).
    pub fn contains(&self, v: &Version) -> bool {
        let Some(s) = &self.parsed else {
            return v.to_string().to_lowercase() == self.version.to_lowercase();
        };
        let same_base = || v.base() == s.base();
        match self.op {
            Op::Equal | Op::NotEqual => {
                let eq = if self.wildcard {
                    v.has_prefix(s.epoch, &s.release)
                } else if s.local.is_empty() {
                    v.public() == *s
                } else {
                    v == s
                };
                eq == (self.op == Op::Equal)
            }
            Op::Compatible => {
                v.public() >= *s && v.has_prefix(s.epoch, &s.release[..s.release.len() - 1])
            }
            Op::LessEqual => v.public() <= *s,
            Op::GreaterEqual => v.public() >= *s,
            Op::Less => v < s && !(!s.is_prerelease() && v.is_prerelease() && same_base()),
            Op::Greater => {
                v > s
                    && !(s.post.is_none() && v.post.is_some() && same_base())
                    && (v.local.is_empty() || !same_base())
            }
            Op::Arbitrary => unreachable!("=== has no parsed version"),
        }
    }
}

/// Parse a specifier set (`>=1.0, <2`), as `packaging.specifiers.SpecifierSet`:
/// clauses separated by commas, blank clauses ignored.
pub fn parse_specifiers(s: &str) -> Result<Vec<Specifier>> {
    s.split(',')
        .filter(|c| !c.trim_matches(is_py_space).is_empty())
        .map(Specifier::parse)
        .collect()
}

/// Whether `version` satisfies every clause.
pub fn satisfies(version: &str, specs: &[Specifier]) -> Result<bool> {
    let v = Version::parse(version)?;
    Ok(specs.iter().all(|s| s.contains(&v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn ordering() {
        let order = [
            "1.0.dev1",
            "1.0a1.dev1",
            "1.0a1",
            "1.0b2",
            "1.0rc1",
            "1.0",
            "1.0+local",
            "1.0.post1.dev1",
            "1.0.post1",
            "1.1",
            "1!0.1",
        ];
        for w in order.windows(2) {
            assert!(v(w[0]) < v(w[1]), "{} < {}", w[0], w[1]);
        }
        assert_eq!(v("1.0"), v("1.0.0"));
        assert_eq!(v("1.0alpha1"), v("1.0a1"));
        assert_eq!(v("1.0-1"), v("1.0.post1"));
        assert_eq!(v("1.0c1"), v("1.0rc1"));
        assert_eq!(v("V1.0"), v("1.0"));
        for bad in ["", "a", "1.0x", "1..0", "1.0+", "1.0+a b", "1.0--1"] {
            assert!(Version::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn normal_and_canonical_forms() {
        assert_eq!(v("v1.0RC1").to_string(), "1.0rc1");
        assert_eq!(canonical_version("v1.0RC1"), "1rc1");
        assert_eq!(canonical_version("1.0-1"), "1.post1");
        assert_eq!(canonical_version("1.0.post"), "1.post0");
        assert_eq!(canonical_version("1.0a.dev2"), "1a0.dev2");
        assert_eq!(canonical_version("2020.01+Ubuntu-01"), "2020.1+ubuntu.1");
        assert_eq!(canonical_version("0!1.10"), "1.10");
        assert_eq!(canonical_version("1.0"), canonical_version("1.0.0"));
        assert_ne!(canonical_version("1.0"), canonical_version("1.0.1"));
        assert_eq!(canonical_version("Not A Version"), "not a version");
    }

    /// Issue 12: `take_num` turned an overflowing number into 0 or dropped it.
    #[test]
    fn overflowing_numbers_are_errors_not_zero() {
        for s in [
            "99999999999999999999",
            "1.99999999999999999999",
            "1.0rc99999999999999999999",
            "1.0.post99999999999999999999",
            "1.0.dev99999999999999999999",
            "99999999999999999999!1.0",
            "1.0+99999999999999999999",
        ] {
            let e = Version::parse(s).unwrap_err().to_string();
            assert!(e.contains("does not fit 64 bits"), "{s}: {e}");
        }
        assert!(Specifier::parse(">=1.99999999999999999999").is_err());
    }

    fn sat(version: &str, spec: &str) -> bool {
        satisfies(version, &parse_specifiers(spec).unwrap()).unwrap()
    }

    #[test]
    fn specifiers() {
        assert!(sat("3.3.2", "<4,>=3.0"));
        assert!(!sat("4.0", "<4,>=3.0"));
        assert!(sat("0.3.0", "~=0.3.0"));
        assert!(sat("0.3.9", "~=0.3.0"));
        assert!(!sat("0.4.0", "~=0.3.0"));
        assert!(sat("2.2", "~=2.1"));
        assert!(!sat("3.0", "~=2.1"));
        assert!(sat("1.4.5", "==1.4.*"));
        assert!(sat("1.4", "==1.4.*"));
        assert!(!sat("1.5", "==1.4.*"));
        assert!(sat("1.5", "!=1.4.*"));
        assert!(sat("1.0+local", "==1.0"));
        assert!(!sat("1.0+local", "==1.0+other"));
        assert!(sat("1.0", ""));
        assert!(sat("0.9", "<1.0"));
        assert!(!sat("1.0.post1", ">1.0"));
        assert!(sat("1.1", ">1.0"));
        assert!(sat("1.0.post1", ">=1.0"));
        assert!(sat("1.0", "===1.0"));
        assert!(!sat("1.0.0", "===1.0"));
        assert!(sat("2.0rc1", ">=1.0"));
        assert!(sat("1.0", ">= 1.0 , < 2"));
        for bad in [
            ">=",
            "1.0",
            ">=1.*",
            "~=1",
            "==1.0a1.*",
            ">=1.0+local",
            "~=1.0+l",
            "> = 1",
            "==1.0 .*",
        ] {
            assert!(parse_specifiers(bad).is_err(), "{bad}");
        }
    }

    /// Issue 12 divergences 1 and 3: a pre-release of the bound is not below
    /// it, and prefix matching keeps the epoch.
    #[test]
    fn issue_12_divergences() {
        assert!(!sat("1.0rc1", "<1.0"));
        assert!(sat("1.0rc1", "<1.0rc2"));
        assert!(sat("0.9rc1", "<1.0"));
        assert!(!sat("2!1.5", "==1.*"));
        assert!(sat("2!1.5", "==2!1.*"));
        assert!(sat("2!1.5", "!=1.*"));
        assert!(!sat("2!1.5", "~=1.4"));
    }
}
