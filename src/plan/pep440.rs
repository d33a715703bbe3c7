//! PEP 440 versions and version specifiers, as far as the dependency check
//! needs them: parse (with the spec's normalization of spellings), order, and
//! `contains` for `==`, `!=`, `<`, `<=`, `>`, `>=`, `~=`, `===` and the
//! `.*` wildcards, with the same rules `packaging.specifiers` applies to
//! local versions, pre- and post-releases. A pinned pre-release is accepted
//! by range specifiers (the lock chose it explicitly, as pip allows).
use std::cmp::Ordering;

use anyhow::{bail, Result};

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

fn take_num(s: &str) -> (Option<u64>, &str) {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if end == 0 {
        (None, s)
    } else {
        (s[..end].parse().ok(), &s[end..])
    }
}

fn strip_sep(s: &str) -> &str {
    s.strip_prefix(['.', '-', '_']).unwrap_or(s)
}

impl Version {
    pub fn parse(input: &str) -> Result<Version> {
        let bad = || anyhow::anyhow!("{input:?} is not a PEP 440 version");
        let lower = input.trim().to_ascii_lowercase();
        let mut s = lower.strip_prefix('v').unwrap_or(&lower);
        let (public, local) = match s.split_once('+') {
            Some((p, l)) => (p, Some(l)),
            None => (s, None),
        };
        s = public;
        let mut epoch = 0;
        if let Some((e, rest)) = s.split_once('!') {
            epoch = e.parse().map_err(|_| bad())?;
            s = rest;
        }
        let mut release = Vec::new();
        loop {
            let (n, rest) = take_num(s);
            let n = n.ok_or_else(bad)?;
            release.push(n);
            s = rest;
            match s.strip_prefix('.') {
                Some(r) if r.starts_with(|c: char| c.is_ascii_digit()) => s = r,
                _ => break,
            }
        }
        let mut pre = None;
        let t = strip_sep(s);
        for (words, kind) in [
            (&["alpha", "a"][..], 0u8),
            (&["beta", "b"][..], 1),
            (&["preview", "pre", "rc", "c"][..], 2),
        ] {
            if let Some(w) = words.iter().find(|w| t.starts_with(**w)) {
                let (n, rest) = take_num(strip_sep(&t[w.len()..]));
                pre = Some((kind, n.unwrap_or(0)));
                s = rest;
                break;
            }
        }
        let mut post = None;
        if let Some(rest) = s
            .strip_prefix('-')
            .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        {
            let (n, rest) = take_num(rest);
            post = n;
            s = rest;
        } else {
            let t = strip_sep(s);
            if let Some(w) = ["post", "rev", "r"].iter().find(|w| t.starts_with(**w)) {
                let (n, rest) = take_num(strip_sep(&t[w.len()..]));
                post = Some(n.unwrap_or(0));
                s = rest;
            }
        }
        let mut dev = None;
        let t = strip_sep(s);
        if let Some(rest) = t.strip_prefix("dev") {
            let (n, rest) = take_num(strip_sep(rest));
            dev = Some(n.unwrap_or(0));
            s = rest;
        }
        if !s.is_empty() {
            return Err(bad());
        }
        let mut local_parts = Vec::new();
        if let Some(l) = local {
            for part in l.split(['.', '-', '_']) {
                if part.is_empty() || !part.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(bad());
                }
                local_parts.push(match part.parse::<u64>() {
                    Ok(n) => LocalPart::Num(n),
                    Err(_) => LocalPart::Str(part.to_string()),
                });
            }
        }
        Ok(Version {
            epoch,
            release,
            pre,
            post,
            dev,
            local: local_parts,
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

    fn key(&self) -> impl Ord + '_ {
        let mut rel: &[u64] = &self.release;
        while rel.len() > 1 && rel.last() == Some(&0) {
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
        (self.epoch, rel.to_vec(), pre, post, dev, local)
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

/// One clause of a specifier set.
#[derive(Debug, Clone)]
pub struct Specifier {
    pub op: String,
    pub version: String,
}

/// Parse `>=1.0, <2` (commas separate clauses; whitespace is ignored).
pub fn parse_specifiers(s: &str) -> Result<Vec<Specifier>> {
    let mut out = Vec::new();
    for clause in s.split(',') {
        let c: String = clause.chars().filter(|c| !c.is_whitespace()).collect();
        if c.is_empty() {
            if s.trim().is_empty() {
                continue;
            }
            bail!("empty clause in version specifier {s:?}");
        }
        let op = ["===", "~=", "==", "!=", "<=", ">=", "<", ">"]
            .iter()
            .find(|op| c.starts_with(**op))
            .ok_or_else(|| anyhow::anyhow!("{c:?} has no comparison operator"))?;
        let v = &c[op.len()..];
        if v.is_empty() {
            bail!("{c:?} has no version");
        }
        if *op != "===" {
            let plain = v.strip_suffix(".*").unwrap_or(v);
            Version::parse(plain)?;
            if v.ends_with(".*") && *op != "==" && *op != "!=" {
                bail!("{c:?}: '.*' is only allowed with == and !=");
            }
            if *op == "~=" && Version::parse(v)?.release.len() < 2 {
                bail!("{c:?}: ~= needs at least two release components");
            }
        }
        out.push(Specifier {
            op: op.to_string(),
            version: v.to_string(),
        });
    }
    Ok(out)
}

fn prefix_match(candidate: &Version, spec: &str) -> Result<bool> {
    let s = Version::parse(spec)?;
    let c = candidate.public();
    if c.epoch != s.epoch {
        return Ok(false);
    }
    // Compare the spec's release (and any pre/post/dev it names) as a prefix.
    let n = s.release.len();
    let mut crel = c.release.clone();
    crel.resize(crel.len().max(n), 0);
    if crel[..n] != s.release[..] {
        return Ok(false);
    }
    if s.pre.is_some() || s.post.is_some() || s.dev.is_some() {
        let trimmed = Version {
            release: crel[..n].to_vec(),
            ..c.clone()
        };
        return Ok(
            (trimmed.pre, trimmed.post, trimmed.dev) == (s.pre, s.post, s.dev)
                || (s.dev.is_none() && (trimmed.pre, trimmed.post) == (s.pre, s.post)),
        );
    }
    Ok(true)
}

impl Specifier {
    /// Whether `v` (an installed, pinned version) satisfies this clause.
    pub fn contains(&self, v: &Version, raw: &str) -> Result<bool> {
        let spec = &self.version;
        Ok(match self.op.as_str() {
            "===" => raw.eq_ignore_ascii_case(spec),
            "==" => match spec.strip_suffix(".*") {
                Some(p) => prefix_match(v, p)?,
                None => {
                    let s = Version::parse(spec)?;
                    if s.local.is_empty() {
                        v.public() == s
                    } else {
                        *v == s
                    }
                }
            },
            "!=" => match spec.strip_suffix(".*") {
                Some(p) => !prefix_match(v, p)?,
                None => {
                    let s = Version::parse(spec)?;
                    if s.local.is_empty() {
                        v.public() != s
                    } else {
                        *v != s
                    }
                }
            },
            "~=" => {
                let s = Version::parse(spec)?;
                let mut prefix: Vec<String> = s.release.iter().map(|n| n.to_string()).collect();
                prefix.pop();
                let p = format!(
                    "{}{}",
                    if s.epoch > 0 {
                        format!("{}!", s.epoch)
                    } else {
                        String::new()
                    },
                    prefix.join(".")
                );
                v.public() >= s && prefix_match(v, &p)?
            }
            "<=" => v.public() <= Version::parse(spec)?,
            ">=" => v.public() >= Version::parse(spec)?,
            "<" => {
                let s = Version::parse(spec)?;
                v.public() < s && !(!s.is_prerelease() && v.is_prerelease() && v.base() == s.base())
            }
            ">" => {
                let s = Version::parse(spec)?;
                v.public() > s
                    && !(s.post.is_none() && v.post.is_some() && v.base() == s.base())
                    && (v.local.is_empty() || v.base() != s.base())
            }
            other => bail!("unknown operator {other}"),
        })
    }
}

/// Whether `version` satisfies every clause.
pub fn satisfies(version: &str, specs: &[Specifier]) -> Result<bool> {
    let v = Version::parse(version)?;
    for s in specs {
        if !s.contains(&v, version)? {
            return Ok(false);
        }
    }
    Ok(true)
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
        for bad in ["", "a", "1.0x", "1..0", "1.0+", "1.0+a b"] {
            assert!(Version::parse(bad).is_err(), "{bad}");
        }
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
        assert!(!sat("1.0rc1", "<1.0"));
        assert!(sat("0.9", "<1.0"));
        assert!(!sat("1.0.post1", ">1.0"));
        assert!(sat("1.1", ">1.0"));
        assert!(sat("1.0.post1", ">=1.0"));
        assert!(sat("1.0", "===1.0"));
        assert!(!sat("1.0.0", "===1.0"));
        assert!(sat("2.0rc1", ">=1.0"));
        for bad in [">=", "1.0", ">=1.*", "~=1", ">=1,,<2"] {
            assert!(parse_specifiers(bad).is_err(), "{bad}");
        }
    }
}
