//! PEP 508 environment markers: the marker environment of the target
//! interpreter (`MarkerEnv`, asked of the interpreter once) and a parser and
//! evaluator for marker expressions (`Marker`), with the PEP 440 version
//! ordering markers need.
use std::cmp::Ordering;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// The PEP 508 marker environment of one interpreter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkerEnv {
    pub implementation_name: String,
    pub implementation_version: String,
    pub os_name: String,
    pub platform_machine: String,
    pub platform_release: String,
    pub platform_system: String,
    pub platform_version: String,
    pub python_full_version: String,
    pub platform_python_implementation: String,
    pub python_version: String,
    pub sys_platform: String,
}

const QUERY: &str = r#"
import json, os, platform, sys
def fv(info):
    v = "{0.major}.{0.minor}.{0.micro}".format(info)
    if info.releaselevel != "final":
        v += info.releaselevel[0] + str(info.serial)
    return v
print(json.dumps({
    "implementation_name": sys.implementation.name,
    "implementation_version": fv(sys.implementation.version),
    "os_name": os.name,
    "platform_machine": platform.machine(),
    "platform_release": platform.release(),
    "platform_system": platform.system(),
    "platform_version": platform.version(),
    "python_full_version": platform.python_version(),
    "platform_python_implementation": platform.python_implementation(),
    "python_version": ".".join(platform.python_version_tuple()[:2]),
    "sys_platform": sys.platform,
}, sort_keys=True))
"#;

impl MarkerEnv {
    /// Run `python` once (isolated mode, no site, empty environment) and read
    /// its marker environment.
    pub fn query(python: &Path) -> Result<MarkerEnv> {
        let out = crate::venv::interpreter::output_with_timeout(
            Command::new(python)
                .args(["-I", "-S", "-c", QUERY])
                .env_clear()
                .env("LC_ALL", "C.UTF-8"),
            crate::venv::interpreter::QUERY_TIMEOUT,
            &format!("{} (reading its marker environment)", python.display()),
        )?;
        if !out.status.success() {
            bail!(
                "{} failed ({}) reading its marker environment: {}",
                python.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        serde_json::from_slice(&out.stdout).with_context(|| {
            format!(
                "parsing the marker environment printed by {}",
                python.display()
            )
        })
    }

    fn get(&self, var: &str) -> Option<&str> {
        Some(match var {
            "implementation_name" => &self.implementation_name,
            "implementation_version" => &self.implementation_version,
            "os_name" => &self.os_name,
            "platform_machine" => &self.platform_machine,
            "platform_release" => &self.platform_release,
            "platform_system" => &self.platform_system,
            "platform_version" => &self.platform_version,
            "python_full_version" => &self.python_full_version,
            "platform_python_implementation" => &self.platform_python_implementation,
            "python_version" => &self.python_version,
            "sys_platform" => &self.sys_platform,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Var(String),
    Str(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Eq,
    Ne,
    Ge,
    Gt,
    Compatible,
    Arbitrary,
    In,
    NotIn,
}

/// A parsed marker expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Marker {
    Compare(Value3),
    And(Box<Marker>, Box<Marker>),
    Or(Box<Marker>, Box<Marker>),
}

/// One `lhs op rhs` comparison (opaque outside this module).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value3 {
    lhs: Value,
    op: Op,
    rhs: Value,
}

const VARS: &[&str] = &[
    "implementation_name",
    "implementation_version",
    "os_name",
    "platform_machine",
    "platform_release",
    "platform_system",
    "platform_version",
    "python_full_version",
    "platform_python_implementation",
    "python_version",
    "sys_platform",
    "extra",
    "extras",
    "dependency_groups",
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Str(String),
    Op(Op),
    Not,
    LParen,
    RParen,
}

fn tokenize(s: &str) -> Result<Vec<Tok>> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' => i += 1,
            b'(' => {
                out.push(Tok::LParen);
                i += 1
            }
            b')' => {
                out.push(Tok::RParen);
                i += 1
            }
            b'\'' | b'"' => {
                let end = s[i + 1..]
                    .find(c as char)
                    .with_context(|| format!("marker {s:?}: unterminated string"))?;
                out.push(Tok::Str(s[i + 1..i + 1 + end].to_string()));
                i += end + 2;
            }
            b'<' | b'>' | b'=' | b'!' | b'~' => {
                let rest = &s[i..];
                let (op, n) = if rest.starts_with("===") {
                    (Op::Arbitrary, 3)
                } else if rest.starts_with("<=") {
                    (Op::Le, 2)
                } else if rest.starts_with(">=") {
                    (Op::Ge, 2)
                } else if rest.starts_with("==") {
                    (Op::Eq, 2)
                } else if rest.starts_with("!=") {
                    (Op::Ne, 2)
                } else if rest.starts_with("~=") {
                    (Op::Compatible, 2)
                } else if rest.starts_with('<') {
                    (Op::Lt, 1)
                } else if rest.starts_with('>') {
                    (Op::Gt, 1)
                } else {
                    bail!("marker {s:?}: unknown operator at byte {i}");
                };
                out.push(Tok::Op(op));
                i += n;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.')
                {
                    i += 1;
                }
                let w = &s[start..i];
                match w {
                    "in" => out.push(Tok::Op(Op::In)),
                    "not" => out.push(Tok::Not),
                    _ => out.push(Tok::Ident(w.to_string())),
                }
            }
            _ => bail!("marker {s:?}: unexpected character at byte {i}"),
        }
    }
    Ok(out)
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    src: &'a str,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn or(&mut self) -> Result<Marker> {
        let mut m = self.and()?;
        while matches!(self.peek(), Some(Tok::Ident(w)) if w == "or") {
            self.pos += 1;
            m = Marker::Or(Box::new(m), Box::new(self.and()?));
        }
        Ok(m)
    }
    fn and(&mut self) -> Result<Marker> {
        let mut m = self.atom()?;
        while matches!(self.peek(), Some(Tok::Ident(w)) if w == "and") {
            self.pos += 1;
            m = Marker::And(Box::new(m), Box::new(self.atom()?));
        }
        Ok(m)
    }
    fn atom(&mut self) -> Result<Marker> {
        if self.peek() == Some(&Tok::LParen) {
            self.depth += 1;
            if self.depth > 64 {
                bail!("marker {:?}: nested too deeply", self.src);
            }
            self.pos += 1;
            let m = self.or()?;
            if self.next() != Some(Tok::RParen) {
                bail!("marker {:?}: expected `)`", self.src);
            }
            self.depth -= 1;
            return Ok(m);
        }
        let lhs = self.value()?;
        let op = match self.next() {
            Some(Tok::Op(op)) => op,
            Some(Tok::Not) => match self.next() {
                Some(Tok::Op(Op::In)) => Op::NotIn,
                _ => bail!("marker {:?}: expected `in` after `not`", self.src),
            },
            _ => bail!("marker {:?}: expected a comparison operator", self.src),
        };
        let rhs = self.value()?;
        if matches!((&lhs, &rhs), (Value::Str(_), Value::Str(_))) {
            bail!("marker {:?}: comparison of two literals", self.src);
        }
        Ok(Marker::Compare(Value3 { lhs, op, rhs }))
    }
    fn value(&mut self) -> Result<Value> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Value::Str(s)),
            Some(Tok::Ident(w)) => {
                // Legacy dotted names (os.name, sys.platform, ...).
                let w = match w.as_str() {
                    "os.name" => "os_name".to_string(),
                    "sys.platform" => "sys_platform".to_string(),
                    "platform.version" => "platform_version".to_string(),
                    "platform.machine" => "platform_machine".to_string(),
                    "platform.python_implementation" | "python_implementation" => {
                        "platform_python_implementation".to_string()
                    }
                    _ => w,
                };
                if !VARS.contains(&w.as_str()) {
                    bail!("marker {:?}: unknown variable {w:?}", self.src);
                }
                Ok(Value::Var(w))
            }
            _ => bail!(
                "marker {:?}: expected a variable or a quoted string",
                self.src
            ),
        }
    }
}

impl Marker {
    /// Parse a marker expression.
    pub fn parse(s: &str) -> Result<Marker> {
        let toks = tokenize(s)?;
        if toks.is_empty() {
            bail!("empty marker");
        }
        let mut p = Parser {
            toks,
            pos: 0,
            src: s,
            depth: 0,
        };
        let m = p.or()?;
        if p.pos != p.toks.len() {
            bail!("marker {s:?}: unexpected text after the expression");
        }
        Ok(m)
    }

    /// Evaluate against an environment; `extras` are the extras requested
    /// (for `extra == "x"`), usually none in a lock.
    pub fn evaluate(&self, env: &MarkerEnv, extras: &[String]) -> Result<bool> {
        match self {
            Marker::And(a, b) => Ok(a.evaluate(env, extras)? && b.evaluate(env, extras)?),
            Marker::Or(a, b) => Ok(a.evaluate(env, extras)? || b.evaluate(env, extras)?),
            Marker::Compare(c) => c.evaluate(env, extras),
        }
    }
}

impl Value3 {
    fn evaluate(&self, env: &MarkerEnv, extras: &[String]) -> Result<bool> {
        // `extra == "x"` and `"x" in extras`: set membership.
        let extra_var = |v: &Value| matches!(v, Value::Var(n) if n == "extra" || n == "extras" || n == "dependency_groups");
        if extra_var(&self.lhs) || extra_var(&self.rhs) {
            let lit = match (&self.lhs, &self.rhs) {
                (Value::Str(s), _) | (_, Value::Str(s)) => crate::wheel::name::normalize_name(s),
                _ => bail!("marker compares extra with a variable"),
            };
            let has = extras
                .iter()
                .any(|e| crate::wheel::name::normalize_name(e) == lit);
            return Ok(match self.op {
                Op::Eq | Op::In => has,
                Op::Ne | Op::NotIn => !has,
                _ => bail!("marker: unsupported operator on extra"),
            });
        }
        let resolve = |v: &Value| -> Result<(String, bool)> {
            Ok(match v {
                Value::Str(s) => (s.clone(), false),
                Value::Var(n) => (
                    env.get(n)
                        .with_context(|| format!("unknown marker variable {n}"))?
                        .to_string(),
                    matches!(
                        n.as_str(),
                        "python_version" | "python_full_version" | "implementation_version"
                    ),
                ),
            })
        };
        let (l, lver) = resolve(&self.lhs)?;
        let (r, rver) = resolve(&self.rhs)?;
        match self.op {
            Op::In => return Ok(r.contains(&l)),
            Op::NotIn => return Ok(!r.contains(&l)),
            Op::Arbitrary => return Ok(l == r),
            _ => {}
        }
        if lver || rver {
            if let Some(res) = compare_versions(&l, self.op, &r) {
                return Ok(res);
            }
        }
        match self.op {
            Op::Eq => Ok(l == r),
            Op::Ne => Ok(l != r),
            _ => bail!("marker: cannot order {l:?} and {r:?} (not versions)"),
        }
    }
}

type VersionKey = (u64, Vec<u64>, (i8, u64), (i8, u64), (i8, u64));

/// A PEP 440 version, enough to order them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    epoch: u64,
    release: Vec<u64>,
    /// (0 = a, 1 = b, 2 = rc, n)
    pre: Option<(u8, u64)>,
    post: Option<u64>,
    dev: Option<u64>,
}

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        let c = crate::wheel::name::canonical_version(s);
        let c = c.split('+').next()?;
        let (epoch, rest) = match c.split_once('!') {
            Some((e, r)) => (e.parse().ok()?, r),
            None => (0, c),
        };
        let end = rest
            .find(|ch: char| !(ch.is_ascii_digit() || ch == '.'))
            .unwrap_or(rest.len());
        let (rel, mut tail) = rest.split_at(end);
        let rel = rel.trim_end_matches('.');
        let mut release = Vec::new();
        for n in rel.split('.') {
            release.push(n.parse().ok()?);
        }
        let mut v = Version {
            epoch,
            release,
            pre: None,
            post: None,
            dev: None,
        };
        let num = |t: &str| -> Option<(u64, usize)> {
            let n = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
            Some((t[..n].parse().ok()?, n))
        };
        while !tail.is_empty() {
            if let Some(t) = tail.strip_prefix(".post") {
                let (n, k) = num(t)?;
                v.post = Some(n);
                tail = &t[k..];
            } else if let Some(t) = tail.strip_prefix(".dev") {
                let (n, k) = num(t)?;
                v.dev = Some(n);
                tail = &t[k..];
            } else if let Some(t) = tail.strip_prefix("rc") {
                let (n, k) = num(t)?;
                v.pre = Some((2, n));
                tail = &t[k..];
            } else if let Some(t) = tail.strip_prefix('a') {
                let (n, k) = num(t)?;
                v.pre = Some((0, n));
                tail = &t[k..];
            } else if let Some(t) = tail.strip_prefix('b') {
                let (n, k) = num(t)?;
                v.pre = Some((1, n));
                tail = &t[k..];
            } else {
                return None;
            }
        }
        Some(v)
    }

    fn key(&self, len: usize) -> VersionKey {
        let mut rel = self.release.clone();
        rel.resize(len.max(rel.len()), 0);
        // dev-only releases sort before pre-releases.
        let pre = match (self.pre, self.post, self.dev) {
            (None, None, Some(_)) => (-1, 0),
            (Some((k, n)), _, _) => (k as i8, n),
            _ => (3, 0),
        };
        let post = self.post.map_or((-1, 0), |n| (0, n));
        let dev = self.dev.map_or((1, 0), |n| (0, n));
        (self.epoch, rel, pre, post, dev)
    }

    pub fn compare(&self, other: &Version) -> Ordering {
        let len = self.release.len().max(other.release.len());
        self.key(len).cmp(&other.key(len))
    }
}

fn compare_versions(l: &str, op: Op, r: &str) -> Option<bool> {
    // `== "3.*"` prefix matching.
    if matches!(op, Op::Eq | Op::Ne) {
        if let Some(prefix) = r.strip_suffix(".*") {
            let lv = Version::parse(l)?;
            let pv = Version::parse(prefix)?;
            let n = pv.release.len();
            let mut lr = lv.release.clone();
            lr.resize(n.max(lr.len()), 0);
            let m = lv.epoch == pv.epoch && lr[..n] == pv.release[..];
            return Some(if op == Op::Eq { m } else { !m });
        }
    }
    let lv = Version::parse(l)?;
    let rv = Version::parse(r)?;
    let o = lv.compare(&rv);
    Some(match op {
        Op::Lt => o == Ordering::Less,
        Op::Le => o != Ordering::Greater,
        Op::Eq => o == Ordering::Equal,
        Op::Ne => o != Ordering::Equal,
        Op::Ge => o != Ordering::Less,
        Op::Gt => o == Ordering::Greater,
        Op::Compatible => {
            if rv.release.len() < 2 {
                return None;
            }
            let n = rv.release.len() - 1;
            let mut lr = lv.release.clone();
            lr.resize(lr.len().max(n), 0);
            o != Ordering::Less && lr[..n] == rv.release[..n]
        }
        _ => return None,
    })
}

#[cfg(test)]
pub(crate) fn test_env() -> MarkerEnv {
    MarkerEnv {
        implementation_name: "cpython".into(),
        implementation_version: "3.11.2".into(),
        os_name: "posix".into(),
        platform_machine: "x86_64".into(),
        platform_release: "6.1.0".into(),
        platform_system: "Linux".into(),
        platform_version: "#1 SMP".into(),
        python_full_version: "3.11.2".into(),
        platform_python_implementation: "CPython".into(),
        python_version: "3.11".into(),
        sys_platform: "linux".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ev(s: &str) -> bool {
        Marker::parse(s)
            .unwrap()
            .evaluate(&test_env(), &[])
            .unwrap()
    }

    #[test]
    fn evaluates() {
        assert!(ev("python_version >= \"3.8\""));
        assert!(!ev("python_version < '3.8'"));
        assert!(ev("python_version > '3.9'"));
        assert!(!ev("python_version > '3.11'"));
        assert!(ev("python_full_version >= '3.11.0rc1'"));
        assert!(ev(
            "sys_platform == 'linux' and (os_name == 'nt' or platform_machine == 'x86_64')"
        ));
        assert!(!ev("sys_platform == \"win32\""));
        assert!(ev("'linux' in sys_platform"));
        assert!(ev("platform_system not in 'Windows Darwin'"));
        assert!(ev("python_version == '3.*'"));
        assert!(ev("python_version ~= '3.8'"));
        assert!(!ev("extra == 'test'"));
        assert!(Marker::parse("foo == '1'").is_err());
        assert!(Marker::parse("python_version >= ").is_err());
        assert!(Marker::parse("(python_version >= '3'").is_err());
    }

    #[test]
    fn queries_the_real_interpreter() {
        let env = MarkerEnv::query(Path::new("/usr/bin/python3")).unwrap();
        assert_eq!(env.sys_platform, "linux");
        assert!(env.python_version.starts_with("3."));
    }

    proptest! {
        #[test]
        fn marker_parser_never_panics(s in "\\PC{0,60}") {
            if let Ok(m) = Marker::parse(&s) {
                let _ = m.evaluate(&test_env(), &[]);
            }
        }
    }
}
