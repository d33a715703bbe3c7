//! PEP 508, the one implementation every part of venvdeb uses: distribution
//! names (PEP 503 normalization), dependency specifiers (`Requires-Dist`,
//! build requirements, lock lines) and environment markers, with the marker
//! environment of the target interpreter (`MarkerEnv`, asked of it once).
//!
//! It follows `packaging.requirements` / `packaging.markers` (checked by the
//! differential test in `tests/pep_differential.rs` against Debian's
//! python3-packaging): `and` binds tighter than `or`; a comparison whose
//! right side reads as a version specifier compares PEP 440 versions
//! ([`crate::pep440`]), others compare strings; every comparison is
//! evaluated, so an undefined one is an error even where it would not
//! change the result. Two extensions: `extra == "x"` tests membership in the
//! extras requested, and PEP 751's `extras` / `dependency_groups` variables.
//!
//! Limits: a marker is parsed and evaluated without recursion along an
//! `and`/`or` chain (any length), and parentheses nest at most
//! [`MAX_MARKER_DEPTH`] deep; deeper is an error, never a stack overflow.
use std::path::Path;
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::pep440::{is_py_space, Specifier, Version, OPS};

/// How deep parentheses may nest in a marker.
pub const MAX_MARKER_DEPTH: usize = 64;

/// PEP 503 name normalization: lowercase, runs of `-`, `_`, `.` become one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Whether a string is a valid PEP 508 distribution (or extra) name.
pub fn is_valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// One parsed dependency specifier.
#[derive(Debug, Clone)]
pub struct Requirement {
    /// As written (trimmed).
    pub raw: String,
    /// PEP 503 normalized name.
    pub name: String,
    /// The name as written.
    pub written_name: String,
    /// Normalized extras requested on the target.
    pub extras: Vec<String>,
    /// The extras as written.
    pub written_extras: Vec<String>,
    pub specifiers: Vec<Specifier>,
    /// `name @ url` form.
    pub url: Option<String>,
    /// The marker expression after `;` (already checked to parse).
    pub marker: Option<String>,
}

/// Quoted for a message, cut at 200 characters: a 1.5 MB marker is not
/// repeated whole.
pub fn shown(s: &str) -> String {
    match s.char_indices().nth(200) {
        Some((i, _)) => format!("{:?}...", &s[..i]),
        None => format!("{s:?}"),
    }
}

fn skip_ws(s: &str) -> &str {
    s.trim_start_matches([' ', '\t'])
}

/// packaging's URL check: a scheme and a host, or a `file:` URL.
fn valid_url(u: &str) -> bool {
    if u.starts_with("file:") {
        return true;
    }
    match u.split_once("://") {
        Some((scheme, rest)) => {
            scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
                && !rest.starts_with(['/', '?', '#'])
                && !rest.is_empty()
        }
        None => false,
    }
}

/// The version clauses of a requirement, read as packaging's tokenizer
/// does: clauses joined by commas; `===` takes everything up to a blank
/// (commas included, so `===1, >2` has text left over); a trailing comma is
/// allowed, an empty clause elsewhere is not.
fn specifier_list(spec: &str) -> Result<Vec<Specifier>> {
    let mut s = skip_ws(spec);
    let mut text = String::new();
    while let Some((sym, _)) = OPS.iter().find(|(sym, _)| s.starts_with(sym)) {
        let gap = s[sym.len()..].trim_start_matches(is_py_space);
        let end = gap
            .find(|c: char| is_py_space(c) || c == ';' || c == ')' || (c == ',' && *sym != "==="))
            .unwrap_or(gap.len());
        text.push_str(&s[..s.len() - gap.len() + end]);
        s = skip_ws(&gap[end..]);
        match s.strip_prefix(',') {
            Some(r) => {
                text.push(',');
                s = skip_ws(r);
            }
            None => break,
        }
    }
    if !s.is_empty() {
        bail!("unexpected {s:?} in the version specifier {spec:?}");
    }
    text.split(',')
        .filter(|c| !c.is_empty())
        .map(Specifier::parse)
        .collect()
}

impl Requirement {
    /// Parse `name [extras] (specifiers | @ url) ; marker`.
    pub fn parse(raw: &str) -> Result<Requirement> {
        let err = |why: String| anyhow!("requirement {}: {why}", shown(raw.trim()));
        let s = skip_ws(raw);
        let end = s
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
            .unwrap_or(s.len());
        let name = &s[..end];
        if !is_valid_name(name) {
            return Err(err(format!("invalid distribution name {name:?}")));
        }
        let mut rest = skip_ws(&s[end..]);
        let mut written_extras = Vec::new();
        if let Some(r) = rest.strip_prefix('[') {
            let (inside, after) = r
                .split_once(']')
                .ok_or_else(|| err("unclosed '['".into()))?;
            let inside = inside.trim_matches([' ', '\t']);
            for e in inside.split(',').filter(|_| !inside.is_empty()) {
                let e = e.trim_matches([' ', '\t']);
                if !is_valid_name(e) {
                    return Err(err(format!("invalid extra {e:?}")));
                }
                written_extras.push(e.to_string());
            }
            rest = skip_ws(after);
        }
        let mut url = None;
        let mut specifiers = Vec::new();
        let after = if let Some(r) = rest.strip_prefix('@') {
            let r = skip_ws(r);
            let end = r.find([' ', '\t']).unwrap_or(r.len());
            let u = &r[..end];
            if u.is_empty() || !valid_url(u) {
                return Err(err(format!("invalid URL {u:?}")));
            }
            url = Some(u.to_string());
            let after = skip_ws(&r[end..]);
            if !after.is_empty() && !after.starts_with(';') {
                return Err(err("expected ';' and a marker after the URL".into()));
            }
            after
        } else {
            let (spec, after) = rest.split_at(rest.find(';').unwrap_or(rest.len()));
            let spec = spec.trim_end_matches([' ', '\t']);
            let spec = match spec.strip_prefix('(') {
                Some(r) => r
                    .strip_suffix(')')
                    .ok_or_else(|| err("unclosed '('".into()))?,
                None => spec,
            };
            specifiers = specifier_list(spec).map_err(|e| err(format!("{e:#}")))?;
            after
        };
        let marker = match after.strip_prefix(';') {
            None => None,
            Some(m) => {
                let m = m.trim_matches([' ', '\t']);
                Marker::parse(m).map_err(|e| err(e.to_string()))?;
                Some(m.to_string())
            }
        };
        Ok(Requirement {
            raw: raw.trim().to_string(),
            name: normalize_name(name),
            written_name: name.to_string(),
            extras: written_extras.iter().map(|e| normalize_name(e)).collect(),
            written_extras,
            specifiers,
            url,
            marker,
        })
    }
}

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

/// The variables of [`MarkerEnv`].
const ENV_VARS: &[&str] = &[
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
];

/// Variables compared as sets of names (the extras requested).
const SET_VARS: &[&str] = &["extra", "extras", "dependency_groups"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Var(String),
    Str(String),
}

/// A marker operator: a specifier operator, `in` or `not in`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MarkerOp {
    Cmp(usize), // index into pep440::OPS
    In,
    NotIn,
}

/// One `lhs op rhs` comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Compare {
    lhs: Value,
    op: MarkerOp,
    rhs: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    Compare(Compare),
    Group(Marker),
}

/// A parsed marker expression: `or` of `and` groups, as packaging holds it.
/// Only parentheses nest (at most [`MAX_MARKER_DEPTH`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    any: Vec<Vec<Term>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Str(String),
    Op(MarkerOp),
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
                    .with_context(|| format!("marker {}: unterminated string", shown(s)))?;
                out.push(Tok::Str(s[i + 1..i + 1 + end].to_string()));
                i += end + 2;
            }
            b'<' | b'>' | b'=' | b'!' | b'~' => {
                let k = OPS
                    .iter()
                    .position(|(sym, _)| s[i..].starts_with(sym))
                    .with_context(|| {
                        format!("marker {}: unknown operator at byte {i}", shown(s))
                    })?;
                out.push(Tok::Op(MarkerOp::Cmp(k)));
                i += OPS[k].0.len();
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.')
                {
                    i += 1;
                }
                out.push(match &s[start..i] {
                    "in" => Tok::Op(MarkerOp::In),
                    "not" => Tok::Not,
                    w => Tok::Ident(w.to_string()),
                });
            }
            _ => bail!("marker {}: unexpected character at byte {i}", shown(s)),
        }
    }
    Ok(out)
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    src: &'a str,
}

impl Parser<'_> {
    fn err(&self, why: &str) -> anyhow::Error {
        // A 1.5 MB marker is not repeated whole in the message.
        let shown: String = self.src.chars().take(200).collect();
        let more = if shown.len() < self.src.len() {
            "..."
        } else {
            ""
        };
        anyhow!("marker {shown:?}{more}: {why}")
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn boolop(&self) -> Option<&str> {
        match self.toks.get(self.pos) {
            Some(Tok::Ident(w)) if w == "and" || w == "or" => Some(w),
            _ => None,
        }
    }
    /// `atom ((and|or) atom)*`: loops along the chain; recurses only into
    /// parentheses, `depth` counting them.
    fn expr(&mut self, depth: usize) -> Result<Marker> {
        let mut any = vec![vec![self.atom(depth)?]];
        while let Some(op) = self.boolop() {
            let or = op == "or";
            self.pos += 1;
            let t = self.atom(depth)?;
            match any.last_mut() {
                Some(group) if !or => group.push(t),
                _ => any.push(vec![t]),
            }
        }
        Ok(Marker { any })
    }
    fn atom(&mut self, depth: usize) -> Result<Term> {
        if self.toks.get(self.pos) == Some(&Tok::LParen) {
            if depth >= MAX_MARKER_DEPTH {
                return Err(self.err(&format!(
                    "parentheses nested more than {MAX_MARKER_DEPTH} deep"
                )));
            }
            self.pos += 1;
            let m = self.expr(depth + 1)?;
            if self.next() != Some(Tok::RParen) {
                return Err(self.err("expected `)`"));
            }
            return Ok(Term::Group(m));
        }
        let lhs = self.value()?;
        let op = match self.next() {
            Some(Tok::Op(op)) => op,
            Some(Tok::Not) => match self.next() {
                Some(Tok::Op(MarkerOp::In)) => MarkerOp::NotIn,
                _ => return Err(self.err("expected `in` after `not`")),
            },
            _ => return Err(self.err("expected a comparison operator")),
        };
        let rhs = self.value()?;
        if matches!((&lhs, &rhs), (Value::Str(_), Value::Str(_))) {
            return Err(self.err("comparison of two literals"));
        }
        Ok(Term::Compare(Compare { lhs, op, rhs }))
    }
    fn value(&mut self) -> Result<Value> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Value::Str(s)),
            Some(Tok::Ident(w)) => {
                // Legacy dotted names (os.name, sys.platform, ...).
                let w = match w.as_str() {
                    "os.name" | "sys.platform" | "platform.version" | "platform.machine" => {
                        w.replace('.', "_")
                    }
                    "platform.python_implementation" | "python_implementation" => {
                        "platform_python_implementation".to_string()
                    }
                    _ => w,
                };
                if !ENV_VARS.contains(&w.as_str()) && !SET_VARS.contains(&w.as_str()) {
                    return Err(self.err(&format!("unknown variable {w:?}")));
                }
                Ok(Value::Var(w))
            }
            _ => Err(self.err("expected a variable or a quoted string")),
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
        };
        let m = p.expr(0)?;
        if p.pos != p.toks.len() {
            return Err(p.err("unexpected text after the expression"));
        }
        Ok(m)
    }

    /// Evaluate against an environment; `extras` are the extras requested
    /// (for `extra == "x"`), usually none in a lock.
    pub fn evaluate(&self, env: &MarkerEnv, extras: &[String]) -> Result<bool> {
        let mut any = false;
        for group in &self.any {
            let mut all = true;
            for t in group {
                all &= match t {
                    Term::Compare(c) => c.evaluate(env, extras)?,
                    Term::Group(m) => m.evaluate(env, extras)?,
                };
            }
            any |= all;
        }
        Ok(any)
    }
}

impl Compare {
    fn evaluate(&self, env: &MarkerEnv, extras: &[String]) -> Result<bool> {
        // `extra == "x"` and `"x" in extras`: set membership.
        let set_var = |v: &Value| matches!(v, Value::Var(n) if SET_VARS.contains(&n.as_str()));
        if set_var(&self.lhs) || set_var(&self.rhs) {
            let lit = match (&self.lhs, &self.rhs) {
                (Value::Str(s), _) | (_, Value::Str(s)) => normalize_name(s),
                _ => bail!("marker compares extra with a variable"),
            };
            let has = extras.iter().any(|e| normalize_name(e) == lit);
            return Ok(match self.op {
                MarkerOp::Cmp(k) if OPS[k].0 == "==" => has,
                MarkerOp::In => has,
                MarkerOp::Cmp(k) if OPS[k].0 == "!=" => !has,
                MarkerOp::NotIn => !has,
                _ => bail!("marker: unsupported operator on extra"),
            });
        }
        let resolve = |v: &Value| -> Result<String> {
            Ok(match v {
                Value::Str(s) => s.clone(),
                Value::Var(n) => env
                    .get(n)
                    .with_context(|| format!("unknown marker variable {n}"))?
                    .to_string(),
            })
        };
        let (l, r) = (resolve(&self.lhs)?, resolve(&self.rhs)?);
        let k = match self.op {
            MarkerOp::In => return Ok(r.contains(&l)),
            MarkerOp::NotIn => return Ok(!r.contains(&l)),
            MarkerOp::Cmp(k) => k,
        };
        let sym = OPS[k].0;
        if let Ok(spec) = Specifier::parse(&format!("{sym}{r}")) {
            let v = Version::parse(&l)
                .with_context(|| format!("marker: {l:?} {sym} {r:?}: not a version"))?;
            return Ok(spec.contains(&v));
        }
        Ok(match sym {
            "<" => l < r,
            "<=" => l <= r,
            "==" => l == r,
            "!=" => l != r,
            ">=" => l >= r,
            ">" => l > r,
            _ => bail!("marker: {l:?} {sym} {r:?} is undefined (not versions)"),
        })
    }
}

#[cfg(test)]
pub fn test_env() -> MarkerEnv {
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

    fn ev_in(s: &str, env: &MarkerEnv) -> bool {
        Marker::parse(s).unwrap().evaluate(env, &[]).unwrap()
    }
    fn ev(s: &str) -> bool {
        ev_in(s, &test_env())
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
        assert!(ev(
            "os_name == 'nt' and os_name == 'x' or os_name == 'posix'"
        ));
        assert!(!ev(
            "os_name == 'posix' and (os_name == 'x' or os_name == 'y')"
        ));
        assert!(ev("os_name < 'z'"), "strings order as in Python");
        let extras = vec!["Test_X".to_string()];
        let m = Marker::parse("extra == 'test-x'").unwrap();
        assert!(m.evaluate(&test_env(), &extras).unwrap());
        for bad in [
            "foo == '1'",
            "python_version >= ",
            "(python_version >= '3'",
            "'a' == 'b'",
            "os_name notin 'x'",
        ] {
            assert!(Marker::parse(bad).is_err(), "{bad}");
        }
        // Every comparison is evaluated: an undefined one is an error.
        let m = Marker::parse("os_name == 'nt' and os_name ~= 'x'").unwrap();
        assert!(m.evaluate(&test_env(), &[]).is_err());
        let m = Marker::parse("sys_platform == '1.0'").unwrap();
        assert!(m.evaluate(&test_env(), &[]).is_err(), "linux is no version");
    }

    /// Issue 12 divergence 2: a release candidate of 3.12 is not 3.12.
    #[test]
    fn prerelease_interpreter_is_below_its_release() {
        let env = MarkerEnv {
            python_full_version: "3.12.0rc1".into(),
            python_version: "3.12".into(),
            ..test_env()
        };
        assert!(!ev_in("python_full_version < '3.12'", &env));
        assert!(ev_in("python_full_version >= '3.12.0rc1'", &env));
        assert!(ev_in("python_full_version < '3.12.0rc2'", &env));
    }

    #[test]
    fn queries_the_real_interpreter() {
        let env = MarkerEnv::query(Path::new("/usr/bin/python3")).unwrap();
        assert_eq!(env.sys_platform, "linux");
        assert!(env.python_version.starts_with("3."));
    }

    /// Issue 15: a 60k-term `and`/`or` chain parses and evaluates without
    /// recursion; deep parentheses are refused with a message.
    #[test]
    fn long_chains_and_deep_nesting() {
        let chain = chain(60_000);
        assert!(chain.len() > 1_500_000);
        let m = Marker::parse(&chain).unwrap();
        assert!(m.evaluate(&test_env(), &[]).unwrap());
        let deep = format!(
            "{}os_name == 'posix'{}",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        let e = Marker::parse(&deep).unwrap_err().to_string();
        assert!(e.contains("nested more than 64 deep"), "{e}");
        assert!(e.len() < 400, "the message does not repeat the input");
        let ok = format!("{}os_name == 'posix'{}", "(".repeat(64), ")".repeat(64));
        assert!(ev(&ok));
    }

    /// A 60k-term chain of alternating `and`/`or`, true on `test_env`.
    pub(crate) fn chain(n: usize) -> String {
        let mut s = String::from("python_version >= \"3\"");
        for i in 1..n {
            s.push_str(if i % 2 == 0 { " and " } else { " or " });
            s.push_str("python_version >= \"3\"");
        }
        s
    }

    #[test]
    fn parses_requirements() {
        let r = Requirement::parse("charset-normalizer<4,>=3.0").unwrap();
        assert_eq!(r.name, "charset-normalizer");
        assert_eq!(r.specifiers.len(), 2);
        let r = Requirement::parse("tabulate[WideChars] ; extra == \"wide\"").unwrap();
        assert_eq!(r.extras, vec!["widechars"]);
        assert_eq!(r.written_extras, vec!["WideChars"]);
        assert_eq!(r.marker.as_deref(), Some("extra == \"wide\""));
        assert!(r.specifiers.is_empty());
        let r = Requirement::parse("Foo.Bar_baz (>=1.0)").unwrap();
        assert_eq!(r.name, "foo-bar-baz");
        assert_eq!(r.written_name, "Foo.Bar_baz");
        let r = Requirement::parse("pkg @ https://x/y.whl ; python_version < '3'").unwrap();
        assert_eq!(r.url.as_deref(), Some("https://x/y.whl"));
        assert_eq!(Requirement::parse("x>=1,").unwrap().specifiers.len(), 1);
        assert!(Requirement::parse("x[]").unwrap().extras.is_empty());
        for bad in [
            "",
            "-x",
            "x[",
            "x (>=1",
            "x >=",
            "x; ",
            "x ~= 1",
            "x>=1,,<2",
            "x[a,]",
            "x @ u ;os_name=='a'",
            "x ; foo == 'a'",
        ] {
            assert!(Requirement::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            normalize_name("Jupyterlab__Pygments"),
            "jupyterlab-pygments"
        );
        assert_eq!(normalize_name("Zope.Interface__x"), "zope-interface-x");
    }

    fn marker_chain() -> impl Strategy<Value = String> {
        let cmp = prop_oneof![
            Just("python_version >= '3.8'".to_string()),
            Just("os_name == 'nt'".to_string()),
            Just("sys_platform != 'win32'".to_string()),
            Just("python_full_version < '3.12'".to_string()),
        ];
        let term = prop_oneof![
            3 => cmp.clone(),
            1 => cmp.prop_map(|c| format!("({c})")),
        ];
        (
            term.clone(),
            prop::collection::vec((prop::bool::ANY, term), 0..400),
        )
            .prop_map(|(first, rest)| {
                let mut s = first;
                for (and, t) in rest {
                    s.push_str(if and { " and " } else { " or " });
                    s.push_str(&t);
                }
                s
            })
    }

    /// The reference meaning of a chain: `and` groups joined by `or`.
    fn chain_meaning(s: &str) -> bool {
        s.split(" or ").any(|g| {
            g.split(" and ").all(|c| {
                let c = c.trim_matches(['(', ')']);
                ev(c)
            })
        })
    }

    proptest! {
        #[test]
        fn marker_parser_never_panics(s in "\\PC{0,60}") {
            if let Ok(m) = Marker::parse(&s) {
                let _ = m.evaluate(&test_env(), &[]);
            }
        }

        #[test]
        fn marker_chains_evaluate_as_and_over_or(s in marker_chain()) {
            let m = Marker::parse(&s).unwrap();
            prop_assert_eq!(m.evaluate(&test_env(), &[]).unwrap(), chain_meaning(&s));
        }

        #[test]
        fn requirement_parsing_never_panics(s in "\\PC{0,60}") {
            if let Ok(r) = Requirement::parse(&s) {
                let _ = crate::pep440::satisfies("1.2.3", &r.specifiers);
            }
        }
    }
}
